// Every UI parameter in one table, mirrored to the URL hash, so reloading or
// sharing a URL reopens the same demo, step included. Other modules read values
// and call `set`; nothing else keeps demo state of its own.
//
// Values keep what the user typed: an out-of-range number stays in the state
// and is explained next to its control (see validate.js), never clamped here.

export const OPS = ["standard", "depthwise", "pointwise", "separable", "grouped"];
// Photo sources: an upload ("image") and the built-in photos (app/photos); see photo.js.
export const PHOTO_SOURCES = ["image", "house", "fruit", "mountains"];
export const SOURCES = ["ramp", "checker", "gradient", "digit", "random", ...PHOTO_SOURCES];
export const PADDINGS = ["VALID", "SAME", "EXPLICIT"];
export const SPEEDS = [0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];
// Stage zoom steps (classroom/present.js: + / − keys and buttons); themes (views/theme.js).
export const ZOOMS = [0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 2.5, 3];
export const THEMES = ["light", "dark", "contrast"];
// Blocks the stage can play (app/api/blocks.py).
export const BLOCKS = ["mobilenet_v1", "inverted_residual", "xception"];

/**
 * The parameter table. kind: "enum" | "int" | "number" | "string".
 * `trace: false` marks parameters that do not change the convolution
 * (playback only): changing them never asks the server for a new trace.
 */
export const PARAMS = {
  op: { kind: "enum", values: OPS, default: "depthwise" },
  source: { kind: "enum", values: SOURCES, default: "ramp" },
  seed: { kind: "int", min: 0, max: 999999, default: 1 },
  height: { kind: "int", min: 3, max: 64, default: 4 },
  width: { kind: "int", min: 3, max: 64, default: 4 },
  channels: { kind: "int", min: 1, max: 8, default: 2 },
  // How the next upload is read; the image already in the state keeps its channels.
  color: { kind: "enum", values: ["rgb", "gray"], default: "rgb", trace: false },
  // Uploaded image, already downsampled: "HxWxC:" + base64url of uint8 values (C, H, W).
  image: { kind: "string", default: "" },
  // The uploaded photo's original, kept in this browser under this key (photo.js); the
  // convolution reads `image`, resampled from it.
  photo: { kind: "string", default: "", trace: false },
  kh: { kind: "int", min: 1, max: 7, default: 3 },
  kw: { kind: "int", min: 1, max: 7, default: 3 },
  // Kernel preset per kernel slice, comma-separated; a number means "every weight is that number".
  kernels: { kind: "string", default: "0,2,1,3" },
  pointwise: { kind: "enum", values: ["random", "ones", "identity", "alternating"], default: "random" },
  sh: { kind: "int", min: 1, max: 4, default: 1 },
  sw: { kind: "int", min: 1, max: 4, default: 1 },
  dh: { kind: "int", min: 1, max: 4, default: 1 },
  dw: { kind: "int", min: 1, max: 4, default: 1 },
  padding: { kind: "enum", values: PADDINGS, default: "VALID" },
  pad_top: { kind: "int", min: 0, max: 6, default: 0 },
  pad_bottom: { kind: "int", min: 0, max: 6, default: 0 },
  pad_left: { kind: "int", min: 0, max: 6, default: 0 },
  pad_right: { kind: "int", min: 0, max: 6, default: 0 },
  multiplier: { kind: "int", min: 1, max: 4, default: 2 },
  out: { kind: "int", min: 1, max: 16, default: 4 },
  groups: { kind: "int", min: 1, max: 8, default: 2 },
  // Cell edits, ";"-separated. Input "c.i.j:v", kernel "slice.i.j:v", pointwise "c.k:v".
  input_edits: { kind: "string", default: "" },
  kernel_edits: { kind: "string", default: "" },
  pointwise_edits: { kind: "string", default: "" },
  step: { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, trace: false },
  speed: { kind: "number", values: SPEEDS, default: 4, trace: false },
  // The teaching layer (lessons/, classroom.js): lesson 1–7 (0: none) and its step,
  // presenter mode and quiz mode. None of them changes the convolution.
  lesson: { kind: "int", min: 0, max: 7, default: 0, trace: false },
  lstep: { kind: "int", min: 0, max: 20, default: 0, trace: false },
  present: { kind: "int", min: 0, max: 1, default: 0, trace: false },
  quiz: { kind: "int", min: 0, max: 1, default: 0, trace: false },
  // How the stage reads (classroom/present.js): zoom factor and colour theme.
  zoom: { kind: "number", values: ZOOMS, default: 1, trace: false },
  theme: { kind: "enum", values: THEMES, default: "light", trace: false },
  // A block on the stage (static/js/blocks/): its stages in order as one trace. The block_*
  // options (POST /api/v1/blocks' fields) are in the URL only while a block is played; the
  // defaults are a classroom's block (2 -> 2 channels, t = 4: 8 wide channels, as the page's
  // 8 channels at most), /models links with its own.
  block: { kind: "enum", values: ["", ...BLOCKS], default: "" },
  block_in: { kind: "int", min: 1, max: 16, default: 2, group: "block" },
  block_out: { kind: "int", min: 1, max: 16, default: 2, group: "block" },
  block_expansion: { kind: "int", min: 1, max: 8, default: 4, group: "block" },
  block_stride: { kind: "int", min: 1, max: 2, default: 1, group: "block" },
  block_order: { kind: "enum", values: ["depthwise_first", "pointwise_first"], default: "depthwise_first", group: "block" },
  block_between: { kind: "enum", values: ["none", "relu"], default: "none", group: "block" },
  block_project: { kind: "enum", values: ["linear", "relu6"], default: "linear", group: "block" },
  block_fold: { kind: "int", min: 0, max: 1, default: 0, group: "block" },
  block_size: { kind: "int", min: 2, max: 16, default: 6, group: "block" },
  block_seed: { kind: "int", min: 0, max: 999999, default: 0, group: "block" },
  // Open the block at this stage (a link from /models): the step moves to its first step.
  block_at: { kind: "string", default: "", trace: false, group: "block" },
};

