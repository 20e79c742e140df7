// Standard and grouped convolution with the same machinery: every input channel
// of the current output's group carries the window and its slice of that
// output's filter, and all of them feed one output map (fan-in).
import { t } from "../core/i18n.js";
import { MIXED_HUE } from "./colors.js";
import { Heatmap, svgElement } from "./grid.js";
import { anchor, at, el, scrollIntoViewIfNeeded, sizeWireLayer, wireLayer, wirePath } from "./common.js";
import { LaneView } from "./lanes.js";
import { captionBox, focusShare, labelHeight, labelWidth, numberFont, readability } from "./layout.js";

export class StandardView extends LaneView {
  constructor(root, store, stage, handlers = {}) {
    const { header } = store;
    super(root, store, stage, handlers, header.kernels.weight);
    this.groups = header.groups;
    this.outChannels = header.out_channels;
    this.groupIn = this.channels / this.groups;
    this.groupOut = this.outChannels / this.groups;
    this.weight = header.kernels.weight; // (O, Cg, kh, kw)
    this.activeOutput = -1;
  }

  /**
   * Build for a stage area of width × height CSS px: every lane on screen, groups in a
   * grid, kernels at the inputs' scale, and the focus view when grids cannot carry numbers.
   */
  build(width, height, maxCell = null) {
    const { channels: C, outChannels: O, kh, kw, outH, outW, groups } = this;
    const G = groups;
    const Cg = this.groupIn;
    const { hp, wp, presenting, zoom, cap, label, inLabel } = this.buildArea(width, height, maxCell);
    const kText = t("stage.kernel_std", { o: O - 1, c: Cg - 1 });
    const outLabel = labelWidth(t("stage.out_channel", { o: O - 1 }));
    let wireGap = 90;
    let compact = false; // lanes of inputs only, tight (the focus view carries the kernels)
    // Groups in a grid (gc columns), each group's lanes in lc columns, the outputs in
    // columns of their own; kernels at the inputs' scale. Wires run under the lanes.
    const sizes = (cell, gc, lc) => {
      const kBox = captionBox(kText, kw * cell + 4);
      const laneW = compact ? 10 + Math.max(wp * cell + 4, inLabel) : 22 + Math.max(wp * cell + 4, inLabel) + 44 + kBox.width;
      const laneH = compact ? 10 + label + hp * cell + 4 : 18 + Math.max(label + hp * cell, labelHeight(kBox.lines) + kh * cell) + 4;
      const rows = Math.ceil(Cg / lc);
      const groupW = lc * laneW + (lc - 1) * 12 + (G > 1 ? 16 : 0);
      const groupH = (G > 1 ? label + 20 : 0) + rows * laneH + (rows - 1) * 8;
      const groupRows = Math.ceil(G / gc);
      return { inputsW: gc * groupW + (gc - 1) * 12, inputsH: groupRows * groupH + (groupRows - 1) * 10 };
    };
    const mapW = (cell) => Math.max(outW * cell + 4, outLabel) + 14;
    const mapH = (cell) => label + outH * cell + 4 + 14;
    const best = (w, h) => {
      // Compact lanes are small: their cells go down in quarter pixels (colours only, no numbers to fit).
      for (let cell = cap; cell >= 1; cell -= compact && cell <= 4 ? 0.25 : 1) {
        for (let gc = 1; gc <= G; gc++) {
          for (let lc = 1; lc <= Cg; lc++) {
            const { inputsW, inputsH } = sizes(cell, gc, lc);
            if (inputsH > h) continue;
            const oc = Math.ceil(O / Math.max(1, Math.floor(h / mapH(cell))));
            if (inputsW + wireGap + oc * mapW(cell) <= w) return { cell, gc, lc, oc };
          }
        }
      }
      // Nothing fits (a phone): one column as wide as the screen; the stage scrolls down.
      for (let cell = cap; cell > 1; cell--) if (sizes(cell, 1, 1).inputsW + wireGap + mapW(cell) <= w) return { cell, gc: 1, lc: 1, oc: 1, fallback: true };
      return { cell: 1, gc: 1, lc: 1, oc: 1, fallback: true };
    };
    const { inputTexts, kernelTexts } = this;
    const focus = this.focusView(Cg, kText, O - 1);
    let plan = { ...best(width, height), focus: null };
    const score = (candidate) => (candidate.fallback ? 0 : candidate.cell);
    // Zoomed in, lanes whose numbers come out smaller than the zoom asks (their captions took
    // the room) hand the numbers to the focus view, which draws them at the zoomed size.
    const zoomedOut = zoom > 1 && numberFont(plan.cell, inputTexts) < readability().focusFont;
    if (plan.fallback || !numberFont(plan.cell, inputTexts) || zoomedOut) {
      const share = focusShare();
      const allowed = (fc) => {
        const c = focus.size(fc, "column");
        const r = focus.size(fc, "row");
        return (c.width < width * share && c.height <= height) || (r.height < height * share && r.width <= width);
      };
      let fc = focus.cellFor(1.3);
      while (fc > focus.cellFor(1) && !allowed(fc)) fc -= 1;
      const column = focus.size(fc, "column");
      const row = focus.size(fc, "row");
      const options = [];
      if (column.width < width * share && column.height <= height) options.push({ ...best(width - column.width - 16, height), focus: "column" });
      if (row.height < height * share && row.width <= width) options.push({ ...best(width, height - row.height - 16), focus: "row" });
      // A row wider than the stage (zoomed in, its captions grow) does not fit: it scores 0,
      // and compact lanes beside a focus view that stacks its channels come first.
      const rowOverflows = !options.length && row.width > width;
      if (!options.length) options.push({ ...best(width, height - row.height - 16), focus: "row", ...(rowOverflows ? { fallback: true } : {}) });
      const withFocus = { ...options.reduce((x, y) => (score(y) > score(x) ? y : x)), fc };
      // No room for the focus view beside lanes that fit: the lanes, without it.
      const lanesOnly = plan;
      plan = !score(withFocus) && score(plan) && !rowOverflows ? plan : withFocus;
      // Still nothing fits (the stage between the settings and the lesson and quiz panels):
      // compact lanes of inputs, colours only, beside a focus view that carries the kernels.
      // Not on a phone (it scrolls down).
      // Zoomed in, compact lanes are also tried when their focus view draws larger numbers.
      if ((!score(plan) || (zoom > 1 && !plan.compact)) && width >= 480) {
        let fcCompact = focus.cellFor(1.3);
        const fitsCompact = (b) => b.width < width * 0.6 && b.height <= height;
        while (fcCompact > focus.cellFor(1) && !fitsCompact(focus.size(fcCompact, "compact"))) fcCompact -= 1;
        const box = focus.size(fcCompact, "compact");
        if (box.width < width * 0.6 && box.height <= height) {
          compact = true;
          wireGap = 36;
          const candidate = { ...best(width - box.width - 16, height), focus: "compact", fc: fcCompact, compact: true };
          if (score(candidate) && (!score(plan) || candidate.fc > plan.fc)) plan = candidate;
          else {
            compact = false;
            wireGap = 90;
          }
        }
      }
      if (!score(plan) && score(lanesOnly)) plan = lanesOnly;
    }
    const { cell, lc: columns } = plan;
    this.plan = plan;
    this.cell = cell;
    const kc = cell;
    const kernelCaption = captionBox(kText, kw * cell + 4);

    const layout = el("div", `stage-layout standard${plan.focus ? ` with-focus focus-${plan.focus}` : ""}${compact ? " compact" : ""}`);
    layout.dataset.cell = String(cell);
    layout.dataset.focus = plan.focus || "none";
    const main = el("div", "std-main");
    main.style.setProperty("--wire-gap", `${wireGap}px`);
    const inputs = el("div", "std-inputs");
    inputs.style.setProperty("--group-columns", String(plan.gc));
    this.lanes = [];
    for (let g = 0; g < groups; g++) {
      const group = el("div", groups > 1 ? "group" : "group single");
      group.style.setProperty("--columns", columns);
      if (groups > 1) group.append(el("p", "group-label", t("stage.group", { g })));
      const lanesOf = el("div", "group-lanes");
      group.append(lanesOf);
      for (let c = g * this.groupIn; c < (g + 1) * this.groupIn; c++) {
        const { lane, input, hue } = this.inputLane(c, cell);
        const kernel = compact ? null : new Heatmap({
          rows: kh, cols: kw, cell: kc, hue, className: "kernel", numberHint: kernelTexts,
          label: "",
          onCell: this.handlers.onKernelCell
            ? (i, j) => this.activeGroup === g &&
              this.handlers.onKernelCell(this.activeOutput * this.groupIn + (c - g * this.groupIn), i, j)
            : null,
        });
        if (kernel && kernelCaption.lines > 1) kernel.wrapCaption(kernelCaption.width);
        lane.append(input.element);
        if (kernel) lane.append(el("span", "times", "⊙"), kernel.element);
        lanesOf.append(lane);
        this.lanes.push({ element: lane, input, kernel, group: g });
      }
      inputs.append(group);
    }
    const outputs = el("div", "std-outputs");
    outputs.style.setProperty("--output-columns", String(plan.oc));
    this.outputs = [];
    for (let o = 0; o < O; o++) {
      const map = new Heatmap({
        rows: outH, cols: outW, cell, hue: MIXED_HUE, className: "output",
        label: t("stage.out_channel", { o }),
      });
      outputs.append(map.element);
      this.outputs.push(map);
    }
    main.append(inputs, outputs);
    layout.append(main);
    this.show(layout, focus, plan);
    this.wires = wireLayer(main);
    sizeWireLayer(this.wires, main);
    this.main = main;
    this.inputsBox = inputs;
    // The layout may still settle after this (presenter mode's panels close, fonts load): the
    // wires follow the boxes they join.
    this.wireWatch?.disconnect();
    this.wireWatch = new ResizeObserver(() => {
      if (this.activeOutput >= 0 && this.main === main && main.isConnected) this.drawWires();
    });
    for (const box of [main, inputs, outputs]) this.wireWatch.observe(box);
  }

