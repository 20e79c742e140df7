// Lesson 7: one kernel shared by every channel, without mixing. The server computes it
// three ways (/lessons/shared_kernel); the code shows how to write it.
import { translateComments } from "../code/comments.js";
import { channelRows, codeHtml, escapeHtml, matrixHtml, rich, t, whileLoading } from "./common.js";

const CODE = {
  tf: `# TensorFlow: tile one kernel k [kh, kw] over the C channels
w = tf.tile(k[:, :, None, None], [1, 1, C, 1])        # [kh, kw, C, 1]
y = tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME")
# or fold the channels into the batch and use one conv2d filter
n, h, w_, c = x.shape
xb = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w_, 1])
yb = tf.nn.conv2d(xb, k[:, :, None, None], 1, "SAME")
y = tf.transpose(tf.reshape(yb, [n, c, h, w_]), [0, 2, 3, 1])`,
  keras: `# Keras: one trainable kernel, applied to each channel separately
inp = keras.Input((H, W, C))
t = layers.Permute((3, 1, 2))(inp)                    # [C, H, W]
t = layers.Reshape((C, H, W, 1))(t)
t = layers.TimeDistributed(layers.Conv2D(1, 3, padding="same", use_bias=False))(t)
t = layers.Reshape((C, H, W))(t)
out = layers.Permute((2, 3, 1))(t)                    # [H, W, C]`,
  pytorch: `# PyTorch: expand one kernel k [kh, kw] to C groups (no copy)
y = F.conv2d(x, k.expand(C, 1, kh, kw), padding="same", groups=C)
# or an nn.Conv2d(1, 1, 3) over the channels folded into the batch
y = conv(x.reshape(N * C, 1, H, W)).reshape(N, C, H, W)`,
};

export function mount(element, ctx) {
  const code = Object.entries(CODE).map(([name, text]) =>
    `<figure class="lesson-snippet"><figcaption>${escapeHtml(t(`code.${name}`))}</figcaption>${codeHtml(translateComments(text))}</figure>`).join("");
  element.innerHTML = `<div class="lesson-shared"></div><details class="lesson-code" open><summary>${escapeHtml(t("lesson7.code"))}</summary>${code}</details>`;
  const top = element.querySelector(".lesson-shared");
  return {
    async update(values, problem, signal) {
      await whileLoading(top, async () => {
        const answer = await ctx.callApi("shared_kernel", ctx.opBody(problem), signal);
        let html = `<div class="lesson-kernels"><figure><figcaption>${escapeHtml(t("lesson7.kernel"))}</figcaption>${matrixHtml(answer.kernel, { role: "shared-kernel" })}</figure>`;
        for (let c = 0; c < Math.min(answer.in_channels, 3); c++) {
          html += `<figure class="hue-${c % 8}"><figcaption>${escapeHtml(t("lesson7.out_c", { c }))}</figcaption>` +
            matrixHtml(channelRows(answer.outputs.tf_depthwise_tiled, c), { role: "shared-output" }) + "</figure>";
        }
        html += "</div>";
        html += `<p class="lesson-verdict" data-role="shared-difference" data-value="${answer.max_abs_difference}" data-shared="${answer.shared}">` +
          `${rich(answer.shared ? "lesson7.same" : "lesson7.not_shared", { d: answer.max_abs_difference })}</p>`;
        top.innerHTML = html;
      });
    },
  };
}
