// Lesson 1: channel_multiplier. Output channel o = q·M + r (index arithmetic), and the
// server's output at pixel (0, 0) for each o.
import { escapeHtml, exact, formatNumber, t, whileLoading } from "./common.js";

export function mount(element, ctx) {
  return {
    /** Highlight the output channel the player is filling (index arithmetic on the frame). */
    onStep(values) {
      const frame = ctx.store().frame(Math.min(values.step, ctx.store().total - 1));
      const o = frame && frame.has("out_channel") ? frame.scalar("out_channel") : -1;
      for (const row of element.querySelectorAll("tr[data-channel]")) row.classList.toggle("current", Number(row.dataset.channel) === o);
    },
    async update(values, problem, signal) {
      await whileLoading(element, async () => {
        const answer = await ctx.callApi("depthwise_conv2d", ctx.opBody(problem), signal);
        const m = values.multiplier;
        const pixel = answer.output[0][0][0];
        let html = `<table class="lesson-table" data-role="multiplier-map"><caption>${escapeHtml(t("lesson1.table", { m }))}</caption>` +
          `<thead><tr><th scope="col">${escapeHtml(t("lesson1.col_q"))}</th><th scope="col">${escapeHtml(t("lesson1.col_r"))}</th>` +
          `<th scope="col">${escapeHtml(t("lesson1.col_o"))}</th><th scope="col">${escapeHtml(t("lesson1.col_value"))}</th></tr></thead><tbody>`;
        pixel.forEach((value, o) => {
          const q = Math.floor(o / m);
          const r = o % m;
          html += `<tr class="hue-${q % 8}" data-channel="${o}"><td><span class="swatch"></span>${q}</td><td>${r}</td>` +
            `<td translate="no">${q}·${m} + ${r} = ${o}</td><td data-value="${exact(value)}">${formatNumber(value)}</td></tr>`;
        });
        html += "</tbody></table>";
        html += `<p class="lesson-fact">${escapeHtml(t("lesson1.shape", { c: values.channels, m, cm: answer.shape[3] }))}</p>`;
        element.innerHTML = html;
        this.onStep(values);
      });
    },
  };
}
