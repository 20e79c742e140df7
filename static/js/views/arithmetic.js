// The numbers of one step, as text: window values × weights = products, then
// the sum (standard: per input channel of the group, then one sum; pointwise:
// the vector, the weights and the O sums). Every number is the server's.
import { t } from "../core/i18n.js";
import { hueClass } from "./colors.js";
import { escapeHtml, exact, formatNumber } from "./format.js";

function cellHtml(value, padding = false) {
  const classes = padding ? ' class="pad"' : "";
  return `<td${classes} data-value="${exact(value)}">${escapeHtml(formatNumber(value))}</td>`;
}

/** A kh × kw table of `values` (Float64Array row-major), padding cells marked. */
function gridTable(role, values, rows, cols, mask = null, offset = 0) {
  let html = `<table class="arith-grid" data-role="${role}"><tbody>`;
  for (let i = 0; i < rows; i++) {
    html += "<tr>";
    for (let j = 0; j < cols; j++) {
      const n = offset + i * cols + j;
      html += cellHtml(values[n], mask ? mask[n] === 1 : false);
    }
    html += "</tr>";
  }
  return `${html}</tbody></table>`;
}

// Hues come from classes (hue-0 … hue-7 in the stylesheet): the page's CSP allows no inline style.
function block(title, inner, hue = null) {
  const className = hue === null ? "" : ` ${hue}`;
  return `<div class="arith-block${className}"><p class="arith-title">${escapeHtml(title)}</p>${inner}</div>`;
}

const op = (symbol) => `<span class="arith-op" aria-hidden="true">${symbol}</span>`;

/** "1×2 + 2×2 + … = 36" for small windows: the whole dot product in one line. */
function expression(window, weights, mask, start, count, total, role = "expression") {
  const terms = [];
  for (let n = start; n < start + count; n++) {
    const x = formatNumber(window[n]);
    const w = formatNumber(weights[n]);
    terms.push(`<span class="term${mask && mask[n] ? " pad" : ""}">${escapeHtml(x)}·${escapeHtml(w)}</span>`);
  }
  return `<p class="arith-expression" data-role="${role}">${terms.join(" + ")} = <strong>${escapeHtml(formatNumber(total))}</strong></p>`;
}

function result(label, value, role) {
  return `<div class="arith-result"><p class="arith-title">${escapeHtml(label)}</p>` +
    `<output data-role="${role}" data-value="${exact(value)}">${escapeHtml(formatNumber(value))}</output></div>`;
}

/** HTML of the arithmetic panel for `frame` (see trace.js), with `header` for shapes. */
export function arithmeticHtml(frame, header) {
  const name = frame.stage.name;
  if (name === "depthwise") return depthwiseHtml(frame, header);
  if (name === "standard") return standardHtml(frame, header);
  return pointwiseHtml(frame, header);
}

function depthwiseHtml(frame, header) {
  const [kh, kw] = header.kernel_hw;
  const q = frame.scalar("q");
  const r = frame.scalar("r");
  const window = frame.array("window").data;
  const weights = frame.array("weights").data;
  const products = frame.array("products").data;
  const mask = frame.array("padding_mask").data;
  const sum = frame.scalar("sum");
  const hue = hueClass(q);
  // A separable convolution's depthwise maps are z, the pointwise stage's inputs (formula.pointwise).
  const name = header.kernels.pointwise_filter ? "z" : "out";
  const outLabel = `${name}[${frame.scalar("i")}, ${frame.scalar("j")}, ${frame.scalar("out_channel")}]`;
  let html = '<div class="arith-row">';
  html += block(`${t("arith.window")} · ${t("stage.in_channel", { q })}`, gridTable("window", window, kh, kw, mask), hue);
  html += op(t("arith.times"));
  html += block(t("arith.weights_of", { kernel: t("stage.kernel", { q, r }) }), gridTable("weights", weights, kh, kw), hue);
  html += op(t("arith.equals"));
  html += block(t("arith.products"), gridTable("products", products, kh, kw, mask), hue);
  html += op("Σ");
  html += result(outLabel, sum, "sum");
  html += "</div>";
  if (kh * kw <= 12) html += expression(window, weights, mask, 0, kh * kw, sum);
  if (mask.some((m) => m)) html += `<p class="arith-note">${escapeHtml(t("arith.padding_note"))}</p>`;
  const map = t(name === "z" ? "stage.z_channel" : "stage.out_channel", { o: frame.scalar("out_channel") });
  html += zeroKernelNote(weights, t("stage.kernel", { q, r }), map);
  return html;
}

