// The frames received so far for one configuration. Step k's picture is a pure
// function of k and this store: nothing here is recomputed, only indexed.
import { maxAbs } from "./numbers.js";

/** The field holding each stage's output value(s) per step. */
const VALUE_FIELD = { depthwise: "sum", standard: "output", pointwise: "outputs" };

/** How many steps a chunk's fields hold: the length of their step axis. */
export function chunkSteps(fields) {
  return fields[Object.keys(fields)[0]].shape[0];
}

/** The chunk of `chunks` (in step order) holding a stage's step `local`, or null. */
export function chunkAt(chunks, local) {
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (chunks[mid].start <= local) lo = mid;
    else hi = mid - 1;
  }
  const chunk = chunks[lo];
  if (!chunk || local < chunk.start || local >= chunk.start + chunk.n) return null;
  return chunk;
}

/**
 * What every store of a streamed trace keeps and answers, whatever its stages are (a layer's,
 * a block's): the steps received so far, where global step k lives, and step k as a Frame.
 * A subclass fills `stages` in setHeader, takes the chunks in addChunk (telling `arrived`) and
 * builds a stage's frame in `stageFrame`.
 */
export class StepStore {
  constructor() {
    this.header = null;
    this.stages = [];
    this.total = 0;
    this.received = 0; // steps 0 .. received-1 have arrived (the stream is in order)
    this.done = false;
    this.error = null;
    this.version = 0; // bumps on every change, so views can skip work
    this.firstFrameDrawn = false;
  }

  /** Steps start .. start+n-1 of `stage` (globalStart .. of the whole trace) have arrived. */
  arrived(stage, start, globalStart, n) {
    stage.received = start + n;
    this.received = Math.max(this.received, globalStart + n);
    this.version++;
  }

  finish() {
    this.done = true;
    this.version++;
  }

  fail(error) {
    this.error = error;
    this.version++;
  }

  /** The stage holding global step k, and k's index within it. */
  locate(k) {
    for (const stage of this.stages) {
      if (k < stage.globalStart + stage.steps) return { stage, local: k - stage.globalStart };
    }
    const last = this.stages[this.stages.length - 1];
    return last ? { stage: last, local: last.steps - 1 } : null;
  }

  /** Step k as a Frame, or null while it has not arrived. */
  frame(k) {
    if (!(k >= 0 && k < this.received)) return null;
    const where = this.locate(k);
    if (!where) return null;
    return this.stageFrame(where.stage, where.local, k);
  }
}

export class TraceStore extends StepStore {
  setHeader(header) {
    this.header = header;
    let globalStart = 0;
    this.stages = header.stages.map((info, index) => {
      const [ho, wo] = info.output_hw;
      const perStep = info.name === "pointwise" ? info.output_channels : 1;
      const stage = {
        index,
        name: info.name,
        steps: info.steps,
        order: info.order,
        channels: info.output_channels,
        outputHW: [ho, wo],
        globalStart,
        chunks: [],
        // One value per output cell, in step order (pointwise: O per step).
        values: new Float64Array(info.steps * perStep),
        perStep,
        received: 0,
        valuesMaxAbs: 0,
        output: null,
      };
      globalStart += info.steps;
      return stage;
    });
    this.total = header.total_steps;
    this.version++;
  }

  addChunk({ stage: name, start, globalStart, fields }) {
    const stage = this.stages.find((s) => s.name === name);
    const n = chunkSteps(fields);
    stage.chunks.push({ start, n, fields });
    // A compact standard chunk has `output` only with a bias; without one it is the sum.
    const values = fields[VALUE_FIELD[name]] || fields.sum;
    stage.values.set(values.data.subarray(0, n * stage.perStep), start * stage.perStep);
    stage.valuesMaxAbs = Math.max(stage.valuesMaxAbs, maxAbs(values.data, n * stage.perStep));
    this.arrived(stage, start, globalStart, n);
  }

  endStage({ stage: name, output }) {
    const stage = this.stages.find((s) => s.name === name);
    stage.output = output;
    this.version++;
  }

  /** Local step `local` (global k) of `stage` as a Frame, or null while it has not arrived. */
  stageFrame(stage, local, k) {
    const chunk = chunkAt(stage.chunks, local);
    if (!chunk) return null;
    return new Frame(stage, local, k, chunk, local - chunk.start, this);
  }
}

/** One step: typed-array views into its chunk, no copies. */
export class Frame {
  constructor(stage, local, global, chunk, row, store = null) {
    this.stage = stage;
    this.local = local;
    this.global = global;
    this.chunk = chunk;
    this.row = row;
    this.store = store;
    this.looked = null; // the fields a compact chunk leaves out, looked up once
  }

  has(name) {
    return name in this.chunk.fields || name in this.lookedUp();
  }

  /** The row's value of a scalar field (q, r, i, j, sum, …). */
  scalar(name) {
    const field = this.chunk.fields[name];
    if (field) return field.data[this.row];
    return this.lookedUp()[name].data[0];
  }

  /** The row's values of an array field, and their shape (without the step axis). */
  array(name) {
    const field = this.chunk.fields[name];
    if (!field) return this.lookedUp()[name];
    const shape = field.shape.slice(1);
    const size = shape.reduce((a, b) => a * b, 1);
    return { shape, data: field.data.subarray(this.row * size, (this.row + 1) * size) };
  }

