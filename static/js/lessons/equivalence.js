// Lesson 3: the equivalent standard kernel of the current separable convolution
// (/factorize), and both outputs (separable, and conv2d with that kernel) shown equal.
import { channelRows, escapeHtml, kernelRows, matrixHtml, rich, sameNumbers, t, whileLoading } from "./common.js";

export function mount(element, ctx) {
  return {
    async update(values, problem, signal) {
      await whileLoading(element, async () => {
        const body = ctx.opBody(problem);
        const pair = await ctx.callApi("factorize", { depthwise_filter: body.depthwise_filter, pointwise_filter: body.pointwise_filter }, signal);
        const kernel = pair.equivalent_kernel; // [kh, kw, C, O]
        const { depthwise_filter: _d, pointwise_filter: _p, ...geometry } = body;
        const [separable, standard] = await Promise.all([
          ctx.callApi("separable_conv2d", body, signal),
          ctx.callApi("conv2d", { ...geometry, filters: kernel }, signal),
        ]);
        const [, , channels, outs] = pair.equivalent_kernel_shape;
        const k = 0;
        let html = `<p class="lesson-fact">${rich("lesson3.kernel_of", { k, shape: `[${pair.equivalent_kernel_shape.join(", ")}]` })}</p><div class="lesson-kernels">`;
        for (let c = 0; c < channels; c++) {
          html += `<figure class="hue-${c % 8}"><figcaption translate="no">W[:, :, ${c}, ${k}]</figcaption>` +
            `${matrixHtml(kernelRows(kernel, c, k), { role: "equivalent-kernel", label: `W[:, :, ${c}, ${k}]` })}</figure>`;
        }
        html += "</div>";
        const equal = sameNumbers(separable.output, standard.output);
        html += `<div class="lesson-compare"><figure><figcaption>${escapeHtml(t("lesson3.separable_out", { k }))}</figcaption>` +
          `${matrixHtml(channelRows(separable.output, k), { role: "separable-output" })}</figure>` +
          `<span class="lesson-equals" aria-hidden="true">${equal ? "=" : "≠"}</span>` +
          `<figure><figcaption>${escapeHtml(t("lesson3.standard_out", { k }))}</figcaption>` +
          `${matrixHtml(channelRows(standard.output, k), { role: "standard-output" })}</figure></div>`;
        html += `<p class="lesson-verdict" data-equal="${equal}">${escapeHtml(t(equal ? "lesson3.equal" : "lesson3.unequal", { o: outs }))}</p>`;
        element.innerHTML = html;
      });
    },
  };
}
