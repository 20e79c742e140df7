// Wiring only: state <-> controls, state -> trace stream -> store, step -> views.
import { ApiError, callApi, fetchCosts, loadPlotly, opBody, runBlock, streamTrace } from "./core/api.js";
import { initClassroom } from "./classroom/modes.js";
import { initCodePanel } from "./code/panel.js";
import { initLessons } from "./lessons/runner.js";
import { bindControls, controlLabels } from "./controls/form.js";
import { buildProblem } from "./controls/data.js";
import { bindEditor } from "./controls/editor.js";
import { examplePatch } from "./controls/examples.js";
import { t } from "./core/i18n.js";
import { bindKeys, Player, playerActions } from "./core/player.js";
import { bindKeyHandback } from "./classroom/keys.js";
import { changesTrace, createState, PARAMS } from "./core/state.js";
import { TraceStore } from "./core/trace.js";
import { BlockStore } from "./blocks/store.js";
import { blockCostTableHtml, renderBlockCostChart } from "./blocks/costs.js";
import {
  blockConfig, blockProblems, blockStageName, blockTitle, elementwiseArithmeticHtml, elementwiseFormulaText, elementwiseNumbersHtml, elementwiseSummary, renderStrip,
} from "./blocks/play.js";
import { validate } from "./controls/validate.js";
import { arithmeticHtml, formulaText } from "./views/arithmetic.js";
import { costTableHtml, renderCostChart } from "./views/charts.js";
import { at } from "./views/common.js";
import { initPhoto, inputPalette, missingInputMessage, photoColor, photoLegend } from "./controls/photo.js";
import { renderLegends } from "./views/legend.js";
import { numbersHtml, stepSummary } from "./views/numbers.js";
import { initPresentation } from "./classroom/present.js";
import { StageViews } from "./views/stage.js";
import { Linking } from "./views/linking.js";

const $ = (selector) => document.querySelector(selector);

const state = createState(location.hash);
const form = $("#controls-form");
const labels = controlLabels(document);
const updateControls = bindControls(document, state);
let store = new TraceStore();
let stream = null;
let serverProblem = null;

// ------------------------------------------------------------------ editing

const pick = bindEditor(form, state, (kind, s, i, j) => {
  const header = store.header;
  if (!header) return null;
  if (kind === "input") return at(header.input, s, i, j);
  if (kind === "pointwise") {
    if (header.kernels.pointwise_filter) return at(header.kernels.pointwise_filter, i, j);
    return header.kernels.weight ? at(header.kernels.weight, j, i, 0, 0) : null;
  }
  if (header.kernels.depthwise_filter) {
    const m = header.channel_multiplier;
    return at(header.kernels.depthwise_filter, Math.floor(s / m), s % m, i, j);
  }
  const cg = header.kernels.weight.shape[1];
  return at(header.kernels.weight, Math.floor(s / cg), s % cg, i, j);
});

const views = new StageViews($("#stage-view"), {
  onInputCell(c, i, j) {
    if (store.isBlock) return; // a block's maps come from its seeded input and weights
    const [, h, w] = store.header.input.shape;
    if (i < 0 || j < 0 || i >= h || j >= w) return; // a padding cell: always zero
    pick("input", c, i, j);
  },
  onKernelCell(s, i, j) {
    if (store.isBlock) return;
    if (state.get("op") === "pointwise") {
      // The pointwise op's 1×1 kernels are the columns of its weight matrix.
      const channels = store.header.in_channels;
      pick("pointwise", 0, s % channels, Math.floor(s / channels));
    } else {
      pick("kernel", s, i, j);
    }
  },
  /** A photo's input grids are drawn in its own colours (photo.js); null for other inputs. */
  inputPalette(q) {
    return store.isBlock ? null : inputPalette(state.values, q);
  },
  onPointwiseCell(a, k) {
    if (!store.isBlock) pick("pointwise", 0, a, k);
  },
  /** Show step `local` of `stage` (the lane pager's buttons). */
  seek(stage, local) {
    player.pause();
    player.seek(stage.globalStart + local);
  },
  /** How long a step's short animation (the pointwise sweep) may take, in ms; 0 for none. */
  animate() {
    if (matchMedia("(prefers-reduced-motion: reduce)").matches) return 0;
    if (document.body.dataset.exporting) return 0; // export/: every frame is a finished step
    const speed = state.get("speed");
    if (!player.playing) return 700;
    return speed <= 4 ? 900 / speed : 0;
  },
});

