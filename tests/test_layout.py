"""The house's rooms, as the README's layout section draws them: every capability in a folder
found by its name, and what each room may import, so that data flows one way.

Python rooms are the folders under ``app/`` (plus the few entry points beside them); the page's
rooms are the folders under ``static/js/`` (plus ``main.js``, the page's entry point).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app"
JS = REPO / "static" / "js"

# The application's entry points and its settings: the only modules at app/'s top level.
ENTRY_POINTS = {"__init__", "__main__", "main", "cli", "settings"}

# room -> the rooms it may import (entry points may import any room).
PYTHON_ROOMS: dict[str, set[str]] = {
    "engine": set(),
    "answers": set(),
    "teaching": {"engine"},
    "lab": {"engine", "answers", "settings"},
    "models": {"engine", "answers", "settings"},
    "api": {"engine", "teaching", "lab", "models", "answers", "settings"},
    "web": {"api", "lab", "models", "settings"},
    "notebook": {"engine", "api", "web", "settings"},
}
JS_ROOMS: dict[str, set[str]] = {
    "core": set(),
    "views": {"core"},
    "controls": {"core"},
    "code": {"core", "controls"},
    "export": {"core"},
    "lab": {"core"},
    "models": {"core"},
    "blocks": {"core", "views"},
    "notebook": {"core", "views"},
    "lessons": {"core", "views", "controls", "code", "lab"},
    "classroom": {"core", "views", "controls", "export", "lessons", "blocks"},
}
JS_ENTRY_POINTS = {"main.js"}


def python_imports(path: Path) -> set[str]:
    """The app modules ``path`` imports, as dotted names below ``app``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("app.")}


def python_room(dotted: str) -> str | None:
    """``app.api.trace`` -> ``api``; ``app.settings`` -> ``settings``; ``app.__version__`` and
    other names of the package itself -> None."""
    first = dotted.split(".")[1]
    if (APP / first).is_dir() or (APP / f"{first}.py").is_file():
        return first
    return None


def test_apps_top_level_holds_only_the_entry_points_and_settings() -> None:
    loose = {path.stem for path in APP.glob("*.py")} - ENTRY_POINTS
    assert not loose, f"modules outside a room: {sorted(loose)}"
    rooms = {path.name for path in APP.iterdir()
             if path.is_dir() and (path / "__init__.py").is_file()}
    assert rooms == set(PYTHON_ROOMS), "a room was added or removed: update PYTHON_ROOMS"


def test_each_python_room_imports_only_the_rooms_it_may() -> None:
    crossings = []
    for room, allowed in PYTHON_ROOMS.items():
        for path in sorted((APP / room).rglob("*.py")):
            for dotted in sorted(python_imports(path)):
                other = python_room(dotted)
                if other is not None and other != room and other not in allowed:
                    crossings.append(f"{path.relative_to(REPO)} imports {dotted}")
    assert not crossings, "\n".join(crossings)


JS_SPECIFIER = re.compile(
    r"""(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}/[^"']+\.js)["']"""
    r"""|new URL\(\s*["'](\.{1,2}/[^"']+\.js)["']""")


def js_room(path: Path) -> str:
    parts = path.relative_to(JS).parts
    return parts[0] if len(parts) > 1 else parts[0]


def test_static_js_top_level_holds_only_the_pages_entry_point() -> None:
    loose = {path.name for path in JS.glob("*.js")} - JS_ENTRY_POINTS
    assert not loose, f"page modules outside a room: {sorted(loose)}"
    rooms = {path.name for path in JS.iterdir() if path.is_dir()}
    assert rooms <= set(JS_ROOMS), f"unlisted rooms: {sorted(rooms - set(JS_ROOMS))}"


def test_each_page_room_imports_only_the_rooms_it_may() -> None:
    crossings = []
    for path in sorted(JS.rglob("*.js")):
        room = js_room(path)
        if room in JS_ENTRY_POINTS:
            continue
        for match in JS_SPECIFIER.finditer(path.read_text("utf-8")):
            target = (path.parent / (match[1] or match[2])).resolve()
            assert target.is_file(), f"{path.relative_to(REPO)} imports a missing {target}"
            other = js_room(target)
            if other != room and other not in JS_ROOMS[room]:
                crossings.append(f"{path.relative_to(REPO)} imports {target.relative_to(JS)}")
    assert not crossings, "\n".join(crossings)


def layout_block() -> str:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("\n## Layout\n", 1)[1]
    return section.split("```", 2)[1]


def test_the_readmes_layout_draws_every_room_and_what_it_may_import() -> None:
    block = layout_block()
    for room, allowed in PYTHON_ROOMS.items():
        line = next((line for line in block.splitlines() if line.startswith(f"app/{room}/")),
                    None)
        assert line is not None, f"app/{room}/ is not in the README's layout"
        described = block.split(f"app/{room}/", 1)[1].split("\napp/", 1)[0]
        imports = re.search(r"imports: ([^\n]*)", described)
        assert imports, f"app/{room}/: the layout does not say what it may import"
        named = set(re.findall(r"[a-z_]+", imports[1].split(";")[0])) - {"nothing", "numpy",
                                                                          "and"}
        assert named == allowed, (room, named, allowed)
    page = block.split("\nstatic/js/", 1)[1].split("\nstatic/i18n/", 1)[0]
    # One entry per room: "  room/  what lives there ... imports: ...", maybe wrapped.
    entries = dict(re.findall(r"\n  ([a-z]+)/(.*?)(?=\n  [a-z]+/|$)", page, flags=re.S))
    assert set(entries) == set(JS_ROOMS), "the README's page rooms are not static/js's"
    for room, allowed in JS_ROOMS.items():
        imports = re.search(r"imports: ([^\n]*)", entries[room])
        assert imports, f"static/js/{room}/: the layout does not say what it may import"
        named = set(re.findall(r"[a-z_]+", imports[1])) - {"nothing"}
        assert named == allowed, (room, named, allowed)
