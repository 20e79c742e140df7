// The backward pass of one training step, step by step, drawn with the page's Player:
// the server computes every value (POST /lab/backward for the step's first-layer request,
// POST /trace/backward for its steps); this module only looks up step k and draws it.
import { fetchLabStep, streamBackward } from "../core/api.js";
import { language, t } from "../core/i18n.js";
import { Player } from "../core/player.js";

const $ = (selector, root = document) => root.querySelector(selector);
const number = new Intl.NumberFormat(language, { maximumFractionDigits: 3, minimumFractionDigits: 3 });

/** A tiny state table with the interface the Player drives (get / set / flushUrl). */
class StepState {
  constructor(onStep) {
    this.values = { step: 0, speed: 4 };
    this.onStep = onStep;
  }
  get(name) { return this.values[name]; }
  set(patch) {
    Object.assign(this.values, patch);
    this.onStep(this.values.step);
  }
  flushUrl() {}
}

function grid(values, { mask = null, label = "", role = "" } = {}) {
  const table = document.createElement("table");
  table.className = "lab-grid";
  if (role) table.dataset.role = role;
  if (label) table.createCaption().textContent = label;
  values.forEach((row, i) => {
    const tr = table.insertRow();
    (Array.isArray(row) ? row : [row]).forEach((value, j) => {
      const cell = tr.insertCell();
      cell.textContent = number.format(value);
      cell.dataset.value = String(value);
      if (mask && (Array.isArray(mask[i]) ? mask[i][j] : mask[i])) cell.className = "lab-grid-off";
      else if (value > 0) cell.className = "lab-grid-pos";
      else if (value < 0) cell.className = "lab-grid-neg";
    });
  });
  return table;
}

function operator(text) {
  const span = document.createElement("span");
  span.className = "lab-operator";
  span.textContent = text;
  return span;
}

export class BackwardView {
  constructor(root, runs) {
    this.root = root;
    this.runs = runs; // () => [{name, body}]
    this.state = new StepState((step) => this.draw(step));
    this.player = new Player(this.state, () => ({ total: this.total, available: this.total }));
    this.total = 0;
    this.stages = [];
    this.chunks = [];
    this.results = {};
    this.player.onChange((playing) => {
      $("[data-action=play]", root).textContent = playing ? t("lab.backward.pause") : t("lab.backward.play");
    });
    $("#lab-backward-show", root).addEventListener("click", () => this.load());
    for (const [action, run] of Object.entries({
      first: () => this.player.first(), previous: () => this.player.stepBy(-1),
      play: () => this.player.toggle(), next: () => this.player.stepBy(1), last: () => this.player.last(),
    })) $(`[data-action=${action}]`, root).addEventListener("click", run);
    $("#lab-backward-scrub", root).addEventListener("input", (event) => {
      this.player.pause();
      this.player.seek(Number(event.target.value));
    });
    this.refreshRuns();
  }

  refreshRuns() {
    const select = $("#lab-backward-run", this.root);
    const chosen = select.value;
    select.replaceChildren(...this.runs().map((run, index) => {
      const option = document.createElement("option");
      option.value = String(index);
      option.textContent = run.name;
      return option;
    }));
    if (chosen && Number(chosen) < select.options.length) select.value = chosen;
  }

  async load() {
    if (this.controller) this.controller.abort();
    this.controller = new AbortController();
    const signal = this.controller.signal;
    const run = this.runs()[Number($("#lab-backward-run", this.root).value) || 0];
    const example = Number($("#lab-backward-example", this.root).value) || 0;
    const status = $("#lab-backward-status", this.root);
    status.textContent = t("lab.backward.loading");
    this.root.dataset.ready = "false";
    try {
      const step = await fetchLabStep({ ...run.body, example }, signal);
      this.stages = [];
      this.chunks = [];
      this.results = {};
      await streamBackward({ ...step.trace_request, encoding: "json", precision: 6, chunk_size: 256 }, (event) => {
        if (event.event === "header") {
          this.header = event;
          this.stages = event.stages;
          this.total = event.total_steps;
        } else if (event.event === "chunk") this.chunks.push(event);
        else if (event.event === "stage_end") this.results[event.stage] = event.output;
        else if (event.event === "error") throw new Error(event.error.message);
      }, signal);
      status.textContent = t("lab.backward.loaded", { label: step.label, loss: number.format(step.loss), steps: this.total });
      const scrub = $("#lab-backward-scrub", this.root);
      scrub.max = String(Math.max(0, this.total - 1));
      this.root.dataset.ready = "true";
      this.player.seek(0);
      this.draw(0);
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = t("lab.backward.failed", { message: error.message });
    }
  }

