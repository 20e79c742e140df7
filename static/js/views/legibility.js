// What the stage draws, measured, for tests and for anyone checking a projector:
// every grid's drawn cell and number size, and the box of every piece of text on
// the stage (HTML captions and the numbers painted on canvases).
//
// window.convlensLegibility() returns
//   { viewport: {width, height},
//     grids: [{ role, label, rows, cols, cell, font, numbers, rect, focus }],
//     texts: [{ text, font, rect, source: "canvas" | "html" }] }
// rect = {x, y, width, height} in CSS px of the viewport; font = 0 means that
// grid carries colours only (its numbers are in the focus view). Each canvas
// also carries data-cell and data-font attributes.

const grids = new Set();

export function registerGrid(heatmap) {
  if (grids.size > 400) for (const grid of grids) if (!grid.canvas.isConnected) grids.delete(grid);
  grids.add(heatmap);
}

function rectOf(box) {
  return { x: box.left, y: box.top, width: box.width, height: box.height };
}

function shown(element) {
  if (!element.isConnected || !element.getClientRects().length) return false;
  const style = getComputedStyle(element);
  return style.visibility !== "hidden" && Number(style.opacity) > 0;
}

function canvasTexts(grid, out) {
  if (!grid.font || !grid.numberTexts) return;
  const box = grid.canvas.getBoundingClientRect();
  const scale = box.width / Math.max(1, grid.cols * grid.cell);
  const context = grid.context;
  context.save();
  context.font = grid.fontSpec;
  for (const [p, text] of grid.numberTexts) {
    const i = Math.floor(p / grid.cols);
    const j = p - i * grid.cols;
    const width = context.measureText(text).width * scale;
    const height = grid.font * scale;
    const x = box.left + (j + 0.5) * grid.cell * scale - width / 2;
    const y = box.top + (i + 0.5) * grid.cell * scale - height / 2;
    out.push({ text, font: grid.font * scale, rect: { x, y, width, height }, source: "canvas" });
  }
  context.restore();
}

function htmlTexts(root, out) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!node.textContent.trim() || !parent || parent.closest(".visually-hidden, [hidden], .stage-status, svg")) continue;
    if (!shown(parent)) continue;
    range.selectNodeContents(node);
    const font = parseFloat(getComputedStyle(parent).fontSize);
    for (const box of range.getClientRects()) {
      if (box.width < 0.5 || box.height < 0.5) continue;
      out.push({ text: node.textContent.trim(), font, rect: rectOf(box), source: "html" });
    }
  }
}

export function legibility() {
  const list = [];
  const texts = [];
  for (const grid of grids) {
    if (!grid.canvas.isConnected || !shown(grid.canvas)) continue;
    const box = grid.canvas.getBoundingClientRect();
    const scale = box.width / Math.max(1, grid.cols * grid.cell);
    list.push({
      role: grid.role, label: grid.caption.textContent, rows: grid.rows, cols: grid.cols,
      cell: grid.cell * scale, font: grid.font * scale, numbers: grid.font ? (grid.numberTexts || []).length : 0,
      rect: rectOf(box), focus: Boolean(grid.canvas.closest(".focus-view, .pw-mix")),
    });
    canvasTexts(grid, texts);
  }
  const area = document.querySelector("#stage-area");
  if (area) {
    for (const part of area.querySelectorAll(".stage-bar, .stage, .pager")) htmlTexts(part, texts);
  }
  return { viewport: { width: innerWidth, height: innerHeight }, grids: list, texts };
}

window.convlensLegibility = legibility;
