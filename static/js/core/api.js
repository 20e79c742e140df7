// The only module that knows the server's URLs and wire format. Everything it
// returns is in the page's own terms: tensors are {shape, data} with typed-array
// data in row-major order, stream events are plain objects.
import { config } from "./config.js";

const API = (config.urls && config.urls.api) || "/api/v1";
const PLOTLY_URL = (config.urls && config.urls.plotly) || "/vendor/plotly.min.js";

/** An error the server explained: {status, code, message, field}. */
export class ApiError extends Error {
  constructor({ status = 0, code = "http_error", message = "", field = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// ---------------------------------------------------------------- arrays

const DTYPES = {
  float64: Float64Array, f8: Float64Array, "<f8": Float64Array,
  float32: Float32Array, f4: Float32Array, "<f4": Float32Array,
  int32: Int32Array, i4: Int32Array, "<i4": Int32Array,
  int16: Int16Array, "<i2": Int16Array,
  int8: Int8Array, i1: Int8Array,
  uint8: Uint8Array, u1: Uint8Array, bool: Uint8Array, "|b1": Uint8Array,
};

function base64Bytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let n = 0; n < binary.length; n++) bytes[n] = binary.charCodeAt(n);
  return bytes;
}

function shapeOf(nested) {
  const shape = [];
  let level = nested;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

/** A wire array (nested lists, or {dtype, shape, data: base64}) as {shape, data}. */
export function decodeArray(value) {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) {
    const shape = shapeOf(value);
    const flat = shape.length > 1 ? value.flat(shape.length - 1) : value;
    const data = new Float64Array(flat.length);
    for (let n = 0; n < flat.length; n++) data[n] = flat[n] === true ? 1 : flat[n] === false ? 0 : flat[n];
    return { shape, data };
  }
  if (typeof value === "number") return { shape: [], data: Float64Array.of(value) };
  const encoded = value.data ?? value.base64 ?? value.b64;
  if (typeof encoded === "string" && value.dtype) {
    const Type = DTYPES[value.dtype];
    if (!Type) throw new ApiError({ code: "invalid_array", message: `unknown dtype ${value.dtype}` });
    const bytes = base64Bytes(encoded);
    const aligned = bytes.byteOffset % Type.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice();
    const data = new Type(aligned.buffer, aligned.byteOffset, aligned.byteLength / Type.BYTES_PER_ELEMENT);
    return { shape: value.shape || [data.length], data };
  }
  if (Array.isArray(value.data)) return { shape: value.shape, data: Float64Array.from(value.data.flat(Infinity)) };
  throw new ApiError({ code: "invalid_array", message: "unrecognised array encoding" });
}

/** Nested lists of a {shape, data} tensor, transposed by `axes` (the JSON the API takes). */
function nested(tensor, axes) {
  const shape = tensor.shape;
  const order = axes || shape.map((_, n) => n);
  const strides = shape.map((_, n) => shape.slice(n + 1).reduce((a, b) => a * b, 1));
  const build = (depth, offset) => {
    const axis = order[depth];
    const out = new Array(shape[axis]);
    for (let n = 0; n < shape[axis]; n++) {
      const at = offset + n * strides[axis];
      out[n] = depth === order.length - 1 ? tensor.data[at] : build(depth + 1, at);
    }
    return out;
  };
  return build(0, 0);
}

// ---------------------------------------------------------------- requests

/**
 * How the page asks for frames: float64 exactly, and only what it cannot look up (trace.js
 * looks up the windows, weights and indices from the header). `detail: "full"` draws the same
 * pixels (tests/e2e/test_compact_trace.py) at twice the bytes.
 */
export const STREAM_OPTIONS = { encoding: "binary", precision: 17, detail: "compact", chunk_size: 1024 };

/**
 * The trace request for a problem from data.js: TF's op and argument names,
 * NHWC, plus the stream options. `problem.input` is (C, H, W); filters are
 * already in TF layout.
 */
export function traceBody(problem) {
  if (problem.block) return { op: "block", ...problem.block, ...STREAM_OPTIONS }; // blocks/play.js
  const body = {
    op: problem.op,
    input: [nested(problem.input, [1, 2, 0])], // [1, H, W, C]
    strides: [1, ...problem.strides, 1],
    padding: Array.isArray(problem.padding) ? [[0, 0], ...problem.padding, [0, 0]] : problem.padding,
    data_format: "NHWC",
    dilations: problem.dilations,
    ...STREAM_OPTIONS,
  };
  if (problem.op === "depthwise_conv2d") body.filter = nested(problem.filter);
  if (problem.op === "separable_conv2d") {
    body.depthwise_filter = nested(problem.depthwise_filter);
    body.pointwise_filter = nested(problem.pointwise_filter);
  }
  if (problem.op === "conv2d") body.filters = nested(problem.filters);
  return body;
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  const error = body && body.error ? body.error : { message: response.statusText };
  return new ApiError({ status: response.status, ...error });
}

async function postJson(path, body, signal, accept = "application/json") {
  let response;
  try {
    response = await fetch(API + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: accept },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ code: "offline", message: String(error.message || error) });
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

/** Decode one stream event into the page's terms. */
export function decodeEvent(event) {
  const kind = event.event || event.type;
  switch (kind) {
    case "header": {
      const header = event.header || event;
      const kernels = {};
      for (const [name, value] of Object.entries(header.kernels || {})) kernels[name] = decodeArray(value);
      return {
        type: "header",
        header: {
          ...header,
          input: decodeArray(header.input),
          padded_input: decodeArray(header.padded_input),
          kernels,
        },
      };
    }
    case "chunk": {
      const fields = {};
      for (const [name, value] of Object.entries(event.fields)) fields[name] = decodeArray(value);
      return { type: "chunk", stage: event.stage, start: event.start, globalStart: event.global_start, fields };
    }
    case "stage_end":
      return { type: "stage_end", stage: event.stage, output: decodeArray(event.output) };
    case "end":
      return { type: "end", ...event };
    case "error":
      return { type: "error", error: event.error || event };
    default:
      return { type: "unknown", event };
  }
}

/** Call `onLine` with every line of an NDJSON response body, as it arrives. */
async function readLines(response, onLine) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim()) onLine(line);
    }
  }
  buffer += decoder.decode();
  if (buffer.trim()) onLine(buffer);
}

