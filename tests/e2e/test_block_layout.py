# ruff: noqa: E501  (JavaScript measured in the page reads best on one line)
"""A block's page laid out for a class, in real Chromium, used as a teacher uses it (the visible
tab buttons clicked, the keys pressed after a click) and measured: at 1280×720 the Cost and Code
tabs open as a sheet over the stage (static/css/blocks.css), tall enough for the whole per-stage
table at 14 px or more, every row inside the viewport; Escape, the player's keys and the strip
show the stage again, whose size never changed; the residual add's side titles keep to one line
(static/js/blocks/elementwise.js), and where they must wrap both sides wrap alike. The single
layer's panels and the phone are as they were. Screenshots in test-artifacts/block-layout-*."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo
from tests.e2e.test_block_stage import open_block_step
from tests.e2e.test_legibility import screen

pytestmark = pytest.mark.e2e

BLOCK = "block=inverted_residual"  # the page's default block: 2 -> 2 channels, t = 4, 6x6
ADD_STEP = 395  # the add's last channel (the page's default block has 396 steps)
STAGES = ["expand", "expand_bn", "expand_relu6", "depthwise", "depthwise_bn", "depthwise_relu6",
          "project", "project_bn", "add", "block", "standard", "ratio"]

# Where the Cost table is and what of it a class sees: the panel scrolls inside itself, so a row
# counts as shown only inside both the panel's box and the viewport.
COST = """() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const inside = (r, f) => r[0] >= f[0] - 1 && r[1] >= f[1] - 1 && r[2] <= f[2] + 1 && r[3] <= f[3] + 1;
  const view = [0, 0, innerWidth, innerHeight];
  const panel = document.querySelector('#panel-cost');
  const clip = box(panel);
  const table = box(document.querySelector('#cost-table table'));
  const rows = [...document.querySelectorAll('#cost-table tbody tr')];
  const texts = [...document.querySelectorAll('#cost-table *, .block-cost-note')].filter((e) => [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()));
  const stage = box(document.querySelector('#stage'));
  const over = document.elementFromPoint((stage[0] + stage[2]) / 2, (stage[1] + stage[3]) / 2);
  return {
    tableHeight: table[3] - table[1],
    tableShown: Math.min(table[3], clip[3], innerHeight) - Math.max(table[1], clip[1], 0),
    rows: rows.map((row) => row.dataset.stage),
    rowsHidden: rows.filter((row) => !inside(box(row), clip) || !inside(box(row), view)).map((row) => row.dataset.stage),
    smallest: Math.min(...texts.map((e) => parseFloat(getComputedStyle(e).fontSize))),
    chartShown: inside(box(document.querySelector('#cost-chart')), view),
    pageSideways: document.documentElement.scrollWidth > innerWidth,
    panelSideways: panel.scrollWidth > panel.clientWidth + 1,
    panelScrolls: panel.scrollHeight > panel.clientHeight + 1,
    coversStage: document.querySelector('#panels').contains(over),
  };
}"""

# The stage under the panels: its drawing area's size (a new size rebuilds its layout) and what
# lies at its centre.
STAGE = """() => {
  const view = document.querySelector('#stage-view');
  const r = document.querySelector('#stage').getBoundingClientRect();
  const over = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
  return {size: [view.clientWidth, view.clientHeight], shown: view.contains(over), drawn: view.dataset.drawnStep,
          tab: document.querySelector('[role="tab"][aria-selected="true"]').dataset.tab,
          focus: document.activeElement.dataset.tab || document.activeElement.id};
}"""

# The add's two side titles: their lines (a Range's line boxes, and the box's height over the
# line height) and where the maps under them start.
TITLES = """() => [...document.querySelectorAll('.stage-layout.elementwise > .pw-side')].map((side) => {
  const title = side.querySelector('.column-title');
  const range = document.createRange();
  range.selectNodeContents(title);
  const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
  const style = getComputedStyle(title);
  const box = title.getBoundingClientRect();
  return {text: title.textContent, lines: tops.size, boxLines: box.height / parseFloat(style.lineHeight),
          height: box.height, gridTop: side.querySelector('.map-grid').getBoundingClientRect().top, font: parseFloat(style.fontSize)};
})"""


def _open_block(demo: Demo, extra: str = "") -> None:
    query = "&".join(part for part in (BLOCK, extra, f"step={ADD_STEP}") if part)
    open_block_step(demo.page, f"{demo.base_url}/#{query}", ADD_STEP)


def _open_cost(demo: Demo) -> dict:
    demo.page.get_by_role("tab", name="Cost").click()
    demo.page.wait_for_selector("#cost-table[data-ready='true'] [data-role='block-cost-table']")
    demo.page.wait_for_selector("#cost-chart .main-svg")
    demo.page.wait_for_timeout(300)  # plotly's first layout
    return demo.page.evaluate(COST)


@pytest.mark.parametrize(("width", "height", "font"), [(1280, 720, 14), (1920, 1080, 18)])
def test_the_cost_tab_shows_the_whole_table_over_the_stage(browser, page_server, width, height, font
                                                            ) -> None:
    with screen(browser, page_server, width, height) as demo:
        _open_block(demo)
        before = demo.page.evaluate(STAGE)
        assert before["shown"] and before["tab"] == "arithmetic"
        found = _open_cost(demo)
        demo.screenshot(f"block-layout-cost-{width}x{height}")
        assert found["rows"] == STAGES
        # Before: a 90 px window onto a 307 px table at 1280×720, three rows of twelve shown.
        assert found["rowsHidden"] == [], f"rows outside the panel or the viewport: {found['rowsHidden']}"
        assert found["tableShown"] >= found["tableHeight"] - 1 >= 280, found
        assert not found["panelScrolls"], "the table scrolls inside its panel"
        assert found["smallest"] >= font, f"text of {found['smallest']} px in the Cost table"
        assert found["chartShown"], "the chart leaves the viewport"
        assert not found["pageSideways"] and not found["panelSideways"], found
        assert found["coversStage"], "the Cost tab opened under the stage"
        # The stage underneath kept its size: it is not rebuilt, and is as it was when shown again.
        assert demo.page.evaluate(STAGE)["size"] == before["size"]
        # A keyboard after the click: Escape shows the stage again.
        demo.page.keyboard.press("Escape")
        after = demo.page.evaluate(STAGE)
        assert after["shown"] and after["tab"] == "arithmetic", after
        assert after["size"] == before["size"] and after["drawn"] == before["drawn"]
        demo.assert_clean()


def test_the_code_tab_is_readable_and_the_players_keys_show_the_stage(browser, page_server) -> None:
    """The Code tab at 1280×720: the script on a box at least 300 px tall at 14 px, inside the
    viewport; a player's key after the click steps the player and shows the stage."""
    with screen(browser, page_server, 1280, 720) as demo:
        page = demo.page
        _open_block(demo)
        size = page.evaluate(STAGE)["size"]
        page.get_by_role("tab", name="Code").click()
        page.wait_for_selector("#panel-code[data-ready='true']")
        code = page.evaluate("""() => {
          const pre = document.querySelector('#panel-code .code-text').getBoundingClientRect();
          return {top: pre.top, bottom: pre.bottom, left: pre.left, right: pre.right,
                  font: parseFloat(getComputedStyle(document.querySelector('#code-text')).fontSize),
                  sideways: document.documentElement.scrollWidth > innerWidth};
        }""")
        demo.screenshot("block-layout-code-1280x720")
        # Before: 11.2 px type in a box of about 40 px.
        assert code["bottom"] - code["top"] >= 300, code
        assert code["top"] >= 0 and code["bottom"] <= 720 and code["left"] >= 0 and code["right"] <= 1280, code
        assert code["font"] >= 14, code
        assert not code["sideways"]
        assert "import torch" in page.inner_text("#code-text")
        # The click handed the keys to the stage (classroom/keys.js): ← steps back, and the
        # class sees that step.
        page.keyboard.press("ArrowLeft")
        demo.wait_counter(ADD_STEP, ADD_STEP + 1)
        found = page.evaluate(STAGE)
        assert found["shown"] and found["tab"] == "arithmetic", found
        assert found["size"] == size
        demo.assert_clean()


