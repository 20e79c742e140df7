// How big the stage draws, and how it packs lanes into the space it has.
//
// Readability is one small table the views read when they build: the smallest
// number a grid may carry (below it, a grid is drawn as colours only and the
// focus view carries the numbers), the label size, and the zoom. Presenter mode
// derives them from the screen: a back-row student must read every number.

const state = {
  presenting: false,
  zoom: 1,
  minFont: 11,
  focusFont: 11,
  maxFont: 22,
  labelFont: 12,
  barFont: 12,
};

/**
 * Set the reading conditions from the mode and the viewport (CSS px):
 * presenter numbers are at least max(14, height / 60) px (18 px at 1080 rows); zoomed in,
 * the focus view asks for that times the zoom (focusFont).
 */
export function setReadability({ presenting, zoom = 1, viewportHeight = window.innerHeight }) {
  state.presenting = presenting;
  state.zoom = zoom;
  if (presenting) {
    const base = Math.max(14, Math.round(viewportHeight / 60));
    state.minFont = base;
    // The zoom asks for larger numbers where the class reads them (the focus view); the
    // readable minimum stays the floor when a zoomed view cannot fit.
    state.focusFont = Math.max(base, Math.round(base * zoom));
    state.maxFont = Math.round(base * 2.6 * zoom);
    state.barFont = Math.round(Math.max(15, viewportHeight / 48));
    state.labelFont = Math.round(state.barFont * zoom);
  } else {
    state.minFont = 11;
    state.focusFont = 11;
    state.maxFont = 22;
    state.labelFont = 12;
    state.barFont = 12;
  }
  document.documentElement.style.setProperty("--stage-label", `${state.labelFont}px`);
  // The stage bar (tabs, legends, formula, zoom buttons) grows with the screen, not the zoom:
  // zoomed in, the rows it would take belong to the stage.
  document.documentElement.style.setProperty("--bar-label", `${state.barFont}px`);
  document.documentElement.style.setProperty("--stage-zoom", String(zoom));
}

export function readability() {
  return state;
}

/**
 * The share of the stage's width (beside the lanes) or height (under them) the focus view
 * may take: zoomed in, the numbers the class reads are worth more of the screen than the
 * lanes' colours.
 */
export function focusShare() {
  return state.presenting ? Math.min(0.62, 0.45 * Math.max(1, state.zoom)) : 0.45;
}

export const NUMBER_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
export const LABEL_FONT = 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace';

let measurer = null;
const widths = new Map(); // layouts ask the same few captions thousands of times
/** Width in CSS px of `text` in `font` (a CSS font shorthand). */
export function textWidth(text, font) {
  const key = `${font}|${text}`;
  let width = widths.get(key);
  if (width === undefined) {
    if (!measurer) measurer = document.createElement("canvas").getContext("2d");
    measurer.font = font;
    width = measurer.measureText(text).width;
    if (widths.size > 2000) widths.clear();
    widths.set(key, width);
  }
  return width;
}

/** Width of a grid caption (swatch + gap + monospace text at the label size). */
export function labelWidth(text) {
  if (!text) return 0;
  return Math.ceil(textWidth(text, `650 ${state.labelFont}px ${LABEL_FONT}`)) + 18;
}

/** Height of a grid caption row of `lines` lines (and the gap under it). */
export function labelHeight(lines = 1) {
  return Math.ceil(state.labelFont * 1.25) * lines + 6;
}

/**
 * A caption over a grid `gridWidth` px wide: one line when it fits, else two lines
 * at about half its width (it wraps at its spaces). {width, lines}.
 */
export function captionBox(text, gridWidth) {
  const full = labelWidth(text);
  if (full <= gridWidth || !text.includes(" ")) return { width: Math.max(full, gridWidth), lines: 1 };
  return { width: Math.max(gridWidth, Math.ceil(full * 0.6) + 8), lines: 2 };
}

/**
 * The font size (integer CSS px) at which every one of `texts` fits in a cell of
 * `cell` px, or 0 when that is under the readable minimum (the grid then carries
 * colours only). `margin` px of the cell's width stay free (the grid lines and some air).
 */
export function numberFont(cell, texts, { min = state.minFont, max = state.maxFont, margin = 6 } = {}) {
  let widest = 0;
  for (const text of texts) widest = Math.max(widest, textWidth(text, `600 100px ${NUMBER_FONT}`));
  const byWidth = widest > 0 ? ((cell - margin) * 100) / widest : Infinity;
  const font = Math.floor(Math.min(cell * 0.46, byWidth, max));
  return font >= min ? font : 0;
}

/** The smallest cell (CSS px) whose numbers reach `font` px. */
export function cellForFont(font, texts) {
  let widest = 0;
  for (const text of texts) widest = Math.max(widest, textWidth(text, `600 100px ${NUMBER_FONT}`));
  return Math.ceil(Math.max(font / 0.46, (font * widest) / 100 + 6));
}

/**
 * Pack `count` equal boxes of w × h (CSS px, gaps included) into an area; the
 * number of columns that fits, or 0 when even one column overflows.
 */
export function columnsFor(count, w, h, width, height) {
  for (let columns = 1; columns <= count; columns++) {
    if (columns * w > width) return 0;
    if (Math.ceil(count / columns) * h <= height) return columns;
  }
  return 0;
}
