// The block view: one block (MobileNetV1, MobileNetV2's inverted residual, Xception's order)
// as one configuration — its stages in order, every intermediate map, BatchNorm's scale and
// shift, each stage's cost — from POST /api/v1/blocks; and the lesson "the inverted residual:
// why expand, why linear at the end", whose steps set the configuration (kept in the URL).
import { decodeArray, runBlock } from "../core/api.js";
import { t } from "../core/i18n.js";
import { extent, fitCell, fmt, mapFigure, stepTables } from "./draw.js";
import { blockUrl } from "../core/state.js";

const $ = (selector) => document.querySelector(selector);
const MAX_MAPS = 12;
const CONV_KINDS = ["conv", "depthwise", "pointwise"];

// The lesson's steps: the configuration each one sets, and the stage it points at.
const LESSON = [
  { set: { block: "inverted_residual", cin: 4, cout: 4, t: 6, s: 1, proj: "linear", fold: 0 }, stage: "expand" },
  { set: { block: "inverted_residual", cin: 4, cout: 4, t: 6, s: 1, proj: "linear", fold: 0 }, stage: "expand_relu6" },
  { set: { block: "inverted_residual", cin: 4, cout: 4, t: 6, s: 1, proj: "relu6", fold: 0 }, stage: "project_relu6" },
  { set: { block: "inverted_residual", cin: 4, cout: 4, t: 6, s: 1, proj: "linear", fold: 0 }, stage: "add" },
];

const FIELDS = {
  block: "#block-kind", cin: "#block-cin", cout: "#block-cout", t: "#block-t", s: "#block-s",
  order: "#block-order", between: "#block-between", proj: "#block-project", hw: "#block-size",
  seed: "#block-seed",
};
const TRACE_PARAMS = ["block", "cin", "cout", "t", "s", "order", "between", "proj", "fold", "hw", "seed"];

function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function percent(fraction) {
  return `${(fraction * 100).toFixed(0)} %`;
}

export class BlockView {
  constructor(state) {
    this.state = state;
    this.body = null;
    this.controller = null;
    this.pendingStage = null;
    for (const [name, selector] of Object.entries(FIELDS)) {
      $(selector).addEventListener("change", (event) => {
        const raw = event.target.value;
        const value = event.target.type === "number" || name === "s" ? Number(raw) : raw;
        if (typeof value === "number" && !Number.isInteger(value)) return;
        this.state.set({ [name]: value, lesson: 0 });
      });
    }
    $("#block-fold").addEventListener("change", (event) => this.state.set({ fold: event.target.checked ? 1 : 0, lesson: 0 }));
    $("#block-form").addEventListener("submit", (event) => event.preventDefault());
    $("#stage-prev").addEventListener("click", () => this.moveStage(-1));
    $("#stage-next").addEventListener("click", () => this.moveStage(1));
    $("#lesson-prev").addEventListener("click", () => this.lessonStep(-1));
    $("#lesson-next").addEventListener("click", () => this.lessonStep(1));
    $("#bstep-prev").addEventListener("click", () => this.movePosition(-1));
    $("#bstep-next").addEventListener("click", () => this.movePosition(1));
    $("#bstep-channel").addEventListener("change", (event) => {
      const value = Number(event.target.value);
      if (Number.isInteger(value) && value >= 0) this.state.set({ bch: value, bpos: 0 });
    });
    state.onChange((changed) => {
      if (state.get("view") !== "blocks") return;
      if (changed.some((name) => TRACE_PARAMS.includes(name))) this.load();
      else if (changed.includes("stage")) this.showStage();
      else if (changed.includes("bch")) this.loadSteps();
      else if (changed.includes("bpos")) this.showPosition();
      if (changed.includes("lesson")) this.showLesson();
    });
  }

  syncControls() {
    for (const [name, selector] of Object.entries(FIELDS)) $(selector).value = String(this.state.get(name));
    $("#block-fold").checked = this.state.get("fold") === 1;
    const block = this.state.get("block");
    for (const label of document.querySelectorAll("#block-form [data-for]")) {
      label.hidden = !label.dataset.for.split(" ").includes(block);
    }
  }

