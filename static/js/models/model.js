// The model view: an ONNX model's Conv layers (from /models/inspect), a layer's real weights
// as kernels with per-channel statistics, and a run (/models/run): onnxruntime's activations,
// ConvLens' output for the same layer, and the engine's steps of one output channel.
// Everything drawn comes from the server; the browser only builds the input image.
import { decodeArray, fetchModelFile, fetchPhoto, inspectModel, runModelLayer } from "../core/api.js";
import { config } from "../core/config.js";
import { t } from "../core/i18n.js";
import { element, extent, fitCell, fmt, headerCell, mapFigure, stepTables } from "./draw.js";

const $ = (selector) => document.querySelector(selector);
const MAX_KERNEL_ROWS = 16;
const MAX_KERNEL_COLS = 16;
const MAX_DETAIL_CHANNELS = 4;

/** A seeded uniform generator in [-1, 1) (mulberry32), for the "random" input. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r ^= r + Math.imul(r ^ (r >>> 7), 61 | r);
    return (((r ^ (r >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

// Photos uploaded on the main page are kept in this browser (static/js/photo.js): the most
// recent ones are offered as inputs too.
const PHOTO_PREFIX = "convlens.photo.";
const PHOTO_INDEX = "convlens.photos";

function storedPhotos() {
  try {
    const list = JSON.parse(localStorage.getItem(PHOTO_INDEX) || "[]");
    return Array.isArray(list) ? list.filter((id) => typeof id === "string" && localStorage.getItem(PHOTO_PREFIX + id)).reverse().slice(0, 3) : [];
  } catch {
    return [];
  }
}

function imageFromUrl(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("the stored photo cannot be read"));
    image.src = url;
  });
}

export class ModelView {
  constructor(state) {
    this.state = state;
    this.models = config.models || {};
    this.file = null;
    this.inspect = null;
    this.run = null;
    this.shipped = false;
    this.controller = null;
    // A fresh layer opens on its middle output position (a window over the picture, not the
    // zero padding of a corner), unless the URL names a position.
    this.centre = !/(^|[#&])pos=/.test(location.hash);
    $("#model-open").addEventListener("click", () => $("#model-file").click());
    $("#model-file").addEventListener("change", (event) => {
      const [file] = event.target.files;
      if (file) this.open(file, false);
      event.target.value = "";
    });
    $("#model-shipped").addEventListener("click", () => this.openShipped());
    $("#run-layer").addEventListener("click", () => this.runLayer());
    $("#photo-open").addEventListener("click", () => $("#photo-file").click());
    $("#photo-file").addEventListener("change", (event) => {
      const [file] = event.target.files;
      event.target.value = "";
      if (!file) return;
      this.photoFile = file; // stays in this tab; only the resampled pixels are sent
      this.fillInputs();
      if (this.state.get("input") === "upload") this.runLayer();
      else this.state.set({ input: "upload", pos: 0 });
    });
    $("#run-input").addEventListener("change", (event) => this.state.set({ input: event.target.value, pos: 0 }));
    $("#run-channel").addEventListener("change", (event) => {
      const value = Number(event.target.value);
      if (Number.isInteger(value) && value >= 0) this.state.set({ channel: value, pos: 0 });
    });
    $("#step-prev").addEventListener("click", () => this.moveStep(-1));
    $("#step-next").addEventListener("click", () => this.moveStep(1));
    $("#step-range").addEventListener("input", (event) => this.state.set({ pos: Number(event.target.value) }));
    state.onChange((changed) => {
      if (changed.includes("layer")) this.showLayer();
      if (changed.some((name) => name === "layer" || name === "input" || name === "channel")) {
        $("#run-input").value = this.state.get("input");
        $("#run-channel").value = String(this.state.get("channel"));
        this.runLayer();
      } else if (changed.includes("pos")) {
        this.showStep();
      }
    });
  }

  async openShipped() {
    const shipped = this.models.shipped;
    const blob = await fetchModelFile(shipped.url);
    await this.open(new File([blob], shipped.card.file), true);
  }

  async open(file, shipped) {
    this.showError("");
    $("#model-summary").textContent = t("models.loading");
    try {
      const inspect = await inspectModel(file);
      this.file = file;
      this.inspect = inspect;
      this.shipped = shipped;
      this.run = null;
    } catch (error) {
      $("#model-summary").textContent = "";
      this.showError(error.message);
      return;
    }
    this.showSummary();
    this.fillInputs();
    this.showLayers();
    const names = this.inspect.layers.map((layer) => layer.name);
    const wanted = this.state.get("layer");
    if (names.includes(wanted)) {
      this.showLayer();
      this.runLayer();
    } else {
      this.state.set({ layer: names[0] || "", pos: 0, channel: 0 });
    }
    document.body.dataset.modelReady = "true";
  }

  showError(message) {
    const box = $("#model-error");
    box.hidden = !message;
    box.textContent = message ? t("models.error", { message }) : "";
  }

  showSummary() {
    const { model } = this.inspect;
    let text = t("models.summary", {
      name: this.file.name, size: model.size_bytes.toLocaleString(), opset: model.opset,
      nodes: model.nodes, layers: model.conv_layers, weights: model.weight_elements.toLocaleString(),
    });
    if (this.shipped) {
      const card = this.models.shipped.card;
      text += " " + t("models.shipped_card", {
        accuracy: `${(card.test_accuracy * 100).toFixed(1)} %`, test: card.dataset.test_examples,
      });
    }
    $("#model-summary").textContent = text;
  }

  inputShape() {
    const declared = (this.inspect.model.inputs[0] || {}).shape || [1, 1, 8, 8];
    return declared.map((dim, n) => (Number.isInteger(dim) ? dim : n === 0 ? 1 : n === 1 ? 1 : 16));
  }

  fillInputs() {
    const select = $("#run-input");
    select.replaceChildren();
    const options = [];
    if (this.shipped) {
      for (const sample of this.models.shipped.card.samples) options.push([`digit-${sample.label}`, t("models.input.digit", { d: sample.label })]);
    }
    if (this.photoFile) options.push(["upload", t("models.input.upload", { name: this.photoFile.name })]);
    storedPhotos().forEach((id, n) => options.push([`stored-${id}`, t("models.input.stored", { n: n + 1 })]));
    for (const name of this.models.photos || []) options.push([`photo-${name}`, t("models.input.photo", { name })]);
    options.push(["random", t("models.input.random")]);
    for (const [value, label] of options) select.append(new Option(label, value));
    const wanted = this.state.get("input");
    if (!options.some(([value]) => value === wanted)) this.state.values.input = options[0][0];
    select.value = this.state.get("input");
  }

  showLayers() {
    const body = $("#layer-table tbody");
    body.replaceChildren();
    for (const layer of this.inspect.layers) {
      const row = body.insertRow();
      row.dataset.layer = layer.name;
      const button = element("button", "layer-name", layer.name);
      button.type = "button";
      button.addEventListener("click", () => {
        this.centre = true;
        this.state.set({ layer: layer.name, pos: 0, channel: 0 });
      });
      row.insertCell().append(button);
      row.insertCell().append(element("span", `kind kind-${layer.kind}`, t(`models.kind.${layer.kind}`)));
      for (const text of [
        String(layer.groups), `${layer.in_channels} → ${layer.out_channels}`,
        `${layer.kernel_hw[0]}×${layer.kernel_hw[1]}`, layer.strides.join(", "),
        layer.auto_pad !== "NOTSET" ? layer.auto_pad : layer.pads.join(", "),
        layer.weights.toLocaleString(),
      ]) row.insertCell().textContent = text;
    }
  }

  layer() {
    if (!this.inspect) return null;
    return this.inspect.layers.find((layer) => layer.name === this.state.get("layer")) || null;
  }

  showLayer() {
    const layer = this.layer();
    for (const row of document.querySelectorAll("#layer-table tbody tr")) {
      row.setAttribute("aria-selected", String(row.dataset.layer === this.state.get("layer")));
    }
    if (!layer) return;
    $("#layer-title").textContent = layer.name;
    $("#layer-attributes").textContent = t("models.attributes", {
      kind: t(`models.kind.${layer.kind}`), groups: layer.groups, cin: layer.in_channels,
      cout: layer.out_channels, m: layer.channel_multiplier, kh: layer.kernel_hw[0], kw: layer.kernel_hw[1],
      strides: layer.strides.join(", "), pads: layer.auto_pad !== "NOTSET" ? layer.auto_pad : layer.pads.join(", "),
      dilations: layer.dilations.join(", "), bias: t(layer.has_bias ? "models.yes" : "models.no"),
    });
    $("#weights-title").textContent = t("models.weights", { shape: `[${layer.weight_shape.join(", ")}]` });
    $("#run-channel").max = String(layer.out_channels - 1);
    $("#run-channel").value = String(this.state.get("channel"));
    this.showKernels(layer);
    this.showStats(layer);
  }

  showKernels(layer) {
    const grid = $("#layer-kernels");
    grid.replaceChildren();
    const weight = decodeArray(layer.weight);
    const [outs, cg, kh, kw] = weight.shape;
    const scale = extent(weight.data);
    const width = grid.clientWidth || 420;
    if (kh === 1 && kw === 1) {
      // A pointwise layer: its weights are one O × C matrix.
      const cell = fitCell(width, cg, 1, 4, 22);
      grid.append(mapFigure({ values: weight.data, rows: outs, cols: cg, cell, scale,
        caption: t("models.pointwise_matrix", { o: outs, c: cg }), className: "kernel-matrix" }));
      return;
    }
    const shownOuts = Math.min(outs, layer.kind === "depthwise" ? 64 : MAX_KERNEL_ROWS);
    const shownIns = Math.min(cg, MAX_KERNEL_COLS);
    const size = kh * kw;
    if (layer.kind === "depthwise") {
      const m = layer.channel_multiplier;
      grid.append(element("p", "model-note kernel-legend", t("models.kernel_dw", { m })));
      const cell = fitCell(width, kw, Math.min(shownOuts, 8), 6, 16);
      for (let o = 0; o < shownOuts; o++) {
        grid.append(mapFigure({ values: weight.data.subarray(o * size, (o + 1) * size), rows: kh, cols: kw, cell, scale,
          caption: t("models.kernel_dw_short", { o, q: Math.floor(o / m), r: o % m }), className: "kernel" }));
      }
    } else {
      const cell = fitCell(width - 60, kw, shownIns, 5, 14);
      for (let o = 0; o < shownOuts; o++) {
        const row = element("div", "kernel-row");
        row.append(element("span", "row-label", t("models.kernel_out", { o })));
        for (let c = 0; c < shownIns; c++) {
          const start = (o * cg + c) * size;
          row.append(mapFigure({ values: weight.data.subarray(start, start + size), rows: kh, cols: kw, cell, scale,
            caption: o === 0 ? t("models.kernel_in", { c }) : "", className: "kernel" }));
        }
        grid.append(row);
      }
    }
    if (shownOuts < outs || shownIns < cg) grid.append(element("p", "model-note", t("models.shown", { shown: shownOuts, total: outs })));
  }

  showStats(layer) {
    const table = $("#layer-stats");
    table.replaceChildren();
    const keys = ["min", "max", "mean", "std", "abs_mean", "l2"];
    const head = table.createTHead().insertRow();
    for (const key of ["channel", ...keys]) head.append(headerCell("col", t(`models.stat.${key}`)));
    const body = table.createTBody();
    const stats = layer.weight_stats;
    const add = (label, values) => {
      const row = body.insertRow();
      row.append(headerCell("row", label));
      for (const key of keys) row.insertCell().textContent = fmt(values[key]);
    };
    add(t("models.stat.all"), stats.overall);
    const per = stats.per_output_channel;
    for (let o = 0; o < per.min.length; o++) {
      add(String(o), Object.fromEntries(keys.map((key) => [key, per[key][o]])));
    }
  }

  async buildInput() {
    const [n, c, h, w] = this.inputShape();
    const choice = this.state.get("input");
    const plane = new Float64Array(c * h * w);
    if (choice.startsWith("digit-")) {
      const sample = this.models.shipped.card.samples[Number(choice.slice(6))];
      const source = sample.image;
      for (let q = 0; q < c; q++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
        plane[(q * h + i) * w + j] = source[Math.floor((i * source.length) / h)][Math.floor((j * source[0].length) / w)];
      }
    } else if (choice.startsWith("photo-") || choice === "upload" || choice.startsWith("stored-")) {
      let bitmap;
      if (choice === "upload") bitmap = await createImageBitmap(this.photoFile);
      else if (choice.startsWith("stored-")) bitmap = await imageFromUrl(localStorage.getItem(PHOTO_PREFIX + choice.slice(7)));
      else bitmap = await createImageBitmap(await fetchPhoto(choice.slice(6)));
      const canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      const context = canvas.getContext("2d");
      context.drawImage(bitmap, 0, 0, w, h);
      const pixels = context.getImageData(0, 0, w, h).data;
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
        const at = (i * w + j) * 4;
        const grey = (0.299 * pixels[at] + 0.587 * pixels[at + 1] + 0.114 * pixels[at + 2]) / 255;
        for (let q = 0; q < c; q++) plane[(q * h + i) * w + j] = c === 3 ? pixels[at + q] / 255 : grey;
      }
    } else {
      const next = random(1);
      for (let k = 0; k < plane.length; k++) plane[k] = next();
    }
    const nested = [];
    for (let q = 0; q < c; q++) {
      const rows = [];
      for (let i = 0; i < h; i++) rows.push(Array.from(plane.subarray((q * h + i) * w, (q * h + i + 1) * w)));
      nested.push(rows);
    }
    return Array.from({ length: n }, () => nested);
  }

  async runLayer() {
    const layer = this.layer();
    if (!layer || !this.file) return;
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    const verdict = $("#run-verdict");
    verdict.textContent = t("models.running");
    verdict.removeAttribute("data-matches");
    const channel = Math.min(this.state.get("channel"), layer.out_channels - 1);
    try {
      const input = await this.buildInput();
      const run = await runModelLayer(this.file, layer.name, input, channel, controller.signal);
      if (controller.signal.aborted) return;
      this.run = {
        body: run,
        layerInput: decodeArray(run.layer_input),
        reference: decodeArray(run.layer_output),
        engine: decodeArray(run.engine_output),
        window: decodeArray(run.steps.window),
        weights: decodeArray(run.steps.weights),
        products: decodeArray(run.steps.products),
        sums: decodeArray(run.steps.sum),
        outputs: decodeArray(run.steps.output),
        references: decodeArray(run.steps.reference),
      };
    } catch (error) {
      if (error.name === "AbortError") return;
      verdict.textContent = "";
      this.showError(error.message);
      return;
    }
    this.showError("");
    const run = this.run.body;
    verdict.dataset.matches = String(run.matches);
    verdict.textContent = t(run.matches ? "models.verdict_equal" : "models.verdict_differ", {
      diff: run.max_abs_difference.toExponential(2),
    });
    const range = $("#step-range");
    range.max = String(run.steps.steps - 1);
    $("#run-stepper").hidden = false;
    if (this.centre) {
      this.centre = false;
      const [outH, outW] = run.steps.output_hw;
      this.state.set({ pos: Math.floor(outH / 2) * outW + Math.floor(outW / 2) });
    } else if (this.state.get("pos") > run.steps.steps - 1) {
      this.state.set({ pos: 0 });
    }
    this.showStep();
    document.body.dataset.runReady = String(Date.now());
  }

  moveStep(delta) {
    if (!this.run) return;
    const total = this.run.body.steps.steps;
    this.state.set({ pos: (this.state.get("pos") + delta + total) % total });
  }

  showStep() {
    if (!this.run) return;
    const { body } = this.run;
    const steps = body.steps;
    const k = Math.min(this.state.get("pos"), steps.steps - 1);
    $("#step-range").value = String(k);
    const i = steps.i[k];
    const j = steps.j[k];
    $("#step-label").textContent = t("models.step", { k: k + 1, total: steps.steps, i, j });
    this.showMaps(k, i, j);
    this.showDetail(k);
  }

  showMaps(k, i, j) {
    const maps = $("#run-maps");
    maps.replaceChildren();
    const { body, layerInput, reference, engine } = this.run;
    const steps = body.steps;
    const [, , height, width] = layerInput.shape;
    const [, , outH, outW] = reference.shape;
    const o = steps.channel;
    const pad = body.padding;
    const [sh, sw] = body.layer.strides;
    const [dh, dw] = body.layer.dilations;
    const [kh, kw] = body.layer.kernel_hw;
    const top = i * sh - pad.pad_top;
    const left = j * sw - pad.pad_left;
    const shown = steps.input_channels.slice(0, MAX_DETAIL_CHANNELS);
    const cell = fitCell(maps.clientWidth || 600, Math.max(width, outW), shown.length + 2, 4, 26);
    const plane = height * width;
    for (const c of shown) {
      const values = layerInput.data.subarray(c * plane, (c + 1) * plane);
      maps.append(mapFigure({ values, rows: height, cols: width, cell, scale: extent(values),
        caption: t("models.layer_input", { c }),
        box: { top, left, height: (kh - 1) * dh + 1, width: (kw - 1) * dw + 1 }, className: "layer-input" }));
    }
    const outPlane = outH * outW;
    const referenceValues = reference.data.subarray(o * outPlane, (o + 1) * outPlane);
    const scale = extent(referenceValues);
    const box = { top: i, left: j, height: 1, width: 1 };
    maps.append(mapFigure({ values: referenceValues, rows: outH, cols: outW, cell, scale,
      caption: t("models.reference_output", { o }), box, className: "reference-output" }));
    maps.append(mapFigure({ values: engine.data.subarray(o * outPlane, (o + 1) * outPlane), rows: outH, cols: outW,
      cell, scale, caption: t("models.engine_output", { o }), box, className: "engine-output" }));
  }

  showDetail(k) {
    const detail = $("#step-detail");
    detail.replaceChildren();
    const { body, window: windows, weights, products, sums, outputs, references } = this.run;
    const steps = body.steps;
    const cg = windows.shape[1];
    const shown = Math.min(cg, MAX_DETAIL_CHANNELS);
    detail.append(...stepTables({
      window: windows, weights, products, mask: steps.padding_mask[k].flat(), inputChannels: steps.input_channels,
      k, limit: shown, captions: (c) => [t("models.window", { c }), t("models.kernel"), t("models.products")],
    }));
    if (cg > shown) detail.append(element("p", "model-note", t("models.more_inputs", { count: cg - shown })));
    const line = element("p", "sum-line", t("models.sum_line", {
      sum: fmt(sums.data[k]), bias: fmt(steps.bias), value: fmt(outputs.data[k]), reference: fmt(references.data[k]),
    }));
    line.id = "sum-line";
    line.dataset.value = String(outputs.data[k]);
    line.dataset.reference = String(references.data[k]);
    detail.append(line);
  }
}
