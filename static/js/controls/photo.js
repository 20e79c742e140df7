// A real photo, end to end: the built-in photos (app/photos, served as PNG) and uploads
// (the file control, or a file dropped on the stage).
//
// Where the original lives (the decision): in the page's memory, and for an upload also
// in this browser's localStorage (at most ORIGINAL_SIDE px on its longer side, PNG, or
// JPEG when the PNG would be large), keyed by a hash of its bytes that the URL carries as
// `photo=`. Nothing is sent to the server: the photo is the teacher's, and any worker can
// answer any request. The URL also carries the resampled pixels at the current size
// (`image=`), so a URL opened on another computer still shows the exact demo; only there,
// without the original, a new size is scaled from those pixels (and the page says so).
// Built-in photos are always at hand (the server makes them), so their URL needs no key.
//
// Whenever the size or the colour choice changes, the input is resampled from the
// original by area averaging (each input cell is the mean of the photo pixels it
// covers). Photos are drawn in their own colours (`inputPalette`: channel R in reds, G
// in greens, B in blues, grey in greys, 0 … 1), on a scale of their own, apart from the
// feature maps' diverging scale.
import { fetchPhoto } from "../core/api.js";
import { decodeImage, encodeImage } from "./data.js";
import { t } from "../core/i18n.js";
import { PHOTO_SOURCES } from "../core/state.js";

export const BUILT_IN_PHOTOS = PHOTO_SOURCES.filter((source) => source !== "image");
const ORIGINAL_SIDE = 256; // the input is at most 64 px: 4× to resample from
const STORAGE_PREFIX = "convlens.photo.";
const STORAGE_INDEX = "convlens.photos";
const STORED_PHOTOS = 6; // the most recent uploads kept in this browser
const PNG_LIMIT = 400_000; // characters of a PNG data URL before JPEG is used instead

export function isPhotoSource(source) {
  return PHOTO_SOURCES.includes(source);
}

// ---------------------------------------------------------------- colours

// Each channel of an RGB photo in its own primary; one channel is grey.
const PRIMARIES = [[255, 0, 0], [0, 200, 0], [0, 90, 255]];

/**
 * The colour of input value v (0 … 1) of channel q of a photo with `channels` channels,
 * as [r, g, b]; values outside 0 … 1 (a cell edit) are clamped for colour only.
 */
export function photoColor(v, q, channels) {
  const f = v <= 0 ? 0 : v >= 1 ? 1 : v;
  if (channels === 1) {
    const grey = Math.round(f * 255);
    return [grey, grey, grey];
  }
  const primary = PRIMARIES[q % 3];
  return [Math.round(primary[0] * f), Math.round(primary[1] * f), Math.round(primary[2] * f)];
}

/** The palette for the input grid of channel q when the input is a photo, else null. */
export function inputPalette(values, q) {
  if (!isPhotoSource(values.source)) return null;
  const image = decodeImage(values.image);
  const channels = image ? image.channels : values.color === "gray" ? 1 : 3;
  return (v) => photoColor(v, q, channels);
}

/** What the legend shows for the input: {channels} when it is a photo, else null. */
export function photoLegend(values) {
  if (!isPhotoSource(values.source)) return null;
  const image = decodeImage(values.image);
  return image ? { channels: image.channels } : null;
}

// ---------------------------------------------------------------- resampling

/**
 * For each of n target cells over N source pixels: the [pixel, overlap] pairs it covers
 * (overlaps in pixels, not yet divided by the cell's width N/n: at integer ratios the sums
 * stay whole numbers, and a mean that is exactly k + 0.5 rounds up, as it should).
 */
function spans(n, N) {
  const list = [];
  for (let cell = 0; cell < n; cell++) {
    const a = (cell * N) / n;
    const b = ((cell + 1) * N) / n;
    const parts = [];
    for (let s = Math.floor(a); s < Math.min(N, Math.ceil(b)); s++) {
      const weight = Math.min(b, s + 1) - Math.max(a, s);
      if (weight > 1e-9) parts.push([s, weight]);
    }
    list.push(parts);
  }
  return list;
}

