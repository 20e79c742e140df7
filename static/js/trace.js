// The frames received so far for one configuration. Step k's picture is a pure
// function of k and this store: nothing here is recomputed, only indexed.
import { maxAbs } from "./views/colors.js";

/** The field holding each stage's output value(s) per step. */
const VALUE_FIELD = { depthwise: "sum", standard: "output", pointwise: "outputs" };

export class TraceStore {
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
    const n = fields[Object.keys(fields)[0]].shape[0];
    stage.chunks.push({ start, n, fields });
    const values = fields[VALUE_FIELD[name]];
    stage.values.set(values.data.subarray(0, n * stage.perStep), start * stage.perStep);
    stage.valuesMaxAbs = Math.max(stage.valuesMaxAbs, maxAbs(values.data, n * stage.perStep));
    stage.received = start + n;
    this.received = Math.max(this.received, globalStart + n);
    this.version++;
  }

  endStage({ stage: name, output }) {
    const stage = this.stages.find((s) => s.name === name);
    stage.output = output;
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
    const { stage, local } = where;
    const chunks = stage.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (chunks[mid].start <= local) lo = mid;
      else hi = mid - 1;
    }
    const chunk = chunks[lo];
    if (!chunk || local < chunk.start || local >= chunk.start + chunk.n) return null;
    return new Frame(stage, local, k, chunk, local - chunk.start);
  }
}

/** One step: typed-array views into its chunk, no copies. */
export class Frame {
  constructor(stage, local, global, chunk, row) {
    this.stage = stage;
    this.local = local;
    this.global = global;
    this.chunk = chunk;
    this.row = row;
  }

  has(name) {
    return name in this.chunk.fields;
  }

  /** The row's value of a scalar field (q, r, i, j, sum, …). */
  scalar(name) {
    return this.chunk.fields[name].data[this.row];
  }

  /** The row's values of an array field, and their shape (without the step axis). */
  array(name) {
    const field = this.chunk.fields[name];
    const shape = field.shape.slice(1);
    const size = shape.reduce((a, b) => a * b, 1);
    return { shape, data: field.data.subarray(this.row * size, (this.row + 1) * size) };
  }
}