  request() {
    const s = this.state;
    return {
      block: s.get("block"), in_channels: s.get("cin"), out_channels: s.get("cout"), expansion: s.get("t"),
      strides: s.get("s"), order: s.get("order"), activation_between: s.get("between"),
      project_activation: s.get("proj"), fold_batch_norm: s.get("fold") === 1, input_hw: s.get("hw"),
      seed: s.get("seed"),
    };
  }

  async load() {
    this.syncControls();
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    try {
      const body = await runBlock(this.request(), controller.signal);
      if (controller.signal.aborted) return;
      this.body = body;
    } catch (error) {
      if (error.name === "AbortError") return;
      $("#block-error").hidden = false;
      $("#block-error").textContent = error.message;
      return;
    }
    $("#block-error").hidden = true;
    if (this.pendingStage) {
      const index = this.body.stage_names.indexOf(this.pendingStage);
      this.pendingStage = null;
      if (index >= 0) this.state.values.stage = index + 1;
    }
    if (this.state.get("stage") > this.body.stages.length) this.state.values.stage = 0;
    history.replaceState(null, "", `#${this.state.hash()}`);
    this.showStages();
    this.showCosts();
    this.showStage();
    this.showLesson();
    document.body.dataset.blockReady = String(Date.now());
  }

  /** Stage 0 is the block's input; stage n the output of the n-th stage. */
  stageMaps(n) {
    if (n === 0) return { array: decodeArray(this.body.input), name: t("blocks.input"), kind: "input" };
    const stage = this.body.stages[n - 1];
    return { array: decodeArray(stage.output), name: stage.name, kind: stage.kind, stage };
  }

  showStages() {
    const list = $("#block-stages");
    list.replaceChildren();
    const total = this.body.stages.length;
    const width = list.clientWidth || 700;
    for (let n = 0; n <= total; n++) {
      const { array, name, kind, stage } = this.stageMaps(n);
      const [channels, height, widthCells] = array.shape;
      const item = element("li", "block-stage");
      item.dataset.stage = String(n);
      const head = element("div", "block-stage-head");
      const button = element("button", "layer-name", name);
      button.type = "button";
      button.addEventListener("click", () => this.state.set({ stage: n }));
      head.append(element("span", "", `${n}.`), button, element("span", `kind kind-${kind}`, t(`blocks.kindname.${kind}`)),
        element("span", "", `${channels}×${height}×${widthCells}`));
      if (stage) {
        head.append(element("span", "cost", `${t("blocks.col.macs")}: ${stage.cost.macs.toLocaleString()}`));
        if (stage.zero_fraction > 0) head.append(element("span", "cost zeros", t("blocks.zeros", { percent: percent(stage.zero_fraction) })));
      }
      item.append(head);
      const maps = element("div", "block-stage-maps");
      const shown = Math.min(channels, MAX_MAPS);
      const cell = fitCell(width, widthCells, shown, 3, 12);
      const plane = height * widthCells;
      const scale = extent(array.data);
      for (let c = 0; c < shown; c++) {
        maps.append(mapFigure({ values: array.data.subarray(c * plane, (c + 1) * plane), rows: height,
          cols: widthCells, cell, scale, caption: `c${c}` }));
      }
      if (channels > shown) maps.append(element("span", "more", t("blocks.more_channels", { count: channels - shown })));
      if (stage && stage.scale) {
        const scaleValues = decodeArray(stage.scale).data;
        const shift = decodeArray(stage.shift).data;
        const text = Array.from(scaleValues.slice(0, 6), (value, c) => `${fmt(value)}·x ${shift[c] < 0 ? "−" : "+"} ${fmt(Math.abs(shift[c]))}`);
        maps.append(element("span", "more", `${t("blocks.scale")} · x + ${t("blocks.shift")}: ${text.join("; ")}${scaleValues.length > 6 ? " …" : ""}`));
      }
      item.append(maps);
      list.append(item);
    }
  }

