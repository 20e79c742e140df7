"""The Content-Security-Policy in real Chromium: plotly.js draws under it, the page loads
under it, and nothing is refused.

plotly.js styles its charts through one ``<style id="plotly.js-style-global">`` that it
creates empty and fills with CSSOM calls; the policy allows exactly the empty inline
stylesheet for that (see app/web/security.py). Its map stylesheet is skipped when the page
holds an element with that sheet's id, as the page does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.responses import HTMLResponse, Response

from app.main import create_app
from app.settings import Settings
from tests.chromium import in_chromium
from tests.servers import running_server

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 30_000
MAP_STYLESHEET_ID = "9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53"
PROBE_PAGE = f"""<!doctype html><html><head><meta charset="utf-8"><title>CSP probe</title>
<link rel="stylesheet" id="{MAP_STYLESHEET_ID}" href="/static/css/convlens.css">
</head><body><div id="chart"></div>
<script src="/vendor/plotly.min.js"></script><script src="/csp-probe.js"></script>
</body></html>"""
PROBE_SCRIPT = """
const chart = document.getElementById("chart");
chart.style.width = "640px";   // CSSOM: allowed without 'unsafe-inline'
chart.style.height = "400px";
Plotly.newPlot(chart,
  [{type: "bar", x: ["standard", "depthwise", "separable"], y: [108, 27, 39]},
   {type: "scatter", x: ["standard", "depthwise", "separable"], y: [100, 30, 40]}],
  {title: {text: "CSP probe"}, showlegend: true},
  {displayModeBar: true, responsive: true},
).then(() => { document.body.dataset.drawn = "yes"; });
"""


@pytest.fixture(scope="module")
def probe_server() -> Iterator[str]:
    """The real app and its middleware, plus a probe page drawing a plotly chart."""
    application = create_app(Settings())

    @application.get("/csp-probe", include_in_schema=False)
    def probe_page() -> HTMLResponse:
        return HTMLResponse(PROBE_PAGE)

    @application.get("/csp-probe.js", include_in_schema=False)
    def probe_script() -> Response:
        return Response(PROBE_SCRIPT, media_type="text/javascript")

    with running_server(application) as server:
        yield server.url


def open_recording(browser: object, url: str) -> tuple[object, object, list[str]]:
    context = browser.new_context()
    page = context.new_page()
    refusals: list[str] = []
    page.on("console", lambda message: (
        message.type == "error" and "Content Security Policy" in message.text
        and refusals.append(message.text)))
    page.goto(url)
    return context, page, refusals


def test_plotly_draws_styled_charts_under_the_policy(probe_server: str) -> None:
    def check(browser: object) -> None:
        context, page, refusals = open_recording(browser, probe_server + "/csp-probe")
        try:
            page.wait_for_selector("body[data-drawn='yes']", timeout=TIMEOUT_MS)
            page.mouse.move(320, 200)  # hover labels use the same styling path
            assert page.evaluate("document.querySelectorAll('.point path').length") == 3
            # plotly's own stylesheet took effect (the mode bar floats over the chart).
            assert page.evaluate(
                "getComputedStyle(document.querySelector('.modebar')).position") == "absolute"
            rules = page.evaluate(
                "document.getElementById('plotly.js-style-global').sheet.cssRules.length")
            assert rules > 0
            assert refusals == []
        finally:
            context.close()

    in_chromium(check)


def test_the_page_loads_with_nothing_refused(live_server: str) -> None:
    def check(browser: object) -> None:
        context, page, refusals = open_recording(browser, live_server + "/")
        try:
            page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
            page.wait_for_timeout(300)
            assert refusals == []
            policy = page.evaluate(
                "fetch('/').then(r => r.headers.get('content-security-policy'))")
            assert "script-src 'self';" in policy
        finally:
            context.close()

    in_chromium(check)
