// The cost panel: parameters and multiply-adds of standard, depthwise, pointwise
// and separable convolution for the current shapes (numbers from the server's
// costs endpoint), as a table and a Plotly chart. plotly.js is loaded only
// when this panel is first opened: it takes seconds to parse.
import { t } from "../core/i18n.js";
import { escapeHtml } from "./format.js";
import { themedLayout } from "./theme.js";

const LAYERS = ["standard", "grouped", "depthwise", "pointwise", "separable"];

function integer(n) {
  return Number(n).toLocaleString("en-US");
}

export function costTableHtml(costs) {
  const layers = LAYERS.filter((name) => name !== "grouped" || costs.groups > 1);
  let html = `<table class="cost-numbers" data-role="cost-table"><caption>${escapeHtml(t("cost.title"))}</caption>` +
    `<thead><tr><th scope="col">${escapeHtml(t("cost.layer"))}</th><th scope="col">${escapeHtml(t("cost.params"))}</th>` +
    `<th scope="col">${escapeHtml(t("cost.macs"))}</th></tr></thead><tbody>`;
  for (const name of layers) {
    html += `<tr data-layer="${name}"><th scope="row">${escapeHtml(t(`cost.${name}`))}</th>` +
      `<td>${integer(costs[name].weights)}</td><td>${integer(costs[name].macs)}</td></tr>`;
  }
  const ratio = (x) => `${(100 * x).toFixed(1)} %`;
  html += `<tr class="ratio"><th scope="row">${escapeHtml(t("cost.ratio"))}</th>` +
    `<td>${ratio(costs.separable_to_standard_params)}</td><td>${ratio(costs.separable_to_standard_macs)}</td></tr>`;
  return `${html}</tbody></table>`;
}

export function renderCostChart(Plotly, element, costs) {
  const layers = ["standard", "depthwise", "pointwise", "separable"];
  const names = layers.map((name) => t(`cost.${name}`));
  const colours = ["#4b5563", "#0072B2", "#E69F00", "#009E73"];
  const traces = [
    { type: "bar", name: t("cost.params"), x: names, y: layers.map((n) => costs[n].weights), marker: { color: colours }, xaxis: "x", yaxis: "y", showlegend: false },
    { type: "bar", name: t("cost.macs"), x: names, y: layers.map((n) => costs[n].macs), marker: { color: colours }, xaxis: "x2", yaxis: "y2", showlegend: false },
  ];
  const layout = {
    grid: { rows: 1, columns: 2, pattern: "independent" },
    margin: { l: 56, r: 16, t: 34, b: 40 },
    font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 13 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    annotations: [
      { text: t("cost.params"), x: 0.2, xref: "paper", y: 1.08, yref: "paper", showarrow: false, font: { size: 14 } },
      { text: t("cost.macs"), x: 0.8, xref: "paper", y: 1.08, yref: "paper", showarrow: false, font: { size: 14 } },
    ],
    yaxis: { rangemode: "tozero" },
    yaxis2: { rangemode: "tozero" },
  };
  // Text and grid in the theme's colours (theme.js relayouts the chart when the theme changes).
  return Plotly.react(element, traces, themedLayout(layout, traces), { displayModeBar: false, responsive: true, staticPlot: false });
}
