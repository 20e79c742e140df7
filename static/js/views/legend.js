// The colour legends of the current stage: one scale for its feature maps, one
// for its weights, both symmetric around zero; and when the input is a photo, the
// input's own scale (0 … 1 in each channel's colour, photo.js).
import { t } from "../core/i18n.js";
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

/** The photo's scale: one row per channel, 0 … 1 in that channel's colour. */
function photoBar(photo, colorOf) {
  const figure = document.createElement("figure");
  figure.className = "legend";
  figure.dataset.role = "legend-input";
  const caption = document.createElement("figcaption");
  caption.textContent = t("legend.input_photo");
  const canvas = document.createElement("canvas");
  canvas.className = "photo-legend";
  canvas.width = 256;
  canvas.height = photo.channels;
  canvas.setAttribute("aria-hidden", "true");
  const context = canvas.getContext("2d");
  const image = context.createImageData(256, photo.channels);
  for (let q = 0; q < photo.channels; q++) {
    for (let n = 0; n < 256; n++) image.data.set([...colorOf(n / 255, q, photo.channels), 255], 4 * (q * 256 + n));
  }
  context.putImageData(image, 0, 0);
  const ticks = document.createElement("div");
  ticks.className = "legend-ticks";
  for (const value of [0, 0.5, 1]) {
    const tick = document.createElement("span");
    tick.textContent = formatNumber(value);
    ticks.append(tick);
  }
  figure.setAttribute("aria-label", `${caption.textContent}: 0 … 1`);
  figure.append(caption, canvas, ticks);
  return figure;
}

/**
 * scales: {maps, weights} of the stage on screen (null: none); photo: {channels, colorOf}
 * when the input is a photo (its own colour scale), else null.
 */
export function renderLegends(container, scales, photo = null) {
  const key = scales ? `${scales.maps}|${scales.weights}|${photo ? photo.channels : ""}` : "";
  if (key === lastKey) return;
  lastKey = key;
  if (!scales) {
    container.replaceChildren();
    return;
  }
  const bars = [bar(t("legend.maps"), scales.maps, "legend-maps")];
  if (scales.weights !== null) bars.push(bar(t("legend.weights"), scales.weights, "legend-weights")); // null: a stage with no weights
  if (photo) bars.unshift(photoBar(photo, photo.colorOf));
  container.replaceChildren(...bars);
}
