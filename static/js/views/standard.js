// Standard and grouped convolution with the same machinery: every input channel
// of the current output's group carries the window and its slice of that
// output's filter, and all of them feed one output map (fan-in).
import { t } from "../i18n.js";
import { channelHue, maxAbs, MIXED_HUE } from "./colors.js";
import { Heatmap, svgElement } from "./grid.js";
import {
  anchor, at, el, filledCells, fitCell, kernelCell, partialMap, sizeWireLayer, stageScales, wireLayer, wirePath,
} from "./common.js";
import { scrollIntoViewIfNeeded } from "./depthwise.js";

export class StandardView {
  constructor(root, store, stage, handlers = {}) {
    this.root = root;
    this.store = store;
    this.stage = stage;
    this.handlers = handlers;
    const header = store.header;
    this.channels = header.in_channels;
    this.groups = header.groups;
    this.outChannels = header.out_channels;
    this.groupIn = this.channels / this.groups;
    this.groupOut = this.outChannels / this.groups;
    [this.kh, this.kw] = header.kernel_hw;
    this.pad = header.padding;
    this.padded = header.padded_input; // (C, Hp, Wp)
    this.input = header.input;
    this.weight = header.kernels.weight; // (O, Cg, kh, kw)
    [this.outH, this.outW] = stage.outputHW;
    this.inputMax = maxAbs(this.padded.data);
    this.weightMax = maxAbs(this.weight.data);
    this.activeOutput = -1;
  }

  build(width, height, maxCell = 96) {
    const { channels: C, outChannels: O, kh, kw, outH, outW, groups } = this;
    const [, hp, wp] = this.padded.shape;
    const label = 22;
    const groupHeader = groups > 1 ? 40 : 0;
    // Lanes in one column when they fit, else in a grid (wires run underneath).
    const measure = (cell, columns) => {
      const kc = kernelCell(cell, kh, kw);
      const laneWidth = wp * cell + 60 + kw * kc;
      const laneHeight = Math.max(hp * cell, kh * kc) + label + 28;
      const rowsPerGroup = Math.ceil(this.groupIn / columns);
      const inputsHeight = groups * (rowsPerGroup * laneHeight + groupHeader) + 10;
      const inputsWidth = columns * (laneWidth + 12) + (groups > 1 ? 14 : 0);
      const remaining = width - inputsWidth - 110;
      const mapWidth = outW * cell + 14;
      const outColumns = Math.max(1, Math.floor(remaining / mapWidth));
      const outputsHeight = Math.ceil(O / outColumns) * (outH * cell + label + 12);
      return { kc, inputsHeight, outputsHeight, fitsWidth: remaining >= mapWidth };
    };
    const fit = (columns) => fitCell((c) => {
      const m = measure(c, columns);
      return m.fitsWidth && m.inputsHeight <= height && m.outputsHeight <= height;
    }, 2, maxCell);
    // One column keeps every wire clear of the other lanes; more only when one is cramped.
    let best = { cell: fit(1), columns: 1 };
    if (best.cell < 16) {
      for (let columns = 2; columns <= Math.min(4, this.groupIn); columns++) {
        const cell = fit(columns);
        if (cell > best.cell) best = { cell, columns };
      }
    }
    const { cell, columns } = best;
    const { kc } = measure(cell, columns);
    this.cell = cell;

    const layout = el("div", "stage-layout standard");
    const inputs = el("div", "std-inputs");
    this.lanes = [];
    for (let g = 0; g < groups; g++) {
      const group = el("div", groups > 1 ? "group" : "group single");
      group.style.setProperty("--columns", columns);
      if (groups > 1) group.append(el("p", "group-label", t("stage.group", { g })));
      const lanesOf = el("div", "group-lanes");
      group.append(lanesOf);
      for (let c = g * this.groupIn; c < (g + 1) * this.groupIn; c++) {
        const hue = channelHue(c);
        const lane = el("section", "lane");
        lane.style.setProperty("--hue", hue);
        lane.setAttribute("aria-label", t("stage.channel", { q: c }));
        const input = new Heatmap({
          rows: hp, cols: wp, cell, hue, className: "input",
          label: t("stage.in_channel", { q: c }),
          ariaLabel: t("stage.grid_label", { name: t("stage.in_channel", { q: c }), rows: hp, cols: wp }),
          onCell: this.handlers.onInputCell
            ? (i, j) => this.handlers.onInputCell(c, i - this.pad.pad_top, j - this.pad.pad_left)
            : null,
        });
        input.showRegion(this.pad.pad_top, this.pad.pad_left, this.input.shape[1], this.input.shape[2]);
        const kernel = new Heatmap({
          rows: kh, cols: kw, cell: kc, hue, className: "kernel",
          label: "",
          onCell: this.handlers.onKernelCell
            ? (i, j) => this.activeGroup === g &&
              this.handlers.onKernelCell(this.activeOutput * this.groupIn + (c - g * this.groupIn), i, j)
            : null,
        });
        lane.append(input.element, el("span", "times", "⊙"), kernel.element);
        lanesOf.append(lane);
        this.lanes.push({ element: lane, input, kernel, group: g });
      }
      inputs.append(group);
    }
    const outputs = el("div", "std-outputs");
    this.outputs = [];
    for (let o = 0; o < O; o++) {
      const map = new Heatmap({
        rows: outH, cols: outW, cell, hue: MIXED_HUE, className: "output",
        label: t("stage.out_channel", { o }),
      });
      outputs.append(map.element);
      this.outputs.push(map);
    }
    layout.append(inputs, outputs);
    this.root.replaceChildren(layout);
    this.layout = layout;
    this.wires = wireLayer(layout);
    sizeWireLayer(this.wires, layout);
    this.kernelAnchors = this.lanes.map((lane) => anchor(lane.kernel.body, layout, "right"));
    this.outputAnchors = this.outputs.map((map) => anchor(map.body, layout, "left"));
    this.drawn = null;
  }

