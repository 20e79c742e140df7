"""Every lesson's formulas and code fit their column, and the top bar fits a laptop.

A class reads a lesson's formula from the back of the room: a formula cut at the column's
edge (lesson 3's `W[:, :, c, k] = Σ_r dw[…] · pw[c·M + r, k]` ended at x=1323 of 1280)
or hidden in a scrolling box is a formula nobody sees whole. Each lesson is opened from
the visible lesson menu and walked with the visible Next button (Page Down in presenter
mode, whose clicker has no mouse), and every step is measured at a laptop's and a
projector's size, in English and Chinese. Screenshots go to /tmp/fix3/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo, screen
from tests.e2e.lessons_helpers import open_page, wait_lesson

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/fix3")
LESSONS = range(1, 8)
SCREENS = [(1280, 720), (1920, 1080)]
LANGUAGES = ["en", "zh-CN"]

# Every formula and listing in the lesson column, and how far each reaches past the column's
# content box or the window (px; 0.5 for subpixel rounding). A listing that scrolls sideways
# hides its end too, so a <pre> counts as far as its content reaches.
MEASURE = """() => {
  const side = document.querySelector('#side');
  const box = side.getBoundingClientRect();
  const style = getComputedStyle(side);
  const column = box.right - parseFloat(style.paddingRight);
  const found = [];
  const selector = '#lesson-text code, #lesson-widget code, #lesson-widget pre, '
    + '#lesson-widget .math, #lesson-widget td[translate="no"]';
  for (const element of side.querySelectorAll(selector)) {
    const rect = element.getBoundingClientRect();
    if (!rect.width || !element.checkVisibility()) continue;
    const right = element.tagName === 'PRE'
      ? rect.left + element.scrollWidth + (rect.width - element.clientWidth) : rect.right;
    found.push({ text: element.textContent.slice(0, 50), right, column, window: innerWidth });
  }
  return { found, sideScrolls: side.scrollWidth > side.clientWidth + 1 };
}"""


def choose_lesson(demo: Demo, number: int) -> None:
    """The way a teacher does it: the lesson menu in the top bar."""
    menu = demo.page.locator("#lesson-select")
    assert menu.is_visible()
    menu.select_option(str(number))
    wait_lesson(demo, number)


def step_count(demo: Demo) -> int:
    return demo.page.eval_on_selector_all("#lesson-dots span", "dots => dots.length")


def walk_to(demo: Demo, number: int, step: int, presenting: bool) -> None:
    if presenting:
        demo.page.keyboard.press("PageDown")
    else:
        button = demo.page.locator("#lesson-next")
        assert button.is_visible()
        button.click()
    demo.page.wait_for_selector(f"#lesson-text[data-lesson='{number}'][data-step='{step}']",
                                state="attached", timeout=TIMEOUT_MS)
    wait_lesson(demo, number)


def open_listings(demo: Demo) -> None:
    """Open every folded listing the way a reader does, by clicking its summary."""
    for summary in demo.page.locator("#lesson-widget details:not([open]) > summary").all():
        summary.click()


def overflows(demo: Demo) -> list[str]:
    measured = demo.page.evaluate(MEASURE)
    found = measured["found"]
    assert found, "no formula or code measured"
    problems = [
        f"{item['text']!r} ends at {item['right']:.0f} (column {item['column']:.0f}, "
        f"window {item['window']})" for item in found
        if item["right"] > item["column"] + 0.5 or item["right"] > item["window"] + 0.5]
    if measured["sideScrolls"]:
        problems.append("the lesson column scrolls sideways")
    return problems


def lesson_problems(demo: Demo, tag: str, presenting: bool) -> list[str]:
    problems: list[str] = []
    measured_steps = 0
    for number in LESSONS:
        if presenting and number > 1:  # the menu is in the top bar, which presenting hides
            demo.page.locator("body").focus()
            demo.page.keyboard.press("Escape")
            demo.page.wait_for_selector("body:not(.presenting)", timeout=TIMEOUT_MS)
        choose_lesson(demo, number)
        if presenting:
            demo.page.click("#present-toggle")
            demo.page.wait_for_selector("body.presenting", timeout=TIMEOUT_MS)
            demo.page.locator("body").focus()
        for step in range(step_count(demo)):
            if step:
                walk_to(demo, number, step, presenting)
            open_listings(demo)
            found = overflows(demo)
            measured_steps += 1
            name = f"{tag}-L{number}s{step + 1}"
            if found or step == 0:
                demo.page.screenshot(path=str(SHOTS / f"{name}.png"))
            problems += [f"lesson {number} step {step + 1}: {problem}" for problem in found]
    assert measured_steps >= 20, measured_steps  # 7 lessons, 2 to 4 steps each
    return problems


@pytest.mark.parametrize("presenting", [False, True], ids=["page", "presenter"])
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("width", "height"), SCREENS)
def test_every_lesson_formula_fits_its_column(browser: object, page_server: str, width: int,
                                              height: int, language: str,
                                              presenting: bool) -> None:
    SHOTS.mkdir(exist_ok=True)
    mode = "present" if presenting else "fit"
    with screen(browser, page_server, width, height) as demo:
        open_page(demo, language)
        problems = lesson_problems(demo, f"{mode}-{language}-{width}", presenting=presenting)
        assert problems == [], "\n".join(problems)
        demo.assert_clean()


def test_lesson_3_formula_wraps_between_its_terms(browser: object, page_server: str) -> None:
    """Wrapped, the formula breaks before an operator, never inside an index."""
    with screen(browser, page_server, 1280, 720) as demo:
        open_page(demo)
        choose_lesson(demo, 3)
        code = demo.page.locator("#lesson-text code").first
        lines = code.evaluate("""code => {
          const range = document.createRange();
          range.selectNodeContents(code);
          const tops = [...range.getClientRects()].map(rect => Math.round(rect.top));
          return new Set(tops).size;
        }""")
        assert lines >= 2  # it did not fit in one line of a 343 px column
        text = code.inner_text().replace("\u00a0", " ")
        assert text == "W[:, :, c, k] = Σ_r dw[:, :, c, r] · pw[c·M + r, k]"
        # Break opportunities are the plain spaces: between terms, before an operator.
        parts = code.evaluate("code => code.textContent.split(' ')")
        glued = [part.replace(" ", "\u00a0") for part in
                 ("W[:, :, c, k]", "= Σ_r dw[:, :, c, r]", "· pw[c·M + r, k]")]
        assert parts == glued


# The top bar's controls by row: each visible control's top, rounded to a 16 px band.
HEADER_ROWS = """() => {
  const bar = document.querySelector('.topbar');
  const controls = [...bar.querySelectorAll('h1, .operations, select, .button, .icon-button')]
    .filter(element => element.checkVisibility() && element.getBoundingClientRect().width);
  const middle = element => {
    const rect = element.getBoundingClientRect();
    return (rect.top + rect.bottom) / 2;
  };
  const rows = [];
  for (const element of controls) {
    const y = middle(element);
    if (!rows.some(row => Math.abs(row - y) < 16)) rows.push(y);
  }
  const toggle = document.querySelector('#toggle-controls').getBoundingClientRect();
  const title = document.querySelector('.brand h1').getBoundingClientRect();
  const menu = document.querySelector('#lesson-select');
  const probe = document.createElement('span');
  probe.textContent = menu.selectedOptions[0].textContent;
  probe.style.font = getComputedStyle(menu).font;
  probe.style.position = 'absolute';
  probe.style.whiteSpace = 'pre';
  document.body.append(probe);
  const text = probe.getBoundingClientRect().width;
  probe.remove();
  const menuStyle = getComputedStyle(menu);
  return {
    rows: rows.length, height: bar.getBoundingClientRect().height,
    toggleOnTitleRow: toggle.top < title.bottom && toggle.bottom > title.top,
    menuText: text,
    menuRoom: menu.clientWidth - parseFloat(menuStyle.paddingLeft)
      - parseFloat(menuStyle.paddingRight) - 16,
    widest: Math.max(...controls.map(element => element.getBoundingClientRect().right)),
    page: document.documentElement.scrollWidth,
  };
}"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_laptop_header_keeps_the_toggle_on_the_title_row(browser: object, page_server: str,
                                                         language: str) -> None:
    """At 1280×720 the ☰ sits on the title's row, the bar takes two rows (it used to take
    three, ☰ alone on the last), and the lesson menu shows the lesson's whole title."""
    SHOTS.mkdir(exist_ok=True)
    with screen(browser, page_server, 1280, 720) as demo:
        open_page(demo, language)
        for number in (None, 3, 1, 2):
            if number:
                choose_lesson(demo, number)
            header = demo.page.evaluate(HEADER_ROWS)
            demo.page.screenshot(path=str(SHOTS / f"header-{language}-1280-{number}.png"))
            assert header["toggleOnTitleRow"], header
            assert header["rows"] == 2, header
            assert header["height"] <= 100, header
            assert header["menuText"] <= header["menuRoom"], header
            assert header["widest"] <= 1280 and header["page"] <= 1280, header
        demo.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_phone_header_stays_inside_the_screen(browser: object, page_server: str,
                                              language: str) -> None:
    with screen(browser, page_server, 390, 844) as demo:
        open_page(demo, language)
        header = demo.page.evaluate(HEADER_ROWS)
        demo.page.screenshot(path=str(SHOTS / f"header-{language}-390.png"), full_page=True)
        assert header["widest"] <= 390 and header["page"] <= 390, header
        demo.assert_clean()