def test_the_tabs_keys_stay_in_the_sheet_and_the_strip_shows_the_stage(browser, page_server) -> None:
    """A keyboard user tabs to the tab list: ← and → move between the tabs (the sheet stays and
    follows), Escape gives the focus back to Arithmetic; a stage clicked in the strip is shown."""
    with screen(browser, page_server, 1280, 720) as demo:
        page = demo.page
        _open_block(demo)
        _open_cost(demo)
        for _ in range(60):  # Tab through the page to the selected tab, as a keyboard user does
            if page.evaluate("document.activeElement.getAttribute('role')") == "tab":
                break
            page.keyboard.press("Tab")
        assert page.evaluate(STAGE)["focus"] == "cost"
        page.keyboard.press("ArrowRight")
        page.wait_for_selector("#panel-code[data-ready='true']")
        found = page.evaluate(STAGE)
        assert found["tab"] == "code" and found["focus"] == "code" and not found["shown"], found
        page.keyboard.press("ArrowLeft")
        page.wait_for_selector("#cost-table[data-ready='true'] [data-role='block-cost-table']")
        assert page.evaluate(COST)["rowsHidden"] == []
        page.keyboard.press("Escape")
        found = page.evaluate(STAGE)
        assert found["tab"] == "arithmetic" and found["focus"] == "arithmetic" and found["shown"], found
        # The strip: a stage clicked is a stage to see, even from under the Cost sheet.
        _open_cost(demo)
        page.locator('.block-stage-tab[data-stage="depthwise"]').click()
        page.wait_for_function(
            "() => document.querySelector('.block-stage-tab[aria-current=\"step\"]')?.dataset.stage === 'depthwise'",
            timeout=TIMEOUT_MS)
        found = page.evaluate(STAGE)
        assert found["shown"] and found["tab"] == "arithmetic", found
        demo.assert_clean()


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1366, 768), (1920, 1080)])
def test_the_adds_titles_keep_to_one_line(browser, page_server, width, height) -> None:
    """"THE MAPS IT READS (2)" wrapped at 1280×720 and pushed its maps 15 px under the other
    side's; now each title is one line, the two sides' maps start level, channel after channel
    (← from the last channel, after a click on the stage), and the focus keeps its 14 px."""
    with screen(browser, page_server, width, height) as demo:
        _open_block(demo)
        demo.screenshot(f"block-layout-add-{width}x{height}")
        titles = demo.page.evaluate(TITLES)
        assert len(titles) == 2
        for title in titles:
            assert title["lines"] == 1 and round(title["boxLines"]) == 1, title
        assert titles[0]["gridTop"] == titles[1]["gridTop"], titles
        # Not paid for with the numbers the class reads: the focus maps' stay at 14 px or more.
        fonts = demo.page.evaluate("() => [...document.querySelectorAll('.pw-mix canvas')].map((c) => Number(c.dataset.font))")
        assert len(fonts) == 3 and min(fonts) >= 14, fonts
        demo.page.locator("#stage-view").click(position={"x": 5, "y": 5})
        demo.page.keyboard.press("ArrowLeft")
        demo.wait_counter(ADD_STEP, ADD_STEP + 1)
        assert demo.page.evaluate(TITLES) == titles
        demo.assert_clean()


