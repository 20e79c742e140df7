// A block on the main stage: the block parameters of the state (core/state.js: block,
// block_in, block_out, block_expansion, …) as the trace's request, the strip of its stages in
// order (name, shape, multiply-adds; click one to jump to it), and the texts of an
// elementwise step (the arithmetic panel, the formula line, the screen reader's summary).
import { t } from "../core/i18n.js";
import { BLOCK_FIELDS } from "../core/state.js";
import { escapeHtml, formatNumber } from "../views/format.js";
import { mapTable } from "../views/numbers.js";
import { elementwiseFormula, sourceName } from "./elementwise.js";

/** The block of the state as the trace request's fields (null: no block on the stage). */
export function blockConfig(values) {
  if (!values.block) return null;
  const config = {};
  for (const [param, field] of Object.entries(BLOCK_FIELDS)) config[field] = values[param];
  config.fold_batch_norm = values.block_fold === 1;
  return config;
}

/** The block bar's title: which block, its channels and its input. */
export function blockTitle(values) {
  return t("blocks.play.title", {
    block: t(`blocks.play.block.${values.block}`), cin: values.block_in, cout: values.block_out, size: values.block_size,
  });
}

const KIND_KEY = { conv: "conv", depthwise: "depthwise", pointwise: "pointwise", batch_norm: "batch_norm", activation: "activation", add: "add" };

function shapeText([c, h, w]) {
  return `${c}×${h}×${w}`;
}

/** The strip: one button per stage, in order; the current one carries aria-current. */
export function renderStrip(nav, store, seek) {
  nav.replaceChildren();
  nav.classList.add("block-strip");
  store.stages.forEach((stage, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `stage-tab block-stage-tab kind-${stage.kind}`;
    button.dataset.stage = stage.name;
    const name = document.createElement("span");
    name.className = "block-stage-name";
    name.translate = false; // the block's stage names are identifiers (the API's)
    name.textContent = `${index + 1}. ${stage.name}`;
    const detail = document.createElement("span");
    detail.className = "block-stage-detail";
    const kind = t(`blocks.play.kind.${KIND_KEY[stage.kind]}`);
    const macs = stage.cost.macs.toLocaleString("en-US");
    detail.textContent = t("blocks.play.strip_detail", { shape: shapeText(stage.outputShape), macs });
    button.title = t("blocks.play.strip_title", { kind, from: shapeText(stage.inputShape), to: shapeText(stage.outputShape), macs });
    button.append(name, detail);
    button.addEventListener("click", () => seek(stage.globalStart));
    nav.append(button);
  });
  nav.setAttribute("aria-label", t("blocks.play.strip_label", { name: t(`blocks.play.block.${store.config.block}`) }));
}

/** The block stage a frame belongs to (a convolution frame's stage is its own store's). */
export function blockStageName(frame) {
  return frame.stage.blockName || frame.stage.name;
}

