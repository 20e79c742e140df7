"""The model page's strings: both languages have the same keys and placeholders, and every key
the page's template and scripts use exists (a missing one would show itself on screen)."""

from __future__ import annotations

import json
import re

from app.settings import STATIC_DIR, TEMPLATES_DIR

TABLES = STATIC_DIR / "i18n" / "models"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _table(language: str) -> dict[str, str]:
    return json.loads((TABLES / f"{language}.json").read_text("utf-8"))


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    english, chinese = _table("en"), _table("zh-CN")
    assert set(english) == set(chinese)
    for key, text in english.items():
        assert text and chinese[key], key
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(chinese[key])), key
    main = json.loads((STATIC_DIR / "i18n" / "en.json").read_text("utf-8"))
    assert not set(english) & set(main), "a model-page key would shadow the main page's"


def test_every_key_the_page_uses_exists() -> None:
    known = set(_table("en")) | set(json.loads((STATIC_DIR / "i18n" / "en.json").read_text()))
    used = set(re.findall(r"t\['([\w.]+)'", (TEMPLATES_DIR / "models.html").read_text()))
    used |= {key for key in re.findall(r"""\bt\(\s*["']([\w.]+)["']""", "".join(
        path.read_text() for path in (STATIC_DIR / "js" / "models").glob("*.js")))}
    dynamic = {"models.kind.", "blocks.kind.", "blocks.explain.", "blocks.lesson.",
               "blocks.kindname.", "models.col.", "models.stat.", "blocks.col.", "language."}
    assert len(used) > 40
    missing = {key for key in used if key not in known and not key.endswith(".")}
    assert missing == set()
    for prefix in dynamic - {"language."}:
        assert any(key.startswith(prefix) for key in known), prefix