export const NAMES = Object.keys(PARAMS);

/** A block's state parameters and the trace's (and POST /api/v1/blocks') fields they hold. */
export const BLOCK_FIELDS = {
  block: "block", block_in: "in_channels", block_out: "out_channels", block_expansion: "expansion",
  block_stride: "strides", block_order: "order", block_between: "activation_between",
  block_project: "project_activation", block_fold: "fold_batch_norm", block_size: "input_hw",
  block_seed: "seed",
};

/**
 * The main page's URL (path and hash) that plays the block `config` (the fields above) on the
 * stage, at the stage named `at` when given: what /models links to.
 */
export function blockUrl(config, at = "", language = "") {
  const parts = [];
  for (const [param, field] of Object.entries(BLOCK_FIELDS)) {
    const value = field === "fold_batch_norm" ? Number(Boolean(config[field])) : config[field];
    if (value !== undefined && value !== null && value !== "") parts.push(`${param}=${encodeURIComponent(value)}`);
  }
  if (at) parts.push(`block_at=${encodeURIComponent(at)}`);
  return `/${language ? `?lang=${encodeURIComponent(language)}` : ""}#${parts.join("&")}`;
}

export function defaults() {
  const values = {};
  for (const name of NAMES) values[name] = PARAMS[name].default;
  return values;
}

/** Parse one URL value; `undefined` when it is not a value of that parameter's kind. */
export function parseValue(name, raw) {
  const spec = PARAMS[name];
  if (!spec || raw === undefined || raw === null) return undefined;
  switch (spec.kind) {
    case "enum":
      return spec.values.includes(raw) ? raw : undefined;
    case "int": {
      // Any integer is kept, in range or not: validate.js explains out-of-range values.
      if (!/^-?\d{1,15}$/.test(raw)) return undefined;
      return Number(raw);
    }
    case "number": {
      const value = Number(raw);
      if (!Number.isFinite(value)) return undefined;
      return spec.values && !spec.values.includes(value) ? undefined : value;
    }
    default:
      return String(raw);
  }
}

/** The hash for `values`: every parameter, in table order, so a URL means the same thing later. */
export function toHash(values) {
  const parts = [];
  for (const name of NAMES) {
    const value = values[name];
    if (value === "" || value === undefined) continue;
    if (PARAMS[name].group === "block" && !values.block) continue; // no block on the stage
    parts.push(`${name}=${encodeValue(String(value))}`);
  }
  return "#" + parts.join("&");
}

// Keep the characters our values use readable in the address bar (all are legal in a fragment).
function encodeValue(text) {
  return encodeURIComponent(text).replace(/%2C/gi, ",").replace(/%3A/gi, ":").replace(/%3B/gi, ";");
}

/** Values from a hash (unknown or malformed entries fall back to the defaults). */
export function fromHash(hash) {
  const values = defaults();
  const text = (hash || "").replace(/^#/, "");
  if (!text) return values;
  for (const part of text.split("&")) {
    const at = part.indexOf("=");
    if (at < 1) continue;
    const name = part.slice(0, at);
    let raw;
    try {
      raw = decodeURIComponent(part.slice(at + 1));
    } catch {
      continue;
    }
    const value = parseValue(name, raw);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

/**
 * The state store. `set(patch)` merges and notifies subscribers with the set of
 * changed names; the URL follows, throttled while values change quickly
 * (Chromium refuses more than a few hundred history updates per 10 s).
 */
export function createState(initialHash) {
  let values = fromHash(initialHash);
  const listeners = new Set();
  let urlTimer = null;
  let lastUrlWrite = 0;
  const URL_INTERVAL_MS = 250;

  function writeUrl() {
    urlTimer = null;
    lastUrlWrite = performance.now();
    const hash = toHash(values);
    if (hash !== location.hash) history.replaceState(null, "", hash);
  }

  function scheduleUrl() {
    if (urlTimer !== null) return;
    const wait = Math.max(0, URL_INTERVAL_MS - (performance.now() - lastUrlWrite));
    urlTimer = setTimeout(writeUrl, wait);
  }

  return {
    get values() {
      return values;
    },
    get(name) {
      return values[name];
    },
    /**
     * Merge `patch`; returns the names that changed. `{ deferUrl: true }` leaves
     * the URL alone (playback: the URL follows when it pauses, via flushUrl).
     */
    set(patch, { deferUrl = false } = {}) {
      const changed = new Set();
      const next = { ...values };
      for (const [name, value] of Object.entries(patch)) {
        if (!(name in PARAMS)) throw new Error(`unknown parameter ${name}`);
        if (next[name] !== value) {
          next[name] = value;
          changed.add(name);
        }
      }
      if (!changed.size) return changed;
      values = Object.freeze(next);
      if (!deferUrl) scheduleUrl();
      for (const listener of listeners) listener(changed, values);
      return changed;
    },
    /** Replace everything from a hash (reload, back/forward, a pasted URL). */
    load(hash) {
      const next = fromHash(hash);
      const patch = {};
      for (const name of NAMES) if (next[name] !== values[name]) patch[name] = next[name];
      return this.set(patch);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Write the URL now (tests and "copy link" want it exact). */
    flushUrl() {
      if (urlTimer !== null) clearTimeout(urlTimer);
      writeUrl();
    },
  };
}

/** True when a change to `changed` names alters the convolution (and so the trace). */
export function changesTrace(changed) {
  for (const name of changed) if (PARAMS[name].trace !== false) return true;
  return false;
}
