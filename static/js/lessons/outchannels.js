// Lesson 5: out_channels smaller than in_channels · channel_multiplier. The server
// runs the separable convolution and reports every shape.
import { escapeHtml, rich, t, whileLoading } from "./common.js";

const shape = (s) => `[${s.join(", ")}]`;

export function mount(element, ctx) {
  return {
    async update(values, problem, signal) {
      await whileLoading(element, async () => {
        const body = ctx.opBody(problem);
        const answer = await ctx.callApi("separable_conv2d", body, signal);
        const cm = answer.depthwise_shape[3];
        const o = answer.shape[3];
        const rows = [
          [t("lesson5.input"), shape([1, values.height, values.width, values.channels])],
          [t("lesson5.depthwise_filter"), shape([values.kh, values.kw, values.channels, values.multiplier])],
          [t("lesson5.depthwise_out"), shape(answer.depthwise_shape)],
          [t("lesson5.pointwise_filter"), shape([1, 1, cm, o])],
          [t("lesson5.output"), shape(answer.shape)],
        ];
        let html = `<table class="lesson-table" data-role="shapes"><tbody>` +
          rows.map(([name, value]) => `<tr><th scope="row">${escapeHtml(name)}</th><td translate="no">${value}</td></tr>`).join("") +
          "</tbody></table>";
        html += `<p class="lesson-verdict" data-role="accepted" data-o="${o}" data-cm="${cm}">${rich(o < cm ? "lesson5.accepted_less" : "lesson5.accepted", { o, cm })}</p>`;
        element.innerHTML = html;
      });
    },
  };
}
