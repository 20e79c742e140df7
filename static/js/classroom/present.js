// How the stage presents: presenter mode's scale and zoom (+ / − keys and buttons,
// `zoom=` in the URL), labels that follow them, a formula that is never cut, the
// theme, embed mode, and the few settings a lesson step asks for while presenter
// mode hides the settings panel. Stage views read the result from layout.js.
import { LESSONS } from "../lessons/catalog.js";
import { applyTheme } from "../views/theme.js";
import { ZOOMS } from "../core/state.js";
import { setReadability } from "../views/layout.js";

const $ = (selector) => document.querySelector(selector);

/** Shrink the formula's type until its text fits its box (two lines): it is never cut. */
export function fitFormula(element) {
  element.style.fontSize = "";
  const base = parseFloat(getComputedStyle(element).fontSize);
  let size = base;
  for (let n = 0; n < 12 && size > 9 && element.scrollHeight > element.clientHeight + 1; n++) {
    size = Math.max(9, size * 0.9);
    element.style.fontSize = `${size}px`;
  }
  element.dataset.fontSize = String(Math.round(size * 10) / 10);
}

function zoomBy(state, direction) {
  const index = ZOOMS.indexOf(state.get("zoom"));
  const at = index < 0 ? ZOOMS.indexOf(1) : index;
  const next = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, at + direction))];
  state.set({ zoom: next });
}

/** The number fields a lesson step names (`controls`), mirrored in presenter mode. */
function presentControls(state, box) {
  const values = state.values;
  const lesson = LESSONS[values.lesson - 1];
  const step = lesson && lesson.steps[values.lstep];
  const names = values.present && step && step.controls ? step.controls : [];
  const key = names.join(",");
  if (box.dataset.controls !== key) {
    box.dataset.controls = key;
    box.replaceChildren();
    for (const name of names) {
      const source = document.querySelector(`#param-${name}`);
      if (!source) continue;
      const field = document.createElement("label");
      field.className = "present-field";
      const caption = document.createElement("span");
      caption.textContent = document.querySelector(`label[for="param-${name}"]`)?.textContent || name;
      const input = document.createElement("input");
      input.type = "number";
      input.id = `present-${name}`;
      input.min = source.min;
      input.max = source.max;
      input.step = "1";
      input.dataset.present = name;
      input.addEventListener("change", () => {
        const value = Number(input.value);
        if (Number.isInteger(value)) state.set({ [name]: value });
      });
      field.append(caption, input);
      box.append(field);
    }
  }
  box.hidden = !names.length;
  for (const input of box.querySelectorAll("input")) {
    const value = String(values[input.dataset.present]);
    if (input.value !== value && document.activeElement !== input) input.value = value;
  }
}

export function initPresentation({ state, views, scheduleRender }) {
  const zoomLabel = $("#zoom-value");
  const embed = new URLSearchParams(location.search).get("embed") === "1";
  document.body.classList.toggle("embed", embed);

  let last = "";
  function apply() {
    const values = state.values;
    const presenting = values.present === 1 || embed;
    const zoom = values.zoom;
    const key = `${presenting}|${zoom}|${innerHeight}|${values.theme}`;
    if (zoomLabel) zoomLabel.textContent = `${Math.round(values.zoom * 100)}%`;
    applyTheme(values.theme);
    const themeMenu = $("#theme");
    if (themeMenu && themeMenu.value !== values.theme) themeMenu.value = values.theme;
    if (key === last) return;
    last = key;
    setReadability({ presenting, zoom, viewportHeight: innerHeight });
    views.invalidate();
    scheduleRender();
    fitFormula($("#formula"));
  }

  const box = $("#present-controls");
  state.subscribe((changed) => {
    if (["present", "zoom", "theme"].some((name) => changed.has(name))) apply();
    if (box && ["present", "lesson", "lstep", "out", "kh", "kw", "multiplier", "groups"].some((name) => changed.has(name))) {
      presentControls(state, box);
    }
  });
  addEventListener("resize", apply);
  apply();
  if (box) presentControls(state, box);

  for (const button of document.querySelectorAll("[data-zoom]")) {
    button.addEventListener("click", () => zoomBy(state, Number(button.dataset.zoom)));
  }
  const themeMenu = $("#theme");
  if (themeMenu) themeMenu.addEventListener("change", () => state.set({ theme: themeMenu.value }));

  // + / − zoom the stage (= is + without Shift on most layouts), 0 resets.
  window.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    if (event.key === "+" || event.key === "=") zoomBy(state, 1);
    else if (event.key === "-" || event.key === "_") zoomBy(state, -1);
    else if (event.key === "0") state.set({ zoom: 1 });
    else return;
    event.preventDefault();
  });

  const formula = $("#formula");
  new MutationObserver(() => fitFormula(formula)).observe(formula, { childList: true, characterData: true, subtree: true });
}
