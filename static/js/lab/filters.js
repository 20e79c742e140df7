// Learned first-layer filters as heatmaps on one canvas: F kernels of k×k, a diverging
// scale (blue negative, white 0, red positive) symmetric about 0 per run.

const CELL = 9;
const GAP = 4;
const PER_ROW = 8;

function colour(value, scale) {
  const v = scale ? Math.max(-1, Math.min(1, value / scale)) : 0;
  const toward = v >= 0 ? [178, 24, 43] : [33, 102, 172];
  const a = Math.abs(v);
  return `rgb(${toward.map((c) => Math.round(255 + (c - 255) * a)).join(",")})`;
}

/** Draw `filters` ([F][k][k], numbers from the server) into `canvas`. */
export function drawFilters(canvas, filters) {
  const count = filters.length;
  const k = count ? filters[0].length : 0;
  const rows = Math.ceil(count / PER_ROW);
  const columns = Math.min(count, PER_ROW);
  const side = k * CELL;
  const ratio = window.devicePixelRatio || 1;
  const width = columns * side + (columns - 1) * GAP;
  const height = rows * side + Math.max(rows - 1, 0) * GAP;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  let scale = 0;
  for (const kernel of filters) for (const row of kernel) for (const value of row) scale = Math.max(scale, Math.abs(value));
  filters.forEach((kernel, index) => {
    const x0 = (index % PER_ROW) * (side + GAP);
    const y0 = Math.floor(index / PER_ROW) * (side + GAP);
    kernel.forEach((row, i) => row.forEach((value, j) => {
      context.fillStyle = colour(value, scale);
      context.fillRect(x0 + j * CELL, y0 + i * CELL, CELL, CELL);
    }));
    context.strokeStyle = "#9aa3b2";
    context.lineWidth = 1;
    context.strokeRect(x0 + 0.5, y0 + 0.5, side - 1, side - 1);
  });
  canvas.dataset.filters = String(count);
  canvas.dataset.scale = scale.toPrecision(3);
}
