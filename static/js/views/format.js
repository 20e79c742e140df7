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
export function numberForms(digits, { short = false } = {}) {
  const forms = [];
  for (let d = digits; d >= 2; d--) forms.push((v) => formatNumber(v, d));
  forms.push((v) => formatFixed(v, 2), (v) => formatFixed(v, 1));
  // A focus grid that must carry numbers (the 1×1 mix in presenter mode, 16 rows in 1080 px:
  // 44 px cells, 18 px type) goes one step further: one decimal without its leading zero
  // ("−.8"). Never whole numbers: a weight of 0.3 shown as "0" would teach a wrong sum.
  if (short) forms.push((v) => withoutLeadingZero(formatFixed(v, 1)));
  return forms;
}

/** "−0.8" as "−.8", "0.34" as ".34"; other texts as they are. */
export function withoutLeadingZero(text) {
  return text.replace(/^(\u2212?)0\./, "$1.");
}

/** Exact value for data attributes and tests (round-trips through Number()). */
export function exact(v) {
  return String(v);
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
