// The numbers the user chooses: input values and kernel weights, built from the
// state (presets, seeded random, an uploaded image, cell edits). These are the
// convolution's *arguments*; every result comes from the server.
//
// Tensors here are {shape, data} with `data` a Float64Array in row-major order.
import { PHOTO_SOURCES } from "../core/state.js";

/** A tensor of zeros. */
export function zeros(shape) {
  return { shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) };
}

/** Deterministic integers for "seeded random": mulberry32, the same in every browser. */
export function randomIntegers(seed, count, low, high) {
  let a = seed >>> 0;
  const out = new Float64Array(count);
  for (let n = 0; n < count; n++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    const unit = ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    out[n] = low + Math.floor(unit * (high - low + 1));
  }
  return out;
}

// ---------------------------------------------------------------- input

const INPUT_PATTERNS = {
  // Channel 0 counts columns 1, 2, 3, …; channel 1 is all ones: the seed example at 4×4×2.
  ramp(c, i, j, h, w) {
    switch (c % 4) {
      case 0: return j + 1;
      case 1: return 1;
      case 2: return i + 1;
      default: return ((i + 2 * j + c) % 5) - 2;
    }
  },
  checker(c, i, j) {
    const size = c + 1;
    return (Math.floor(i / size) + Math.floor(j / size)) % 2 ? 1 : 0;
  },
  gradient(c, i, j, h, w) {
    return c % 2 === 0 ? i + j : (h - 1 - i) + j;
  },
  digit(c, i, j, h, w) {
    // A "7": a bar across the top, then a stroke from the top right down to the bottom middle.
    const top = Math.max(0, Math.round(h * 0.15));
    const left = Math.round(w * 0.2);
    const right = w - 1 - Math.round(w * 0.15);
    const thickness = Math.max(1, Math.round(Math.min(h, w) / 10));
    if (i >= top && i < top + thickness && j >= left && j <= right) return c + 1;
    if (i >= top) {
      const progress = (i - top) / Math.max(1, h - 1 - top);
      const centre = right - progress * (right - Math.round(w * 0.45));
      if (Math.abs(j - centre) < thickness * 0.75 + 0.25) return c + 1;
    }
    return 0;
  },
};

/** Decode the state's image value "HxWxC:base64url" into {height, width, channels, bytes}. */
export function decodeImage(text) {
  const match = /^(\d+)x(\d+)x(\d+):([A-Za-z0-9_-]*)$/.exec(text || "");
  if (!match) return null;
  const [height, width, channels] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const binary = atob(match[4].replace(/-/g, "+").replace(/_/g, "/"));
  if (binary.length !== height * width * channels) return null;
  const bytes = new Uint8Array(binary.length);
  for (let n = 0; n < binary.length; n++) bytes[n] = binary.charCodeAt(n);
  return { height, width, channels, bytes };
}