/**
 * The original {width, height, rgba} resampled to height × width by area averaging, as
 * the state's image value (RGB, or grey by ITU-R BT.601 luma).
 */
export function resample(original, height, width, color) {
  const { width: W, height: H, rgba } = original;
  const columns = spans(width, W);
  const rows = spans(height, H);
  const across = new Float64Array(H * width * 3); // (H, width, 3): columns averaged
  for (let y = 0; y < H; y++) {
    for (let j = 0; j < width; j++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [s, weight] of columns[j]) {
        const p = (y * W + s) * 4;
        r += weight * rgba[p];
        g += weight * rgba[p + 1];
        b += weight * rgba[p + 2];
      }
      const o = (y * width + j) * 3;
      across[o] = r;
      across[o + 1] = g;
      across[o + 2] = b;
    }
  }
  const channels = color === "gray" ? 1 : 3;
  const area = (W / width) * (H / height); // pixels per cell
  const bytes = new Uint8Array(channels * height * width);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const rgb = [0, 0, 0];
      for (const [s, weight] of rows[i]) {
        const o = (s * width + j) * 3;
        for (let k = 0; k < 3; k++) rgb[k] += weight * across[o + k];
      }
      const p = i * width + j;
      for (let k = 0; k < 3; k++) rgb[k] /= area;
      if (channels === 1) bytes[p] = Math.round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
      else for (let k = 0; k < 3; k++) bytes[k * height * width + p] = Math.round(rgb[k]);
    }
  }
  return encodeImage(height, width, channels, bytes);
}

// ---------------------------------------------------------------- originals