/** The typed-array buffers of a decoded event, to transfer rather than copy. */
function buffersOf(value, found = new Set()) {
  if (ArrayBuffer.isView(value)) found.add(value.buffer);
  else if (value && typeof value === "object") for (const item of Object.values(value)) buffersOf(item, found);
  return found;
}

/**
 * Runs in the stream worker (stream-worker.js): fetch one trace, parse and
 * decode every line off the page's main thread, post the events to the page.
 */
export async function workerStream({ id, url, body }, post, signal) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/x-ndjson" },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error.name !== "AbortError") post({ id, type: "failed", message: String(error.message || error) });
    return;
  }
  if (!response.ok) {
    let error = null;
    try {
      error = (await response.json()).error;
    } catch {
      /* not the envelope */
    }
    post({ id, type: "refused", error: { status: response.status, message: response.statusText, ...error } });
    return;
  }
  try {
    await readLines(response, (line) => {
      const event = decodeEvent(JSON.parse(line));
      post({ id, ...event }, [...buffersOf(event)]);
    });
    post({ id, type: "done" });
  } catch (error) {
    if (error.name !== "AbortError") post({ id, type: "failed", message: String(error.message || error) });
  }
}

let worker = null;
let nextStream = 0;
const streams = new Map();

function streamWorker() {
  if (!worker) {
    worker = new Worker(new URL("./stream-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = ({ data }) => {
      const stream = streams.get(data.id);
      if (stream) stream(data);
    };
    worker.onerror = (event) => {
      for (const stream of streams.values()) stream({ type: "failed", message: event.message || "stream worker failed" });
    };
  }
  return worker;
}

/**
 * Stream a trace: POST the problem, then call `onEvent` for every event as it
 * arrives (header, chunk, stage_end, end, error), decoded in a worker so that
 * parsing never blocks the page. Resolves when the stream ends; rejects with
 * ApiError when the server refuses, or with an AbortError.
 */
export function streamTrace(problem, onEvent, signal) {
  const id = ++nextStream;
  const channel = streamWorker();
  return new Promise((resolve, reject) => {
    const finish = () => {
      streams.delete(id);
      signal.removeEventListener("abort", abort);
    };
    const abort = () => {
      finish();
      channel.postMessage({ id, type: "cancel" });
      reject(new DOMException("The trace was replaced", "AbortError"));
    };
    signal.addEventListener("abort", abort, { once: true });
    streams.set(id, (message) => {
      switch (message.type) {
        case "done":
          finish();
          resolve();
          break;
        case "refused":
          finish();
          reject(new ApiError(message.error));
          break;
        case "failed":
          finish();
          reject(new ApiError({ code: "offline", message: message.message }));
          break;
        case "error":
          onEvent({ type: "error", error: new ApiError(message.error) });
          break;
        default:
          onEvent(message);
      }
    });
    channel.postMessage({ id, type: "start", url: API + "/trace", body: traceBody(problem) });
  });
}

/**
 * Parameters and multiply-adds for the current shapes: standard, depthwise,
 * pointwise, separable (and grouped), as the server's costs endpoint reports them.
 */
export async function fetchCosts(shapes, signal) {
  const response = await postJson("/costs", shapes, signal);
  const body = await response.json();
  return body.costs;
}

/** Load plotly.js (served by the app from the plotly package) once; resolves to window.Plotly. */
let plotlyPromise = null;
export function loadPlotly() {
  if (!plotlyPromise) {
    plotlyPromise = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      // Stand-ins for the map stylesheets plotly.js would inline (the CSP refuses
      // inline styles and no map is drawn here); the server lists their ids.
      for (const id of config.plotly_style_ids || []) {
        if (document.getElementById(id)) continue;
        const marker = document.createElement("meta");
        marker.id = id;
        document.head.appendChild(marker);
      }
      const script = document.createElement("script");
      script.src = PLOTLY_URL;
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        plotlyPromise = null;
        reject(new Error("plotly.js could not be loaded"));
      };
      document.head.appendChild(script);
    });
  }
  return plotlyPromise;
}