function standardHtml(frame, header) {
  const [kh, kw] = header.kernel_hw;
  const window = frame.array("window"); // (Cg, kh, kw)
  const cg = window.shape[0];
  const weights = frame.array("weights").data;
  const products = frame.array("products").data;
  const mask = frame.array("padding_mask").data; // (kh, kw), shared by the channels
  const g = frame.scalar("group");
  const o = frame.scalar("out_channel");
  const taps = kh * kw;
  let html = '<div class="arith-row arith-channels">';
  for (let c = 0; c < cg; c++) {
    const channel = g * cg + c;
    const channelMask = maskRepeat(mask, c, taps);
    html += `<div class="arith-channel ${hueClass(channel)}" data-channel="${channel}">` +
      `<p class="arith-title">${escapeHtml(t("arith.channel", { c: channel }))}</p><div class="arith-row">`;
    html += gridTable("window", window.data, kh, kw, channelMask, c * taps);
    html += op(t("arith.times"));
    html += gridTable("weights", weights, kh, kw, null, c * taps);
    html += op(t("arith.equals"));
    html += gridTable("products", products, kh, kw, channelMask, c * taps);
    html += "</div></div>";
  }
  const sum = frame.scalar("sum");
  const bias = frame.scalar("bias");
  const output = frame.scalar("output");
  html += '<div class="arith-row arith-total">';
  html += op("Σ");
  // Without a bias the sum is the output: one number, not "Sum 27 out[…] 27".
  if (bias !== 0) {
    html += result(t("arith.sum"), sum, "sum");
    html += op("+");
    html += result(t("arith.bias"), bias, "bias");
    html += op("=");
  }
  html += result(`out[${frame.scalar("i")}, ${frame.scalar("j")}, ${o}]`, output, "output");
  html += "</div></div>";
  if (cg * taps <= 12) {
    const flatMask = new Uint8Array(cg * taps);
    for (let c = 0; c < cg; c++) for (let n = 0; n < taps; n++) flatMask[c * taps + n] = mask[n];
    html += expression(window.data, weights, flatMask, 0, cg * taps, sum);
  }
  if (bias === 0) html += zeroKernelNote(weights, t("kernel.slice.standard", { o }), t("stage.out_channel", { o }));
  return html;
}

/**
 * Why a whole map stays 0 (the seed example's w[:, :, 0, 0]): said where the zero sum is shown,
 * from the weights of this step the server sent; "" when a weight is not 0.
 */
function zeroKernelNote(weights, kernel, map) {
  if (!weights.length || weights.some((w) => w !== 0)) return "";
  return `<p class="arith-note" data-role="zero-kernel">${escapeHtml(t("stage.zero_kernel", { kernels: kernel, outputs: map }))}</p>`;
}

/** The products' mask for channel c (offset so that gridTable's offset indexes it). */
function maskRepeat(mask, c, taps) {
  const out = new Uint8Array((c + 1) * taps);
  for (let n = 0; n < taps; n++) out[c * taps + n] = mask[n];
  return out;
}

/** The vector's name: z, the depthwise output, in a separable layer; x, the maps it mixes, in a block. */
function vectorName(frame) {
  return frame.stage.blockName ? "x" : "z";
}

function pointwiseHtml(frame, header) {
  const vector = frame.array("vector").data; // (C*M,)
  const products = frame.array("products"); // (C*M, O)
  const outputs = frame.array("outputs").data; // (O,)
  const [rows, outs] = products.shape;
  const m = header.channel_multiplier;
  const i = frame.scalar("i");
  const j = frame.scalar("j");
  const z = vectorName(frame);
  const vectorTitle = escapeHtml(frame.stage.blockName ? t("blocks.play.vector") : t("arith.vector"));
  // Many outputs (a block's expand: 4 inputs, 24 outputs) would make a table wider than the
  // panel: one row per output then, the products of c across it.
  if (outs > rows && outs > 8) return pointwiseByOutputHtml({ vector, products, outputs, rows, outs, m, i, j, z, vectorTitle });
  let html = '<table class="arith-matrix" data-role="pointwise"><thead><tr>';
  html += `<th scope="col">${vectorTitle} ${z}[${i}, ${j}, c]</th>`;
  for (let k = 0; k < outs; k++) html += `<th scope="col">${escapeHtml(t("arith.pointwise_row", { k }))}: ${z}·p[c, ${k}]</th>`;
  html += "</tr></thead><tbody>";
  for (let a = 0; a < rows; a++) {
    html += `<tr class="${hueClass(Math.floor(a / m))}"><th scope="row" data-role="vector" data-value="${exact(vector[a])}">` +
      `<span class="row-index">c=${a}</span> ${escapeHtml(formatNumber(vector[a]))}</th>`;
    for (let k = 0; k < outs; k++) html += cellHtml(products.data[a * outs + k]).replace("<td", '<td data-role="product"');
    html += "</tr>";
  }
  html += `</tbody><tfoot><tr><th scope="row">Σ = out[${i}, ${j}, k]</th>`;
  for (let k = 0; k < outs; k++) {
    html += `<td data-role="outputs" data-value="${exact(outputs[k])}">${escapeHtml(formatNumber(outputs[k]))}</td>`;
  }
  html += "</tr></tfoot></table>";
  return html;
}