// ------------------------------------------------------------------ playback

const player = new Player(state, () => ({ total: store.total, available: store.received }));
const playButton = $("#play");
player.onChange((playing) => {
  playButton.setAttribute("aria-pressed", String(playing));
  $("#play-label").textContent = t(playing ? "player.pause" : "player.play");
  playButton.title = `${t(playing ? "player.pause" : "player.play")} (Space)`;
  scheduleRender();
});

function jumpStage(direction) {
  if (!store.stages.length) return;
  const { stage } = store.locate(state.get("step"));
  const next = store.stages[Math.min(store.stages.length - 1, Math.max(0, stage.index + direction))];
  player.pause();
  player.seek(direction < 0 && next === stage ? stage.globalStart : next.globalStart);
}

bindKeys(player, jumpStage);
const linking = new Linking($("#stage-view"), {
  seek(step) {
    player.pause();
    player.seek(step);
  },
});
bindKeyHandback($("#stage-area"));

const actions = playerActions(player);
$("#player").addEventListener("click", (event) => {
  const button = event.target.closest("[data-action]");
  if (button && actions[button.dataset.action]) actions[button.dataset.action]();
});
const scrub = $("#scrub");
scrub.addEventListener("input", () => {
  player.pause();
  player.seek(Number(scrub.value));
});

// ------------------------------------------------------------------ the trace

function showStatus(text, kind = "info") {
  const status = $("#stage-status");
  status.textContent = text;
  status.dataset.kind = kind;
  status.hidden = !text;
}

const SERVER_FIELDS = {
  input: "height", filter: "kh", filters: "kh", depthwise_filter: "kh", pointwise_filter: "out",
  strides: "sh", dilations: "dh", padding: "padding", data_format: null,
};

function problems(values) {
  const local = validate(values, labels);
  return serverProblem ? [...local, serverProblem] : local;
}

function startTrace() {
  if (stream) stream.abort();
  stream = null;
  player.pause();
  serverProblem = null;
  const values = state.values;
  // A block on the stage (blocks/): its stages in order, one trace.
  const block = blockConfig(values);
  document.body.classList.toggle("block-mode", Boolean(block));
  if (block) $("#block-title").textContent = blockTitle(values);
  const found = block ? blockProblems(values, PARAMS) : validate(values, labels);
  updateControls(values, found);
  store = block ? new BlockStore(block) : new TraceStore();
  views.reset(store);
  renderLegends($("#legends"), null);
  buildStageTabs();
  updateScrub();
  if (found.length) {
    showStatus(`${t("problem.summary")} ${found.map((p) => p.message).join(" ")}`, "problem");
    renderPanels(null);
    return;
  }
  const problem = block ? { block } : buildProblem(values);
  if (!problem) {
    showStatus(missingInputMessage(values), "problem");
    return;
  }
  showStatus(t("status.loading"));
  const controller = new AbortController();
  stream = controller;
  const mine = store;
  streamTrace(problem, (event) => onEvent(mine, event), controller.signal)
    .then(() => {
      if (mine === store && !mine.done && !mine.error) mine.finish();
      scheduleRender();
    })
    .catch((error) => {
      if (error.name === "AbortError" || mine !== store) return;
      failed(mine, error);
    });
}

function failed(mine, error) {
  mine.fail(error);
  const message = error instanceof ApiError && error.code !== "offline"
    ? t("problem.server", { message: error.message })
    : t("status.offline");
  const param = error.field ? SERVER_FIELDS[error.field] : null;
  serverProblem = param ? { param, message } : null;
  updateControls(state.values, problems(state.values));
  showStatus(message, "problem");
  scheduleRender();
}

function onEvent(mine, event) {
  if (mine !== store) return;
  switch (event.type) {
    case "header":
      mine.setHeader(event.header);
      buildStageTabs();
      if (mine.isBlock && state.get("block_at")) {
        // A link to one stage of the block (/models): its first step, then the link is spent.
        const stage = mine.byName(state.get("block_at"));
        state.set({ block_at: "", ...(stage ? { step: stage.globalStart } : {}) });
      }
      if (state.get("step") >= mine.total && mine.total > 0) state.set({ step: mine.total - 1 });
      break;
    case "chunk":
      mine.addChunk(event);
      break;
    case "stage_end":
      mine.endStage(event);
      break;
    case "end":
      mine.finish();
      performance.mark("convlens:stream-end");
      break;
    case "error":
      failed(mine, event.error);
      return;
    default:
  }
  scheduleRender();
}

