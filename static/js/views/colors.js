// Colour: values on one diverging, colour-blind-safe blue–white–orange scale
// (zero is white, the sign is the hue, the size is the depth), symmetric around
// zero with one range per stage; channels keep one Okabe–Ito hue everywhere
// (input grid, its kernels, its output maps).

const STOPS = [
  [-1.0, [33, 76, 140]],
  [-0.6, [84, 134, 196]],
  [-0.25, [176, 205, 232]],
  [0.0, [247, 247, 247]],
  [0.25, [252, 211, 160]],
  [0.6, [236, 143, 52]],
  [1.0, [166, 84, 6]],
];

/** 256 RGB triples from -max (index 0) through 0 (index 127.5) to +max (index 255). */
export const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let n = 0; n < 256; n++) {
    const x = (n / 255) * 2 - 1;
    let s = 0;
    while (s < STOPS.length - 2 && x > STOPS[s + 1][0]) s++;
    const [x0, c0] = STOPS[s];
    const [x1, c1] = STOPS[s + 1];
    const f = Math.min(1, Math.max(0, (x - x0) / (x1 - x0)));
    for (let k = 0; k < 3; k++) lut[n * 3 + k] = Math.round(c0[k] + f * (c1[k] - c0[k]));
  }
  return lut;
})();

// Colour depth grows with |value|^GAMMA: small values next to large ones stay visible.
const GAMMA = 0.6;

/** LUT index of `value` on a scale of ±`max`. */
export function lutIndex(value, max) {
  const x = value / max;
  const n = Math.round(((x < 0 ? -((-x) ** GAMMA) : x ** GAMMA) + 1) * 127.5);
  return n < 0 ? 0 : n > 255 ? 255 : n;
}

/** Text that stays readable on the cell's colour. */
export function textColor(value, max) {
  return (Math.abs(value) / max) ** GAMMA > 0.6 ? "#ffffff" : "#1b2230";
}

/** Okabe–Ito, the colour-blind-safe qualitative palette; one hue per input channel. */
export const CHANNEL_HUES = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
/** Mixed outputs (a sum over several input channels) have no single channel hue. */
export const MIXED_HUE = "#4b5563";

export function channelHue(q) {
  return CHANNEL_HUES[q % CHANNEL_HUES.length];
}

/** The class that sets --hue to channel q's colour in markup (convlens.css: .hue-0 … .hue-7). */
export function hueClass(q) {
  return `hue-${q % CHANNEL_HUES.length}`;
}

/** The smallest of 1, 1.5, 2, 3, 4, 5, 6, 8 × 10^k at or above `x`: a legend bound that rarely changes. */
export function niceMax(x) {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const power = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.5, 2, 3, 4, 5, 6, 8, 10]) if (m * power >= x * (1 - 1e-12)) return Number((m * power).toPrecision(6));
  return 10 * power;
}

/** Largest absolute value of a typed array (or of its first `count` values). */
export { maxAbs } from "../core/numbers.js";