  /** The stage, stage-local index and field values of global step `k`. */
  lookup(k) {
    const length = (item) => Object.values(item.fields)[0].length;
    const chunk = this.chunks.find((item) => k >= item.global_start && k < item.global_start + length(item));
    if (!chunk) return null;
    const index = k - chunk.global_start;
    const row = {};
    for (const [name, values] of Object.entries(chunk.fields)) row[name] = values[index];
    return { stage: chunk.stage, local: chunk.start + index, row };
  }

  draw(k) {
    const scrub = $("#lab-backward-scrub", this.root);
    scrub.value = String(k);
    $("#lab-backward-counter", this.root).textContent = t("lab.backward.counter", { step: k + 1, total: this.total });
    const found = this.lookup(k);
    const area = $("#lab-backward-step", this.root);
    if (!found) { area.replaceChildren(); return; }
    const { stage, row } = found;
    area.dataset.stage = stage;
    area.dataset.step = String(k);
    const title = document.createElement("p");
    title.className = "lab-backward-title";
    const equation = document.createElement("div");
    equation.className = "lab-equation";
    const total = document.createElement("output");
    total.dataset.role = "sum";
    if (stage === "filter_gradient") {
      const multiplier = this.header.channel_multiplier;
      title.textContent = multiplier
        ? t("lab.backward.filter_depthwise", { di: row.di, dj: row.dj, q: row.q, r: row.r, o: row.out_channel })
        : t("lab.backward.filter", { di: row.di, dj: row.dj, c: row.in_channel, o: row.out_channel });
      equation.append(
        grid(row.input_values, { mask: row.padding_mask, label: t("lab.backward.input_under_tap"), role: "input" }),
        operator("×"),
        grid(row.out_gradient, { label: t("lab.backward.out_gradient", { o: row.out_channel }), role: "gradient" }),
        operator("="),
        grid(row.products, { label: t("lab.backward.products"), role: "products" }),
      );
      total.textContent = `Σ = ${number.format(row.sum)}`;
    } else if (stage === "input_gradient") {
      title.textContent = t("lab.backward.input", { h: row.h, w: row.w, c: row.in_channel });
      row.out_channels.forEach((o, n) => {
        const group = document.createElement("div");
        group.className = "lab-equation-row";
        const off = row.reached.map((line) => line.map((value) => !value));
        group.append(
          grid(row.out_gradient[n], { mask: off, label: t("lab.backward.reaching", { o }), role: "gradient" }),
          operator("×"),
          grid(row.weights[n], { label: t("lab.backward.weights", { o }), role: "weights" }),
          operator("="),
          grid(row.products[n], { label: t("lab.backward.products"), role: "products" }),
        );
        equation.append(group);
      });
      total.textContent = `Σ = ${number.format(row.sum)}`;
    } else {
      title.textContent = t("lab.backward.pointwise", { i: row.i, j: row.j });
      equation.append(
        grid(row.vector.map((value) => [value]), { label: t("lab.backward.vector"), role: "vector" }),
        operator("⊗"),
        grid([row.out_gradient], { label: t("lab.backward.pointwise_gradient"), role: "gradient" }),
        operator("="),
        grid(row.products, { label: t("lab.backward.outer"), role: "products" }),
      );
      total.textContent = t("lab.backward.outer_sum");
    }
    area.replaceChildren(title, equation, total);
  }
}
