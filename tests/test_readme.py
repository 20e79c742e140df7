"""The README is a contract: every API route and engine function is documented, and its
Python example runs and prints what the README says it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

import app.engine
from app.main import create_app
from app.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def api_routes() -> list[tuple[str, str]]:
    """Every (method, path) of the API, from the OpenAPI schema the app serves."""
    paths = create_app(Settings()).openapi()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/")
        for method in operations
    )


def test_there_are_api_routes_to_check() -> None:
    assert len(api_routes()) >= 10


@pytest.mark.parametrize(("method", "path"), api_routes())
def test_every_api_route_is_in_the_readme(method: str, path: str) -> None:
    assert f"{method} {path}" in README, f"README does not document {method} {path}"


@pytest.mark.parametrize("name", app.engine.__all__)
def test_every_public_engine_name_is_in_the_readme(name: str) -> None:
    assert re.search(rf"`{re.escape(name)}[(`]", README), f"README does not mention `{name}`"


def test_the_two_commands_are_the_ones_ci_runs() -> None:
    assert "make serve" in README and "make test" in README
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_the_python_example_runs_and_prints_the_seed_example() -> None:
    example = README.split("```python\n", 1)[1].split("```", 1)[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, "README.md", "exec"), {})
    lines = printed.getvalue().split()
    assert lines == ["[", "0.", "36.", "9.", "27.]", "[", "0.", "54.", "9.", "27.]"]
