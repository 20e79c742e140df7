// Helpers the lesson widgets share: markup from translated text, number tables,
// and the page's arrays as API request bodies. Every number drawn here came from
// the server; the helpers only format and index.
import { t } from "../core/i18n.js";
import { escapeHtml, exact, formatNumber } from "../views/format.js";
import { themedLayout } from "../views/theme.js";

export { escapeHtml, exact, formatNumber, t };

/** Translated text with `code` spans (backticks) and **bold**, safe as HTML. */
export function rich(key, params) {
  return escapeHtml(t(key, params))
    .replace(/`([^`]+)`/g, (_, code) => `<code translate="no">${breakAtTerms(code)}</code>`)
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
}

// A word that a formula's next term should not be torn from: an operator or a sum's sign.
const OPERATOR = /^(=|·|\+|−|-|×|\/|→|≈|&lt;|&gt;|≤|≥|Σ\S*)$/;

/** A formula as HTML that wraps, in a narrow column, only where a reader would break it:
 * before an operator, between terms, after a call's commas; never inside an index such as
 * `w[di, dj, c, k]`, and never between an operator (or Σ_r) and the term it applies to.
 * `html` is already escaped; the spaces that must not break become no-break spaces. */
export function breakAtTerms(html) {
  const words = html.split(" ");
  let brackets = 0;
  return words.map((word, n) => {
    const glue = n === 0 ? "" : brackets > 0 || OPERATOR.test(words[n - 1]) ? "&nbsp;" : " ";
    for (const char of word) brackets += char === "[" ? 1 : char === "]" ? -1 : 0;
    return glue + word;
  }).join("");
}

/** A code listing whose lines wrap inside the column: each source line is a block, so a
 * wrapped line's continuation is indented under it and never mistaken for the next line. */
export function codeHtml(text) {
  const lines = text.split("\n").map((line) => `<span class="code-line">${escapeHtml(line) || " "}</span>`);
  return `<pre translate="no"><code>${lines.join("")}</code></pre>`;
}

/** Flat values of nested lists (row-major). */
export function flatten(nested) {
  return Array.isArray(nested) ? nested.flatMap(flatten) : [nested];
}

/** Shape of nested lists. */
export function shapeOf(nested) {
  const shape = [];
  for (let level = nested; Array.isArray(level); level = level[0]) shape.push(level.length);
  return shape;
}

/** A small 2-D table of numbers, each cell carrying its exact value. */
export function matrixHtml(rows, { role = "", caption = "", label = "" } = {}) {
  let html = `<table class="lesson-matrix" data-role="${escapeHtml(role)}"${label ? ` aria-label="${escapeHtml(label)}"` : ""}>`;
  if (caption) html += `<caption>${escapeHtml(caption)}</caption>`;
  html += "<tbody>";
  for (const row of rows) {
    html += "<tr>" + row.map((v) => `<td data-value="${exact(v)}">${formatNumber(v)}</td>`).join("") + "</tr>";
  }
  return html + "</tbody></table>";
}

/** Map `channel` of an NHWC batch-0 output (nested lists) as rows. */
export function channelRows(output, channel) {
  return output[0].map((row) => row.map((pixel) => pixel[channel]));
}

/** Kernel `[kh, kw, a, b]` slice (a, b) as rows. */
export function kernelRows(kernel, a, b) {
  return kernel.map((row) => row.map((cell) => cell[a][b]));
}

/** True when two nested arrays hold the same numbers to display precision (a comparison, not a computation). */
export function sameNumbers(a, b, tolerance = 1e-9) {
  const x = flatten(a);
  const y = flatten(b);
  return x.length === y.length && x.every((v, n) => Math.abs(v - y[n]) <= tolerance * Math.max(1, Math.abs(v)));
}

/** The "…" placeholder while a widget waits for the server. */
export function loading(element) {
  element.innerHTML = `<p class="hint">${escapeHtml(t("lesson.loading"))}</p>`;
}

export function failed(element, error) {
  element.innerHTML = `<p class="problem">${escapeHtml(t("lesson.failed", { message: error.message || String(error) }))}</p>`;
}

/**
 * One update of a widget: `work()` asks the server and fills `element` (or more), with the
 * placeholder in `element` meanwhile and the failure in it when a request fails. An update
 * aborted by a newer one (AbortError) leaves `element` to the newer one.
 */
export async function whileLoading(element, work) {
  loading(element);
  try {
    await work();
  } catch (error) {
    if (error.name !== "AbortError") failed(element, error);
  }
}

/** A plotly layout in the page's type and colours. */
export function chartLayout(extra) {
  // Text, grid and legend in the theme's colours (theme.js relayouts them when it changes).
  return themedLayout({
    margin: { l: 64, r: 16, t: 36, b: 64 },
    font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans CJK SC', sans-serif", size: 13, color: "#1b2230" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    legend: { x: 0.02, y: 0.98 },
    ...extra,
  });
}

export const CHART_CONFIG = { displayModeBar: false, responsive: true };