@pytest.mark.parametrize(("width", "height", "extra"), [(1280, 720, "present=1"), (1920, 1080, "present=1"),
                                                         (1280, 720, "quiz=1")])
def test_where_the_adds_titles_wrap_both_sides_wrap_alike(browser, page_server, width, height, extra
                                                            ) -> None:
    """Presenter mode gives the focus the width, the quiz takes a third of 1280 px: there the
    titles wrap, to one height on both sides, so the maps under them start level."""
    with screen(browser, page_server, width, height) as demo:
        _open_block(demo, extra)
        demo.screenshot(f"block-layout-add-{extra.replace('=1', '')}-{width}x{height}")
        titles = demo.page.evaluate(TITLES)
        assert titles[0]["height"] == titles[1]["height"], titles
        assert titles[0]["gridTop"] == titles[1]["gridTop"], titles
        demo.assert_clean()


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1920, 1080)])
def test_the_single_layers_panels_stay_under_its_stage(browser, page_server, width, height) -> None:
    """No block: the Cost tab opens in the panels under the stage, as before."""
    with screen(browser, page_server, width, height) as demo:
        page = demo.page
        demo.open()
        before = page.evaluate(STAGE)
        page.get_by_role("tab", name="Cost").click()
        page.wait_for_selector("#cost-table[data-ready='true'] [data-layer='separable']")
        boxes = page.evaluate("""() => ({panels: document.querySelector('#panels').getBoundingClientRect().top,
          stage: document.querySelector('#stage').getBoundingClientRect().bottom,
          sideways: document.documentElement.scrollWidth > innerWidth})""")
        assert abs(boxes["panels"] - boxes["stage"]) <= 1, boxes
        assert not boxes["sideways"]
        found = page.evaluate(STAGE)
        assert found["shown"] and found["size"] == before["size"], found
        demo.assert_clean()


def test_the_phone_does_not_scroll_sideways_in_block_mode(browser, page_server) -> None:
    with screen(browser, page_server, 390, 844) as demo:
        page = demo.page
        _open_block(demo)
        sideways = "() => document.documentElement.scrollWidth > innerWidth"
        assert not page.evaluate(sideways)
        for name in ("Cost", "Code"):
            page.get_by_role("tab", name=name).click()
            page.wait_for_selector(f"#panel-{name.lower()}:not([hidden])")
            page.wait_for_timeout(300)
            assert not page.evaluate(sideways), name
        demo.screenshot("block-layout-phone-390x844")
        demo.assert_clean()