  /** A compact trace's missing fields (``detail: "compact"``), looked up from the header. */
  lookedUp() {
    if (!this.looked) {
      const header = this.store && this.store.header;
      this.looked = header && header.detail === "compact" ? lookUp(header, this) : {};
    }
    return this.looked;
  }
}

// ---------------------------------------------------------------- compact traces
// A compact chunk carries only the values the page cannot look up (the products and sums);
// the rest is indexing into what the header and the previous stage already sent: the step's
// indices follow from its number in the stage's row-major ``order``, the window is
// ``padded_input`` at the step's taps, the weights are a row of the header's kernels, the
// pointwise vector is the depthwise map at (i, j). Nothing is computed: a test draws every view
// from a full and from a compact trace and compares the pixels.

const one = (value) => ({ shape: [], data: Float64Array.of(value) });

/** Input rows (kh) and cols (kw) under the window of output (i, j), unpadded coordinates. */
function taps(header, i, j) {
  const [kh, kw] = header.kernel_hw;
  const [sh, sw] = header.strides;
  const [dh, dw] = header.dilations;
  const { pad_top: top, pad_left: left } = header.padding;
  const rows = new Float64Array(kh);
  const cols = new Float64Array(kw);
  for (let di = 0; di < kh; di++) rows[di] = sh * i + dh * di - top;
  for (let dj = 0; dj < kw; dj++) cols[dj] = sw * j + dw * dj - left;
  return { rows, cols };
}

/** Window values (channels.length, kh, kw) from padded_input, and the padding mask (kh, kw). */
function windowOf(header, channels, rows, cols) {
  const padded = header.padded_input; // (C, Hp, Wp)
  const [, hp, wp] = padded.shape;
  const [height, width] = header.input_hw;
  const { pad_top: top, pad_left: left } = header.padding;
  const kh = rows.length;
  const kw = cols.length;
  const window = new Float64Array(channels.length * kh * kw);
  const mask = new Uint8Array(kh * kw);
  let at = 0;
  for (const channel of channels) {
    for (let di = 0; di < kh; di++) {
      for (let dj = 0; dj < kw; dj++, at++) {
        window[at] = padded.data[(channel * hp + rows[di] + top) * wp + cols[dj] + left];
      }
    }
  }
  for (let di = 0; di < kh; di++) {
    for (let dj = 0; dj < kw; dj++) {
      mask[di * kw + dj] = rows[di] < 0 || rows[di] >= height || cols[dj] < 0 || cols[dj] >= width ? 1 : 0;
    }
  }
  return { window, mask };
}

/** Row `index` of a kernel tensor along its first axis, with the remaining shape. */
function row(tensor, index, shape) {
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, data: tensor.data.subarray(index * size, (index + 1) * size) };
}

function lookUp(header, frame) {
  const stage = frame.stage;
  const [ho, wo] = stage.outputHW;
  const pixels = ho * wo;
  const k = frame.local;
  const [kh, kw] = header.kernel_hw;
  if (stage.name === "pointwise") {
    const i = Math.floor(k / wo);
    const j = k % wo;
    const depthwise = frame.store.stages[0].output; // (C*M, Ho, Wo)
    const channels = depthwise ? depthwise.shape[0] : 0;
    const vector = new Float64Array(channels);
    for (let c = 0; c < channels; c++) vector[c] = depthwise.data[c * pixels + k];
    return { i: one(i), j: one(j), vector: { shape: [channels], data: vector } };
  }
  const outChannel = Math.floor(k / pixels);
  const pixel = k % pixels;
  const i = Math.floor(pixel / wo);
  const j = pixel % wo;
  const { rows, cols } = taps(header, i, j);
  const fields = {
    out_channel: one(outChannel), i: one(i), j: one(j),
    rows: { shape: [kh], data: rows }, cols: { shape: [kw], data: cols },
  };
  let channels;
  if (stage.name === "depthwise") {
    const m = header.channel_multiplier;
    const q = Math.floor(outChannel / m);
    fields.q = one(q);
    fields.r = one(outChannel % m);
    channels = [q];
    fields.weights = row(header.kernels.depthwise_filter, outChannel, [kh, kw]);
  } else {
    const groupIn = header.in_channels / header.groups;
    const group = Math.floor(outChannel / (header.out_channels / header.groups));
    fields.group = one(group);
    channels = Array.from({ length: groupIn }, (_, c) => group * groupIn + c);
    fields.weights = row(header.kernels.weight, outChannel, [groupIn, kh, kw]);
    const bias = header.kernels.bias;
    fields.bias = one(bias ? bias.data[outChannel] : 0);
    if (!("output" in frame.chunk.fields)) fields.output = one(frame.scalar("sum") + fields.bias.data[0]);
  }
  const { window, mask } = windowOf(header, channels, rows, cols);
  fields.window = { shape: stage.name === "depthwise" ? [kh, kw] : [channels.length, kh, kw], data: window };
  fields.padding_mask = { shape: [kh, kw], data: mask };
  return fields;
}
