// An animated GIF89a encoder in plain JavaScript: median-cut palette quantisation and
// LZW compression, one local palette per frame (a stage frame has a few hundred colours
// at most: heatmap cells, text antialiasing), frame delays in hundredths of a second,
// looping forever (NETSCAPE2.0). No dependency: slides (Google Slides, PowerPoint) take
// GIFs where they take no WebM.

/** Growable byte buffer. */
class Bytes {
  constructor(size = 1 << 16) {
    this.data = new Uint8Array(size);
    this.length = 0;
  }
  ensure(extra) {
    if (this.length + extra <= this.data.length) return;
    let size = this.data.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }
  byte(value) {
    this.ensure(1);
    this.data[this.length++] = value & 0xff;
  }
  word(value) {
    this.byte(value);
    this.byte(value >> 8);
  }
  bytes(list) {
    this.ensure(list.length);
    this.data.set(list, this.length);
    this.length += list.length;
  }
  text(string) {
    for (let n = 0; n < string.length; n++) this.byte(string.charCodeAt(n));
  }
  result() {
    return this.data.slice(0, this.length);
  }
}

// ---------------------------------------------------------------- palette

/**
 * Up to `size` colours for the RGBA pixels: median cut over a histogram of 5-bit
 * colours (each box split at the weighted median of its widest channel), each
 * colour the mean of its box. Returns {palette: Uint8Array(3·n), count: n}.
 */
export function medianCut(rgba, size = 256) {
  const histogram = new Uint32Array(32768);
  const sums = new Float64Array(32768 * 3);
  for (let p = 0; p < rgba.length; p += 4) {
    const key = ((rgba[p] >> 3) << 10) | ((rgba[p + 1] >> 3) << 5) | (rgba[p + 2] >> 3);
    histogram[key]++;
    sums[key * 3] += rgba[p];
    sums[key * 3 + 1] += rgba[p + 1];
    sums[key * 3 + 2] += rgba[p + 2];
  }
  const keys = [];
  for (let key = 0; key < 32768; key++) if (histogram[key]) keys.push(key);
  const channel = (key, c) => (c === 0 ? key >> 10 : c === 1 ? (key >> 5) & 31 : key & 31);
  // The channel whose values spread widest over a box's colours (the first of equals), and that spread.
  const widestChannel = (box) => {
    let widest = 0;
    let span = -1;
    for (let c = 0; c < 3; c++) {
      let low = 31;
      let high = 0;
      for (const key of box) {
        const v = channel(key, c);
        if (v < low) low = v;
        if (v > high) high = v;
      }
      if (high - low > span) {
        span = high - low;
        widest = c;
      }
    }
    return { widest, span };
  };
  let boxes = [keys];
  while (boxes.length < size) {
    // Split the box with the widest channel range (ties: the most pixels).
    let best = -1;
    let bestScore = -1;
    boxes.forEach((box, index) => {
      if (box.length < 2) return;
      const score = widestChannel(box).span;
      if (score > bestScore) {
        bestScore = score;
        best = index;
      }
    });
    if (best < 0) break;
    const box = boxes[best];
    const { widest } = widestChannel(box);
    box.sort((a, b) => channel(a, widest) - channel(b, widest));
    let total = 0;
    for (const key of box) total += histogram[key];
    let running = 0;
    let cut = 1;
    for (let n = 0; n < box.length - 1; n++) {
      running += histogram[box[n]];
      cut = n + 1;
      if (running * 2 >= total) break;
    }
    boxes = [...boxes.slice(0, best), box.slice(0, cut), box.slice(cut), ...boxes.slice(best + 1)];
  }
  const palette = new Uint8Array(boxes.length * 3);
  boxes.forEach((box, index) => {
    let count = 0;
    const rgb = [0, 0, 0];
    for (const key of box) {
      count += histogram[key];
      for (let c = 0; c < 3; c++) rgb[c] += sums[key * 3 + c];
    }
    for (let c = 0; c < 3; c++) palette[index * 3 + c] = count ? Math.round(rgb[c] / count) : 0;
  });
  return { palette, count: boxes.length };
}

/** Palette index of every pixel: the nearest palette colour (cached per 5-bit colour). */
export function indexPixels(rgba, palette, count) {
  const indices = new Uint8Array(rgba.length / 4);
  const cache = new Int16Array(32768).fill(-1);
  for (let p = 0, n = 0; p < rgba.length; p += 4, n++) {
    const r = rgba[p];
    const g = rgba[p + 1];
    const b = rgba[p + 2];
    const key = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
    let index = cache[key];
    if (index < 0) {
      let best = Infinity;
      for (let k = 0; k < count; k++) {
        const dr = palette[3 * k] - r;
        const dg = palette[3 * k + 1] - g;
        const db = palette[3 * k + 2] - b;
        const distance = 2 * dr * dr + 4 * dg * dg + 3 * db * db;
        if (distance < best) {
          best = distance;
          index = k;
        }
      }
      cache[key] = index;
    }
    indices[n] = index;
  }
  return indices;
}

