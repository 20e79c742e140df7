// Exports for slides: the stage as a PNG, a run as an animated GIF, a WebM video, or an
// MP4 video where the browser records MP4.
// Every picture is the stage bar and the stage as on screen (render.js): the sliding
// window, the current cell, the formula and the legends included. A run's timing is the
// player's: at `speed` steps/s each step lasts 1/speed s (GIF frame delays; WebM frames
// recorded in real time), and its last frame is the last step fully drawn.
import { t } from "../core/i18n.js";
import { GifWriter, gifTiming } from "./gif.js";
import { renderStage } from "./render.js";

const $ = (selector) => document.querySelector(selector);
const MAX_RECORDED = 240; // steps in one export
const GIF_WIDTH = 1280; // wider stages are scaled down for the GIF (file size, encoding time)

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Show step `step` and wait until the stage has drawn it (main.js marks #stage-view). */
async function showStep(state, step) {
  state.set({ step }, { deferUrl: true });
  const view = $("#stage-view");
  for (let tries = 0; tries < 200 && view.dataset.drawnStep !== String(step); tries++) await frame();
  await frame(); // the overlays' transforms and the formula land in the same frame
}

/** The steps a run export covers: the whole run when short, else the current stage from here. */
function runRange(store, step) {
  let start = 0;
  let last = store.total - 1;
  if (store.total > MAX_RECORDED) {
    start = step;
    const { stage } = store.locate(start);
    last = Math.min(stage.globalStart + stage.steps - 1, start + MAX_RECORDED - 1);
  }
  return { start, last: Math.min(last, store.received - 1) };
}

export function bindExport(ctx) {
  const { state } = ctx;
  const status = $("#export-status");
  let busy = null;

  async function run(kind, task) {
    if (busy) return;
    busy = kind;
    const button = $(`#export-${kind}`);
    button.setAttribute("aria-pressed", "true");
    ctx.player.pause();
    document.body.dataset.exporting = kind; // no step animations while frames are taken
    const before = state.get("step");
    try {
      await task();
    } catch (error) {
      status.textContent = t("export.failed");
      console.warn("export failed", error);
    } finally {
      delete document.body.dataset.exporting;
      button.setAttribute("aria-pressed", "false");
      busy = null;
      if (kind !== "png") state.set({ step: before }, { deferUrl: true });
      state.flushUrl();
      ctx.scheduleRender();
    }
  }

  $("#export-png").addEventListener("click", () => run("png", async () => {
    await showStep(state, state.get("step"));
    const canvas = await renderStage(document.createElement("canvas"), Math.max(1, devicePixelRatio || 1));
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    if (blob) download(blob, `convlens-step-${state.get("step") + 1}.png`);
    status.textContent = t(blob ? "export.png_done" : "export.failed");
  }));

  $("#export-gif").addEventListener("click", () => run("gif", async () => {
    const store = ctx.store();
    if (!store || !store.total) return;
    const { start, last } = runRange(store, state.get("step"));
    const frames = gifTiming(start, last, state.get("speed"));
    const canvas = document.createElement("canvas");
    const small = document.createElement("canvas");
    let writer = null;
    for (const [n, { step, delay }] of frames.entries()) {
      status.textContent = t("export.recording", { step: step + 1, last: last + 1 });
      await showStep(state, step);
      await renderStage(canvas, 1);
      let source = canvas;
      if (canvas.width > GIF_WIDTH) {
        small.width = GIF_WIDTH;
        small.height = Math.round((canvas.height * GIF_WIDTH) / canvas.width);
        small.getContext("2d").drawImage(canvas, 0, 0, small.width, small.height);
        source = small;
      }
      if (!writer) writer = new GifWriter(source.width, source.height);
      const pixels = source.getContext("2d", { willReadFrequently: true }).getImageData(0, 0, writer.width, writer.height);
      writer.add(pixels.data, delay);
      if (n % 4 === 3) await sleep(0); // let the page breathe between frames
    }
    const blob = new Blob([writer.finish()], { type: "image/gif" });
    download(blob, "convlens-run.gif");
    status.textContent = t("export.gif_done");
  }));

  // A video of the run: WebM everywhere MediaRecorder is; MP4 (H.264) where the browser
  // itself records it (Chromium does): no encoder is downloaded, nothing leaves the page.
  const VIDEO = {
    webm: ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"],
    mp4: ["video/mp4;codecs=avc1.42E01E", "video/mp4;codecs=avc1", "video/mp4"],
  };
  const videoType = (kind) => (typeof MediaRecorder === "undefined" ? null
    : VIDEO[kind].find((type) => MediaRecorder.isTypeSupported(type)));
  const mp4Button = $("#export-mp4");
  if (mp4Button) mp4Button.hidden = !videoType("mp4");

  const record = (kind) => run(kind, async () => {
    const store = ctx.store();
    const type = videoType(kind);
    if (!type || !store || !store.total) {
      status.textContent = t("export.no_recorder");
      return;
    }
    const { start, last } = runRange(store, state.get("step"));
    const count = last - start + 1;
    const speed = state.get("speed");
    const canvas = document.createElement("canvas");
    await showStep(state, start);
    await renderStage(canvas, 1);
    const stream = canvas.captureStream(0);
    const track = stream.getVideoTracks()[0];
    const recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 4_000_000 });
    const chunks = [];
    recorder.ondataavailable = (event) => event.data.size && chunks.push(event.data);
    const stopped = new Promise((resolve) => (recorder.onstop = resolve));
    recorder.start();
    // Real time, as the player would show it: the frame on screen at time τ is step
    // start + ⌊τ·speed⌋ (a step that cannot be drawn in time is skipped, never slowed).
    // While a step is on screen its frame is sent again every 100 ms: an encoder that
    // drops a frame under load still has the picture (the last step above all).
    // (A canvas track sends a frame only for a changed canvas: one pixel is written again.)
    const context = canvas.getContext("2d");
    const resend = () => {
      context.putImageData(context.getImageData(0, 0, 1, 1), 0, 0);
      track.requestFrame();
    };
    const hold = async (until) => {
      for (let left = until - performance.now(); left > 0; left = until - performance.now()) {
        await sleep(Math.min(100, left));
        resend();
      }
    };
    const t0 = performance.now();
    track.requestFrame();
    let shown = start;
    while (shown < last) {
      const due = Math.min(last, start + Math.floor(((performance.now() - t0) / 1000) * speed) + 1);
      await hold(t0 + ((due - start) * 1000) / speed);
      status.textContent = t("export.recording", { step: due + 1, last: last + 1 });
      await showStep(state, due);
      await renderStage(canvas, 1);
      track.requestFrame();
      shown = due;
    }
    // The last step stays for its full 1/speed s: one more frame at the run's end time.
    await hold(t0 + (count * 1000) / speed);
    resend();
    // No frame after the run's end time; give the encoder time to take the last ones in.
    await sleep(400);
    recorder.stop();
    await stopped;
    track.stop();
    const blob = new Blob(chunks, { type: type.split(";")[0] });
    if (blob.size) download(blob, `convlens-run.${kind}`);
    status.textContent = t(blob.size ? `export.${kind}_done` : "export.failed");
  });
  $("#export-webm").addEventListener("click", () => record("webm"));
  if (mp4Button) mp4Button.addEventListener("click", () => record("mp4"));
}
