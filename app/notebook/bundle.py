"""The widget's front end as one ES module, built from the page's own files.

anywidget loads one module. The widget's driver (``static/js/notebook/widget.js``)
imports the page's modules (trace store, stage views, arithmetic, numbers, player)
by relative path; ``widget_esm`` sends their sources inside one module whose loader
turns each into a ``blob:`` URL, dependencies first, with the relative specifiers
rewritten to those URLs. The page's files are used as they are: one renderer, no
second copy, no build step. The stylesheet is the page's, scoped to the widget.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import PurePosixPath

from app.settings import STATIC_DIR

JS_DIR = STATIC_DIR / "js"
ENTRY = "notebook/widget.js"
# `import … from "./x.js"`, `export … from "../y.js"`, `import "./z.js"` (static only).
_IMPORT = re.compile(
    r"""(\b(?:import|export)\b[^;'"]*?\bfrom\s*|\bimport\s*)(["'])(\.{1,2}/[^"']+)\2"""
)


def _resolve(importer: str, specifier: str) -> str:
    parts: list[str] = []
    for part in (PurePosixPath(importer).parent / specifier).parts:
        if part == "..":
            if not parts:
                raise ValueError(f"{importer} imports {specifier}, outside static/js")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def module_sources(entry: str = ENTRY) -> dict[str, str]:
    """Every module ``entry`` reaches by static relative imports: path (under static/js)
    -> source, dependencies before their importers."""
    ordered: dict[str, str] = {}
    visiting: set[str] = set()

    def visit(path: str) -> None:
        if path in ordered:
            return
        if path in visiting:
            raise ValueError(f"import cycle through {path}: the widget loader needs none")
        visiting.add(path)
        source = (JS_DIR / path).read_text("utf-8")
        for match in _IMPORT.finditer(source):
            visit(_resolve(path, match.group(3)))
        visiting.discard(path)
        ordered[path] = source

    visit(entry)
    return ordered




@functools.cache
def widget_esm() -> str:
    """The widget's one ES module: the loader with every module's source inlined."""
    js_import = "/" + _IMPORT.pattern.replace("/", "\\/") + "/g"
    loader = (JS_DIR / "notebook" / "loader.js").read_text("utf-8")
    return (
        loader.replace("__SOURCES__", json.dumps(module_sources()))
        .replace("__ENTRY__", json.dumps(ENTRY))
        .replace("__IMPORT__", js_import)
    )


_PAGE_ONLY = re.compile(r"^(html, body|body)\s*\{[^}]*\}\s*$", re.MULTILINE)


@functools.cache
def widget_css() -> str:
    """The page's stylesheet nested under ``.convlens-widget`` (CSS nesting), without the
    rules for the page's ``html`` and ``body``; its ``:root`` variables land on the widget."""
    css = (STATIC_DIR / "css" / "convlens.css").read_text("utf-8")
    css = _PAGE_ONLY.sub("", css).replace(":root", "&")
    notebook = (STATIC_DIR / "css" / "notebook.css").read_text("utf-8")
    return ".convlens-widget {\n" + css + "\n}\n" + notebook