  showStage() {
    if (!this.body) return;
    const total = this.body.stages.length;
    const n = Math.min(this.state.get("stage"), total);
    const { array, name, kind, stage } = this.stageMaps(n);
    $("#stage-label").textContent = t("blocks.stage", { n, total, name });
    for (const item of document.querySelectorAll("#block-stages .block-stage")) {
      if (Number(item.dataset.stage) === n) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    }
    const [channels, height, width] = array.shape;
    let text;
    if (!stage) {
      text = t("blocks.explain.input", { c: channels, h: height, w: width });
    } else if (kind === "activation") {
      text = t(`blocks.explain.activation.${stage.function}`, { zeros: percent(stage.zero_fraction) });
    } else {
      const before = this.stageMaps(n - 1).array.shape[0];
      const kernel = stage.kernel_shape ? stage.kernel_shape[0] : 1;
      text = t(`blocks.explain.${kind}`, { k: kernel, cin: before, cout: channels, s: stage.strides ? stage.strides[0] : 1 });
    }
    $("#stage-explain").textContent = text;
    this.updatePlayLinks(stage);
    this.loadSteps();
    // Scroll the list itself (never the page): the current stage at the top of the list.
    const list = $("#block-stages");
    const current = list.querySelector("[aria-current='step']");
    if (current) list.scrollTop = current.offsetTop - list.firstElementChild.offsetTop;
  }

  /** "Play this block on the stage": the main page with this block, at this stage. */
  updatePlayLinks(stage) {
    const language = document.documentElement.lang === "en" ? "" : document.documentElement.lang;
    const url = blockUrl(this.request(), stage ? stage.name : "", language);
    for (const link of [$("#block-play"), $("#lesson-play")]) link.href = url;
  }

  /** The engine's steps of one output channel of the current convolution stage. */
  async loadSteps() {
    const n = Math.min(this.state.get("stage"), this.body.stages.length);
    const stage = n > 0 ? this.body.stages[n - 1] : null;
    const panel = $("#stage-steps");
    this.steps = null;
    if (!stage || !CONV_KINDS.includes(stage.kind)) {
      panel.hidden = true;
      return;
    }
    const channels = stage.output_shape[0];
    if (this.state.get("bch") >= channels) this.state.values.bch = 0;
    $("#bstep-channel").max = String(channels - 1);
    $("#bstep-channel").value = String(this.state.get("bch"));
    if (this.stepsController) this.stepsController.abort();
    const controller = new AbortController();
    this.stepsController = controller;
    let body;
    try {
      body = await runBlock({ ...this.request(), step_stage: stage.name, channel: this.state.get("bch") }, controller.signal);
    } catch (error) {
      if (error.name !== "AbortError") {
        $("#block-error").hidden = false;
        $("#block-error").textContent = error.message;
      }
      return;
    }
    if (controller.signal.aborted) return;
    const steps = body.steps;
    this.steps = {
      raw: steps, stageIndex: n, window: decodeArray(steps.window), weights: decodeArray(steps.weights),
      products: decodeArray(steps.products), sums: decodeArray(steps.sum), outputs: decodeArray(steps.output),
    };
    panel.hidden = false;
    if (this.state.get("bpos") >= steps.steps) this.state.values.bpos = 0;
    this.showPosition();
    document.body.dataset.stepsReady = String(Date.now());
  }

  movePosition(delta) {
    if (!this.steps) return;
    const total = this.steps.raw.steps;
    this.state.set({ bpos: (this.state.get("bpos") + delta + total) % total });
  }

  showPosition() {
    if (!this.steps) return;
    const { raw, window, weights, products, sums, outputs, stageIndex } = this.steps;
    const k = Math.min(this.state.get("bpos"), raw.steps - 1);
    const i = raw.i[k];
    const j = raw.j[k];
    history.replaceState(null, "", `#${this.state.hash()}`);
    $("#bstep-label").textContent = t("models.step", { k: k + 1, total: raw.steps, i, j });
    const maps = $("#bstep-maps");
    maps.replaceChildren();
    const input = this.stageMaps(stageIndex - 1).array;
    const output = this.stageMaps(stageIndex).array;
    const stage = this.body.stages[stageIndex - 1];
    const [, height, width] = input.shape;
    const [, outH, outW] = output.shape;
    const [kh, kw] = stage.kernel_shape;
    const [sh, sw] = stage.strides;
    // SAME pads as TF resolves them (the odd pad at the bottom/right); VALID none.
    const padTop = stage.padding === "SAME" ? Math.floor(Math.max((outH - 1) * sh + kh - height, 0) / 2) : 0;
    const padLeft = stage.padding === "SAME" ? Math.floor(Math.max((outW - 1) * sw + kw - width, 0) / 2) : 0;
    const shown = raw.input_channels.slice(0, 4);
    const cell = fitCell(maps.clientWidth || 600, Math.max(width, outW), shown.length + 1, 6, 22);
    for (const c of shown) {
      const values = input.data.subarray(c * height * width, (c + 1) * height * width);
      maps.append(mapFigure({ values, rows: height, cols: width, cell, scale: extent(input.data),
        caption: t("blocks.stage_input", { c }), box: { top: i * sh - padTop, left: j * sw - padLeft, height: kh, width: kw } }));
    }
    const o = raw.channel;
    maps.append(mapFigure({ values: output.data.subarray(o * outH * outW, (o + 1) * outH * outW), rows: outH, cols: outW,
      cell, scale: extent(output.data), caption: t("blocks.stage_output", { o }), box: { top: i, left: j, height: 1, width: 1 } }));
    const detail = $("#bstep-detail");
    detail.replaceChildren(...stepTables({
      window, weights, products, mask: raw.padding_mask[k].flat(), inputChannels: raw.input_channels, k,
      captions: (c) => [t("models.window", { c }), t("models.kernel"), t("models.products")],
    }));
    const line = element("p", "sum-line", t("blocks.sum_line", { sum: fmt(sums.data[k]), bias: fmt(raw.bias), value: fmt(outputs.data[k]) }));
    line.id = "bstep-sum";
    line.dataset.value = String(outputs.data[k]);
    detail.append(line);
  }