/** The pointwise table turned: the vector across the top, one row per output k, its sum last. */
function pointwiseByOutputHtml({ vector, products, outputs, rows, outs, m, i, j, z, vectorTitle }) {
  let html = '<table class="arith-matrix by-output" data-role="pointwise"><thead><tr>';
  html += `<th scope="col">${vectorTitle} ${z}[${i}, ${j}, c]</th>`;
  for (let a = 0; a < rows; a++) {
    html += `<th scope="col" class="${hueClass(Math.floor(a / m))}" data-role="vector" data-value="${exact(vector[a])}">` +
      `<span class="row-index">c=${a}</span> ${escapeHtml(formatNumber(vector[a]))}</th>`;
  }
  html += `<th scope="col">Σ = out[${i}, ${j}, k]</th></tr></thead><tbody>`;
  for (let k = 0; k < outs; k++) {
    html += `<tr><th scope="row">${escapeHtml(t("arith.pointwise_row", { k }))}: ${z}·p[c, ${k}]</th>`;
    for (let a = 0; a < rows; a++) html += cellHtml(products.data[a * outs + k]).replace("<td", '<td data-role="product"');
    html += `<td data-role="outputs" data-value="${exact(outputs[k])}">${escapeHtml(formatNumber(outputs[k]))}</td></tr>`;
  }
  return `${html}</tbody></table>`;
}

/** The current step's formula with its indices filled in. */
export function formulaText(frame, header) {
  const name = frame.stage.name;
  const [sh, sw] = header.strides;
  const [dh, dw] = header.dilations;
  const { pad_top: pt, pad_left: pl } = header.padding;
  const [kh, kw] = header.kernel_hw;
  const i = frame.scalar("i");
  const j = frame.scalar("j");
  // Which number is the stride, the dilation and the padding: named in the formula, valued after it
  // (one name per quantity when both axes agree, the usual case, to keep the formula short).
  const same = sh === sw && dh === dw && pt === pl;
  const geometry = same ? t("formula.geometry_same", { s: sh, d: dh, p: pt }) : t("formula.geometry", { sh, sw, dh, dw, pt, pl });
  const named = (text) => (same ? text.replace(/\b([sd])[hw]·/g, "$1·").replace(/− p[tl]\b/g, "− p") : text);
  if (name === "depthwise") {
    const body = t("formula.depthwise", {
      i, j, q: frame.scalar("q"), r: frame.scalar("r"), m: header.channel_multiplier, o: frame.scalar("out_channel"),
      out: header.kernels.pointwise_filter ? "z" : "out",
    });
    return `${named(body)}   ${t("formula.sum_over_dw", { kh, kw })}   ${geometry}`;
  }
  if (name === "standard") {
    const cg = header.in_channels / header.groups;
    const pad = header.padding;
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && header.groups === 1 &&
        !(pad.pad_top || pad.pad_bottom || pad.pad_left || pad.pad_right)) {
      return t("formula.pointwise_op", { i, j, o: frame.scalar("out_channel"), c: cg });
    }
    const key = header.groups > 1 ? "formula.grouped" : "formula.standard";
    const body = t(key, { i, j, o: frame.scalar("out_channel"), g: frame.scalar("group"), cg });
    return `${named(body)}   ${t("formula.sum_over_std", { cg, kh, kw })}   ${geometry}`;
  }
  const cm = frame.array("vector").shape[0];
  const formula = frame.stage.blockName ? "formula.pointwise_block" : "formula.pointwise";
  return `${t(formula, { i, j })}   ${t("formula.sum_over_pw", { cm, last: header.out_channels - 1 })}`;
}