/** Draw an image source onto a white canvas of at most `side` px (transparency on white). */
function canvasOf(source, width, height, side) {
  const scale = Math.min(1, side / Math.max(width, height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.drawImage(source, 0, 0, canvas.width, canvas.height);
  return canvas;
}

function pixelsOf(canvas) {
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return { width: canvas.width, height: canvas.height, rgba: context.getImageData(0, 0, canvas.width, canvas.height).data };
}

async function decodeDataUrl(url) {
  const image = new Image();
  image.src = url;
  await image.decode();
  return pixelsOf(canvasOf(image, image.naturalWidth, image.naturalHeight, ORIGINAL_SIDE));
}

/** FNV-1a over a string: a short key for a stored photo (no secure context needed). */
function hashKey(text) {
  let hash = 0x811c9dc5;
  for (let n = 0; n < text.length; n++) {
    hash ^= text.charCodeAt(n);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `u${hash.toString(16).padStart(8, "0")}${(text.length % 4096).toString(16)}`;
}

function storedIndex() {
  try {
    const list = JSON.parse(localStorage.getItem(STORAGE_INDEX) || "[]");
    return Array.isArray(list) ? list.filter((id) => typeof id === "string") : [];
  } catch {
    return [];
  }
}

/** Keep `url` under `id`, dropping the oldest uploads past STORED_PHOTOS; false if it did not fit. */
function store(id, url) {
  try {
    const list = storedIndex().filter((other) => other !== id);
    list.push(id);
    while (list.length > STORED_PHOTOS) localStorage.removeItem(STORAGE_PREFIX + list.shift());
    for (;;) {
      try {
        localStorage.setItem(STORAGE_PREFIX + id, url);
        break;
      } catch (error) {
        if (list.length <= 1) throw error;
        localStorage.removeItem(STORAGE_PREFIX + list.shift()); // full: make room
      }
    }
    localStorage.setItem(STORAGE_INDEX, JSON.stringify(list));
    return true;
  } catch {
    return false;
  }
}

function stored(id) {
  try {
    return localStorage.getItem(STORAGE_PREFIX + id);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- choosing a photo

/**
 * Settings that make a photo's output maps mean something: 3×3 image kernels (Sobel x
 * and y per channel in depthwise; Sobel x/y, blur, sharpen and emboss as a standard
 * layer's five outputs), stride 1, SAME padding (the maps keep the photo's size).
 */
export function photoKernels(values, channels) {
  const common = {
    kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, padding: "SAME", kernel_edits: "", input_edits: "", step: 0,
  };
  switch (values.op) {
    case "depthwise": return { ...common, multiplier: 2, kernels: "edge_x,edge_y" };
    case "separable": return { ...common, multiplier: 2, kernels: "edge_x,edge_y", out: 4 };
    case "grouped": return { ...common, groups: channels, out: 2 * channels, kernels: "edge_x,edge_y" };
    case "pointwise": return { input_edits: "", step: 0 };
    default: return { ...common, out: 5, kernels: "edge_x,edge_y,blur,sharpen,emboss" };
  }
}

/** The input size a newly chosen photo starts at: 16 × 16 unless the size is already photo-sized. */
function photoSize(values) {
  const ok = (n) => Number.isInteger(n) && n >= 12 && n <= 64;
  return ok(values.height) && ok(values.width) ? [values.height, values.width] : [16, 16];
}

// ---------------------------------------------------------------- the page

/**
 * Wire the photo controls: the file input, drops on the stage, the source menu, the
 * colour choice; keep `image` resampled from the original. ctx: {state}.
 */
export function initPhoto({ state }) {
  const $ = (selector) => document.querySelector(selector);
  const upload = $("#upload");
  const message = $("#problem-image");
  const note = $("#photo-note");
  const preview = $("#photo-preview");
  const stage = $("#stage");
  const originals = new Map(); // key -> {width, height, rgba, source: {width, height}}
  const loading = new Map(); // key -> Promise
  let wanted = 0;

  function keyOf(values) {
    if (BUILT_IN_PHOTOS.includes(values.source)) return `builtin:${values.source}`;
    return values.photo ? `upload:${values.photo}` : null;
  }

  function load(key) {
    if (originals.has(key)) return Promise.resolve(originals.get(key));
    if (!loading.has(key)) {
      const [kind, name] = key.split(":");
      const promise = (async () => {
        if (kind === "builtin") {
          const bitmap = await createImageBitmap(await fetchPhoto(name));
          const pixels = pixelsOf(canvasOf(bitmap, bitmap.width, bitmap.height, ORIGINAL_SIDE));
          pixels.source = { width: bitmap.width, height: bitmap.height };
          bitmap.close();
          return pixels;
        }
        const url = stored(name);
        if (!url) return null;
        const pixels = await decodeDataUrl(url);
        pixels.source = { width: pixels.width, height: pixels.height };
        return pixels;
      })().then((pixels) => {
        loading.delete(key);
        if (pixels) originals.set(key, pixels);
        return pixels;
      }, (error) => {
        loading.delete(key);
        throw error;
      });
      loading.set(key, promise);
    }
    return loading.get(key);
  }

  /** The image value for `values` from the original, when the original is at hand. */
  function resampled(original, values) {
    const okSize = (n) => Number.isInteger(n) && n >= 3 && n <= 64;
    if (!okSize(values.height) || !okSize(values.width)) return null;
    return resample(original, values.height, values.width, values.color);
  }

  function showNote(values, original) {
    if (!isPhotoSource(values.source)) return;
    const image = decodeImage(values.image);
    const size = image ? `${image.height}×${image.width}` : "";
    if (original) {
      note.textContent = t("photo.note.original", { w: original.source.width, h: original.source.height, size });
      note.dataset.kind = "original";
    } else if (values.source === "image" && values.photo && image) {
      note.textContent = t("photo.note.no_original", { size });
      note.dataset.kind = "pixels";
    } else {
      note.textContent = "";
      delete note.dataset.kind;
    }
  }

  function drawPreview(values) {
    const image = isPhotoSource(values.source) ? decodeImage(values.image) : null;
    preview.hidden = !image;
    if (!image) return;
    const { height: h, width: w, channels, bytes } = image;
    preview.width = w;
    preview.height = h;
    const context = preview.getContext("2d");
    const pixels = context.createImageData(w, h);
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < 3; k++) pixels.data[4 * p + k] = bytes[(channels === 1 ? 0 : k) * h * w + p];
      pixels.data[4 * p + 3] = 255;
    }
    context.putImageData(pixels, 0, 0);
    preview.setAttribute("aria-label", t("photo.preview", { h, w }));
  }

  /** Bring `image` (and `channels`) in line with the original, now or when it has loaded. */
  function follow(values) {
    drawPreview(values);
    if (!isPhotoSource(values.source)) return;
    const key = keyOf(values);
    if (!key) {
      showNote(values, null);
      return;
    }
    const ticket = ++wanted;
    const apply = (original) => {
      if (ticket !== wanted) return;
      const now = state.values;
      showNote(now, original);
      if (!original) return;
      const image = resampled(original, now);
      const channels = now.color === "gray" ? 1 : 3;
      const patch = {};
      if (image && image !== now.image) patch.image = image;
      if (image && now.channels !== channels) patch.channels = channels;
      if (Object.keys(patch).length) state.set(patch);
    };
    if (originals.has(key)) apply(originals.get(key));
    else load(key).then(apply, () => ticket === wanted && (message.textContent = t("photo.load_failed")));
  }

  /** A file chosen or dropped: keep its original, resample it, pair it with image kernels. */
  async function take(file) {
    message.textContent = "";
    if (!file) return;
    let url;
    try {
      const bitmap = await createImageBitmap(file);
      const canvas = canvasOf(bitmap, bitmap.width, bitmap.height, ORIGINAL_SIDE);
      const source = { width: bitmap.width, height: bitmap.height };
      bitmap.close();
      url = canvas.toDataURL("image/png");
      if (url.length > PNG_LIMIT) url = canvas.toDataURL("image/jpeg", 0.92);
      const id = hashKey(url);
      // What is kept is what a reload reads back: decode the stored form.
      const pixels = await decodeDataUrl(url);
      pixels.source = source;
      originals.set(`upload:${id}`, pixels);
      if (!store(id, url)) message.textContent = t("photo.not_stored");
      choose({ source: "image", photo: id }, pixels);
    } catch {
      message.textContent = t("problem.image_read");
    }
  }

  /** Switch to a photo source, with image kernels and a photo-sized input. */
  function choose(patch, original = null) {
    const values = { ...state.values, ...patch };
    const [height, width] = photoSize(values);
    const channels = values.color === "gray" ? 1 : 3;
    const next = { ...values, height, width, channels };
    const image = original ? resample(original, height, width, values.color) : values.image;
    state.set({ ...patch, height, width, channels, image, ...photoKernels(next, channels) });
  }

  upload.addEventListener("change", () => {
    const file = upload.files && upload.files[0];
    take(file).finally(() => {
      upload.value = ""; // choosing the same file again is a new choice
    });
  });

  // The source menu: choosing a photo (a user's choice, not a URL being loaded) pairs it
  // with image kernels. controls.js has already written the source itself.
  $("#param-source").addEventListener("change", (event) => {
    const source = event.target.value;
    if (!isPhotoSource(source)) return;
    if (source === "image" && !state.get("photo") && !state.get("image")) {
      upload.focus(); // nothing uploaded yet: the control is right there
      return;
    }
    choose({ source, ...(source === "image" ? {} : { image: "" }) });
  });

  // Drag and drop: a file dropped on the stage is an upload; elsewhere a drop is refused
  // (the browser would otherwise leave the page to show the file).
  const hasFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");
  window.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    const inside = stage.contains(event.target);
    event.dataTransfer.dropEffect = inside ? "copy" : "none";
    stage.classList.toggle("drop-target", inside);
  });
  window.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget || !stage.contains(event.relatedTarget)) stage.classList.remove("drop-target");
  });
  window.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    stage.classList.remove("drop-target");
    if (!stage.contains(event.target)) return;
    const file = Array.from(event.dataTransfer.files).find((item) => item.type.startsWith("image/"));
    if (file) take(file);
    else message.textContent = t("problem.image_read");
  });

  const WATCHED = ["source", "height", "width", "color", "photo", "image"];
  state.subscribe((changed, values) => {
    if (WATCHED.some((name) => changed.has(name))) follow(values);
  });
  follow(state.values);
}

/** The status line when there is no input yet: a built-in photo loads, an upload is missing. */
export function missingInputMessage(values) {
  return BUILT_IN_PHOTOS.includes(values.source) ? t("photo.loading") : t("problem.image_missing");
}