/** Encode downsampled pixels (channel-major uint8) for the URL. */
export function encodeImage(height, width, channels, bytes) {
  let binary = "";
  for (let n = 0; n < bytes.length; n += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(n, n + 0x8000));
  }
  const base64 = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${height}x${width}x${channels}:${base64}`;
}

/** Parse "a.b.c:v;…" cell edits into [{index: [a, b, c], value}]. */
export function parseEdits(text, arity) {
  const edits = [];
  for (const part of (text || "").split(";")) {
    const at = part.indexOf(":");
    if (at < 0) continue;
    const index = part.slice(0, at).split(".").map(Number);
    const value = Number(part.slice(at + 1));
    if (index.length !== arity || index.some((n) => !Number.isInteger(n) || n < 0)) continue;
    if (!Number.isFinite(value)) continue;
    edits.push({ index, value });
  }
  return edits;
}

/** Set one cell edit in an edits string (a later edit of the same cell replaces the earlier). */
export function withEdit(text, index, value) {
  const key = index.join(".");
  const kept = (text || "").split(";").filter((part) => part && part.slice(0, part.indexOf(":")) !== key);
  kept.push(`${key}:${formatEditValue(value)}`);
  return kept.join(";");
}

/**
 * Drop every edit of kernel slice `slice` (a new preset replaces that kernel's edits). An edit's
 * first index counts `perSlice` kernels per slice (a standard filter has one per input channel).
 */
export function withoutSliceEdits(text, slice, perSlice = 1) {
  return (text || "")
    .split(";")
    .filter((part) => part && Math.floor(Number(part.split(".")[0]) / perSlice) !== slice)
    .join(";");
}

/** True when a cell of kernel slice `slice` was edited by hand (its preset no longer describes it). */
export function sliceEdited(text, slice, perSlice = 1) {
  return withoutSliceEdits(text, slice, perSlice) !== (text || "").split(";").filter(Boolean).join(";");
}

function formatEditValue(value) {
  return String(Number(value));
}

/** The input as {shape: [C, H, W], data}, or null when the source cannot supply it. */
export function buildInput(values) {
  const { height: h, width: w, channels } = values;
  const input = zeros([channels, h, w]);
  if (PHOTO_SOURCES.includes(values.source)) {
    // A photo (photo.js keeps `image` resampled from the original at this size).
    const image = decodeImage(values.image);
    if (!image) return null;
    for (let c = 0; c < channels; c++) {
      const sourceChannel = Math.min(c, image.channels - 1);
      for (let i = 0; i < h; i++) {
        // Nearest neighbour only when the original is not at hand (photo.js says so).
        const si = Math.min(image.height - 1, Math.floor((i * image.height) / h));
        for (let j = 0; j < w; j++) {
          const sj = Math.min(image.width - 1, Math.floor((j * image.width) / w));
          const byte = image.bytes[(sourceChannel * image.height + si) * image.width + sj];
          input.data[(c * h + i) * w + j] = Math.round((byte / 255) * 100) / 100;
        }
      }
    }
  } else if (values.source === "random") {
    input.data.set(randomIntegers(values.seed, channels * h * w, 0, 9));
  } else {
    const pattern = INPUT_PATTERNS[values.source] || INPUT_PATTERNS.ramp;
    for (let c = 0; c < channels; c++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) input.data[(c * h + i) * w + j] = pattern(c, i, j, h, w);
  }
  for (const { index: [c, i, j], value } of parseEdits(values.input_edits, 3)) {
    if (c < channels && i < h && j < w) input.data[(c * h + i) * w + j] = value;
  }
  return input;
}

// ---------------------------------------------------------------- kernels

export const KERNEL_PRESETS = ["identity", "ones", "zeros", "edge_x", "edge_y", "blur", "sharpen", "emboss", "laplacian", "random"];
export const KERNEL_CONSTANTS = [-1, 0, 1, 2, 3];

/** One kh × kw kernel from a preset name or a number (every weight equal to it). */
export function presetKernel(name, kh, kw, seed) {
  const out = new Float64Array(kh * kw);
  const ci = (kh - 1) / 2;
  const cj = (kw - 1) / 2;
  const centre = Math.floor(ci) * kw + Math.floor(cj);
  const constant = Number(name);
  if (name !== "" && Number.isFinite(constant)) return out.fill(constant);
  switch (name) {
    case "identity": out[centre] = 1; break;
    case "ones": out.fill(1); break;
    case "zeros": break;
    case "edge_x":
    case "edge_y":
      for (let di = 0; di < kh; di++)
        for (let dj = 0; dj < kw; dj++) {
          const along = name === "edge_x" ? Math.sign(dj - cj) : Math.sign(di - ci);
          const across = name === "edge_x" ? di === ci : dj === cj;
          out[di * kw + dj] = along * (across ? 2 : 1);
        }
      break;
    case "blur": {
      // Binomial weights (1-2-1 over 16 at 3×3): a Gaussian blur that keeps the brightness.
      const row = binomial(kh);
      const col = binomial(kw);
      for (let di = 0; di < kh; di++) for (let dj = 0; dj < kw; dj++) out[di * kw + dj] = row[di] * col[dj];
      break;
    }
    case "emboss":
      // Relief: the distance along the diagonal from the centre (-2 … 2 at 3×3), 1 in the centre.
      for (let di = 0; di < kh; di++)
        for (let dj = 0; dj < kw; dj++) out[di * kw + dj] = Math.sign(di - ci) + Math.sign(dj - cj) + (di === Math.floor(ci) && dj === Math.floor(cj) ? 1 : 0);
      break;
    case "laplacian": out.fill(1); out[centre] = 1 - kh * kw; break;
    case "sharpen": out.fill(-1); out[centre] = kh * kw; break;
    default: out.set(randomIntegers(seed, kh * kw, -2, 2));
  }
  return out;
}

/** Row n of Pascal's triangle over its sum: [1, 2, 1] / 4 for n = 3. */
function binomial(n) {
  const row = [1];
  for (let k = 1; k < n; k++) row.push((row[k - 1] * (n - k)) / k);
  const sum = 2 ** (n - 1);
  return row.map((value) => value / sum);
}

/** How the kernels of this op are sliced for presets and edits. */
export function kernelLayout(values) {
  const { op, channels: c, multiplier: m, out: o, groups } = values;
  if (op === "depthwise" || op === "separable")
    return { kind: "depthwise", slices: c * m, perSlice: 1, labels: (s) => ({ q: Math.floor(s / m), r: s % m }) };
  if (op === "pointwise") return { kind: "none", slices: 0 };
  const cg = op === "grouped" ? Math.max(1, Math.floor(c / Math.max(1, groups))) : c;
  return { kind: "standard", slices: o, perSlice: cg, labels: (s) => ({ o: s }) };
}

/** The preset token of kernel slice `s` (tokens repeat when there are fewer than slices). */
export function sliceToken(values, s) {
  const tokens = (values.kernels || "").split(",").filter((token) => token !== "");
  if (!tokens.length) return "identity";
  return tokens[s % tokens.length];
}

/** Replace slice `s`'s token, writing one token per slice. */
export function withSliceToken(values, s, token, slices) {
  const tokens = [];
  for (let n = 0; n < slices; n++) tokens.push(n === s ? token : sliceToken(values, n));
  return tokens.join(",");
}

/**
 * Depthwise filter [kh, kw, C, M] (TF layout) from presets and edits; edits are
 * "s.i.j:v" with s = q*M + r.
 */
export function buildDepthwiseFilter(values) {
  const { kh, kw, channels: c, multiplier: m } = values;
  const filter = zeros([kh, kw, c, m]);
  for (let q = 0; q < c; q++)
    for (let r = 0; r < m; r++) {
      const s = q * m + r;
      const kernel = presetKernel(sliceToken(values, s), kh, kw, values.seed * 131 + s);
      for (let n = 0; n < kh * kw; n++) filter.data[n * c * m + q * m + r] = kernel[n];
    }
  for (const { index: [s, i, j], value } of parseEdits(values.kernel_edits, 3)) {
    if (s < c * m && i < kh && j < kw) filter.data[(i * kw + j) * c * m + s] = value;
  }
  return filter;
}

/**
 * conv2d filters [kh, kw, C/G, O] (TF layout); slice o is output o's filter,
 * every input channel of it from the same preset; edits are "(o*Cg + c).i.j:v".
 */
export function buildStandardFilter(values, kh, kw, cg) {
  const o = values.out;
  const filter = zeros([kh, kw, cg, o]);
  for (let k = 0; k < o; k++)
    for (let c = 0; c < cg; c++) {
      const kernel = presetKernel(sliceToken(values, k), kh, kw, values.seed * 131 + k * cg + c);
      for (let n = 0; n < kh * kw; n++) filter.data[(n * cg + c) * o + k] = kernel[n];
    }
  for (const { index: [s, i, j], value } of parseEdits(values.kernel_edits, 3)) {
    const [k, c] = [Math.floor(s / cg), s % cg];
    if (k < o && i < kh && j < kw) filter.data[((i * kw + j) * cg + c) * o + k] = value;
  }
  return filter;
}

/** Pointwise weights as a [rows, O] matrix (rows = C·M, or C for the pointwise op). */
export function buildPointwiseMatrix(values, rows) {
  const o = values.out;
  const matrix = zeros([rows, o]);
  switch (values.pointwise) {
    case "ones": matrix.data.fill(1); break;
    case "identity":
      for (let n = 0; n < Math.min(rows, o); n++) matrix.data[n * o + n] = 1;
      break;
    case "alternating":
      for (let a = 0; a < rows; a++) for (let k = 0; k < o; k++) matrix.data[a * o + k] = (a + k) % 2 ? -1 : 1;
      break;
    default: matrix.data.set(randomIntegers(values.seed * 7 + 3, rows * o, -2, 2));
  }
  for (const { index: [a, k], value } of parseEdits(values.pointwise_edits, 2)) {
    if (a < rows && k < o) matrix.data[a * o + k] = value;
  }
  return matrix;
}

/**
 * Everything the server needs for one trace, in TF's terms (api.js turns it into
 * the wire format). `kind` picks the TF op:
 * standard/grouped/pointwise -> conv2d, depthwise -> depthwise_conv2d, separable -> separable_conv2d.
 * The page's "pointwise" is a separable convolution's second stage alone: a 1×1,
 * stride 1, VALID conv2d.
 */
export function buildProblem(values) {
  const input = buildInput(values);
  if (!input) return null;
  const pointwiseOnly = values.op === "pointwise";
  const geometry = pointwiseOnly
    ? { strides: [1, 1], dilations: [1, 1], padding: "VALID" }
    : {
        strides: [values.sh, values.sw],
        dilations: [values.dh, values.dw],
        padding: values.padding === "EXPLICIT"
          ? [[values.pad_top, values.pad_bottom], [values.pad_left, values.pad_right]]
          : values.padding,
      };
  if (values.op === "depthwise") return { op: "depthwise_conv2d", input, filter: buildDepthwiseFilter(values), ...geometry };
  if (values.op === "separable") {
    return {
      op: "separable_conv2d",
      input,
      depthwise_filter: buildDepthwiseFilter(values),
      pointwise_filter: reshape(buildPointwiseMatrix(values, values.channels * values.multiplier), 1, 1),
      ...geometry,
    };
  }
  if (pointwiseOnly) {
    return { op: "conv2d", input, filters: reshape(buildPointwiseMatrix(values, values.channels), 1, 1), ...geometry };
  }
  const cg = values.op === "grouped" ? values.channels / values.groups : values.channels;
  return { op: "conv2d", input, filters: buildStandardFilter(values, values.kh, values.kw, cg), ...geometry };
}

function reshape(matrix, kh, kw) {
  return { shape: [kh, kw, ...matrix.shape], data: matrix.data };
}
