// The Cost tab while a block is on the stage: per stage its weights, multiply-adds, activation
// memory and arithmetic intensity, the block's totals and the block against the standard
// convolution it replaces — every number as POST /api/v1/blocks computed it (app/engine's
// block_costs); the page only lays them out.
import { t } from "../core/i18n.js";
import { escapeHtml } from "../views/format.js";
import { themedLayout } from "../views/theme.js";

function integer(n) {
  return Number(n).toLocaleString("en-US");
}

/** Activation memory as the page says it: bytes under a kilobyte, else kB (1 kB = 1024 B). */
function bytes(n) {
  return n < 1024 ? t("blocks.cost.bytes", { n: integer(n) }) : t("blocks.cost.kilobytes", { n: (n / 1024).toFixed(1) });
}

function intensity(x) {
  return Number(x).toFixed(2);
}

function percent(fraction) {
  return `${(100 * fraction).toFixed(1)} %`;
}

function shapeText([, h, w, c]) {
  return `${c}×${h}×${w}`;
}

/** The block's cost table from a POST /api/v1/blocks answer (its stages' and block's costs). */
export function blockCostTableHtml(answer) {
  const head = ["stage", "kind", "output", "weights", "macs", "memory", "intensity"]
    .map((key) => `<th scope="col">${escapeHtml(t(`blocks.cost.${key}`))}</th>`).join("");
  const rows = answer.stages.map(({ name, kind, cost }) => `<tr data-stage="${escapeHtml(name)}">`
    + `<th scope="row"><code translate="no">${escapeHtml(name)}</code></th>`
    + `<td class="kind">${escapeHtml(t(`blocks.play.kind.${kind}`))}</td>`
    + `<td>${shapeText(cost.output_shape)}</td><td>${integer(cost.weights + cost.biases)}</td>`
    + `<td>${integer(cost.macs)}</td><td>${bytes(cost.activation_bytes)}</td>`
    + `<td>${intensity(cost.arithmetic_intensity)}</td></tr>`);
  const costs = answer.costs;
  const last = answer.stages[answer.stages.length - 1].cost.output_shape;
  const total = `<tr class="total" data-stage="block"><th scope="row">${escapeHtml(t("blocks.cost.total"))}</th>`
    + `<td></td><td>${shapeText(last)}</td><td>${integer(costs.weights + costs.biases)}</td><td>${integer(costs.macs)}</td>`
    + `<td>${bytes(costs.activation_bytes)}</td><td>${intensity(costs.arithmetic_intensity)}</td></tr>`;
  const standard = `<tr data-stage="standard"><th scope="row">${escapeHtml(t("blocks.cost.standard"))}</th>`
    + `<td></td><td>${shapeText(last)}</td><td>${integer(costs.standard.weights)}</td><td>${integer(costs.standard.macs)}</td>`
    + "<td></td><td></td></tr>";
  const ratio = `<tr class="ratio" data-stage="ratio"><th scope="row">${escapeHtml(t("blocks.cost.ratio"))}</th>`
    + `<td></td><td></td><td>${percent(costs.to_standard_weights)}</td><td>${percent(costs.to_standard_macs)}</td>`
    + "<td></td><td></td></tr>";
  const caption = t("blocks.cost.title", { block: t(`blocks.play.block.${answer.block}`) });
  return `<table class="cost-numbers block-cost" data-role="block-cost-table"><caption>${escapeHtml(caption)}</caption>`
    + `<thead><tr>${head}</tr></thead><tbody>${rows.join("")}${total}${standard}${ratio}</tbody></table>`
    + `<p class="hint block-cost-note">${escapeHtml(t("blocks.cost.note"))}</p>`;
}

/** Multiply-adds per stage, and the standard convolution the block replaces beside them. */
export function renderBlockCostChart(Plotly, element, answer) {
  const names = [...answer.stages.map((stage) => stage.name), t("blocks.cost.standard")];
  const macs = [...answer.stages.map((stage) => stage.cost.macs), answer.costs.standard.macs];
  const colours = [...answer.stages.map(() => "#0072B2"), "#4b5563"];
  // The page's type size where the chart is (13 px at least): over the stage (blocks.css) the
  // chart is read from the back of the room as the table beside it is.
  const size = Math.max(13, Math.round(parseFloat(getComputedStyle(element).fontSize)) || 13);
  const layout = {
    margin: { l: 4 * size + 4, r: 16, t: 2.5 * size, b: 7 * size },
    font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    title: { text: t("blocks.cost.chart_title"), font: { size: size + 1 } },
    yaxis: { rangemode: "tozero" },
    xaxis: { tickangle: -40 },
  };
  const traces = [{ type: "bar", x: names, y: macs, marker: { color: colours }, showlegend: false }];
  // Text and grid in the theme's colours (theme.js relayouts the chart when the theme changes).
  return Plotly.react(element, traces, themedLayout(layout, traces), { displayModeBar: false, responsive: true, staticPlot: false });
}
