// An elementwise stage of a block (BatchNorm as scale · x + shift, ReLU / ReLU6, the residual
// add): one step per channel c. Left, the maps the stage reads; in the middle, channel c's map,
// what is done to every one of its values, and the map it becomes (with the residual's map for
// an add); right, the output maps, written channel by channel. Everything drawn is what the
// server sent (the step's output map, the previous stage's map, BatchNorm's scale and shift).
import { t } from "../core/i18n.js";
import { channelHue, maxAbs, MIXED_HUE, niceMax } from "../views/colors.js";
import { Heatmap } from "../views/grid.js";
import { el, fitCell } from "../views/common.js";
import { formatNumber } from "../views/format.js";
import { labelHeight, labelWidth, NUMBER_FONT, readability } from "../views/layout.js";
import { widestTexts } from "../views/focus.js";

/** What the stage does to one value of channel c, as the formula a student reads. */
export function elementwiseFormula(stage, c) {
  const info = stage.info;
  if (stage.kind === "batch_norm") {
    const scale = stage.scale.data[c];
    const shift = stage.shift.data[c];
    return t("blocks.play.formula.batch_norm", {
      scale: formatNumber(scale, 4), sign: shift < 0 ? "−" : "+", shift: formatNumber(Math.abs(shift), 4),
    });
  }
  if (stage.kind === "add") return t("blocks.play.formula.add", { source: sourceName(info.source) });
  return t(`blocks.play.formula.${info.function}`);
}

export function sourceName(source) {
  return source === "input" ? t("blocks.play.input") : source;
}

/** The focus maps: every value of one channel to two decimals (the cells' colours are exact),
 * so a 6×6 map's 36 numbers reach a projector's back row; the arithmetic panel has four digits.
 * Their numbers are 14 px or more (presenter mode's size when larger), in a shorter form (one
 * decimal) if that is what reaches it; only a cell too small for 14 px gets smaller numbers. */
class FocusMap extends Heatmap {
  digits() {
    return 3;
  }

  chooseFont(texts) {
    let font = super.chooseFont(texts);
    // One size across the focus (ElementwiseView.render): ReLU6's y, without minus signs, took
    // 17 px beside its x at 11 px.
    if (font && this.fontCap && font > this.fontCap) {
      font = this.fontCap;
      this.font = font;
      this.fontSpec = `600 ${font}px ${NUMBER_FONT}`;
      this.canvas.dataset.font = String(font);
    }
    if (font >= this.smallestFont) return font;
    this.font = 0;
    this.canvas.dataset.font = "0";
    return 0;
  }

  drawNumbers(kinds, numbers, max) {
    const rounded = numbers.map((value) => Math.round(value * 100) / 100);
    this.smallestFont = Math.max(14, readability().minFont);
    super.drawNumbers(kinds, rounded, max);
    if (this.font) return;
    this.smallestFont = 0;
    super.drawNumbers(kinds, rounded, max);
  }
}

/**
 * The side columns' titles as the page sets them (.column-title: its font, capitals, letter
 * spacing), measured in a hidden copy of the layout under `root`: `oneLine`, the width (CSS px)
 * of the wider title on one line, and `height(width)`, the taller one's height wrapped in a
 * column `width` px wide (its margin under it included).
 */
function measureTitles(root, texts) {
  const probe = el("div", "stage-layout pointwise elementwise");
  probe.style.cssText = "position: absolute; left: 0; top: 0; visibility: hidden; display: block;";
  const column = el("div", "pw-side");
  const titles = texts.map((text) => el("p", "column-title", text));
  column.append(...titles);
  probe.append(column);
  root.append(probe);
  column.style.width = "max-content";
  for (const title of titles) title.style.whiteSpace = "nowrap";
  const oneLine = Math.ceil(Math.max(...titles.map((title) => title.getBoundingClientRect().width)));
  for (const title of titles) title.style.whiteSpace = "";
  const margin = parseFloat(getComputedStyle(titles[0]).marginBottom) || 0;
  const heights = new Map();
  const height = (width) => {
    const key = Math.max(1, Math.floor(width));
    if (!heights.has(key)) {
      column.style.width = `${key}px`;
      heights.set(key, Math.ceil(Math.max(...titles.map((title) => title.getBoundingClientRect().height))) + margin);
    }
    return heights.get(key);
  };
  // Measured while the probe is in the page; it leaves with the build's replaceChildren.
  return { oneLine, height };
}

/** Both titles the height of the taller one: the two sides' maps start on one line. */
function alignTitles(layout) {
  const titles = [...layout.querySelectorAll(":scope > .pw-side > .column-title")];
  const tallest = Math.max(...titles.map((title) => title.getBoundingClientRect().height));
  for (const title of titles) title.style.minHeight = `${Math.ceil(tallest)}px`;
}