  render(frame) {
    const scales = this.frameScales(this.inputMax, (fresh) => {
      this.lanes.forEach((lane, c) => this.drawInput(lane.input, c, fresh));
      this.activeOutput = -1;
    });
    const o = frame.scalar("out_channel");
    const g = frame.scalar("group");
    if (o !== this.activeOutput) this.showOutput(o, g, scales);
    const [rows, cols] = this.windowTaps(frame);
    for (const lane of this.lanes) lane.input.showWindow(lane.group === g ? rows : null, cols);
    this.outputs.forEach((map, m) => {
      this.fillMap(map, m, frame.local, scales);
      map.showCursor(m === o ? frame.scalar("i") : null, frame.scalar("j"));
    });
    if (this.focus) {
      const labels = [];
      for (let c = 0; c < this.groupIn; c++) {
        const channel = g * this.groupIn + c;
        labels.push([this.windowCaption(channel), t("stage.kernel_std", { o, c })]);
      }
      // One padding mask (kh, kw) serves every channel of the window.
      const mask = frame.array("padding_mask").data;
      this.focus.render({
        window: frame.array("window").data, weights: frame.array("weights").data, mask, labels,
        sumLabel: `out[${frame.scalar("i")}, ${frame.scalar("j")}, ${o}]`, sum: frame.scalar("output"), scales,
        palettes: this.handlers.inputPalette && this.handlers.inputPalette(g * this.groupIn)
          ? Array.from({ length: this.groupIn }, (_, c) => this.handlers.inputPalette(g * this.groupIn + c)) : null,
      });
    }
  }

