// A block's trace (POST /api/v1/trace with op "block"): its stages in order as one store, a
// StepStore as TraceStore is (header, stages, total, received, locate, frame…), so the player,
// the scrubber and the stage tabs step through the whole block. Each convolution stage keeps
// a TraceStore of its own, whose header is that stage's one-stage trace (its input is the
// previous stage's map), so the existing views draw it unchanged; an elementwise stage
// (BatchNorm, ReLU/ReLU6, the residual add) has one step per channel, its output map.
import { decodeArray } from "../core/api.js";
import { t } from "../core/i18n.js";
import { Frame, StepStore, TraceStore, chunkAt, chunkSteps } from "../core/trace.js";
import { maxAbs } from "../core/numbers.js";
import { ElementwiseView } from "./elementwise.js";

function decodeAll(value) {
  const out = {};
  for (const [name, item] of Object.entries(value || {})) out[name] = decodeArray(item);
  return out;
}

/**
 * A 1×1 stage of a block mixes the previous stage's maps (the pointwise view calls them
 * depthwise outputs z): its column says which maps they are.
 */
function nameInputs(view, previous, channels) {
  const title = view.root.querySelector(".pw-inputs .column-title");
  // x a, as the formula and the focus view name it (Σ x[i, j, c]): a block's 1×1 stage mixes
  // its input maps, not a depthwise stage's branches (z, in the lessons).
  for (const [a, map] of (view.inputs || []).entries()) map.setLabel(`x ${a}`);
  if (!title) return;
  title.textContent = t(previous ? "blocks.play.mixes" : "blocks.play.mixes_input", { n: channels });
}

/** The TraceStore of one convolution stage, its steps numbered as the block's. */
function convolutionStore(blockHeader, info, globalStart, previous) {
  const trace = info.trace;
  const header = {
    ...trace,
    detail: blockHeader.detail,
    encoding: blockHeader.encoding,
    input: decodeArray(trace.input),
    padded_input: decodeArray(trace.padded_input),
    kernels: decodeAll(trace.kernels),
  };
  const pointwise = info.trace_stage === "pointwise";
  if (pointwise) {
    // The pointwise view reads the maps it mixes from the store's first stage (a separable
    // trace's depthwise maps): here they are this stage's input, and that stage has no steps.
    const [channels, height, width] = header.input.shape;
    header.stages = [{ name: "depthwise", steps: 0, order: ["q", "r", "i", "j"], output_channels: channels, output_hw: [height, width] }, ...trace.stages];
    header.channel_multiplier = 1;
  }
  const store = new TraceStore();
  store.setHeader(header);
  for (const stage of store.stages) stage.globalStart = globalStart;
  if (pointwise) {
    const maps = store.stages[0];
    maps.values = Float64Array.from(header.input.data);
    maps.valuesMaxAbs = maxAbs(maps.values);
    maps.output = header.input;
  }
  const stage = store.stages[store.stages.length - 1];
  stage.store = store; // views/stage.js builds the view on this store
  stage.blockName = info.name;
  if (pointwise) stage.afterBuild = (view) => nameInputs(view, previous, header.input.shape[0]);
  return { store, stage };
}

/**
 * A step of an elementwise stage: channel c's output map. Asked for a cell (the quiz, the
 * summaries), it answers for (0, 0) of that channel: i = j = 0, out_channel = c, and the value.
 */
class ElementwiseFrame extends Frame {
  has(name) {
    return ["i", "j", "out_channel", "output", "sum"].includes(name) || name in this.chunk.fields;
  }

  scalar(name) {
    if (name === "i" || name === "j") return 0;
    if (name === "out_channel") return this.local;
    if (name === "output" || name === "sum") return this.array("output").data[0];
    return super.scalar(name);
  }
}

export class BlockStore extends StepStore {
  constructor(config) {
    super();
    this.isBlock = true;
    this.config = config;
  }

  setHeader(header) {
    this.header = header;
    let globalStart = 0;
    this.stages = header.stages.map((info, index) => {
      const [channels, height, width] = info.output_shape;
      const stage = {
        index, name: info.name, kind: info.kind, info, steps: info.steps, order: info.order,
        channels, outputHW: [height, width], globalStart, chunks: [], received: 0, output: null,
        cost: info.cost, inputShape: info.input_shape, outputShape: info.output_shape,
        View: info.trace ? null : ElementwiseView, // views/stage.js builds it
      };
      if (info.trace) {
        const { store, stage: traced } = convolutionStore(header, info, globalStart, index > 0);
        stage.sub = store;
        stage.traced = traced;
      } else if (info.scale) {
        stage.scale = decodeArray(info.scale);
        stage.shift = decodeArray(info.shift);
      }
      globalStart += info.steps;
      return stage;
    });
    this.total = header.total_steps;
    this.version++;
  }

  byName(name) {
    return this.stages.find((stage) => stage.name === name);
  }

  /** The map a stage reads (C, H, W): the block's input or the previous stage's output. */
  inputOf(stage) {
    return stage.index === 0 ? this.header.input : this.stages[stage.index - 1].output;
  }

  addChunk(event) {
    const stage = this.byName(event.stage);
    const { start, globalStart, fields } = event;
    const n = chunkSteps(fields);
    if (stage.sub) {
      stage.sub.addChunk({ stage: stage.traced.name, start, globalStart, fields });
      // A folded BatchNorm's bias: the maps fill with sum + bias, what the stage outputs.
      const output = fields.output;
      if (output && stage.traced.name !== "standard") {
        const traced = stage.traced;
        traced.values.set(output.data.subarray(0, n * traced.perStep), start * traced.perStep);
        traced.valuesMaxAbs = Math.max(traced.valuesMaxAbs, maxAbs(output.data, n * traced.perStep));
      }
    } else {
      stage.chunks.push({ start, n, fields });
    }
    this.arrived(stage, start, globalStart, n);
  }

  endStage({ stage: name, output }) {
    const stage = this.byName(name);
    stage.output = output;
    if (stage.sub) stage.sub.endStage({ stage: stage.traced.name, output });
    this.version++;
  }

  finish() {
    for (const stage of this.stages) if (stage.sub) stage.sub.finish();
    super.finish();
  }

  /**
   * Step k as a Frame: a convolution stage's from its own store (frame.store, frame.stage are
   * that store's), an elementwise stage's with `elementwise` set (frame.store is null).
   */
  stageFrame(stage, local, k) {
    if (stage.sub) return stage.sub.frame(k);
    const chunk = chunkAt(stage.chunks, local);
    if (!chunk) return null;
    const frame = new ElementwiseFrame(stage, local, k, chunk, local - chunk.start, null);
    frame.elementwise = true;
    frame.block = this;
    return frame;
  }
}
