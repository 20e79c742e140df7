// The text view: the current step and the feature maps as tables, for screen
// readers, for copying into course notes, and for the tests. Cells not written
// yet at this step show "·".
import { t } from "../core/i18n.js";
import { at } from "./common.js";
import { escapeHtml, exact, formatNumber } from "./format.js";

const MAX_CELLS = 2048;

/** One sentence for the current step (also the live-region text when paused). */
export function stepSummary(frame) {
  const name = frame.stage.name;
  const i = frame.scalar("i");
  const j = frame.scalar("j");
  let summary;
  if (name === "pointwise") {
    const outputs = Array.from(frame.array("outputs").data, (v) => formatNumber(v));
    summary = t("summary.pointwise", { i, j, values: outputs.join(", ") });
  } else {
    const value = name === "depthwise" ? frame.scalar("sum") : frame.scalar("output");
    summary = t(`summary.${name}`, { i, j, o: frame.scalar("out_channel"), value: formatNumber(value) });
  }
  return t("player.step_text", {
    stage: t(`stage.${name}`), local: frame.local + 1, count: frame.stage.steps, summary,
  });
}

/** One map as a table (rows × cols); a null value is a cell not written yet (blocks/play.js too). */
export function mapTable(caption, rows, cols, value, role, attributes = "") {
  let html = `<table class="map-table" data-role="${role}"${attributes}><caption>${escapeHtml(caption)}</caption><thead><tr><td></td>`;
  for (let j = 0; j < cols; j++) html += `<th scope="col">${j}</th>`;
  html += "</tr></thead><tbody>";
  for (let i = 0; i < rows; i++) {
    html += `<tr><th scope="row">${i}</th>`;
    for (let j = 0; j < cols; j++) {
      const v = value(i, j);
      html += v === null
        ? `<td class="pending">${escapeHtml(t("numbers.pending"))}</td>`
        : `<td data-value="${exact(v)}">${escapeHtml(formatNumber(v))}</td>`;
    }
    html += "</tr>";
  }
  return `${html}</tbody></table>`;
}

/** Map m's value at (i, j) at stage-local step `local`, or null if not written yet. */
function outputValue(stage, local, m, i, j) {
  const [ho, wo] = stage.outputHW;
  const cell = i * wo + j;
  if (stage.name === "pointwise") return cell <= local ? stage.values[cell * stage.perStep + m] : null;
  const step = m * ho * wo + cell;
  return step <= local ? stage.values[step] : null;
}

/** The output in TF's NHWC layout, [[[[…]]]], as numpy would print it without padding. */
function tensorText(stage) {
  const [ho, wo] = stage.outputHW;
  const rows = [];
  for (let i = 0; i < ho; i++) {
    const pixels = [];
    for (let j = 0; j < wo; j++) {
      const channels = [];
      for (let m = 0; m < stage.channels; m++) channels.push(formatNumber(outputValue(stage, Infinity, m, i, j), 6).replace("\u2212", "-"));
      pixels.push(`[${channels.join(", ")}]`);
    }
    rows.push(`[${pixels.join(", ")}]`);
  }
  return `[[${rows.join(",\n  ")}]]`;
}

export function numbersHtml(frame, store) {
  const header = store.header;
  const stage = frame.stage;
  const local = frame.local;
  const [ho, wo] = stage.outputHW;
  let html = `<section class="numbers-section"><h3>${escapeHtml(t("numbers.step"))}</h3>` +
    `<p data-role="step-summary">${escapeHtml(stepSummary(frame))}</p></section>`;

  // Output maps of this stage, as far as this step has written them.
  const mapCells = stage.channels * ho * wo;
  const current = stage.name === "pointwise" ? null : frame.scalar("out_channel");
  html += `<section class="numbers-section"><h3>${escapeHtml(t("numbers.outputs", { stage: t(`stage.${stage.name}`) }))}</h3>`;
  if (mapCells > MAX_CELLS && current !== null) html += `<p class="hint">${escapeHtml(t("numbers.too_many", { n: mapCells }))}</p>`;
  html += '<div class="map-tables">';
  for (let m = 0; m < stage.channels; m++) {
    if (mapCells > MAX_CELLS && current !== null && m !== current) continue;
    if (mapCells > MAX_CELLS && current === null && m > 0) break;
    html += mapTable(t("stage.out_channel", { o: m }), ho, wo, (i, j) => outputValue(stage, local, m, i, j), "output-map", ` data-channel="${m}"`);
  }
  html += "</div>";
  if (local === stage.steps - 1 && mapCells <= 1024) {
    html += `<h4>${escapeHtml(t("numbers.tensor"))}</h4><pre class="tensor" data-role="output-tensor" data-stage="${stage.name}">${escapeHtml(tensorText(stage))}</pre>`;
  } else {
    html += `<p class="hint">${escapeHtml(t("numbers.tensor_pending"))}</p>`;
  }
  html += "</section>";

  // The input, as the server received it.
  const input = header.input; // (C, H, W)
  const [channels, h, w] = input.shape;
  html += `<section class="numbers-section"><h3>${escapeHtml(t("numbers.inputs"))}</h3><div class="map-tables">`;
  for (let c = 0; c < channels; c++) {
    if (channels * h * w > MAX_CELLS && c > 0) break;
    html += mapTable(t("stage.in_channel", { q: c }), h, w, (i, j) => at(input, c, i, j), "input-map", ` data-channel="${c}"`);
  }
  html += "</div></section>";
  return html;
}