  /**
   * Where the wires start and end, measured when they are drawn (the layout settles after
   * build: canvases take their sizes, the stage centres). The wires run under the lanes: from
   * a kernel in the middle of a group they would show only as fragments between the lanes
   * they pass under, so each starts at the inputs' right edge, level with its kernel (lanes
   * side by side a few px apart), and is whole.
   */
  measureWires() {
    const { main } = this;
    sizeWireLayer(this.wires, main);
    const edge = this.inputsBox.getBoundingClientRect().right - main.getBoundingClientRect().left + 2;
    const level = new Map();
    this.kernelAnchors = this.lanes.map((lane) => {
      const point = anchor((lane.kernel || lane.input).body, main, "right");
      const row = Math.round(point.y);
      const seen = level.get(row) || 0;
      level.set(row, seen + 1);
      return { x: Math.max(point.x, edge), y: point.y + seen * 8 };
    });
    this.outputAnchors = this.outputs.map((map) => anchor(map.body, main, "left"));
  }

  /** The active output's wires: one from each lane of its group. */
  drawWires() {
    const o = this.activeOutput;
    this.wires.replaceChildren();
    this.measureWires();
    this.lanes.forEach((lane, c) => {
      if (lane.group !== this.activeGroup) return;
      svgElement("path", { class: "wire active", d: wirePath(this.kernelAnchors[c], this.outputAnchors[o]) }, this.wires);
    });
  }

  showOutput(o, g, scales) {
    const previous = this.activeOutput;
    this.activeOutput = o;
    this.activeGroup = g;
    if (previous >= 0) this.outputs[previous].element.classList.remove("active");
    this.outputs[o].element.classList.add("active");
    this.drawWires();
    this.lanes.forEach((lane, c) => {
      const active = lane.group === g;
      lane.element.classList.toggle("active", active);
      lane.element.classList.toggle("idle", !active);
      if (active) {
        const slice = c - g * this.groupIn;
        lane.kernel?.setLabel(t("stage.kernel_std", { o, c: slice }));
        lane.kernel?.draw((di, dj) => at(this.weight, o, slice, di, dj), scales.weights, `${o}|${scales.weights}`);
      } else {
        lane.kernel?.setLabel("");
        lane.kernel?.draw(() => null, scales.weights, `idle|${scales.weights}`);
      }
    });
    const first = this.lanes.find((lane) => lane.group === g);
    if (first) scrollIntoViewIfNeeded(first.element, this.root);
  }
}
