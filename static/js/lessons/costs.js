// Lesson 2: separable = depthwise + pointwise. Weights and multiply-adds side by side
// (from /costs), the ratio 1/O + 1/(kh·kw), and sweeps over channels and kernel size.
import { CHART_CONFIG, chartLayout, escapeHtml, t, whileLoading } from "./common.js";

const integer = (n) => Number(n).toLocaleString("en-US");
const percent = (x) => `${(100 * x).toFixed(1)} %`;

function shapesOf(values) {
  return {
    input_hw: [values.height, values.width],
    in_channels: values.channels,
    out_channels: values.out,
    kernel_hw: [values.kh, values.kw],
    channel_multiplier: values.multiplier,
    strides: [values.sh, values.sw],
    padding: values.padding === "EXPLICIT" ? [[values.pad_top, values.pad_bottom], [values.pad_left, values.pad_right]] : values.padding,
    dilations: [values.dh, values.dw],
  };
}

function tableHtml(costs, values) {
  const rows = ["standard", "depthwise", "pointwise", "separable"];
  const formulas = {
    standard: `${values.out}×${values.channels}×${values.kh}×${values.kw}`,
    depthwise: `${values.kh}×${values.kw}×${values.channels}×${values.multiplier}`,
    pointwise: `1×1×${values.channels * values.multiplier}×${values.out}`,
    separable: `${integer(costs.depthwise.weights)} + ${integer(costs.pointwise.weights)}`,
  };
  let html = `<table class="lesson-table" data-role="lesson-costs"><thead><tr><th scope="col">${escapeHtml(t("cost.layer"))}</th>` +
    `<th scope="col">${escapeHtml(t("lesson2.formula"))}</th><th scope="col">${escapeHtml(t("cost.params"))}</th>` +
    `<th scope="col">${escapeHtml(t("cost.macs"))}</th></tr></thead><tbody>`;
  for (const name of rows) {
    html += `<tr data-layer="${name}" class="${name === "separable" || name === "standard" ? "strong" : ""}"><th scope="row">${escapeHtml(t(`cost.${name}`))}</th>` +
      `<td translate="no">${formulas[name]}</td><td data-value="${costs[name].weights}">${integer(costs[name].weights)}</td>` +
      `<td data-value="${costs[name].macs}">${integer(costs[name].macs)}</td></tr>`;
  }
  html += `<tr class="ratio"><th scope="row">${escapeHtml(t("cost.ratio"))}</th><td></td>` +
    `<td data-value="${costs.separable_to_standard_params}">${percent(costs.separable_to_standard_params)}</td>` +
    `<td data-value="${costs.separable_to_standard_macs}">${percent(costs.separable_to_standard_macs)}</td></tr>`;
  return html + "</tbody></table>";
}

export function mount(element, ctx) {
  element.innerHTML = `<div class="lesson-costs"></div><p class="lesson-ratio" data-role="ratio"></p>` +
    `<div class="lesson-charts"><div class="lesson-chart" data-role="sweep-channels" role="img" aria-label="${escapeHtml(t("lesson2.chart_channels"))}"></div>` +
    `<div class="lesson-chart" data-role="sweep-kernel" role="img" aria-label="${escapeHtml(t("lesson2.chart_kernel"))}"></div></div>` +
    `<p class="lesson-note">${escapeHtml(t("lesson2.hardware"))}</p>`;
  const table = element.querySelector(".lesson-costs");
  const ratio = element.querySelector("[data-role=ratio]");
  return {
    async update(values, problem, signal) {
      const shapes = shapesOf(values);
      await whileLoading(table, async () => {
        const channelValues = [1, 2, 4, 8, 16, 32, 64, 128, 256];
        const kernelValues = [1, 3, 5, 7, 9, 11];
        const [now, channels, kernels, Plotly] = await Promise.all([
          ctx.callApi("costs", shapes, signal),
          ctx.callApi("costs", { ...shapes, input_hw: [32, 32], in_channels: 32, channel_multiplier: 1, strides: 1, padding: "SAME", dilations: 1, sweep: { parameter: "out_channels", values: channelValues } }, signal),
          ctx.callApi("costs", { ...shapes, input_hw: [32, 32], in_channels: 32, out_channels: 64, channel_multiplier: 1, strides: 1, padding: "SAME", dilations: 1, sweep: { parameter: "kernel_hw", values: kernelValues } }, signal),
          ctx.loadPlotly(),
        ]);
        table.innerHTML = tableHtml(now.costs, values);
        const m1 = values.multiplier === 1;
        ratio.innerHTML = m1
          ? `${escapeHtml(t("lesson2.ratio"))} <span translate="no" class="math">1/C_out + 1/(kh·kw) = 1/${values.out} + 1/${values.kh * values.kw}</span> = ` +
            `<strong data-value="${now.costs.separable_to_standard_macs}">${percent(now.costs.separable_to_standard_macs)}</strong>`
          : escapeHtml(t("lesson2.ratio_m", { ratio: percent(now.costs.separable_to_standard_macs) }));
        const line = (sweep, key, name, colour) => ({
          type: "scatter", mode: "lines+markers", name, x: sweep.values.map((v) => (Array.isArray(v) ? v[0] : v)),
          y: sweep.costs.map((c) => c[key].macs), line: { color: colour, width: 3 }, marker: { size: 7 },
        });
        const chart = (node, sweep, title, xTitle) => Plotly.react(node, [
          line(sweep, "standard", t("cost.standard"), "#4b5563"),
          line(sweep, "separable", t("cost.separable"), "#009E73"),
        ], chartLayout({
          title: { text: title, font: { size: 14 } },
          xaxis: { title: { text: xTitle }, type: sweep.parameter === "out_channels" ? "log" : "linear", tickvals: sweep.values.map((v) => (Array.isArray(v) ? v[0] : v)) },
          yaxis: { title: { text: t("cost.macs") }, type: "log", dtick: 1, exponentformat: "SI", gridcolor: "#e5e7eb" },
        }), CHART_CONFIG);
        await chart(element.querySelector("[data-role=sweep-channels]"), channels.sweep, t("lesson2.chart_channels"), t("lesson2.axis_channels"));
        await chart(element.querySelector("[data-role=sweep-kernel]"), kernels.sweep, t("lesson2.chart_kernel"), t("lesson2.axis_kernel"));
        element.dataset.ready = "true";
      });
    },
  };
}