// ---------------------------------------------------------------- lessons and code panel

/** An op request body (TF's names, NHWC, nested lists) for a problem from data.js. */
export function opBody(problem) {
  const body = traceBody(problem);
  for (const name of ["op", ...Object.keys(STREAM_OPTIONS)]) delete body[name];
  return body;
}

// The endpoints the teaching layer calls, by name (this module alone knows URLs).
const LESSON_ENDPOINTS = {
  costs: "/costs",
  factorize: "/factorize",
  code: "/code",
  block_code: "/blocks/code",
  conv2d: "/tf/conv2d",
  depthwise_conv2d: "/tf/depthwise_conv2d",
  separable_conv2d: "/tf/separable_conv2d",
  groups: "/lessons/groups",
  shared_kernel: "/lessons/shared_kernel",
};

/** POST `body` to the named endpoint; resolves to the decoded JSON answer (ApiError on 4xx). */
export async function callApi(name, body, signal) {
  const response = await postJson(LESSON_ENDPOINTS[name], body, signal);
  return response.json();
}

/** A built-in photo (app/photos) as a PNG Blob, to read like an uploaded file. */
export async function fetchPhoto(name, signal) {
  const response = await fetch(`${API}/presets/photos/${encodeURIComponent(name)}.png`, { signal });
  if (!response.ok) throw new ApiError({ status: response.status, message: `photo ${name}: ${response.status}` });
  return response.blob();
}

// ---------------------------------------------------------------- training lab

/**
 * Stream one training run of the lab (POST /lab/train): call `onEvent` with every
 * NDJSON event as it arrives (header, queue, epoch, end, error). Rejects with ApiError
 * when the server refuses the run, or with an AbortError (the server then stops a run
 * nobody else watches).
 */
export async function streamLab(body, onEvent, signal) {
  const response = await postJson("/lab/train", body, signal, "application/x-ndjson");
  await readLines(response, (line) => onEvent(JSON.parse(line)));
}

// ---------------------------------------------------------------- models (ONNX) and blocks

/** POST a multipart form (the models routes: the ONNX file travels with every request). */
async function postForm(path, fields, signal) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null) form.append(name, value);
  }
  let response;
  try {
    response = await fetch(API + path, { method: "POST", body: form, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ code: "offline", message: String(error.message || error) });
  }
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/** POST /models/inspect: the model's Conv layers, weights as base64 arrays. */
export function inspectModel(file, signal) {
  return postForm("/models/inspect", { model: file, output_encoding: "base64" }, signal);
}

/** POST /models/run: onnxruntime up to `layer`, the engine's layer and its steps for `channel`. */
export function runModelLayer(file, layer, input, channel, signal) {
  return postForm("/models/run", {
    model: file, layer, input: JSON.stringify(input), channel: String(channel),
    output_encoding: "base64",
  }, signal);
}

/** The ONNX file the model view opens by default, as a Blob. */
export async function fetchModelFile(url, signal) {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new ApiError({ status: response.status, message: `${url}: ${response.status}` });
  return response.blob();
}

/** POST /blocks: a block stage by stage (maps as base64 arrays). */
export async function runBlock(body, signal) {
  const response = await postJson("/blocks", { ...body, output_encoding: "base64" }, signal);
  return response.json();
}

/** One training step of a lab network (POST /lab/backward): its first layer's backward-trace body. */
export async function fetchLabStep(body, signal) {
  const response = await postJson("/lab/backward", body, signal);
  return response.json();
}

/** Stream a backward trace (POST /trace/backward, json encoding): `onEvent` gets each event. */
export async function streamBackward(body, onEvent, signal) {
  const response = await postJson("/trace/backward", body, signal, "application/x-ndjson");
  await readLines(response, (line) => onEvent(JSON.parse(line)));
}

/** Upload MNIST for the lab (POST /lab/datasets, multipart): `files` maps a field to a File. */
export async function uploadLabDataset(files, signal) {
  const form = new FormData();
  for (const [name, file] of Object.entries(files)) form.append(name, file, file.name);
  let response;
  try {
    response = await fetch(API + "/lab/datasets", { method: "POST", body: form, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ code: "offline", message: String(error.message || error) });
  }
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}