// ------------------------------------------------------------------ drawing

let renderRequest = null;
function scheduleRender() {
  if (renderRequest === null) renderRequest = requestAnimationFrame(render);
}

function buildStageTabs() {
  const nav = $("#stage-tabs");
  nav.replaceChildren();
  nav.classList.remove("block-strip");
  if (store.isBlock && store.header) {
    renderStrip(nav, store, (step) => {
      player.pause();
      player.seek(step);
      showStage(); // a stage chosen in the strip is to be seen, not a sheet over it
    });
  }
  if (!store.isBlock) store.stages.forEach((stage, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "stage-tab";
    button.dataset.stage = stage.name;
    const op = state.get("op");
    const name = stage.name === "standard" && (op === "pointwise" || op === "grouped")
      ? t(`stage.${op}`) : t(`stage.${stage.name}`);
    button.textContent = t("stage.tab", { n: index + 1, name });
    button.addEventListener("click", () => {
      player.pause();
      player.seek(stage.globalStart);
    });
    nav.append(button);
  });
  const marks = $("#scrub-stages");
  marks.replaceChildren();
  if (store.total > 0) {
    for (const stage of store.stages.slice(1)) {
      const mark = document.createElement("span");
      mark.style.left = `${(100 * stage.globalStart) / Math.max(1, store.total - 1)}%`;
      marks.append(mark);
    }
  }
}

const shown = new Map();
/** Write a DOM property only when it changes (playback calls this every frame). */
function show(element, property, value) {
  const key = `${element.id}.${property}`;
  if (shown.get(key) === value) return;
  shown.set(key, value);
  if (property === "width") element.style.width = value;
  else if (property.startsWith("data-") || property.startsWith("aria-")) element.setAttribute(property, value);
  else element[property] = value;
}

function updateScrub() {
  const total = store.total;
  const step = Math.min(state.get("step"), Math.max(0, total - 1));
  show(scrub, "max", String(Math.max(0, total - 1)));
  show(scrub, "disabled", total === 0);
  if (scrub.value !== String(step)) scrub.value = String(step);
  show($("#scrub-buffer"), "width", total ? `${(100 * store.received) / total}%` : "0%");
  const counter = total ? t("player.counter", { step: step + 1, total }) : t("player.counter_empty");
  show($("#step-counter"), "textContent", counter);
  show(scrub, "aria-valuetext", counter);
  const text = !store.header || store.error ? "" : store.received < total
    ? t("status.streaming", { received: store.received, total })
    : t("status.ready", { total });
  const progress = $("#stream-progress");
  show(progress, "textContent", text);
  show(progress, "data-done", String(store.received >= total && total > 0));
}

let panelTab = "arithmetic";
let lastArithmetic = 0;

function renderPanels(frame) {
  const arithmetic = $("#arithmetic");
  if (panelTab === "arithmetic") {
    // While playing fast, the panel follows at a readable pace (10 updates a second).
    const now = performance.now();
    if (player.playing && frame && now - lastArithmetic < 100) return;
    lastArithmetic = now;
    const html = frame && (frame.elementwise ? elementwiseArithmeticHtml(frame, store) : arithmeticHtml(frame, frame.store.header));
    arithmetic.innerHTML = frame ? html : `<p class="hint">${t(store.header && store.total === 0 ? "arith.empty" : "arith.none")}</p>`;
  }
  if (panelTab === "numbers") {
    // Tables of whole maps are heavy: they follow the step when playback pauses.
    const numbers = $("#numbers");
    if (!player.playing || !numbers.firstChild) numbers.innerHTML = !frame ? "" : frame.elementwise ? elementwiseNumbersHtml(frame, store) : numbersHtml(frame, frame.store);
  }
}