// Sides as wide as their titles on one line may take this much of the focus's cell, no more:
// the focus's numbers are what the class reads (a 44 px cell at 1280×720 carries 14 px numbers,
// 40 px only 13). Beyond it (presenter mode's large focus, the quiz beside the stage) the titles
// wrap, both to one height.
const TITLE_CELL_SHARE = 0.95;
// The flex layout gives a side up to 7 px less than this estimate (the focus's padding and
// operators against `operators`): the margin that keeps a title sized to fit on one line.
const TITLE_SLACK = 8;

function plane(tensor, c) {
  const [, h, w] = tensor.shape;
  return tensor.data.subarray(c * h * w, (c + 1) * h * w);
}

export class ElementwiseView {
  constructor(root, store, stage, handlers = {}) {
    this.root = root;
    this.store = store;
    this.stage = stage;
    this.handlers = handlers;
    this.input = store.inputOf(stage); // (C, H, W)
    this.residual = stage.kind === "add"
      ? (stage.info.source === "input" ? store.header.input : store.byName(stage.info.source).output) : null;
    [this.channels, this.outH, this.outW] = stage.outputShape;
  }

  build(width, height, maxCell = null) {
    const { channels: C, outH, outW } = this;
    const { presenting } = readability();
    const label = labelHeight();
    const focusMaps = this.residual ? 3 : 2;
    // The focus (channel c before and after) is the stage's subject: its numbers stay readable.
    const cap = maxCell ?? (presenting ? 120 : 72);
    const operators = (focusMaps - 1) * 28 + 32;
    // Side maps carry colours (their numbers are the focus's): short captions let them pack.
    const captionW = labelWidth(t("blocks.play.channel_short", { c: C - 1 }));
    const inputsTitle = t("blocks.play.inputs", { n: C });
    const outputsTitle = t("blocks.play.outputs", { n: C });
    const titles = measureTitles(this.root, [inputsTitle, outputsTitle]);
    const rowHeight = (cell) => outH * cell + 4 + label + 6;
    // The sides take what their maps need at 4 px a cell; the focus takes the rest.
    const rowsFit = Math.max(1, Math.floor((height - titles.height(120) - 8) / rowHeight(4)));
    const mapsMin = Math.max(72, Math.ceil(C / rowsFit) * (Math.max(outW * 4 + 4, captionW) + 8));
    const focusCellUnder = (sideMin, overhead) => Math.max(8, Math.min(cap,
      Math.floor((width - 2 * sideMin - 52 - operators) / (focusMaps * outW)),
      Math.floor((height - overhead) / outH)));
    // Tight (an 8×8 channel at 1280×720): the focus's title line goes to screen readers only
    // (its rule is in the formula bar over the stage), so the cells carry one decimal at least.
    const focusFor = (sideMin) => {
      const titled = focusCellUnder(sideMin, 2 * label + 36) >= 36;
      return { titled, cell: focusCellUnder(sideMin, titled ? 2 * label + 36 : label + 30) };
    };
    // The sides' titles on one line when that costs the focus little: a wrapped title pushed
    // its side's maps a line under the other side's (the add at 1280×720, the sides 155 px).
    const oneLineMin = Math.max(mapsMin, titles.oneLine + TITLE_SLACK);
    const packed = focusFor(mapsMin);
    const oneLine = focusFor(oneLineMin);
    const { titled, cell: focusCell } = oneLine.cell >= TITLE_CELL_SHARE * packed.cell ? oneLine : packed;
    const focusWidth = focusMaps * (outW * focusCell + 4) + operators;
    const sideWidth = Math.max(40, (width - focusWidth - 60) / 2);
    const titleHeight = titles.height(sideWidth);
    const measure = (cell) => {
      const columns = Math.max(1, Math.floor((sideWidth + 8) / (Math.max(outW * cell + 4, captionW) + 8)));
      return Math.ceil(C / columns) * rowHeight(cell) + titleHeight + 8;
    };
    const cell = fitCell((c) => outW * c + 4 <= sideWidth && measure(c) <= height, 1, Math.min(40, cap));
    this.cell = cell;
    this.focusCell = focusCell;

    const layout = el("div", "stage-layout pointwise elementwise");
    const side = (className, title, hue) => {
      const column = el("div", `pw-side ${className}`);
      column.append(el("p", "column-title", title));
      const grid = el("div", "map-grid block-maps");
      const maps = [];
      for (let c = 0; c < C; c++) {
        const map = new Heatmap({
          rows: outH, cols: outW, cell, hue: hue(c), className: "output", label: t("blocks.play.channel_short", { c }), ariaLabel: t("blocks.play.channel", { c }),
        });
        map.caption.translate = false; // c0, c1, …: channel names, as in the formulas
        grid.append(map.element);
        maps.push(map);
      }
      column.append(grid);
      return { column, maps };
    };
    const inputs = side("pw-inputs", inputsTitle, (c) => channelHue(c));
    const outputs = side("pw-outputs", outputsTitle, () => MIXED_HUE);
    this.inputs = inputs.maps;
    this.outputs = outputs.maps;

    const focus = el("div", "pw-mix block-focus");
    const row = el("div", "mix-row block-focus-row");
    this.focusInput = new FocusMap({ rows: outH, cols: outW, cell: focusCell, className: "vector", label: "x" });
    this.formula = el("p", titled ? "block-formula" : "block-formula visually-hidden", "");
    this.focusOutput = new FocusMap({ rows: outH, cols: outW, cell: focusCell, className: "sums", hue: MIXED_HUE, label: "y" });
    row.append(this.focusInput.element);
    if (this.residual) {
      this.focusResidual = new FocusMap({ rows: outH, cols: outW, cell: focusCell, className: "vector", label: sourceName(this.stage.info.source) });
      row.append(el("span", "times", "+"), this.focusResidual.element);
    }
    row.append(el("span", "equals", "→"), this.focusOutput.element);
    focus.setAttribute("aria-label", t("blocks.play.focus_label"));
    focus.append(this.formula, row);
    layout.append(inputs.column, focus, outputs.column);
    this.root.replaceChildren(layout); // the titles' probe leaves here
    alignTitles(layout);
    this.layout = layout;
    this.drawn = null;
  }

