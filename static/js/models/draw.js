// Maps drawn as canvases: one cell per value, a diverging scale symmetric around 0
// (blue below, white at 0, red above). It draws what it is given; it never derives a value.

const NEGATIVE = [31, 95, 168];
const POSITIVE = [192, 57, 43];

export function colour(value, scale) {
  const t = scale > 0 ? Math.max(-1, Math.min(1, value / scale)) : 0;
  const [r, g, b] = t < 0 ? NEGATIVE : POSITIVE;
  const a = Math.abs(t);
  return `rgb(${Math.round(255 + (r - 255) * a)}, ${Math.round(255 + (g - 255) * a)}, ${Math.round(255 + (b - 255) * a)})`;
}

/** The largest |value| of a typed array (1 when all are 0). */
export function extent(values) {
  let largest = 0;
  for (const value of values) largest = Math.max(largest, Math.abs(value));
  return largest || 1;
}

/** An element of the models pages: a tag with a class and a text, both optional. */
export function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** A table's header cell: a column's title (scope "col") or a row's (scope "row"). */
export function headerCell(scope, text) {
  const cell = document.createElement("th");
  cell.scope = scope;
  cell.textContent = text;
  return cell;
}

/** A short, exact-enough text for a value: 4 significant digits. */
export function fmt(value) {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/**
 * A figure with a canvas of rows × cols cells of `cell` CSS pixels.
 * values: row-major numbers; box: {top, left, height, width} to outline (a window or a cell);
 * mask: row-major booleans drawn as padding (grey).
 */
export function mapFigure({ values, rows, cols, cell, scale, caption = "", box = null, mask = null, className = "" }) {
  const figure = document.createElement("figure");
  figure.className = `map ${className}`.trim();
  const canvas = document.createElement("canvas");
  const ratio = Math.max(1, Math.round(window.devicePixelRatio || 1));
  canvas.width = cols * cell * ratio;
  canvas.height = rows * cell * ratio;
  canvas.style.width = `${cols * cell}px`;
  canvas.style.height = `${rows * cell}px`;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", caption);
  canvas.dataset.rows = String(rows);
  canvas.dataset.cols = String(cols);
  canvas.dataset.cell = String(cell);
  const context = canvas.getContext("2d");
  context.scale(ratio, ratio);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const n = i * cols + j;
      context.fillStyle = mask && mask[n] ? "#c9ced8" : colour(values[n], scale);
      context.fillRect(j * cell, i * cell, cell, cell);
    }
  }
  if (cell >= 6) {
    context.strokeStyle = "rgba(27, 34, 48, 0.12)";
    context.lineWidth = 1;
    for (let i = 1; i < rows; i++) { context.beginPath(); context.moveTo(0, i * cell + 0.5); context.lineTo(cols * cell, i * cell + 0.5); context.stroke(); }
    for (let j = 1; j < cols; j++) { context.beginPath(); context.moveTo(j * cell + 0.5, 0); context.lineTo(j * cell + 0.5, rows * cell); context.stroke(); }
  }
  if (box) {
    context.strokeStyle = "#1d6fd6";
    context.lineWidth = 3;
    context.strokeRect(box.left * cell + 1.5, box.top * cell + 1.5, box.width * cell - 3, box.height * cell - 3);
  }
  figure.append(canvas);
  if (caption) {
    const text = document.createElement("figcaption");
    text.textContent = caption;
    figure.append(text);
  }
  return figure;
}

/** A small table of numbers (a window, weights, products), each cell coloured by value. */
export function numberTable({ values, rows, cols, scale, caption, mask = null }) {
  const figure = document.createElement("figure");
  figure.className = "map number-map";
  const table = document.createElement("table");
  table.className = "number-table";
  for (let i = 0; i < rows; i++) {
    const row = table.insertRow();
    for (let j = 0; j < cols; j++) {
      const n = i * cols + j;
      const cell = row.insertCell();
      cell.textContent = fmt(values[n]);
      cell.style.background = mask && mask[n] ? "#e4e7ee" : colour(values[n], scale);
      if (mask && mask[n]) cell.dataset.padding = "true";
    }
  }
  const text = document.createElement("figcaption");
  text.textContent = caption;
  figure.append(text, table);
  return figure;
}

/** Cell size so that `count` maps of rows × cols fit `width` pixels, between low and high. */
export function fitCell(width, cols, count, low = 4, high = 28) {
  const perMap = Math.floor((width - 12 * count) / Math.max(1, count));
  return Math.max(low, Math.min(high, Math.floor(perMap / Math.max(1, cols))));
}

/**
 * One step's tables: for each of the first `limit` input channels, the window (padding
 * cells marked), the weights and the products. `window`/`products` are {shape: [P, Cg, kh,
 * kw], data}, `weights` {shape: [Cg, kh, kw], data}; `mask` the step's (kh × kw) padding
 * flags; `captions(c)` gives the three captions of input channel c. Returns the figures.
 */
export function stepTables({ window, weights, products, mask, inputChannels, k, captions, limit = 4 }) {
  const [, cg, kh, kw] = window.shape;
  const size = kh * kw;
  const groups = [];
  for (let c = 0; c < Math.min(cg, limit); c++) {
    const start = (k * cg + c) * size;
    const windowValues = window.data.subarray(start, start + size);
    const weightValues = weights.data.subarray(c * size, (c + 1) * size);
    const productValues = products.data.subarray(start, start + size);
    const [windowCaption, weightCaption, productCaption] = captions(inputChannels[c]);
    const group = document.createElement("div");
    group.className = "detail-group";
    group.append(
      numberTable({ values: windowValues, rows: kh, cols: kw, scale: extent(windowValues), mask, caption: windowCaption }),
      numberTable({ values: weightValues, rows: kh, cols: kw, scale: extent(weightValues), caption: weightCaption }),
      numberTable({ values: productValues, rows: kh, cols: kw, scale: extent(productValues), caption: productCaption }),
    );
    groups.push(group);
  }
  return groups;
}
