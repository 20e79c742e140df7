// The lane views (depthwise; standard and grouped): a window slides over the padded input,
// one lane per input channel, and a focus view carries the numbers when the grids are too
// small to. What they share: the input, its lanes, the numbers' widths, the focus view.
import { t } from "../core/i18n.js";
import { channelHue, maxAbs } from "./colors.js";
import { at, el, StageView } from "./common.js";
import { FocusView, widestTexts } from "./focus.js";
import { Heatmap } from "./grid.js";
import { labelHeight, labelWidth, readability } from "./layout.js";

/**
 * A stage whose window slides over the padded input, one lane per input channel
 * (depthwise; standard and grouped): the input as the trace's header gives it, and
 * texts as wide as the widest numbers of the input and of the weights (the grids' and
 * the focus view's number sizes are chosen for them).
 */
export class LaneView extends StageView {
  constructor(root, store, stage, handlers, weights) {
    super(root, store, stage, handlers, weights);
    const header = store.header;
    this.channels = header.in_channels;
    [this.kh, this.kw] = header.kernel_hw;
    this.pad = header.padding;
    this.padded = header.padded_input; // (C, Hp, Wp)
    this.input = header.input; // (C, H, W)
    this.inputMax = maxAbs(this.padded.data);
    this.inputTexts = widestTexts(this.padded.data);
    this.kernelTexts = widestTexts(weights.data);
  }

  /**
   * What every lane layout starts from, for a stage area of width × height CSS px: the
   * padded input's size, the presenter state, the largest cell (`maxCell`, or the mode's
   * cap), a caption's height and the input lanes' caption width.
   */
  buildArea(width, height, maxCell) {
    const [, hp, wp] = this.padded.shape;
    this.area = [width, height];
    const { presenting, zoom } = readability();
    return {
      hp, wp, presenting, zoom,
      cap: maxCell ?? (presenting ? 240 : 110),
      label: labelHeight(),
      inLabel: labelWidth(t("stage.in_channel", { q: this.channels - 1 })),
    };
  }

  /** The caption of the window over input channel q (the focus view's first grid). */
  windowCaption(q) {
    return `${t("arith.window")} · ${t("stage.in_channel", { q })}`;
  }

  /**
   * The focus view of this stage, `channels` windows side by side, sized for its widest
   * captions: the last channel's window, `kernelCaption` and the last output's sum.
   */
  focusView(channels, kernelCaption, lastOutput) {
    return new FocusView({
      kh: this.kh, kw: this.kw, channels, texts: [...this.inputTexts, ...this.kernelTexts],
      captions: [this.windowCaption(this.channels - 1), kernelCaption],
      sumCaption: `out[${this.outH - 1}, ${this.outW - 1}, ${lastOutput}]`,
    });
  }

  /**
   * Input channel q's lane (a section in the channel's hue) and its padded grid at `cell`
   * px: padding hatched, the real input framed, editable when the page edits inputs.
   */
  inputLane(q, cell, numberHint = []) {
    const [, hp, wp] = this.padded.shape;
    const hue = channelHue(q);
    const lane = el("section", "lane");
    lane.style.setProperty("--hue", hue);
    lane.setAttribute("aria-label", t("stage.channel", { q }));
    const input = new Heatmap({
      rows: hp, cols: wp, cell, hue, className: "input", numberHint,
      label: t("stage.in_channel", { q }),
      ariaLabel: t("stage.grid_label", { name: t("stage.in_channel", { q }), rows: hp, cols: wp }),
      onCell: this.handlers.onInputCell
        ? (i, j) => this.handlers.onInputCell(q, i - this.pad.pad_top, j - this.pad.pad_left)
        : null,
    });
    input.showRegion(this.pad.pad_top, this.pad.pad_left, this.input.shape[1], this.input.shape[2]);
    input.palette = this.handlers.inputPalette ? this.handlers.inputPalette(q) : null; // a photo's own colours
    return { lane, input, hue };
  }

  /** Paint an input lane's grid with channel q's padded input (padding cells hatched). */
  drawInput(grid, q, scales) {
    const { pad_top: top, pad_left: left } = this.pad;
    const [, h, w] = this.input.shape;
    grid.draw((i, j) => {
      const inside = i >= top && i < top + h && j >= left && j < left + w;
      return inside ? at(this.padded, q, i, j) : undefined;
    }, scales.maps);
  }

  /** The frame's window taps as rows and columns of the padded grid. */
  windowTaps(frame) {
    return [
      Array.from(frame.array("rows").data, (row) => row + this.pad.pad_top),
      Array.from(frame.array("cols").data, (col) => col + this.pad.pad_left),
    ];
  }
}
