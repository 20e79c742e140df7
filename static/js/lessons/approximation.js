// Lesson 4: why channel_multiplier=1 on a grayscale input is weak. A chosen standard
// kernel bank [3, 3, 1, 4] (Sobel x, Sobel y, Laplacian, sharpen), its best separable
// approximation for M = 1 (/factorize), and the error against M as a chart.
import { presetKernel, randomIntegers } from "../controls/data.js";
import { showLabNumbers } from "../lab/lesson.js";
import { CHART_CONFIG, chartLayout, escapeHtml, formatNumber, kernelRows, matrixHtml, rich, t, whileLoading } from "./common.js";

const BANKS = {
  edges: ["edge_x", "edge_y", "laplacian", "sharpen"],
  blur_edges: ["ones", "edge_x", "edge_y", "identity"],
  random: ["random", "random", "random", "random"],
};

/** The names of the chosen bank's kernels (for captions). */
function names(choice) {
  return BANKS[choice].map((name, o) => (name === "random" ? t("lesson4.random_n", { n: o }) : t(`kernel.preset.${name}`)));
}

/** filters [3, 3, 1, 4]: the chosen kernels (arguments, not results). */
function bank(choice) {
  const kernels = BANKS[choice].map((name, o) => (name === "random" ? randomIntegers(17 + o, 9, -3, 3) : presetKernel(name, 3, 3, 0)));
  return [0, 1, 2].map((i) => [0, 1, 2].map((j) => [kernels.map((k) => k[i * 3 + j])]));
}

export function mount(element, ctx) {
  const options = Object.keys(BANKS).map((key) => `<option value="${key}">${escapeHtml(t(`lesson4.bank.${key}`))}</option>`).join("");
  element.innerHTML = `<div class="lesson-pick-bank"><label for="bank-select">${escapeHtml(t("lesson4.choose"))}</label><select id="bank-select">${options}</select></div><div class="lesson-approx"></div><div class="lesson-chart" data-role="error-chart" role="img" aria-label="${escapeHtml(t("lesson4.chart"))}"></div><p class="lesson-lab" data-role="lab-numbers"></p>`;
  showLabNumbers(element.querySelector("[data-role=lab-numbers]"));
  const top = element.querySelector(".lesson-approx");
  const select = element.querySelector("#bank-select");
  let last = null;
  const widget = {
    async update(values, problem, signal) {
      last = [values, problem];
      await whileLoading(top, async () => {
        const choice = select.value;
        const filters = bank(choice);
        const [fit, Plotly] = await Promise.all([
          ctx.callApi("factorize", { filters, channel_multiplier: 1 }, signal),
          ctx.loadPlotly(),
        ]);
        const approx = fit.approximation;
        let html = `<p class="lesson-fact">${rich("lesson4.bank")}</p><div class="lesson-kernels two-rows">`;
        names(choice).forEach((name, o) => {
          html += `<figure><figcaption>${escapeHtml(name)}</figcaption>` +
            matrixHtml(kernelRows(filters, 0, o), { role: "bank-kernel" }) +
            `<figcaption>${escapeHtml(t("lesson4.rank1"))}</figcaption>` +
            matrixHtml(kernelRows(approx.approximation, 0, o), { role: "approx-kernel" }) + "</figure>";
        });
        html += "</div>";
        html += `<p class="lesson-verdict" data-role="m1-error" data-value="${approx.relative_error}">${escapeHtml(t("lesson4.error_m1", { error: formatNumber(100 * approx.relative_error, 3) }))}</p>`;
        top.innerHTML = html;
        const chart = element.querySelector("[data-role=error-chart]");
        chart.dataset.errors = JSON.stringify(fit.errors.map((e) => e.relative_error));
        await Plotly.react(chart, [{
          type: "bar", x: fit.errors.map((e) => `M = ${e.channel_multiplier}`), y: fit.errors.map((e) => 100 * e.relative_error),
          marker: { color: fit.errors.map((e) => (e.relative_error > 1e-9 ? "#D55E00" : "#009E73")) },
          text: fit.errors.map((e) => `${formatNumber(100 * e.relative_error, 3)} %`), textposition: "outside",
          cliponaxis: false, hoverinfo: "skip",
        }], chartLayout({
          title: { text: t("lesson4.chart"), font: { size: 14 } },
          yaxis: { title: { text: t("lesson4.axis_error") }, rangemode: "tozero", gridcolor: "#e5e7eb" },
          xaxis: { title: { text: t("lesson4.axis_m") } },
          showlegend: false,
        }), CHART_CONFIG);
        element.dataset.ready = "true";
      });
    },
  };
  select.addEventListener("change", () => last && widget.update(...last, undefined));
  return widget;
}