function render() {
  renderRequest = null;
  updateScrub();
  if (!store.header) return;
  if (store.total === 0) {
    showStatus(t("arith.empty"), "problem");
    renderPanels(null);
    return;
  }
  const step = Math.min(state.get("step"), store.total - 1);
  const frame = store.frame(step);
  if (!frame) {
    if (!store.error) showStatus(t("status.waiting", { step: step + 1 }));
    return;
  }
  if (!store.error) showStatus("");
  const view = views.viewFor(frame.stage);
  view.render(frame);
  $("#stage-view").dataset.drawnStep = String(step); // exports wait for this (export/index.js)
  // Hover / click an output or input cell (views/linking.js); a block's convolution stage
  // links within its own store.
  if (!frame.elementwise) linking.attach(view, frame.store);
  if (!store.firstFrameDrawn) {
    store.firstFrameDrawn = true;
    performance.mark("convlens:first-frame"); // playback can start (benchmarks/browser.py)
  }
  const photo = frame.stage.name === "pointwise" || store.isBlock ? null : photoLegend(state.values);
  renderLegends($("#legends"), view.scales, photo && { ...photo, colorOf: photoColor });
  // While playing fast, the formula follows at a readable pace, like the arithmetic panel.
  if (!player.playing || performance.now() - lastArithmetic >= 100) {
    show($("#formula"), "textContent", frame.elementwise ? elementwiseFormulaText(frame) : formulaText(frame, frame.store.header));
  }
  const current = blockStageName(frame);
  for (const tab of document.querySelectorAll(".stage-tab")) {
    const active = tab.dataset.stage === current;
    if (active) tab.setAttribute("aria-current", "step");
    else tab.removeAttribute("aria-current");
  }
  renderPanels(frame);
  if (!player.playing) {
    const live = $("#step-live");
    const summary = frame.elementwise ? elementwiseSummary(frame) : stepSummary(frame);
    if (live.textContent !== summary) live.textContent = summary;
  }
}

// ------------------------------------------------------------------ state changes

let traceTimer = null;
state.subscribe((changed, values) => {
  if (changesTrace(changed)) {
    // Typing "12" passes through "1": wait for a pause before asking the server.
    updateControls(values, validate(values, labels));
    show($("#stream-progress"), "data-done", "false"); // the frames on screen are now stale
    clearTimeout(traceTimer);
    traceTimer = setTimeout(startTrace, 150);
    if (panelTab === "cost") refreshCosts();
    return;
  }
  if (changed.size > 1 || !changed.has("step")) updateControls(values, problems(values));
  scheduleRender();
});

window.addEventListener("hashchange", () => state.load(location.hash));

$("#example").addEventListener("change", (event) => {
  const patch = examplePatch(event.target.value, state.get("speed"));
  if (patch) state.set(patch);
  event.target.value = "";
});

// A block on the stage: its bar's "back to one layer" leaves it (its options stay out of the URL).
$("#block-exit").addEventListener("click", () => state.set({ block: "" }));

// Photos: upload, drop on the stage, built-in photos, resampling from the original (photo.js).
initPhoto({ state });

// Tabs: Arithmetic | Numbers | Cost (arrow keys move between them, as the ARIA pattern says).
const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
function selectTab(name, focus = false) {
  panelTab = name;
  // A block's Numbers, Cost and Code tabs lie over its stage (blocks.css reads this).
  $("#panels").dataset.tab = name;
  for (const tab of tabs) {
    const selected = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#panel-${tab.dataset.tab}`).hidden = !selected;
    if (selected && focus) tab.focus();
  }
  if (name === "cost") refreshCosts();
  scheduleRender();
}
for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab.dataset.tab));
  tab.addEventListener("keydown", (event) => {
    const index = tabs.indexOf(tab);
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault();
      const next = tabs[(index + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      selectTab(next.dataset.tab, true);
    }
  });
}

// A block's Numbers, Cost and Code tabs are a sheet over its stage (blocks.css). It gives way
// to the stage when the teacher asks for the stage: Escape, or moving the player (its keys,
// taken by bindKeys above, its buttons, its scrub bar), since they mean to see that step.
const PLAYER_KEYS = new Set([" ", "Spacebar", "ArrowRight", "ArrowLeft", "Home", "End", "PageDown", "PageUp"]);
function sheetOpen() {
  return panelTab !== "arithmetic" && document.body.classList.contains("block-mode") && !state.get("present");
}
function showStage() {
  if (sheetOpen()) selectTab("arithmetic", $("#panels").contains(document.activeElement));
}
document.addEventListener("keydown", (event) => {
  if (!sheetOpen() || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key === "Escape" && !event.defaultPrevented) {
    event.preventDefault();
    showStage();
  } else if (event.defaultPrevented && PLAYER_KEYS.has(event.key) && !$("#panels").contains(event.target)) {
    showStage(); // the player took the key (the tabs' own arrows stay in the tabs)
  }
});
$("#player").addEventListener("click", (event) => {
  if (event.target.closest("[data-action]")) showStage();
});
$("#scrub").addEventListener("input", showStage);

