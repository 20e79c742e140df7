// A heatmap: dense cells on a <canvas>, marks (the kernel window, dilation taps,
// the current cell) on an SVG overlay in cell coordinates. It draws what it is
// given; it never derives a value.
import { LUT, lutIndex, textColor } from "./colors.js";
import { formatNumber } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const PENDING = [241, 243, 247];
const PADDING = [226, 229, 235];

export function svgElement(name, attributes = {}, parent = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

export class Heatmap {
  /**
   * rows, cols : grid size in cells; cell : CSS pixels per cell;
   * label : caption text; hue : the channel's colour (frame and swatch);
   * onCell(i, j) : called when a cell is clicked (makes the grid editable).
   */
  constructor({ rows, cols, cell, label = "", hue = null, ariaLabel = "", onCell = null, className = "" }) {
    this.rows = rows;
    this.cols = cols;
    this.cell = cell;
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
    this.canvas.setAttribute("aria-label", ariaLabel || label);
    this.overlay = svgElement("svg", {
      class: "heatmap-overlay",
      viewBox: `0 0 ${cols} ${rows}`,
      preserveAspectRatio: "none",
      "aria-hidden": "true",
    });
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
    this.resize(cell);
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
    this.overlay.setAttribute("width", width);
    this.overlay.setAttribute("height", height);
    this.ratio = ratio;
    this.lastKey = null;
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
    const { rows, cols, cell } = this;
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
          const n = lutIndex(v, max) * 3;
          rgb = [LUT[n], LUT[n + 1], LUT[n + 2]];
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
    if (cell >= 22) this.drawNumbers(kinds, numbers, max);
  }

  drawGridLines(kinds) {
    const { rows, cols, cell, context } = this;
    context.strokeStyle = "rgba(255,255,255,0.9)";
    context.lineWidth = cell >= 20 ? 1.5 : 1;
    context.beginPath();
    for (let i = 1; i < rows; i++) {
      context.moveTo(0, i * cell);
      context.lineTo(cols * cell, i * cell);
    }
    for (let j = 1; j < cols; j++) {
      context.moveTo(j * cell, 0);
      context.lineTo(j * cell, rows * cell);
    }
    context.stroke();
    // Padding cells: diagonal hatching, so they read as "not the input" even in grey-scale print.
    context.strokeStyle = "rgba(120,128,145,0.45)";
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
    const size = Math.round(Math.min(22, Math.max(10, cell * 0.34)));
    context.font = `600 ${size}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
    context.textAlign = "center";
    context.textBaseline = "middle";
    for (let p = 0; p < kinds.length; p++) {
      if (kinds[p] === 1) continue;
      const x = (p % cols) * cell + cell / 2;
      const y = Math.floor(p / cols) * cell + cell / 2 + 1;
      if (kinds[p] === 2) {
        context.fillStyle = "#8a93a6";
        context.fillText("0", x, y);
        continue;
      }
      const v = numbers[p];
      context.fillStyle = textColor(v, max);
      context.fillText(formatNumber(v, cell < 34 ? 3 : 4), x, y, cell - 3);
    }
  }

  /** A named SVG mark in cell coordinates, created on first use. */
  mark(name, tag, attributes) {
    let element = this.marks.get(name);
    if (!element) {
      element = svgElement(tag, attributes, this.overlay);
      this.marks.set(name, element);
    }
    return element;
  }

  /**
   * The kernel window: one outlined square per tap at (rows[di], cols[dj]) in this
   * grid's cells, and a dashed frame around the window's span, so the dilation
   * gaps between taps stay visible. `taps` null hides it.
   */
  showWindow(tapRows, tapCols) {
    const group = this.mark("window", "g", { class: "window" });
    if (!tapRows) {
      group.setAttribute("visibility", "hidden");
      return;
    }
    group.setAttribute("visibility", "visible");
    const count = tapRows.length * tapCols.length;
    if (group.childElementCount !== count + 1) {
      group.replaceChildren();
      svgElement("rect", { class: "window-span" }, group);
      for (let n = 0; n < count; n++) svgElement("rect", { class: "window-tap", width: 1, height: 1 }, group);
    }
    const span = group.firstChild;
    const top = tapRows[0];
    const left = tapCols[0];
    span.setAttribute("x", left);
    span.setAttribute("y", top);
    span.setAttribute("width", tapCols[tapCols.length - 1] - left + 1);
    span.setAttribute("height", tapRows[tapRows.length - 1] - top + 1);
    let child = span.nextSibling;
    for (const row of tapRows) {
      for (const col of tapCols) {
        child.setAttribute("x", col);
        child.setAttribute("y", row);
        child = child.nextSibling;
      }
    }
  }

  /** Outline one cell (the output being written, the pixel being mixed); null hides it. */
  showCursor(i, j, name = "cursor") {
    const rect = this.mark(name, "rect", { class: name, width: 1, height: 1 });
    if (i === null) {
      rect.setAttribute("visibility", "hidden");
      return;
    }
    rect.setAttribute("visibility", "visible");
    rect.setAttribute("x", j);
    rect.setAttribute("y", i);
  }

  /** Frame the real input inside a padded grid. */
  showRegion(top, left, height, width) {
    const rect = this.mark("region", "rect", { class: "region" });
    rect.setAttribute("x", left);
    rect.setAttribute("y", top);
    rect.setAttribute("width", width);
    rect.setAttribute("height", height);
  }
}