/** The arithmetic panel for one elementwise step: the formula and a few of its values. */
export function elementwiseArithmeticHtml(frame, store) {
  const stage = frame.stage;
  const c = frame.local;
  const output = frame.array("output");
  const input = store.inputOf(stage);
  const [, h, w] = input.shape;
  const x = input.data.subarray(c * h * w, (c + 1) * h * w);
  const rows = [];
  const shown = Math.min(4, h * w);
  for (let p = 0; p < shown; p++) {
    const i = Math.floor(p / w);
    const j = p % w;
    rows.push(`<tr><th scope="row">(${i}, ${j})</th><td class="num">${escapeHtml(formatNumber(x[p]))}</td><td class="num">${escapeHtml(formatNumber(output.data[p]))}</td></tr>`);
  }
  const formula = escapeHtml(elementwiseFormula(stage, c));
  const title = t("blocks.play.arith_title", { name: `<code translate="no">${escapeHtml(stage.name)}</code>`, c });
  const kind = escapeHtml(t(`blocks.play.explain.${stage.kind}`, { source: sourceName(stage.info.source || "input") }));
  return `<div class="arith" data-role="elementwise"><p class="arith-title">${title}</p><p class="hint">${kind}</p>`
    + `<p class="block-formula-line">${formula}</p><table class="arith-table"><thead><tr><th scope="col">${escapeHtml(t("blocks.play.position"))}</th>`
    + `<th scope="col">x</th><th scope="col">y</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
    + (h * w > shown ? `<p class="hint">${escapeHtml(t("blocks.play.more_values", { count: h * w - shown }))}</p>` : "")
    + "</div>";
}

// Tables of every written channel up to this many cells; beyond, the current channel only.
const NUMBERS_MAX_CELLS = 2048;

/** Channel c's map of a (C, H, W) tensor, as a table's value(i, j). */
function planeValue(tensor, c) {
  const [, h, w] = tensor.shape;
  return (i, j) => tensor.data[(c * h + i) * w + j];
}

/** The output map (H·W values) of channel k of an elementwise stage, once its step arrived. */
function writtenOutput(stage, k) {
  const chunk = stage.chunks.find((entry) => k >= entry.start && k < entry.start + entry.n);
  if (!chunk) return null;
  const [, h, w] = stage.outputShape;
  return chunk.fields.output.data.subarray((k - chunk.start) * h * w, (k - chunk.start + 1) * h * w);
}

/**
 * The Numbers tab for one elementwise step (BatchNorm, ReLU / ReLU6, the add), as a convolution
 * step's has it: the step in a sentence, channel c's map(s) read and the map written (the
 * residual's too for an add), then the stage's output maps as far as this step has written them.
 * Every value is the server's: the previous stage's map, the block's input, the step's output.
 */
export function elementwiseNumbersHtml(frame, store) {
  const stage = frame.stage;
  const c = frame.local;
  const [channels, h, w] = stage.outputShape;
  const input = store.inputOf(stage);
  const output = frame.array("output").data;
  const table = (caption, value, role, k) => mapTable(caption, h, w, value, role, ` data-channel="${k}"`);
  let html = `<section class="numbers-section"><h3>${escapeHtml(t("numbers.step"))}</h3>`
    + `<p data-role="step-summary">${escapeHtml(elementwiseSummary(frame))}</p></section>`;
  html += `<section class="numbers-section" data-role="channel-maps"><h3>${escapeHtml(t("blocks.numbers.channel", { c, formula: elementwiseFormula(stage, c) }))}</h3><div class="map-tables">`;
  html += input ? table(t("blocks.play.channel_in", { c }), planeValue(input, c), "input-map", c) : "";
  if (stage.kind === "add") {
    const source = stage.info.source;
    const residual = source === "input" ? store.header.input : store.byName(source).output;
    if (residual) html += table(`${sourceName(source)} ${c}`, planeValue(residual, c), "residual-map", c);
  }
  html += table(t("blocks.play.channel_out", { c }), (i, j) => output[i * w + j], "output-map", c);
  html += "</div></section>";
  html += `<section class="numbers-section" data-role="stage-outputs"><h3>${escapeHtml(t("blocks.numbers.outputs", { name: stage.name }))}</h3>`;
  const everyChannel = channels * h * w <= NUMBERS_MAX_CELLS;
  if (!everyChannel) html += `<p class="hint">${escapeHtml(t("numbers.too_many", { n: channels * h * w }))}</p>`;
  html += '<div class="map-tables">';
  for (let k = 0; k < channels; k++) {
    if (!everyChannel && k !== c) continue;
    const data = k <= c ? writtenOutput(stage, k) : null;
    html += table(t("blocks.play.channel", { c: k }), data ? (i, j) => data[i * w + j] : () => null, "stage-output-map", k);
  }
  return `${html}</div></section>`;
}

/** Half a unit in the last of the four significant digits formatNumber shows of v. */
function shownHalfUnit(v) {
  if (!v || Number.isInteger(v)) return 0;
  return 0.5 * 10 ** (Math.floor(Math.log10(Math.abs(v))) - 3);
}

/**
 * The quiz's question on an elementwise step (channel c): out[0, 0, c], its cell (0, 0), with
 * the formula and the value(s) it is computed from in the question itself. The next channel's
 * maps are drawn as colours only beside the focus (and with the quiz open the focus has no
 * room for numbers either), so the question gives what the class needs. `slack`: what the
 * operands' shown digits (and BatchNorm's shown scale and shift) may move the answer by.
 * Returns { label, prompt, value, slack }; the value is the server's.
 */
export function elementwiseQuestion(frame, store) {
  const stage = frame.stage;
  const c = frame.local;
  const [, h, w] = stage.outputShape;
  const x = store.inputOf(stage).data[c * h * w];
  const operands = [["x", x]];
  let slack = shownHalfUnit(x);
  if (stage.kind === "batch_norm") {
    const scale = stage.scale.data[c];
    slack = Math.abs(scale) * slack + Math.abs(x) * shownHalfUnit(scale) + shownHalfUnit(stage.shift.data[c]);
  } else if (stage.kind === "add") {
    const source = stage.info.source;
    const residual = source === "input" ? store.header.input : store.byName(source).output;
    const r = residual.data[c * h * w];
    operands.push([sourceName(source), r]);
    slack += shownHalfUnit(r);
  }
  const label = `out[0, 0, ${c}]`;
  const values = operands.map(([name, v]) => `${name} = ${formatNumber(v)}`).join(t("quiz.value_separator"));
  const prompt = t("quiz.elementwise_question", { label, formula: elementwiseFormula(stage, c), values });
  return { label, prompt, value: frame.array("output").data[0], slack };
}

export function elementwiseFormulaText(frame) {
  return `${t("blocks.play.channel", { c: frame.local })}: ${elementwiseFormula(frame.stage, frame.local)}`;
}

export function elementwiseSummary(frame) {
  return t("blocks.play.summary", { name: frame.stage.name, c: frame.local, formula: elementwiseFormula(frame.stage, frame.local) });
}

/** A local check of the block's numbers (the server checks again). */
export function blockProblems(values, PARAMS) {
  const problems = [];
  for (const param of Object.keys(BLOCK_FIELDS)) {
    const spec = PARAMS[param];
    if (spec.kind !== "int") continue;
    const value = values[param];
    if (!Number.isInteger(value) || value < spec.min || value > spec.max) {
      problems.push({ param, message: t("problem.range", { label: param, min: spec.min, max: spec.max, value }) });
    }
  }
  return problems;
}
