# ruff: noqa: E501  (JavaScript measured in the page reads best on one line)
"""A teacher's review, replayed in Chromium as the teacher did it (click the control, press
the key) and measured with ``window.convlensLegibility()``: zoom makes what the class reads
larger and keeps it on screen, presenter captions grow, the dark theme's window shows on a
light photo, the grouped wires are whole, and the /models lesson opens on its first step."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Demo
from tests.e2e.test_legibility import screen

pytestmark = pytest.mark.e2e

SCREENS = [(1280, 720), (1920, 1080)]

# The smallest number drawn (grids and focus view) and every grid and text box outside the viewport.
READ = """() => {
  const data = window.convlensLegibility();
  const out = (r) => r.x < -1 || r.y < -1 || r.x + r.width > innerWidth + 1 || r.y + r.height > innerHeight + 1;
  const fonts = data.grids.filter((g) => g.font > 0).map((g) => g.font);
  return {
    smallest: fonts.length ? Math.min(...fonts) : 0,
    largest: fonts.length ? Math.max(...fonts) : 0,
    outside: [...data.grids.filter((g) => out(g.rect)).map((g) => g.label),
              ...data.texts.filter((x) => out(x.rect)).map((x) => x.text)].slice(0, 8),
    zoom: document.querySelector('#zoom-value').textContent,
  };
}"""


def start(demo: Demo, example: str | None, photo: str | None) -> None:
    demo.page.goto(f"{demo.base_url}/")
    demo.page.wait_for_selector("body[data-ready]")
    if example:
        demo.page.select_option("#example", example)
        demo.page.wait_for_timeout(800)
    if photo:
        demo.page.select_option("#param-source", photo)
    demo.page.wait_for_function("() => window.convlensLegibility().grids.length")
    demo.page.wait_for_timeout(800)


def settle(demo: Demo) -> None:
    demo.page.wait_for_timeout(700)  # the stage rebuilds after a zoom or a resize (120 ms)
    demo.page.wait_for_function("() => window.convlensLegibility().grids.length")


def present(demo: Demo, ready: str = "body.presenting") -> None:
    """As the teacher does: a click on the stage, then P; wait for ``ready`` and the layout."""
    demo.page.locator("#stage-view").click(position={"x": 5, "y": 5})
    demo.page.keyboard.press("p")
    demo.page.wait_for_selector(ready)
    settle(demo)


@pytest.mark.parametrize(("width", "height"), SCREENS)
@pytest.mark.parametrize(("example", "photo"), [(None, "house"), ("grouped", None)])
def test_zoom_plus_makes_the_numbers_larger_and_keeps_them_on_screen(
    browser: object, page_server: str, width: int, height: int, example: str | None, photo: str | None
) -> None:
    with screen(browser, page_server, width, height) as demo:
        start(demo, example, photo)
        present(demo)
        before = demo.page.evaluate(READ)
        assert before["outside"] == [], before
        name = f"review-zoom-{example or photo}-{width}"
        demo.screenshot(f"{name}-100")
        # The Present mode's + button once, then the + key: 125 %, 150 %, 200 %.
        demo.page.locator('[data-zoom="1"]').click()
        steps = []
        for press in range(3):
            if press:
                demo.page.keyboard.press("+")
            settle(demo)
            found = demo.page.evaluate(READ)
            demo.screenshot(f"{name}-{found['zoom'].rstrip('%')}")
            steps.append(found)
            assert found["outside"] == [], (found, before)
            assert found["smallest"] >= before["smallest"], (found, before)
        assert [step["zoom"] for step in steps] == ["125%", "150%", "200%"]
        # The numbers the class reads (the largest on the stage: the focus view's) grow.
        assert steps[0]["largest"] > before["largest"], (steps, before)
        demo.assert_clean()


def open_block_stage(demo: Demo, stages_down: int, lang: str = "") -> None:
    """The inverted residual played on the stage in presenter mode, PageDown ``stages_down`` times."""
    demo.page.goto(f"{demo.base_url}/{lang}#block=inverted_residual&present=1&block_size=6&block_in=2&block_out=2")
    demo.page.wait_for_selector("body[data-ready]")
    demo.page.wait_for_function("() => window.convlensLegibility().grids.length")
    demo.page.locator("#stage-view").click(position={"x": 5, "y": 5})
    for _ in range(stages_down):
        demo.page.keyboard.press("PageDown")
        demo.page.wait_for_timeout(400)
    settle(demo)


@pytest.mark.parametrize(("width", "height", "label"), [(1280, 720, 15), (1920, 1080, 22)])
def test_presenter_block_captions_grow_with_the_stage_labels(
    browser: object, page_server: str, width: int, height: int, label: int
) -> None:
    with screen(browser, page_server, width, height) as demo:
        for stages_down, stage in [(6, "project")]:
            open_block_stage(demo, stages_down)
            demo.screenshot(f"review-captions-{stage}-{width}")
            found = demo.page.evaluate("""() => [...document.querySelectorAll('#stage-view .column-title')]
              .filter((e) => e.getBoundingClientRect().width > 0)
              .map((e) => { const s = getComputedStyle(e); return { text: e.textContent, size: parseFloat(s.fontSize), transform: s.textTransform }; })""")
            assert len(found) == 2, (stage, found)
            # Before: 13.1 px capitals at 1920 (11.5 px at 1280), under every other stage label.
            assert all(x["size"] >= label and x["transform"] == "none" for x in found), (stage, found)
            assert demo.page.evaluate(READ)["outside"] == [], stage
        demo.assert_clean()


def test_dark_theme_window_shows_on_a_light_input(browser: object, page_server: str) -> None:
    with screen(browser, page_server, 1280, 720) as demo:
        demo.page.goto(f"{demo.base_url}/#op=separable&height=8&width=8&channels=3&multiplier=2&out=4")
        demo.page.wait_for_selector("body[data-ready]")
        demo.page.get_by_role("combobox", name="Theme").select_option("dark")
        present(demo, "body.presenting[data-theme='dark']")
        demo.screenshot("review-dark-window")
        found = demo.page.evaluate("""() => {
          const lum = (text) => { const p = text.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number); return (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]) / 255; };
          const tap = document.querySelector('.lane .heatmap.input .window-tap');
          const s = getComputedStyle(tap);
          const rings = (s.boxShadow.match(/rgba?\\([^)]*\\)/g) || []).map(lum);
          // The input's colour under the window (the canvas pixel at the tap's centre).
          const canvas = tap.closest('.heatmap').querySelector('canvas');
          const c = canvas.getBoundingClientRect(), r = tap.getBoundingClientRect();
          const k = canvas.width / c.width;
          const px = canvas.getContext('2d').getImageData(Math.round((r.left + r.width / 2 - c.left) * k), Math.round((r.top + r.height / 2 - c.top) * k), 1, 1).data;
          return { border: lum(s.borderTopColor), rings, cell: (0.2126 * px[0] + 0.7152 * px[1] + 0.0722 * px[2]) / 255 };
        }""")
        # A light cell (cream), a white edge and a dark ring beside it: the window shows on both.
        assert found["cell"] > 0.7, found
        assert found["border"] > 0.9, found
        assert found["rings"] and max(found["rings"]) < 0.1, found
        demo.assert_clean()


def test_grouped_presenter_wires_are_whole(browser: object, page_server: str) -> None:
    with screen(browser, page_server, 1280, 720) as demo:
        start(demo, "grouped", None)
        present(demo)
        demo.screenshot("review-grouped-wires")
        found = demo.page.evaluate("""() => {
          const svg = document.querySelector('.std-main svg.wires');
          const box = svg.getBoundingClientRect();
          const lanes = [...document.querySelectorAll('.std-inputs .lane')].map((e) => e.getBoundingClientRect());
          const out = document.querySelector('.std-outputs .heatmap.output.active .heatmap-body').getBoundingClientRect();
          return [...svg.querySelectorAll('path.wire')].map((path) => {
            const a = path.getPointAtLength(0), b = path.getPointAtLength(path.getTotalLength());
            const start = { x: a.x + box.left, y: a.y + box.top }, end = { x: b.x + box.left, y: b.y + box.top };
            return { start, end, under: lanes.filter((l) => start.x < l.right - 1 && start.y > l.top && start.y < l.bottom).length,
                     endsAtOutput: Math.abs(end.x - out.left) < 2 && end.y > out.top && end.y < out.bottom };
          });
        }""")
        assert len(found) == 2, found  # group 0's two channels feed out 0
        # No wire starts under a lane (it would show as fragments between the lanes).
        assert all(w["under"] == 0 and w["endsAtOutput"] for w in found), found
        demo.assert_clean()


def test_chinese_block_names_batch_norm_as_the_models_page_does(browser: object, page_server: str) -> None:
    with screen(browser, page_server, 1280, 720) as demo:
        open_block_stage(demo, 1, "?lang=zh-CN")  # 2. expand_bn
        found = demo.page.evaluate("""() => ({
          titles: [...document.querySelectorAll('.block-stage-tab')].map((e) => e.title).filter((x) => x.includes('expand_bn') || /批归一化|BatchNorm/.test(x)),
          stage: document.querySelector('#stage-view').innerText,
        })""")
        assert any("批归一化" in title for title in found["titles"]), found["titles"]
        assert not any("BatchNorm" in title for title in found["titles"]), found["titles"]
        assert "BatchNorm" not in found["stage"], found["stage"][:300]
        demo.assert_clean()