// ---------------------------------------------------------------- LZW

/** GIF's variable-width LZW of palette indices, packed into 255-byte sub-blocks. */
export function lzw(indices, minCodeSize, out) {
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  let codeSize = minCodeSize + 1;
  let next = end + 1;
  let dictionary = new Map();
  let block = [];
  let bits = 0;
  let bitCount = 0;
  const emit = (code) => {
    bits |= code << bitCount;
    bitCount += codeSize;
    while (bitCount >= 8) {
      block.push(bits & 0xff);
      bits >>>= 8;
      bitCount -= 8;
      if (block.length === 255) {
        out.byte(255);
        out.bytes(block);
        block = [];
      }
    }
  };
  out.byte(minCodeSize);
  emit(clear);
  let prefix = indices[0];
  for (let n = 1; n < indices.length; n++) {
    const symbol = indices[n];
    const key = prefix * 4096 + symbol;
    const found = dictionary.get(key);
    if (found !== undefined) {
      prefix = found;
      continue;
    }
    emit(prefix);
    if (next < 4096) {
      dictionary.set(key, next++);
      // The decoder widens its codes one code later than the encoder adds them.
      if (next > 1 << codeSize && codeSize < 12) codeSize++;
    } else {
      emit(clear);
      dictionary = new Map();
      codeSize = minCodeSize + 1;
      next = end + 1;
    }
    prefix = symbol;
  }
  emit(prefix);
  emit(end);
  if (bitCount > 0) block.push(bits & 0xff);
  if (block.length) {
    out.byte(block.length);
    out.bytes(block);
  }
  out.byte(0);
}

// ---------------------------------------------------------------- the file

/**
 * An animated GIF written frame by frame (a long run is never held in memory as
 * pixels): `new GifWriter(width, height)`, `add(rgba, delay)` with the delay in
 * centiseconds, `finish()` -> Uint8Array.
 */
export class GifWriter {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.frames = 0;
    const out = new Bytes(1 << 20);
    this.out = out;
    out.text("GIF89a");
    out.word(width);
    out.word(height);
    out.byte(0x70); // no global palette, 8-bit colour resolution
    out.byte(0);
    out.byte(0);
    // Loop forever.
    out.bytes([0x21, 0xff, 0x0b]);
    out.text("NETSCAPE2.0");
    out.bytes([0x03, 0x01, 0x00, 0x00, 0x00]);
  }

  add(rgba, delay) {
    const { out, width, height } = this;
    if (rgba.length !== width * height * 4) throw new Error(`a frame must be ${width}×${height}`);
    const { palette, count } = medianCut(rgba, 256);
    const indices = indexPixels(rgba, palette, count);
    let bitsPerIndex = 1;
    while (1 << bitsPerIndex < count) bitsPerIndex++;
    // Graphic control: no disposal, no transparency, the delay.
    out.bytes([0x21, 0xf9, 0x04, 0x04]);
    out.word(Math.max(0, Math.round(delay)));
    out.bytes([0x00, 0x00]);
    // Image descriptor with a local palette of 2^bitsPerIndex entries.
    out.byte(0x2c);
    out.word(0);
    out.word(0);
    out.word(width);
    out.word(height);
    out.byte(0x80 | (bitsPerIndex - 1));
    const table = new Uint8Array(3 << bitsPerIndex);
    table.set(palette.subarray(0, count * 3));
    out.bytes(table);
    lzw(indices, Math.max(2, bitsPerIndex), out);
    this.frames++;
  }

  finish() {
    this.out.byte(0x3b);
    return this.out.result();
  }
}

/** An animated GIF of `frames` ({rgba, delay}), all width × height: a Uint8Array. */
export function encodeGif(width, height, frames) {
  const writer = new GifWriter(width, height);
  for (const frame of frames) writer.add(frame.rgba, frame.delay);
  return writer.finish();
}

/**
 * Frame delays (centiseconds) for steps first … last at `speed` steps/s: they sum to the
 * run's duration, 100·steps/speed, and each is at least `minimum` (browsers and slide
 * software slow shorter delays to 10 cs); when a step is shorter, steps share frames,
 * and the last frame is always the last step (the complete picture).
 * Returns [{step, delay}], the steps to draw in order.
 */
export function gifTiming(first, last, speed, minimum = 2) {
  const count = last - first + 1;
  const total = Math.max(minimum, Math.round((100 * count) / speed));
  const frameCount = Math.max(1, Math.min(count, Math.floor(total / minimum)));
  const frames = [];
  for (let f = 0; f < frameCount; f++) {
    const step = frameCount === count ? first + f : first + Math.round((f * (count - 1)) / Math.max(1, frameCount - 1));
    const delay = Math.round((total * (f + 1)) / frameCount) - Math.round((total * f) / frameCount);
    frames.push({ step, delay });
  }
  return frames;
}
