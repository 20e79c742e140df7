// The pointwise stage of a separable convolution: for the current pixel (i, j),
// the C·M vector z read across the depthwise maps, the C·M × O matrix of 1×1
// weights, and the O outputs at that pixel; then the full output maps.
import { t } from "../core/i18n.js";
import { channelHue, MIXED_HUE } from "./colors.js";
import { Heatmap } from "./grid.js";
import { at, el, fitCell, partialMap, StageView } from "./common.js";
import { labelHeight, labelWidth, readability } from "./layout.js";
import { widestTexts } from "./focus.js";

export class PointwiseView extends StageView {
  constructor(root, store, stage, handlers = {}) {
    const { header } = store;
    super(root, store, stage, handlers, header.kernels.pointwise_filter);
    this.multiplier = header.channel_multiplier;
    this.matrix = header.kernels.pointwise_filter; // (C*M, O)
    [this.rows, this.outChannels] = this.matrix.shape;
    this.depthwise = store.stages[0]; // its values are the C·M maps (q*M + r, i, j)
  }

  build(width, height, maxCell = null) {
    const { rows: CM, outChannels: O, outH, outW } = this;
    const { presenting } = readability();
    maxCell = maxCell ?? (presenting ? 200 : 96);
    // Captions (two rows over the mix: its title and a column title) at the stage's label size.
    const label = labelHeight();
    // The mix (z, the 1×1 weights, the sums) is this stage's focus: its numbers stay readable.
    const mixCap = presenting ? 96 : 46;
    // Its height: the C·M rows and the sums' row, two captions, the box's padding, gap and
    // border (36 px). Cells stay 14 px or more, unless the rows need less to fit (24 channels
    // of an expanded block at 1280×720: there the mix is colours, its numbers in the panel).
    const fitHeight = Math.floor((height - 2 * label - 36) / (CM + 1));
    const smallest = Math.min(14, Math.max(6, fitHeight));
    const mixCell = Math.max(smallest, Math.min(mixCap, fitHeight, Math.floor((width * 0.34) / (O + 2))));
    const mixWidth = mixCell * (O + 1) + 70;
    const sideWidth = (width - mixWidth - 48) / 2;
    // Map captions and the column titles (which wrap in a narrow column) take room too.
    let captionW = labelWidth(`z ${CM - 1} = ${CM - 1}·${this.multiplier}+${this.multiplier - 1}`);
    const titleW = labelWidth(t("stage.inputs.depthwise", { n: CM }));
    const measure = (cell, count) => {
      const columns = Math.max(1, Math.floor(sideWidth / (Math.max(outW * cell + 4, captionW) + 14)));
      const title = labelHeight(Math.min(4, Math.ceil(titleW / Math.max(1, sideWidth))));
      return Math.ceil(count / columns) * (outH * cell + label + 12) + title + 8;
    };
    const fits = (c) => outW * c + 14 <= sideWidth && measure(c, CM) <= height && measure(c, O) <= height;
    let cell = fitCell(fits, 2, maxCell);
    // Tight: short captions ("z 5", without "= q·M+r") let the maps share rows.
    const short = cell < 6;
    if (short) {
      captionW = labelWidth(`z ${CM - 1}`);
      cell = fitCell(fits, 1, maxCell);
    }
    this.cell = cell;

    const layout = el("div", "stage-layout pointwise");
    const inputs = el("div", "pw-side pw-inputs");
    inputs.append(el("p", "column-title", t("stage.inputs.depthwise", { n: CM })));
    const inputMaps = el("div", "map-grid");
    this.inputs = [];
    for (let a = 0; a < CM; a++) {
      const q = Math.floor(a / this.multiplier);
      const map = new Heatmap({
        rows: outH, cols: outW, cell, hue: channelHue(q), className: "output",
        label: ((text) => (short ? text.split(" = ")[0] : text))(t("stage.z_channel_dw", { o: a, q, m: this.multiplier, r: a % this.multiplier })), // z, as the formula
      });
      inputMaps.append(map.element);
      this.inputs.push(map);
    }
    inputs.append(inputMaps);

    const mix = el("div", "pw-mix");
    // Presenter mode hides the arithmetic panel: the mix is where the class reads the numbers,
    // in the shortest forms if that is what fits (a block's 16 rows at 1920×1080: 44 px cells).
    const shortForms = presenting;
    const vector = new Heatmap({ rows: CM, cols: 1, cell: mixCell, className: "vector", shortForms, label: t(this.stage.blockName ? "blocks.play.vector" : "arith.vector") }); // a block's input is x
    const matrix = new Heatmap({
      rows: CM, cols: O, cell: mixCell, className: "matrix", shortForms, label: t("stage.matrix"),
      onCell: this.handlers.onPointwiseCell ? (a, k) => this.handlers.onPointwiseCell(a, k) : null,
    });
    const sums = new Heatmap({ rows: 1, cols: O, cell: mixCell, className: "sums", hue: MIXED_HUE, shortForms, label: t("stage.sums") });
    // Row hues: each entry of z belongs to one input channel q.
    const hues = el("div", "row-hues");
    hues.style.height = `${CM * mixCell}px`;
    for (let a = 0; a < CM; a++) {
      const swatch = el("span", "hue");
      swatch.style.background = channelHue(Math.floor(a / this.multiplier));
      hues.append(swatch);
    }
    const top = el("div", "mix-row");
    top.append(hues, vector.element, el("span", "times", "×"), matrix.element);
    const bottom = el("div", "mix-row sums-row");
    bottom.append(el("span", "equals", "="), sums.element);
    bottom.style.paddingLeft = `${mixCell + 52}px`;
    mix.append(top, bottom);
    this.vector = vector;
    this.matrixView = matrix;
    this.sums = sums;
    // A frame that walks across the outputs, column k of the weights with sum k, when
    // a step is shown slowly: "each output is the vector times one column".
    this.sweeps = [matrix, sums].map((view) => {
      const sweep = el("div", "sweep");
      sweep.style.width = `${mixCell}px`;
      view.overlay.append(sweep);
      return sweep;
    });
    this.mixCell = mixCell;
    this.sweptStep = -1;

    const outputs = el("div", "pw-side pw-outputs");
    outputs.append(el("p", "column-title", t("stage.outputs")));
    const outputMaps = el("div", "map-grid");
    this.outputs = [];
    for (let k = 0; k < O; k++) {
      const map = new Heatmap({ rows: outH, cols: outW, cell, hue: MIXED_HUE, className: "output", label: t("stage.out_channel", { o: k }) });
      outputMaps.append(map.element);
      this.outputs.push(map);
    }
    outputs.append(outputMaps);
    layout.append(inputs, mix, outputs);
    this.show(layout);
  }