  render(frame) {
    const { outH, outW, stage } = this;
    const scales = stageScales(this.inputMax, stage, this.weightMax);
    const o = frame.scalar("out_channel");
    const g = frame.scalar("group");
    this.scales = scales;
    const staticKey = `${scales.maps}|${scales.weights}`;
    if (this.drawn !== staticKey) {
      this.drawn = staticKey;
      this.drawInputs(scales);
      this.activeOutput = -1;
    }
    if (o !== this.activeOutput) this.showOutput(o, g, scales);
    const rows = Array.from(frame.array("rows").data, (row) => row + this.pad.pad_top);
    const cols = Array.from(frame.array("cols").data, (col) => col + this.pad.pad_left);
    for (const lane of this.lanes) lane.input.showWindow(lane.group === g ? rows : null, cols);
    const perMap = outH * outW;
    this.outputs.forEach((map, m) => {
      const count = filledCells(frame.local, m, perMap);
      map.drawPrefix(partialMap(stage.values, m * perMap, outW, count), count, scales.maps);
      map.showCursor(m === o ? frame.scalar("i") : null, frame.scalar("j"));
    });
  }

  showOutput(o, g, scales) {
    const previous = this.activeOutput;
    this.activeOutput = o;
    this.activeGroup = g;
    if (previous >= 0) this.outputs[previous].element.classList.remove("active");
    this.outputs[o].element.classList.add("active");
    this.wires.replaceChildren();
    this.lanes.forEach((lane, c) => {
      const active = lane.group === g;
      lane.element.classList.toggle("active", active);
      lane.element.classList.toggle("idle", !active);
      if (active) {
        const slice = c - g * this.groupIn;
        lane.kernel.setLabel(t("stage.kernel_std", { o, c: slice }));
        lane.kernel.draw((di, dj) => at(this.weight, o, slice, di, dj), scales.weights, `${o}|${scales.weights}`);
        svgElement("path", { class: "wire active", d: wirePath(this.kernelAnchors[c], this.outputAnchors[o]) }, this.wires);
      } else {
        lane.kernel.setLabel("");
        lane.kernel.draw(() => null, scales.weights, `idle|${scales.weights}`);
      }
    });
    const first = this.lanes.find((lane) => lane.group === g);
    if (first) scrollIntoViewIfNeeded(first.element, this.root);
  }

  drawInputs(scales) {
    const { pad_top: top, pad_left: left } = this.pad;
    const [, h, w] = this.input.shape;
    this.lanes.forEach((lane, c) => {
      lane.input.draw((i, j) => {
        const inside = i >= top && i < top + h && j >= left && j < left + w;
        return inside ? at(this.padded, c, i, j) : undefined;
      }, scales.maps);
    });
  }
}
