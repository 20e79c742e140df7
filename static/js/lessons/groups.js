// Lesson 6: groups from standard (1) through grouped to depthwise (C). A slider over the
// valid group counts sets the page's `groups`; the server answers the connectivity, the
// TF and PyTorch weight shapes, and the output four ways (/lessons/groups).
import { translateComments } from "../code/comments.js";
import { codeHtml, escapeHtml, exact, failed, formatNumber, rich, t } from "./common.js";

const METHODS = ["tf_conv2d", "tf_split_concat", "tf_depthwise_sum", "torch_groups"];

function divisors(values) {
  const list = [];
  for (let g = 1; g <= values.channels; g++) if (values.channels % g === 0 && values.out % g === 0) list.push(g);
  return list;
}

function kindOf(groups, channels) {
  if (groups === 1) return "standard";
  return groups === channels ? "depthwise" : "grouped";
}

function connectivityHtml(matrix) {
  const channels = matrix[0].length;
  let html = `<table class="lesson-connectivity" data-role="connectivity"><thead><tr><th scope="col"><span class="visually-hidden">${escapeHtml(t("lesson6.out"))}</span></th>`;
  for (let c = 0; c < channels; c++) html += `<th scope="col" class="hue-${c % 8}">x${c}</th>`;
  html += "</tr></thead><tbody>";
  matrix.forEach((row, o) => {
    html += `<tr><th scope="row">${escapeHtml(t("lesson6.out_o", { o }))}</th>`;
    row.forEach((on, c) => {
      html += `<td data-on="${on}" class="${on ? `on hue-${c % 8}` : ""}" aria-label="${escapeHtml(t(on ? "lesson6.connected" : "lesson6.not_connected"))}">${on ? "●" : ""}</td>`;
    });
    html += "</tr>";
  });
  return html + "</tbody></table>";
}

const CODE = `# TensorFlow: split, convolve, concatenate
xs = tf.split(x, G, axis=-1)           # G tensors [N, H, W, C/G]
ws = tf.split(w, G, axis=-1)           # w: [kh, kw, C/G, C_out] -> G x [kh, kw, C/G, C_out/G]
y = tf.concat([tf.nn.conv2d(a, b, 1, "SAME") for a, b in zip(xs, ws)], axis=-1)
# (tf.nn.conv2d(x, w, 1, "SAME") does the same when C is a multiple of C/G)

# PyTorch
y = F.conv2d(x, w.permute(3, 2, 0, 1), padding="same", groups=G)   # weight [C_out, C/G, kh, kw]`;

export function mount(element, ctx) {
  element.innerHTML = `<div class="lesson-slider"><label for="groups-slider">${escapeHtml(t("lesson6.slider"))}</label>` +
    `<input type="range" id="groups-slider" min="0" max="0" step="1" value="0">` +
    `<output id="groups-value" for="groups-slider"></output></div><div class="lesson-groups"></div>` +
    `<details class="lesson-code"><summary>${escapeHtml(t("lesson6.code"))}</summary>${codeHtml(translateComments(CODE))}</details>`;
  const slider = element.querySelector("#groups-slider");
  const body = element.querySelector(".lesson-groups");
  slider.addEventListener("input", () => {
    const choices = divisors(ctx.state.values);
    const groups = choices[Number(slider.value)];
    if (groups) ctx.state.set({ groups, step: 0 });
  });
  return {
    async update(values, problem, signal) {
      const choices = divisors(values);
      slider.max = String(choices.length - 1);
      slider.value = String(Math.max(0, choices.indexOf(values.groups)));
      const kind = kindOf(values.groups, values.channels);
      element.querySelector("#groups-value").textContent = t(`lesson6.kind.${kind}`, { g: values.groups, c: values.channels });
      slider.setAttribute("aria-valuetext", element.querySelector("#groups-value").textContent);
      body.dataset.pending = "true";
      try {
        const answer = await ctx.callApi("groups", ctx.opBody(problem), signal);
        let html = `<div class="lesson-groups-grid"><figure><figcaption>${escapeHtml(t("lesson6.matrix"))}</figcaption>${connectivityHtml(answer.connectivity)}</figure>`;
        html += `<table class="lesson-table" data-role="weight-shapes"><tbody>` +
          `<tr><th scope="row">${escapeHtml(t("lesson6.tf_layout"))}</th><td translate="no" data-role="tf-shape">(${answer.tf_filter_shape.join(", ")})</td></tr>` +
          `<tr><th scope="row">${escapeHtml(t("lesson6.torch_layout"))}</th><td translate="no" data-role="torch-shape">(${answer.torch_weight_shape.join(", ")})</td></tr>` +
          `<tr><th scope="row">${escapeHtml(t("cost.params"))}</th><td data-value="${answer.weights}">${answer.weights}</td></tr></tbody></table></div>`;
        // The middle pixel: away from the padding, where the groups differ most visibly.
        const [i, j] = [Math.floor(answer.shape[1] / 2), Math.floor(answer.shape[2] / 2)];
        html += `<table class="lesson-table lesson-methods" data-role="methods" data-i="${i}" data-j="${j}"><caption>${escapeHtml(t("lesson6.same_numbers", { i, j }))}</caption><thead><tr><th scope="col">${escapeHtml(t("lesson6.method"))}</th>`;
        for (let o = 0; o < answer.out_channels; o++) html += `<th scope="col">${escapeHtml(t("lesson6.out_o", { o }))}</th>`;
        html += "</tr></thead><tbody>";
        for (const method of METHODS) {
          const pixel = answer.outputs[method][0][i][j];
          html += `<tr data-method="${method}"><th scope="row">${rich(`lesson6.method.${method}`)}</th>` +
            pixel.map((v) => `<td data-value="${exact(v)}">${formatNumber(v)}</td>`).join("") + "</tr>";
        }
        html += "</tbody></table>";
        html += `<p class="lesson-verdict" data-role="difference" data-value="${answer.max_abs_difference}">${escapeHtml(t("lesson6.difference", { d: formatNumber(answer.max_abs_difference) }))}</p>`;
        body.innerHTML = html;
        body.dataset.pending = "false";
        body.dataset.groups = String(answer.groups);
      } catch (error) {
        if (error.name !== "AbortError") failed(body, error);
      }
    },
  };
}
