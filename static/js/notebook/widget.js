// The notebook widget's driver: the page's own trace store, stage views, player,
// arithmetic and numbers, mounted in a notebook output. The trace arrives once, as
// the API's NDJSON bytes in the `_trace` trait; `step` and `speed` are traits, so
// Python drives the player and reads it back. Nothing here computes a value.
import { decodeEvent } from "../core/api.js";
import { t } from "../core/i18n.js";
import { Player, playerActions } from "../core/player.js";
import { TraceStore } from "../core/trace.js";
import { arithmeticHtml, formulaText } from "../views/arithmetic.js";
import { renderLegends } from "../views/legend.js";
import { numbersHtml, stepSummary } from "../views/numbers.js";
import { StageViews } from "../views/stage.js";

const ACTIONS = [
  ["first", "⇤", "player.first"],
  ["back", "←", "player.back"],
  ["play", "▶", "player.play"],
  ["forward", "→", "player.forward"],
  ["last", "⇥", "player.last"],
];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The trace store filled from the NDJSON bytes the kernel sent. */
export function storeFrom(bytes) {
  const store = new TraceStore();
  const text = new TextDecoder().decode(bytes);
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const event = decodeEvent(JSON.parse(line));
    if (event.type === "header") store.setHeader(event.header);
    else if (event.type === "chunk") store.addChunk(event);
    else if (event.type === "stage_end") store.endStage(event);
    else if (event.type === "end") store.finish();
    else if (event.type === "error") store.fail(event.error);
  }
  return store;
}

/** A state table for the player, backed by the widget's traits. */
function traitState(model) {
  return {
    get: (name) => model.get(name),
    set(patch) {
      for (const [name, value] of Object.entries(patch)) model.set(name, value);
      model.save_changes();
    },
    flushUrl() {},
  };
}

function toolbar(root) {
  const bar = element("div", "nb-player");
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", t("player.label"));
  for (const [action, symbol, key] of ACTIONS) {
    const button = element("button", "icon-button", symbol);
    button.type = "button";
    button.dataset.action = action;
    button.title = t(key);
    button.setAttribute("aria-label", t(key));
    bar.append(button);
  }
  const scrub = element("input", "nb-scrub");
  scrub.type = "range";
  scrub.min = "0";
  scrub.setAttribute("aria-label", t("player.scrub"));
  const counter = element("span", "nb-counter");
  counter.setAttribute("aria-live", "off");
  bar.append(scrub, counter);
  root.append(bar);
  return { bar, scrub, counter };
}

/** Mount one widget in `el`; returns the clean-up anywidget calls on removal. */
export function mount(el, model) {
  const root = element("div", "convlens-widget");
  root.tabIndex = 0;
  const formula = element("p", "formula nb-formula");
  formula.dataset.role = "formula";
  const stage = element("div", "stage-view nb-stage");
  stage.style.height = `${model.get("height")}px`;
  const legends = element("div", "legends nb-legends");
  const { bar, scrub, counter } = toolbar(root);
  const panels = element("div", "nb-panels");
  const arithmetic = element("div", "arithmetic nb-arithmetic");
  arithmetic.dataset.role = "arithmetic";
  const numbers = element("div", "numbers nb-numbers");
  numbers.dataset.role = "numbers";
  const live = element("p", "visually-hidden");
  live.setAttribute("aria-live", "polite");
  panels.append(arithmetic, numbers);
  root.append(formula, stage, legends, panels, live);
  el.append(root);

  let store = storeFrom(new Uint8Array(model.get("_trace").buffer));
  const views = new StageViews(stage, {
    onInputCell() {}, onKernelCell() {}, onPointwiseCell() {}, // the notebook's numbers are Python's
    animate: () => 0,
  });
  views.reset(store);
  const state = traitState(model);
  const player = new Player(state, () => ({ total: store.total, available: store.received }));

  let request = null;
  const schedule = () => {
    if (request === null) request = requestAnimationFrame(render);
  };
  function render() {
    request = null;
    const total = store.total;
    const step = Math.min(model.get("step"), Math.max(0, total - 1));
    scrub.max = String(Math.max(0, total - 1));
    scrub.value = String(step);
    counter.textContent = total ? t("player.counter", { step: step + 1, total }) : t("player.counter_empty");
    const play = bar.querySelector('[data-action="play"]');
    play.setAttribute("aria-pressed", String(player.playing));
    play.textContent = player.playing ? "❚❚" : "▶";
    const frame = total ? store.frame(step) : null;
    if (!frame) {
      arithmetic.innerHTML = `<p class="hint">${t(total === 0 ? "arith.empty" : "arith.none")}</p>`;
      return;
    }
    const view = views.viewFor(frame.stage);
    view.render(frame);
    renderLegends(legends, view.scales);
    formula.textContent = formulaText(frame, store.header);
    arithmetic.innerHTML = arithmeticHtml(frame, store.header);
    if (!player.playing) {
      numbers.innerHTML = numbersHtml(frame, store);
      live.textContent = stepSummary(frame);
    }
  }

  const actions = playerActions(player);
  bar.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (button) actions[button.dataset.action]();
    root.focus({ preventScroll: true });
  });
  scrub.addEventListener("input", () => {
    player.pause();
    player.seek(Number(scrub.value));
  });
  root.addEventListener("keydown", (event) => {
    // Inside the widget only: the notebook keeps its own shortcuts everywhere else.
    const keys = { ArrowRight: () => player.stepBy(1), ArrowLeft: () => player.stepBy(-1), " ": () => player.toggle(),
      Home: () => player.first(), End: () => player.last() };
    if (!keys[event.key] || event.target === scrub) return;
    event.preventDefault();
    event.stopPropagation();
    keys[event.key]();
  });
  player.onChange(schedule);
  const onStep = () => schedule();
  const onTrace = () => {
    player.pause();
    store = storeFrom(new Uint8Array(model.get("_trace").buffer));
    views.reset(store);
    schedule();
  };
  model.on("change:step", onStep);
  model.on("change:_trace", onTrace);
  const resize = new ResizeObserver(() => {
    views.invalidate();
    schedule();
  });
  resize.observe(stage);
  schedule();
  return () => {
    player.pause();
    resize.disconnect();
    model.off("change:step", onStep);
    model.off("change:_trace", onTrace);
  };
}