  /** The output map of channel c, when its step has arrived. */
  outputOf(c) {
    const chunk = this.stage.chunks.find((entry) => c >= entry.start && c < entry.start + entry.n);
    if (!chunk) return null;
    const size = this.outH * this.outW;
    const row = c - chunk.start;
    return chunk.fields.output.data.subarray(row * size, (row + 1) * size);
  }

  render(frame) {
    const { outW, stage } = this;
    const c = frame.local;
    const output = frame.array("output").data;
    const inputMax = maxAbs(this.input.data);
    const outputMax = this.stage.output ? maxAbs(this.stage.output.data) : Math.max(maxAbs(output), inputMax);
    const scale = niceMax(Math.max(inputMax, outputMax, this.residual ? maxAbs(this.residual.data) : 0));
    this.scales = { maps: scale, weights: null }; // no weights: one legend
    const value = (data) => (i, j) => data[i * outW + j];
    if (this.drawn !== scale) {
      this.drawn = scale;
      const hint = widestTexts(this.input.data);
      this.inputs.forEach((map, k) => {
        map.numberHint = hint;
        map.draw(value(plane(this.input, k)), scale);
      });
      // Each channel's own numbers size its focus font: a channel of small values (−0.00123)
      // does not take the numbers of every other channel away.
      for (const map of [this.focusInput, this.focusOutput, this.focusResidual]) if (map) map.numberHint = [];
      this.drawnOutputs = -1;
    }
    const formula = t("blocks.play.focus", { c, n: this.channels, formula: elementwiseFormula(stage, c) });
    if (this.formula.textContent !== formula) this.formula.textContent = formula;
    this.focusInput.setLabel(t("blocks.play.channel_in", { c }));
    this.focusOutput.setLabel(t("blocks.play.channel_out", { c }));
    this.focusInput.draw(value(plane(this.input, c)), scale, `${c}|${scale}`);
    if (this.focusResidual) {
      this.focusResidual.setLabel(`${sourceName(stage.info.source)} ${c}`);
      this.focusResidual.draw(value(plane(this.residual, c)), scale, `${c}|${scale}`);
    }
    this.focusOutput.draw(value(output), scale, `${c}|${scale}`);
    // The focus's maps at one number size, the smallest any of them reached on its own.
    const focus = [this.focusInput, this.focusResidual, this.focusOutput].filter(Boolean);
    const fonts = focus.map((map) => map.font).filter((font) => font > 0);
    const shared = fonts.length ? Math.min(...fonts) : 0;
    for (const map of focus) {
      if (!map.font || map.font <= shared) continue;
      map.fontCap = shared;
      map.lastKey = null; // redrawn at the shared size
      const data = map === this.focusInput ? plane(this.input, c) : map === this.focusOutput ? output : plane(this.residual, c);
      map.draw(value(data), scale, `${c}|${scale}|${shared}`);
      map.fontCap = 0;
    }
    this.inputs.forEach((map, k) => map.element.classList.toggle("current", k === c));
    for (let k = 0; k < this.outputs.length; k++) {
      const data = k <= c ? this.outputOf(k) : null;
      this.outputs[k].draw(data ? value(data) : () => null, scale, `${k <= c && data ? "y" : "-"}|${scale}`);
      this.outputs[k].element.classList.toggle("current", k === c);
    }
  }
}