let costsRequest = null;
async function refreshCosts() {
  const values = state.values;
  if (costsRequest) costsRequest.abort();
  const controller = new AbortController();
  costsRequest = controller;
  const table = $("#cost-table");
  const chart = $("#cost-chart");
  const block = blockConfig(values);
  if (block) {
    refreshBlockCosts(block, controller, table, chart);
    return;
  }
  chart.setAttribute("aria-label", t("cost.chart"));
  chart.removeAttribute("translate");
  if (validate(values, labels).length) return;
  const pointwise = values.op === "pointwise";
  const shapes = {
    input_hw: [values.height, values.width],
    in_channels: values.channels,
    out_channels: values.out,
    kernel_hw: pointwise ? [1, 1] : [values.kh, values.kw],
    channel_multiplier: values.op === "depthwise" || values.op === "separable" ? values.multiplier : 1,
    groups: values.op === "grouped" ? values.groups : 1,
    strides: pointwise ? [1, 1] : [values.sh, values.sw],
    padding: pointwise ? "VALID" : values.padding === "EXPLICIT"
      ? [[values.pad_top, values.pad_bottom], [values.pad_left, values.pad_right]] : values.padding,
    dilations: pointwise ? [1, 1] : [values.dh, values.dw],
  };
  await fillCostPanel(controller, table, chart, () => fetchCosts(shapes, controller.signal),
    costTableHtml, renderCostChart);
}

/**
 * The Cost tab's table and chart from one answer of the server (`fetchAnswer`), unless a newer
 * request replaced `controller` meanwhile; a failure is said in the table.
 */
async function fillCostPanel(controller, table, chart, fetchAnswer, tableHtml, renderChart) {
  try {
    table.dataset.ready = "false";
    if (!chart.dataset.ready) chart.textContent = t("cost.loading");
    const [answer, Plotly] = await Promise.all([fetchAnswer(), loadPlotly()]);
    if (controller !== costsRequest) return;
    table.innerHTML = tableHtml(answer);
    table.dataset.ready = "true";
    if (!chart.dataset.ready) chart.textContent = "";
    chart.dataset.ready = "true";
    await renderChart(Plotly, chart, answer);
  } catch (error) {
    if (error.name === "AbortError") return;
    table.textContent = t("cost.unavailable", { message: error.message });
  }
}

/** A block on the stage: the Cost tab shows the block's costs, as POST /api/v1/blocks has them. */
async function refreshBlockCosts(block, controller, table, chart) {
  if (blockProblems(state.values, PARAMS).length) return;
  chart.setAttribute("aria-label", t("blocks.cost.chart"));
  chart.translate = false; // its bars are named by the stages' identifiers (the API's)
  await fillCostPanel(controller, table, chart, () => runBlock(block, controller.signal),
    blockCostTableHtml, renderBlockCostChart);
}

// Settings panel: collapsible, to give the stage the whole screen when projecting.
$("#toggle-controls").addEventListener("click", (event) => {
  const button = event.currentTarget;
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  document.body.classList.toggle("controls-hidden", !open);
  views.invalidate();
  scheduleRender();
});

// A new size rebuilds the layout (cell sizes depend on the space available).
let resizeTimer = null;
let lastSize = "";
new ResizeObserver((entries) => {
  const box = entries[0].contentRect;
  const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
  if (size === lastSize) return;
  const first = lastSize === "";
  lastSize = size;
  if (first) return;
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    views.invalidate();
    scheduleRender();
  }, 120);
}).observe($("#stage-view"));

// The teaching layer: lessons, the code panel and the classroom features (issue 5).
const teaching = {
  state, player, views, labels, scheduleRender, callApi, opBody, loadPlotly, store: () => store,
  blockConfig: () => blockConfig(state.values), // a block on the stage, or null (blocks/play.js)
};
initClassroom(teaching, initLessons(teaching));
initCodePanel(teaching);
// Presenter scale and zoom, themes, embed mode, a formula never cut (classroom/present.js).
initPresentation(teaching);

state.flushUrl();
startTrace();
document.body.dataset.ready = "true";
