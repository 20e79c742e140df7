"""The widget's visible strings: the page's own catalogues (static/i18n)."""

from __future__ import annotations

from app.web.pages import strings

LANGUAGES = ("en", "zh-CN")


def catalogue(language: str) -> dict[str, str]:
    """The page's string table for ``language`` ("en" or "zh-CN")."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}; got {language!r}")
    return dict(strings(language))