  sweep(duration) {
    const O = this.outChannels;
    const distance = (O - 1) * this.mixCell;
    for (const sweep of this.sweeps) {
      sweep.animate(
        [{ transform: "translateX(0)", opacity: 1 }, { transform: `translateX(${distance}px)`, opacity: 1 }],
        { duration, easing: `steps(${O}, jump-none)` },
      );
    }
  }

  render(frame) {
    const { outH, outW, outChannels: O, stage } = this;
    const depthwiseValues = this.depthwise.values;
    const perMap = outH * outW;
    const scales = this.frameScales(this.depthwise.valuesMaxAbs, (fresh) => {
      // One number size for all maps of a side: the widest of its values decides.
      const inputHint = widestTexts(depthwiseValues);
      const outputHint = widestTexts(stage.values);
      for (const map of this.inputs) map.numberHint = inputHint;
      for (const map of this.outputs) map.numberHint = outputHint;
      this.inputs.forEach((map, a) => map.draw(partialMap(depthwiseValues, a * perMap, outW, perMap), fresh.maps));
      this.matrixView.draw((a, k) => at(this.matrix, a, k), fresh.weights);
    });
    const i = frame.scalar("i");
    const j = frame.scalar("j");
    const vector = frame.array("vector").data;
    const outputs = frame.array("outputs").data;
    this.vector.draw((a) => vector[a], scales.maps, `${frame.local}|${scales.maps}`);
    this.sums.draw((_, k) => outputs[k], scales.maps, `${frame.local}|${scales.maps}`);
    for (const map of this.inputs) map.showCursor(i, j);
    if (frame.local !== this.sweptStep) {
      this.sweptStep = frame.local;
      const duration = this.handlers.animate ? this.handlers.animate() : 0;
      if (duration > 0) this.sweep(duration);
    }
    const count = frame.local + 1;
    for (let k = 0; k < O; k++) {
      this.outputs[k].drawPrefix(partialMap(stage.values, 0, outW, count, O, k), count, scales.maps);
      this.outputs[k].showCursor(i, j);
    }
  }
}
