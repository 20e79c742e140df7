"""The page draws every view identically from the compact trace it asks for and from the full one.

Two live servers: the app as it is (the page asks for ``detail: "compact"``), and the same app
behind a wrapper that rewrites each trace request to ``detail: "full"``. For every operation, at
steps in every stage (the first, padded corners, the middle, the last), the stage view's canvases
and marks, the arithmetic panel and a Chromium screenshot of both must be the same, pixel for
pixel; at the end, the numbers tab's tables too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from app.main import create_app
from tests.e2e.conftest import TIMEOUT_MS, Demo, _demo
from tests.e2e.test_page import OPERATIONS
from tests.servers import running_server

pytestmark = pytest.mark.e2e


class FullTrace:
    """ASGI wrapper: every ``POST /api/v1/trace`` body gets ``detail: "full"``; records what the
    page asked for."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.asked: list[str] = []

    async def __call__(self, scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http" or scope["path"] != "/api/v1/trace":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = json.loads(b"".join(chunks))
        self.asked.append(body.get("detail", "compact"))
        raw = json.dumps({**body, "detail": "full"}).encode()
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(raw)).encode()))
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str, FullTrace]]:
    full = FullTrace(create_app())
    with running_server(create_app()) as compact_server, running_server(full) as full_server:
        yield compact_server.url, full_server.url, full


@pytest.fixture
def pair(browser: object, servers: tuple[str, str, FullTrace]) -> Iterator[tuple[Demo, Demo]]:
    compact_url, full_url, _ = servers
    compact_demos = _demo(browser, compact_url, 1600, 1000)
    full_demos = _demo(browser, full_url, 1600, 1000)
    yield next(compact_demos), next(full_demos)
    for demos in (compact_demos, full_demos):
        next(demos, None)


def picture(demo: Demo) -> dict[str, object]:
    """What the views drew: canvases, marks, the arithmetic text, screenshots of both panels."""
    drawn = demo.page.evaluate("""() => ({
      canvases: Array.from(document.querySelectorAll('#stage-view canvas'), c => c.toDataURL()),
      marks: Array.from(document.querySelectorAll('#stage-view .heatmap-overlay > div'),
                        d => `${d.className}:${d.hidden}:${d.style.transform}`),
      svg: Array.from(document.querySelectorAll('#stage-view svg'), s => s.innerHTML),
      arithmetic: document.querySelector('#arithmetic').innerHTML,
    })""")
    drawn["stage_png"] = demo.page.locator("#stage-view").screenshot(animations="disabled")
    drawn["arithmetic_png"] = demo.page.locator("#arithmetic").screenshot(animations="disabled")
    return drawn


def at_step(demo: Demo, query: str, step: int, total: int) -> dict[str, object]:
    demo.page.goto("about:blank")
    demo.page.goto(f"{demo.base_url}/#{query}&step={step}")
    demo.wait_drawn()
    demo.wait_stream_done()
    demo.wait_counter(step + 1, total)
    demo.page.evaluate("document.activeElement && document.activeElement.blur()")
    return picture(demo)


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_every_view_draws_the_same_from_the_compact_trace(
    pair: tuple[Demo, Demo], servers: tuple[str, str, FullTrace], operation: str
) -> None:
    compact, full = pair
    query = OPERATIONS[operation]
    compact.open(query)
    compact.wait_stream_done()
    _, total = compact.counter()
    stages = compact.page.eval_on_selector_all(
        ".stage-tab", "tabs => tabs.map(t => [t.dataset.stage, t.textContent])")
    steps = sorted({0, 1, total // 3, total // 2, total - 2, total - 1} - {-1})
    for step in steps:
        mine, reference = at_step(compact, query, step, total), at_step(full, query, step, total)
        for view in reference:
            assert mine[view] == reference[view], f"{operation} step {step}: {view} differs"
    # The numbers tab, at the end.
    for demo in (compact, full):
        demo.tab("numbers")
        demo.page.wait_for_selector("#numbers pre[data-role='output-tensor']", timeout=TIMEOUT_MS)
    assert compact.page.inner_html("#numbers") == full.page.inner_html("#numbers")
    assert stages, operation
    # The page asked for compact frames; the wrapper made the reference's full.
    assert servers[2].asked and set(servers[2].asked) == {"compact"}
    compact.assert_clean()
    full.assert_clean()
