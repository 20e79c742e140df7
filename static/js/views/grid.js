// A heatmap: dense cells on a <canvas>, marks (the kernel window, dilation taps,
// the current cell) as boxes on an overlay, moved by transforms. It draws what
// it is given; it never derives a value.
import { canvasColors } from "./theme.js";
import { LUT, lutIndex, textColor } from "./colors.js";
import { formatNumber, numberForms } from "./format.js";
import { NUMBER_FONT, numberFont } from "./layout.js";
import { registerGrid } from "./legibility.js";

const SVG = "http://www.w3.org/2000/svg";

export function svgElement(name, attributes = {}, parent = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

/** Dark or white text, whichever reads on a cell of colour [r, g, b]. */
function paletteText([r, g, b]) {
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#1b2230" : "#ffffff";
}

export class Heatmap {
  /**
   * rows, cols : grid size in cells; cell : CSS pixels per cell;
   * label : caption text; hue : the channel's colour (frame and swatch);
   * onCell(i, j) : called when a cell is clicked (makes the grid editable);
   * numberHint : texts as wide as the widest number this grid will show (its scale's
   * bounds), so its number size does not jump as it fills;
   * shortForms : also try the shortest number forms (format.js numberForms `short`).
   */
  constructor({ rows, cols, cell, label = "", hue = null, ariaLabel = "", onCell = null, className = "", numberHint = [], shortForms = false }) {
    this.rows = rows;
    this.cols = cols;
    this.cell = cell;
    this.role = className;
    this.numberHint = numberHint;
    this.shortForms = shortForms;
    this.font = 0;
    this.numberTexts = [];
    this.element = document.createElement("figure");
    this.element.className = `heatmap ${className}`.trim();
    if (hue) this.element.style.setProperty("--hue", hue);
    this.caption = document.createElement("figcaption");
    this.caption.className = "heatmap-label";
    this.caption.textContent = label;
    this.body = document.createElement("div");
    this.body.className = "heatmap-body";
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("role", "img");
    this.canvas.dataset.rows = String(rows); // for tests reading the drawn cells
    this.canvas.dataset.cols = String(cols);
    this.canvas.setAttribute("aria-label", ariaLabel || label);
    this.overlay = document.createElement("div");
    this.overlay.className = "heatmap-overlay";
    this.overlay.setAttribute("aria-hidden", "true");
    this.body.append(this.canvas, this.overlay);
    this.element.append(this.caption, this.body);
    // Cells at one canvas pixel each, scaled up without smoothing.
    this.cells = document.createElement("canvas");
    this.cells.width = cols;
    this.cells.height = rows;
    this.cellContext = this.cells.getContext("2d");
    this.image = this.cellContext.createImageData(cols, rows);
    this.context = this.canvas.getContext("2d");
    this.marks = new Map();
    // palette(v) -> [r, g, b] draws the cells in colours of their own (a photo) instead of the diverging scale.
    this.palette = null;
    this.resize(cell);
    registerGrid(this);
    if (onCell) {
      this.element.classList.add("editable");
      this.canvas.addEventListener("click", (event) => {
        const rect = this.canvas.getBoundingClientRect();
        const i = Math.floor(((event.clientY - rect.top) / rect.height) * this.rows);
        const j = Math.floor(((event.clientX - rect.left) / rect.width) * this.cols);
        if (i >= 0 && i < this.rows && j >= 0 && j < this.cols) onCell(i, j);
      });
    }
  }

  resize(cell) {
    this.cell = cell;
    const ratio = window.devicePixelRatio || 1;
    const width = this.cols * cell;
    const height = this.rows * cell;
    this.canvas.width = Math.max(1, Math.round(width * ratio));
    this.canvas.height = Math.max(1, Math.round(height * ratio));
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.body.style.width = `${width}px`;
    this.body.style.height = `${height}px`;
    this.ratio = ratio;
    this.lastKey = null;
  }

  /** Let the caption wrap within `width` px (a long caption over a small grid). */
  wrapCaption(width) {
    this.caption.classList.add("wrap");
    this.caption.style.maxWidth = `${width}px`;
  }

  setLabel(text) {
    if (this.caption.textContent !== text) this.caption.textContent = text;
  }

  /**
   * Paint every cell. value(i, j) returns a number, `null` for "not computed
   * yet", or `undefined` for a padding cell (drawn hatched, showing 0).
   * `key` lets a caller skip repainting an unchanged grid.
   */
  draw(value, max, key = null) {
    if (key !== null && key === this.lastKey) return;
    this.lastKey = key;
    this.prefix = null;
    const { rows, cols, cell } = this;
    const { pending: PENDING, padding: PADDING } = canvasColors();
    const pixels = this.image.data;
    const kinds = new Uint8Array(rows * cols); // 0 value, 1 pending, 2 padding
    const numbers = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const p = i * cols + j;
        const v = value(i, j);
        let rgb;
        if (v === undefined) {
          kinds[p] = 2;
          rgb = PADDING;
        } else if (v === null) {
          kinds[p] = 1;
          rgb = PENDING;
        } else {
          numbers[p] = v;
          if (this.palette) rgb = this.palette(v); // a photo in its own colours (photo.js)
          else {
            const n = lutIndex(v, max) * 3;
            rgb = [LUT[n], LUT[n + 1], LUT[n + 2]];
          }
        }
        pixels[4 * p] = rgb[0];
        pixels[4 * p + 1] = rgb[1];
        pixels[4 * p + 2] = rgb[2];
        pixels[4 * p + 3] = 255;
      }
    }
    this.cellContext.putImageData(this.image, 0, 0);
    const context = this.context;
    context.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    context.imageSmoothingEnabled = false;
    context.clearRect(0, 0, cols * cell, rows * cell);
    context.drawImage(this.cells, 0, 0, cols * cell, rows * cell);
    if (cell >= 7) this.drawGridLines(kinds);
    this.drawNumbers(kinds, numbers, max);
  }

  /** Number size for these texts (and the hint), or 0 when they would be unreadable: colours only. */
  chooseFont(texts) {
    // A grid that must carry numbers (shortForms) spares 2 px less air: "−.8" at 18 px in 40 px.
    const font = numberFont(this.cell, [...this.numberHint, ...texts], { margin: this.shortForms ? 4 : 6 });
    this.font = font;
    this.fontSpec = `600 ${font}px ${NUMBER_FONT}`;
    this.canvas.dataset.cell = String(this.cell);
    this.canvas.dataset.font = String(font);
    return font;
  }

  digits() {
    return this.cell < 34 ? 3 : 4;
  }

  /** Grid lines are bands of `width` px starting `back` px before each cell boundary. */
  lineBand() {
    const width = this.cell >= 20 ? 2 : 1;
    return [width, width >> 1];
  }

  drawGridLines(kinds) {
    const { rows, cols, cell, context } = this;
    const [width, back] = this.lineBand();
    const colors = canvasColors();
    context.fillStyle = colors.gridLine;
    for (let i = 1; i < rows; i++) context.fillRect(0, i * cell - back, cols * cell, width);
    for (let j = 1; j < cols; j++) context.fillRect(j * cell - back, 0, width, rows * cell);
    // Padding cells: diagonal hatching, so they read as "not the input" even in grey-scale print.
    context.strokeStyle = colors.hatch;
    context.lineWidth = 1;
    context.beginPath();
    const step = Math.max(4, cell / 3);
    for (let p = 0; p < kinds.length; p++) {
      if (kinds[p] !== 2) continue;
      const x = (p % cols) * cell;
      const y = Math.floor(p / cols) * cell;
      for (let d = step; d < 2 * cell; d += step) {
        const x0 = x + Math.max(0, d - cell);
        const y0 = y + Math.min(cell, d);
        const x1 = x + Math.min(cell, d);
        const y1 = y + Math.max(0, d - cell);
        context.moveTo(x0, y0);
        context.lineTo(x1, y1);
      }
    }
    context.stroke();
  }

  drawNumbers(kinds, numbers, max) {
    const { cols, cell, context } = this;
    // The cell carries a short form when the full one does not fit (a block's 1×1 weight
    // −0.003399); the arithmetic panel keeps the exact values.
    let texts = [];
    for (const form of numberForms(this.digits(), { short: this.shortForms })) {
      texts = [];
      for (let p = 0; p < kinds.length; p++) {
        if (kinds[p] === 0) texts.push([p, form(numbers[p])]);
        else if (kinds[p] === 2) texts.push([p, "0"]);
      }
      this.numberForm = form;
      const widest = texts.reduce((best, [, text]) => (text.length > best.length ? text : best), "");
      if (this.chooseFont(widest ? [widest] : [])) break;
    }
    this.numberTexts = [];
    if (!this.font) return;
    context.font = this.fontSpec;
    context.textAlign = "center";
    context.textBaseline = "middle";
    const padText = canvasColors().padText;
    for (const [p, text] of texts) {
      const x = (p % cols) * cell + cell / 2;
      const y = Math.floor(p / cols) * cell + cell / 2 + 1;
      context.fillStyle = kinds[p] === 2 ? padText : this.palette ? paletteText(this.palette(numbers[p])) : textColor(numbers[p], max);
      context.fillText(text, x, y);
    }
    this.numberTexts = texts;
  }

  /**
   * Paint a map whose first `count` cells (row-major) are written: value(i, j) is
   * asked only for those. When only new cells were added since the last call
   * (same scale), just they are painted, so a filling map costs a few cells a frame.
   */
  drawPrefix(value, count, max) {
    const last = this.prefix;
    const grow = last && last.max === max && count >= last.count && this.lastKey === last.key;
    if (grow && (count === last.count || this.paintCells(value, last.count, count, max))) {
      // only the new cells were painted
    } else {
      const cols = this.cols;
      this.draw((i, j) => (i * cols + j < count ? value(i, j) : null), max);
    }
    this.lastKey = `prefix|${count}|${max}`;
    this.prefix = { count, max, key: this.lastKey };
  }

  paintCells(value, from, to, max) {
    const { cols, cell, context } = this;
    context.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    const numbers = this.font > 0;
    const form = this.numberForm ?? ((v) => formatNumber(v, this.digits()));
    if (numbers) {
      // A new number wider than the cell at this size: repaint the whole grid at a size that fits.
      context.font = this.fontSpec;
      for (let p = from; p < to; p++) {
        const i = Math.floor(p / cols);
        if (context.measureText(form(value(i, p - i * cols))).width > cell - 6) return false;
      }
      context.textAlign = "center";
      context.textBaseline = "middle";
    }
    const gridLine = canvasColors().gridLine;
    for (let p = from; p < to; p++) {
      const i = Math.floor(p / cols);
      const j = p - i * cols;
      const v = value(i, j);
      const n = lutIndex(v, max) * 3;
      context.fillStyle = `rgb(${LUT[n]},${LUT[n + 1]},${LUT[n + 2]})`;
      context.fillRect(j * cell, i * cell, cell, cell);
      if (cell >= 7) {
        // This cell's share of the grid lines (the same opaque, pixel-aligned bands
        // as a full draw paints), so filling cell by cell ends in the same pixels.
        const [width, back] = this.lineBand();
        const x = j * cell;
        const y = i * cell;
        context.fillStyle = gridLine;
        if (i > 0) context.fillRect(x, y - back, cell, width);
        if (i < this.rows - 1) context.fillRect(x, y + cell - back, cell, width);
        if (j > 0) context.fillRect(x - back, y, width, cell);
        if (j < cols - 1) context.fillRect(x + cell - back, y, width, cell);
      }
      if (numbers) {
        const text = form(v);
        context.fillStyle = textColor(v, max);
        context.fillText(text, j * cell + cell / 2, i * cell + cell / 2 + 1);
        this.numberTexts.push([p, text]);
      }
    }
    return true;
  }

  /** A named mark (an absolutely placed box over the cells), created on first use. */
  mark(name, className) {
    let element = this.marks.get(name);
    if (!element) {
      element = document.createElement("div");
      element.className = className;
      this.overlay.appendChild(element);
      this.marks.set(name, element);
    }
    return element;
  }

  /**
   * The kernel window: one outlined square per tap at (rows[di], cols[dj]) in this
   * grid's cells, and a dashed frame around the window's span, so the dilation
   * gaps between taps stay visible; null hides it. The taps keep their places
   * relative to the first one from step to step, so a step usually only moves
   * the window's layer (a compositor transform, no repaint of the grid).
   */
  showWindow(tapRows, tapCols) {
    const layer = this.mark("window", "window");
    if (!tapRows) {
      if (!layer.hidden) layer.hidden = true;
      return;
    }
    if (layer.hidden) layer.hidden = false;
    const cell = this.cell;
    const top = tapRows[0];
    const left = tapCols[0];
    const shape = `${cell}|${Array.from(tapRows, (row) => row - top)}|${Array.from(tapCols, (col) => col - left)}`;
    if (layer.dataset.shape !== shape) {
      layer.dataset.shape = shape;
      layer.replaceChildren();
      const span = document.createElement("div");
      span.className = "window-span";
      span.style.width = `${(tapCols[tapCols.length - 1] - left + 1) * cell}px`;
      span.style.height = `${(tapRows[tapRows.length - 1] - top + 1) * cell}px`;
      layer.appendChild(span);
      for (const row of tapRows) {
        for (const col of tapCols) {
          const tap = document.createElement("div");
          tap.className = "window-tap";
          tap.style.transform = `translate(${(col - left) * cell}px, ${(row - top) * cell}px)`;
          tap.style.width = tap.style.height = `${cell}px`;
          layer.appendChild(tap);
        }
      }
    }
    layer.style.transform = `translate(${left * cell}px, ${top * cell}px)`;
  }

  /** Outline one cell (the output being written, the pixel being mixed); null hides it. */
  showCursor(i, j, name = "cursor") {
    const box = this.mark(name, name);
    if (i === null) {
      if (!box.hidden) box.hidden = true;
      return;
    }
    if (box.hidden) box.hidden = false;
    const cell = this.cell;
    box.style.width = box.style.height = `${cell}px`;
    box.style.transform = `translate(${j * cell}px, ${i * cell}px)`;
  }

  /** Frame the real input inside a padded grid. */
  showRegion(top, left, height, width) {
    this.region = [top, left, height, width];
    const box = this.mark("region", "region");
    const cell = this.cell;
    box.style.transform = `translate(${left * cell}px, ${top * cell}px)`;
    box.style.width = `${width * cell}px`;
    box.style.height = `${height * cell}px`;
  }
}
