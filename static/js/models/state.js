// The model view's and block view's parameters in one table, mirrored to the URL hash
// (a reload or a shared URL reopens the same layer, position, block, stage and lesson step).
// An uploaded file cannot travel in a URL: the shipped model is what a URL reopens.

export const BLOCKS = ["inverted_residual", "mobilenet_v1", "xception"];

export const PARAMS = {
  view: { values: ["model", "blocks"], default: "model" },
  layer: { default: "" },
  input: { default: "digit-7" },
  channel: { int: [0, 4096], default: 0 },
  pos: { int: [0, 1 << 20], default: 0 },
  block: { values: BLOCKS, default: "inverted_residual" },
  cin: { int: [1, 16], default: 4 },
  cout: { int: [1, 16], default: 4 },
  t: { int: [1, 8], default: 6 },
  s: { int: [1, 2], default: 1 },
  order: { values: ["depthwise_first", "pointwise_first"], default: "depthwise_first" },
  between: { values: ["none", "relu"], default: "none" },
  proj: { values: ["linear", "relu6"], default: "linear" },
  fold: { int: [0, 1], default: 0 },
  hw: { int: [2, 16], default: 8 },
  seed: { int: [0, 999999], default: 0 },
  stage: { int: [0, 64], default: 0 },
  lesson: { int: [0, 4], default: 0 },
  // The position stepped inside a convolution stage of the block, and its output channel.
  bch: { int: [0, 4096], default: 0 },
  bpos: { int: [0, 1 << 20], default: 0 },
};

function parse(name, raw) {
  const spec = PARAMS[name];
  if (spec.values) return spec.values.includes(raw) ? raw : undefined;
  if (spec.int) {
    if (!/^\d+$/.test(raw)) return undefined;
    const value = Number(raw);
    return value >= spec.int[0] && value <= spec.int[1] ? value : undefined;
  }
  return raw;
}

export class ModelsState {
  constructor(hash) {
    this.values = {};
    for (const [name, spec] of Object.entries(PARAMS)) this.values[name] = spec.default;
    const params = new URLSearchParams(hash.replace(/^#/, ""));
    for (const [name, raw] of params) {
      if (!(name in PARAMS)) continue;
      const value = parse(name, raw);
      if (value !== undefined) this.values[name] = value;
    }
    this.listeners = [];
  }

  get(name) {
    return this.values[name];
  }

  /** Set several values; listeners hear the names that changed. */
  set(patch) {
    const changed = [];
    for (const [name, value] of Object.entries(patch)) {
      if (!(name in PARAMS) || this.values[name] === value) continue;
      this.values[name] = value;
      changed.push(name);
    }
    if (!changed.length) return;
    history.replaceState(null, "", `#${this.hash()}`);
    for (const listener of this.listeners) listener(changed);
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  hash() {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(this.values)) {
      if (value !== PARAMS[name].default || name === "view") params.set(name, String(value));
    }
    return params.toString();
  }
}
