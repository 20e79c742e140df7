"""Helpers for the teaching layer's browser tests: open a lesson, read what the page
asked the API, ask the API the same question."""

from __future__ import annotations

import json

import httpx

from tests.e2e.conftest import TIMEOUT_MS, Demo


def record_api(demo: Demo) -> dict[str, list[dict]]:
    """Every JSON body the page POSTs to /api/v1/<name>, by name (filled as it happens)."""
    seen: dict[str, list[dict]] = {}

    def on_request(request: object) -> None:
        url = request.url
        if request.method == "POST" and "/api/v1/" in url and not url.endswith("/trace"):
            name = url.split("/api/v1/", 1)[1]
            seen.setdefault(name, []).append(json.loads(request.post_data or "{}"))

    demo.page.on("request", on_request)
    return seen


def ask(demo: Demo, name: str, body: dict) -> dict:
    response = httpx.post(f"{demo.base_url}/api/v1/{name}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def open_page(demo: Demo, language: str = "en", hash_: str = "") -> None:
    demo.page.goto(f"{demo.base_url}/?lang={language}" + (f"#{hash_}" if hash_ else ""))
    demo.page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)


def open_lesson(demo: Demo, number: int) -> None:
    """Choose lesson ``number`` from the menu and wait until its widget has the server's answer."""
    demo.page.select_option("#lesson-select", str(number))
    wait_lesson(demo, number)


def wait_lesson(demo: Demo, number: int) -> None:
    demo.page.wait_for_selector(
        f"#lesson-widget[data-lesson='{number}'][data-state='ready']", state="attached",
        timeout=TIMEOUT_MS)


def next_step(demo: Demo, number: int) -> None:
    demo.page.click("#lesson-next")
    wait_lesson(demo, number)


def values(demo: Demo, selector: str) -> list[float]:
    return [float(v) for v in demo.page.eval_on_selector_all(
        selector, "cells => cells.map(cell => cell.dataset.value)")]


def flat(nested: object) -> list[float]:
    if isinstance(nested, list):
        return [value for item in nested for value in flat(item)]
    return [float(nested)]
