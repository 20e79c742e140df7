// The runs' curves with plotly: test accuracy and training loss per epoch, one colour per
// run, redrawn with Plotly.react as epochs arrive (only what the server sent is drawn).
import { loadPlotly } from "../core/api.js";
import { t } from "../core/i18n.js";

export const HUES = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"];

function layout(title, yTitle, yRange) {
  return {
    title: { text: title, font: { size: 15 } },
    margin: { l: 56, r: 12, t: 36, b: 40 },
    xaxis: { title: { text: t("lab.axis.epoch") }, dtick: 1, rangemode: "tozero" },
    yaxis: { title: { text: yTitle }, range: yRange, rangemode: "tozero" },
    showlegend: false,  // each run's colour is its card's
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
  };
}

/** Redraw both charts from `runs` ([{name, epochs: [{epoch, test_accuracy, train_loss}]}]). */
export async function drawCurves(accuracyNode, lossNode, runs) {
  const Plotly = await loadPlotly();
  const traces = (value) => runs.map((run, index) => ({
    x: run.epochs.map((epoch) => epoch.epoch),
    y: run.epochs.map(value),
    name: run.name,
    mode: "lines+markers",
    line: { color: HUES[index % HUES.length], width: 2.5 },
  }));
  const options = { displayModeBar: false, responsive: true };
  await Plotly.react(
    accuracyNode, traces((epoch) => epoch.test_accuracy * 100),
    layout(t("lab.chart.accuracy"), t("lab.axis.accuracy"), [0, 100]), options,
  );
  await Plotly.react(
    lossNode, traces((epoch) => epoch.train_loss),
    layout(t("lab.chart.loss"), t("lab.axis.loss"), undefined), options,
  );
}
