# ruff: noqa: E501  (JavaScript measured in the page reads best on one line)
"""The Cost tab's Plotly charts read in every theme, in real Chromium at 1280×720.

Used as a user uses the page: the visible Cost tab opened, the visible theme menu changed
(while the chart is shown, and before it is drawn). Measured: every text of the chart (ticks,
axis titles, the title, annotations) has a WCAG contrast ratio of at least 4.5 against the
chart's actual background (its own paper and plot colours over the first opaque colour behind
it), and its grid lines are the theme's --line. The single layer's chart and a block's.
Screenshots go to /tmp/darkshots/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo, _demo

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/darkshots")
CHARTS = {"layer": "op=separable", "block": "block=inverted_residual"}

# Each text of the chart: its kind, fill and fill-opacity; the backgrounds from the chart out,
# innermost first (plot area, paper, then the page's elements up to <html>).
READ_CHART = """() => {
  const chart = document.querySelector('#cost-chart');
  const texts = [...chart.querySelectorAll('.main-svg text')].filter((node) => node.textContent.trim() && node.getBBox().width > 0)
    .map((node) => { const style = getComputedStyle(node); return {
      kind: node.closest('[class]').getAttribute('class'), text: node.textContent, fill: style.fill,
      opacity: Number(style.fillOpacity) * Number(style.opacity) }; });
  const backgrounds = [chart._fullLayout.plot_bgcolor, chart._fullLayout.paper_bgcolor];
  for (let node = chart; node; node = node.parentElement) backgrounds.push(getComputedStyle(node).backgroundColor);
  const probe = document.createElement('span');
  probe.style.color = 'var(--line)';
  document.body.append(probe);
  const line = getComputedStyle(probe).color;
  probe.remove();
  const grids = [...chart.querySelectorAll('.gridlayer path')].map((path) => getComputedStyle(path).stroke);
  return { texts, backgrounds, line, grids };
}"""


def _rgba(text: str) -> tuple[float, float, float, float]:
    """An rgb()/rgba()/#rrggbb colour as (r, g, b, alpha) with channels 0-255."""
    text = text.strip()
    if text.startswith("#"):
        return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16), 1.0)
    parts = [float(p) for p in text[text.index("(") + 1:text.index(")")].split(",")]
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else 1.0)


def _over(top: tuple[float, float, float, float], below: tuple[float, float, float]) -> tuple[float, float, float]:
    alpha = top[3]
    return tuple(alpha * t + (1 - alpha) * b for t, b in zip(top[:3], below, strict=True))


def _background(layers: list[str]) -> tuple[float, float, float]:
    """What is actually behind the text: the layers composited from the outermost (white canvas)."""
    colour = (255.0, 255.0, 255.0)
    for layer in reversed(layers):
        colour = _over(_rgba(layer), colour)
    return colour


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _assert_readable(demo: Demo, what: str) -> float:
    """Every text of the chart at 4.5:1 or more on its background; returns the lowest ratio."""
    chart = demo.page.evaluate(READ_CHART)
    background = _background(chart["backgrounds"])
    kinds = {text["kind"] for text in chart["texts"]}
    assert any("ytick" in kind for kind in kinds) and any("xtick" in kind for kind in kinds), (what, kinds)
    ratios = []
    for text in chart["texts"]:
        fill = _over((*_rgba(text["fill"])[:3], text["opacity"]), background)
        ratio = _contrast(fill, background)
        assert ratio >= 4.5, (what, text, background, ratio)
        ratios.append(ratio)
    assert chart["grids"], what
    assert set(chart["grids"]) == {chart["line"]}, (what, chart["grids"], chart["line"])
    return min(ratios)


def _open_cost(demo: Demo, query: str) -> None:
    demo.open(query)
    demo.page.get_by_role("tab", name="Cost").click()
    demo.page.wait_for_selector("#cost-chart .main-svg .ytick text", timeout=TIMEOUT_MS)
    demo.page.wait_for_timeout(200)


def _choose_theme(demo: Demo, theme: str) -> None:
    """The theme as a user picks it: the settings' menu (visible and enabled) on the single
    layer's page; block mode hides the settings, so there the URL's theme= is edited."""
    before = demo.page.evaluate("getComputedStyle(document.querySelector('#cost-chart .ytick text')).fill")
    menu = demo.page.locator("#theme")
    if demo.page.evaluate("document.body.classList.contains('block-mode')"):
        assert not menu.is_visible()
        demo.page.evaluate(
            "theme => { location.hash = location.hash.replace(/(^#|&)theme=[a-z]+/, '') + `&theme=${theme}`; }",
            theme)
    else:
        menu.scroll_into_view_if_needed()
        assert menu.is_visible()
        menu.select_option(theme)
    demo.page.wait_for_function("theme => document.body.dataset.theme === theme", arg=theme)
    demo.page.wait_for_function(
        "before => getComputedStyle(document.querySelector('#cost-chart .ytick text')).fill !== before",
        arg=before, timeout=TIMEOUT_MS)
    demo.page.wait_for_timeout(200)


def _shot(demo: Demo, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    demo.page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.mark.parametrize("chart", sorted(CHARTS))
def test_the_cost_chart_follows_the_theme_while_it_is_shown(browser, page_server, chart) -> None:
    frames = _demo(browser, page_server, 1280, 720)
    demo = next(frames)
    try:
        _open_cost(demo, CHARTS[chart])
        _assert_readable(demo, f"{chart} light")
        _shot(demo, f"{chart}-light")
        for theme in ("dark", "contrast", "light", "dark"):
            _choose_theme(demo, theme)
            # The Cost tab is still the one shown: the chart was restyled, not hidden.
            assert demo.page.locator("#cost-chart .main-svg").first.is_visible()
            _assert_readable(demo, f"{chart} switched to {theme}")
            _shot(demo, f"{chart}-switched-{theme}")
        # Changed while another tab is shown: the chart is in the new colours when it comes back.
        demo.page.get_by_role("tab", name="Arithmetic").click()
        _choose_theme(demo, "light")
        demo.page.get_by_role("tab", name="Cost").click()
        demo.page.wait_for_selector("#cost-chart .main-svg .ytick text", timeout=TIMEOUT_MS)
        demo.page.wait_for_timeout(200)
        _assert_readable(demo, f"{chart} light, switched behind another tab")
        demo.assert_clean()
    finally:
        frames.close()


@pytest.mark.parametrize("theme", ["dark", "contrast"])
@pytest.mark.parametrize("chart", sorted(CHARTS))
def test_the_cost_chart_is_drawn_in_the_theme(browser, page_server, chart, theme) -> None:
    frames = _demo(browser, page_server, 1280, 720)
    demo = next(frames)
    try:
        _open_cost(demo, f"{CHARTS[chart]}&theme={theme}")
        assert demo.page.evaluate("document.body.dataset.theme") == theme
        _assert_readable(demo, f"{chart} drawn in {theme}")
        _shot(demo, f"{chart}-drawn-{theme}")
        demo.assert_clean()
    finally:
        frames.close()
