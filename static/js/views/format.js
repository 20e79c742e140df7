// How numbers read on screen: integers as integers, others to a few significant
// digits, a true minus sign. The exact value stays in data-value attributes.

const MINUS = "\u2212";

/** `v` for display with at most `digits` significant digits (integers in full). */
export function formatNumber(v, digits = 4) {
  if (!Number.isFinite(v)) return String(v);
  let text;
  if (Number.isInteger(v)) text = String(Math.abs(v));
  else if (Math.abs(v) >= 10 ** digits) text = Math.abs(Math.round(v)).toString();
  else {
    text = String(Number(Math.abs(v).toPrecision(digits)));
    if (text.includes("e")) text = Math.abs(v).toFixed(digits);
  }
  if (text === "0") return "0";
  return (v < 0 ? MINUS : "") + text;
}

/** `v` to at most `decimals` decimal places (−0.0034 to two: "0"): a cell's short form. */
export function formatFixed(v, decimals) {
  return formatNumber(Number(v.toFixed(decimals)), 15);
}

/**
 * The forms a grid cell may show a number in, fullest first: `digits` significant digits, fewer
 * down to two, then two and one decimals (a block's 1×1 weight −0.003399 fits no cell at four
 * significant digits). A grid takes the first whose widest text fits its cells.
 */
export function numberForms(digits) {
  const forms = [];
  for (let d = digits; d >= 2; d--) forms.push((v) => formatNumber(v, d));
  forms.push((v) => formatFixed(v, 2), (v) => formatFixed(v, 1));
  return forms;
}

/** Exact value for data attributes and tests (round-trips through Number()). */
export function exact(v) {
  return String(v);
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
