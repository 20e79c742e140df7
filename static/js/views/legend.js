// The colour legends of the current stage: one scale for its feature maps, one
// for its weights, both symmetric around zero.
import { t } from "../i18n.js";
import { LUT } from "./colors.js";
import { formatNumber } from "./format.js";

let lastKey = null;

function bar(title, max, role) {
  const figure = document.createElement("figure");
  figure.className = "legend";
  figure.dataset.role = role;
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  const canvas = document.createElement("canvas");
  canvas.width = 256;
  canvas.height = 1;
  canvas.setAttribute("aria-hidden", "true");
  const context = canvas.getContext("2d");
  const image = context.createImageData(256, 1);
  for (let n = 0; n < 256; n++) {
    image.data.set([LUT[3 * n], LUT[3 * n + 1], LUT[3 * n + 2], 255], 4 * n);
  }
  context.putImageData(image, 0, 0);
  const ticks = document.createElement("div");
  ticks.className = "legend-ticks";
  for (const value of [-max, 0, max]) {
    const tick = document.createElement("span");
    tick.textContent = formatNumber(value);
    ticks.append(tick);
  }
  figure.setAttribute("aria-label", `${title}: ${formatNumber(-max)} … ${formatNumber(max)}`);
  figure.append(caption, canvas, ticks);
  return figure;
}

export function renderLegends(container, scales) {
  const key = scales ? `${scales.maps}|${scales.weights}` : "";
  if (key === lastKey) return;
  lastKey = key;
  if (!scales) {
    container.replaceChildren();
    return;
  }
  container.replaceChildren(bar(t("legend.maps"), scales.maps, "legend-maps"), bar(t("legend.weights"), scales.weights, "legend-weights"));
}
