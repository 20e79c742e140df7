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

/** Exact value for data attributes and tests (round-trips through Number()). */
export function exact(v) {
  return String(v);
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
