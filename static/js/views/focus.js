// The focus view: the current window and its kernel, magnified, with their
// numbers, for when the whole stage is too large for its grids to carry numbers
// (a 32×32×8 input with M = 4, a projector at the back of a hall). It draws what
// the step's frame carries: the window values (padding cells hatched), the
// weights and the sum, all from the server.
import { t } from "../core/i18n.js";
import { formatNumber } from "./format.js";
import { Heatmap } from "./grid.js";
import { cellForFont, labelHeight, labelWidth, NUMBER_FONT, readability, textWidth } from "./layout.js";
import { el } from "./common.js";

const GAP = 14;
const OPERATOR = 30;

/** The widest numbers of `data` (a few texts, for sizing the cells). */
export function widestTexts(data, limit = 20000) {
  let best = "0";
  const step = Math.max(1, Math.floor(data.length / limit));
  for (let n = 0; n < data.length; n += step) {
    const text = formatNumber(data[n], 4);
    if (text.length > best.length) best = text;
  }
  return [best];
}

export class FocusView {
  /**
   * kh, kw : kernel size; channels : windows side by side (1 for depthwise, the
   * group's input channels for standard/grouped); texts : the widest input and weight numbers.
   */
  constructor({ kh, kw, channels, texts, captions = [], sumCaption = "out[00, 00, 00]" }) {
    this.kh = kh;
    this.kw = kw;
    this.channels = channels;
    this.texts = texts;
    this.captions = captions; // the widest window and kernel captions it will show
    this.sumCaption = sumCaption;
  }

  /**
   * Cell size for readable numbers: `boost` 1 is the smallest readable cell (the floor a
   * view shrinks to when nothing larger fits); above 1, a little above the size the zoom
   * asks for (zoomed in, the class reads larger numbers here).
   */
  cellFor(boost = 1.15) {
    const { minFont, focusFont } = readability();
    return cellForFont(Math.ceil(boost <= 1 ? minFont : focusFont * boost), this.texts);
  }

  /** {width, height} of the view at cell `fc`: "column" stacks window over kernel, "row" puts them side by side. */
  size(fc, orientation) {
    const { kh, kw, channels } = this;
    const label = labelHeight();
    const gridW = Math.max(kw * fc + 4, labelWidth("w[0, 0, 0, 0]"), ...this.captions.map((text) => labelWidth(text))) + 4;
    const sumW = labelWidth(this.sumCaption) + Math.ceil(readability().labelFont * 2 * 0.62 * 6) + 40;
    const gridH = kh * fc + label + 4;
    // The title wraps in a narrow view (a column on a projector wraps it to three lines).
    const titleLines = (width) => {
      const text = textWidth(t("focus.title"), `700 ${readability().labelFont}px ${NUMBER_FONT}`);
      return Math.max(1, Math.ceil((text * 1.15) / Math.max(1, width - 28)));
    };
    const titleH = (width) => Math.max(2, titleLines(width)) * Math.ceil(readability().labelFont * 1.25) + 18;
    // The ⊙ between window and kernel (1.5× the label size) and the sum under them: "= out[…]"
    // on one line, its value (2× the label size) under it when the view is narrow.
    const lf = readability().labelFont;
    const operator = Math.max(OPERATOR, Math.ceil(lf * 1.5 * 1.35) + 12);
    const sum = Math.ceil(lf * 1.5 * 1.35) + Math.ceil(lf * 2 * 1.25) + 8;
    if (orientation === "compact") {
      // Beside compact lanes: each channel's window ⊙ kernel on a row, the channels stacked
      // with + between them, the sum under them; the title only for screen readers.
      const line = Math.ceil(readability().labelFont * 2 * 1.25);
      return {
        width: 2 * gridW + operator + 2 * 12 + 28,
        height: channels * gridH + (channels - 1) * (operator + 8) + line + 8 + 24,
      };
    }
    if (orientation === "column") {
      // Per channel: window over kernel; channels side by side; the sum under them.
      // The + between channels is 1.5× the label size (it widens with the zoom).
      const width = channels * gridW + (channels - 1) * (2 * GAP + operator) + 28;
      return { width, height: titleH(width) + 2 * gridH + operator + sum + 36 };
    }
    const width = channels * (2 * gridW + operator + GAP) + operator + sumW + 28;
    return { width, height: titleH(width) + gridH + 28 };
  }

  build(fc, orientation) {
    const { kh, kw, channels } = this;
    this.cell = fc;
    const root = el("aside", `focus-view ${orientation}`);
    root.style.width = `${this.size(fc, orientation).width}px`;
    root.setAttribute("aria-label", t("focus.title"));
    root.append(el("p", orientation === "compact" ? "focus-title visually-hidden" : "focus-title", t("focus.title")));
    const body = el("div", "focus-body");
    this.windows = [];
    this.kernels = [];
    for (let c = 0; c < channels; c++) {
      const pair = el("div", "focus-pair");
      const window = new Heatmap({ rows: kh, cols: kw, cell: fc, className: "focus-window", label: "", numberHint: this.texts });
      const kernel = new Heatmap({ rows: kh, cols: kw, cell: fc, className: "focus-kernel", label: "", numberHint: this.texts });
      pair.append(window.element, el("span", "times", "⊙"), kernel.element);
      if (c > 0) body.append(el("span", "plus", "+"));
      body.append(pair);
      this.windows.push(window);
      this.kernels.push(kernel);
    }
    const sum = el("div", "focus-sum");
    this.sumLabel = el("p", "focus-sum-label", "");
    this.sumValue = el("output", "focus-sum-value", "");
    sum.append(el("span", "equals", "="), this.sumLabel, this.sumValue);
    body.append(sum);
    root.append(body);
    this.element = root;
    return root;
  }

  /**
   * Paint the step: window values (C', kh, kw) with their padding mask, weights of the
   * same shape, labels for each channel, and the sum with its name.
   */
  render({ window, weights, mask, labels, sumLabel, sum, scales, palettes = null }) {
    const taps = this.kh * this.kw;
    const key = `${window.join(",")}|${weights.join(",")}|${labels.join("|")}|${scales.maps}|${scales.weights}|${palettes ? "photo" : ""}`;
    if (key === this.lastKey) return;
    this.lastKey = key;
    for (let c = 0; c < this.channels; c++) {
      const offset = c * taps;
      const [windowLabel, kernelLabel] = labels[c] || ["", ""];
      this.windows[c].setLabel(windowLabel);
      this.kernels[c].setLabel(kernelLabel);
      this.windows[c].palette = palettes ? palettes[c] : null; // a photo's window in its own colours
      this.windows[c].draw((i, j) => {
        const n = i * this.kw + j;
        return mask[n] ? undefined : window[offset + n];
      }, scales.maps);
      this.kernels[c].draw((i, j) => weights[offset + i * this.kw + j], scales.weights);
    }
    this.sumLabel.textContent = sumLabel;
    this.sumValue.textContent = formatNumber(sum);
  }
}