  showCosts() {
    const table = $("#block-costs");
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    for (const key of ["stage", "weights", "macs", "activation", "intensity"]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = t(`blocks.col.${key}`);
      head.append(th);
    }
    const body = table.createTBody();
    const row = (label, cells) => {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = label;
      tr.append(th);
      for (const text of cells) tr.insertCell().textContent = text;
      return tr;
    };
    for (const stage of this.body.stages) {
      const cost = stage.cost;
      row(stage.name, [(cost.weights + cost.biases).toLocaleString(),
        cost.macs.toLocaleString(), cost.activation_bytes.toLocaleString(), cost.arithmetic_intensity.toFixed(2)]);
    }
    const costs = this.body.costs;
    row(t("blocks.total"), [(costs.weights + costs.biases).toLocaleString(), costs.macs.toLocaleString(),
      costs.activation_bytes.toLocaleString(), costs.arithmetic_intensity.toFixed(2)]).className = "total";
    row(t("blocks.standard"), [costs.standard.weights.toLocaleString(), costs.standard.macs.toLocaleString(), "", ""]);
    $("#block-ratio").textContent = t("blocks.ratio", {
      macs: percent(costs.to_standard_macs), weights: percent(costs.to_standard_weights),
    });
  }

  moveStage(delta) {
    if (!this.body) return;
    const total = this.body.stages.length + 1;
    this.state.set({ stage: (this.state.get("stage") + delta + total) % total });
  }

  lessonStep(delta) {
    const next = Math.max(1, Math.min(LESSON.length, this.state.get("lesson") + delta));
    const step = LESSON[next - 1];
    this.pendingStage = step.stage;
    const index = this.body ? this.body.stage_names.indexOf(step.stage) : -1;
    const same = Object.entries(step.set).every(([name, value]) => this.state.get(name) === value);
    if (same && index >= 0) {
      this.pendingStage = null;
      this.state.set({ lesson: next, stage: index + 1 });
    } else {
      this.state.set({ ...step.set, lesson: next });
    }
  }

  showLesson() {
    const n = this.state.get("lesson");
    $("#lesson-step").textContent = n ? t("blocks.lesson.step", { n, total: LESSON.length }) : "";
    $("#lesson-prev").disabled = n <= 1;
    $("#lesson-next").disabled = n >= LESSON.length;
    if (!n) {
      $("#lesson-text").textContent = t("blocks.lesson.1", this.lessonValues());
      return;
    }
    $("#lesson-text").textContent = t(`blocks.lesson.${n}`, this.lessonValues());
  }

  lessonValues() {
    const s = this.state;
    const values = { cin: s.get("cin"), cout: s.get("cout"), t: s.get("t"), hidden: s.get("cin") * s.get("t"), zeros: "—" };
    if (!this.body) return values;
    const n = s.get("lesson");
    const name = n === 3 ? "project_relu6" : "expand_relu6";
    const stage = this.body.stages.find((entry) => entry.name === name);
    if (stage) values.zeros = percent(stage.zero_fraction);
    return values;
  }
}
