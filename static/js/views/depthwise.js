// The depthwise stage: one lane per input channel q. Its padded grid (padding
// hatched) carries the sliding window; it fans out to M branches, kernel
// w[:, :, q, r] then output map q*M + r, which fills cell by cell.
import { t } from "../i18n.js";
import { channelHue, maxAbs } from "./colors.js";
import { Heatmap } from "./grid.js";
import {
  anchor, at, el, filledCells, fitCell, kernelCell, partialMap, sizeWireLayer, stageScales, wireLayer, wirePath,
} from "./common.js";

export class DepthwiseView {
  constructor(root, store, stage, handlers = {}) {
    this.root = root;
    this.store = store;
    this.stage = stage;
    this.handlers = handlers;
    const header = store.header;
    this.channels = header.in_channels;
    this.multiplier = header.channel_multiplier;
    [this.kh, this.kw] = header.kernel_hw;
    this.pad = header.padding;
    this.padded = header.padded_input; // (C, Hp, Wp)
    this.input = header.input; // (C, H, W)
    this.filter = header.kernels.depthwise_filter; // (C, M, kh, kw)
    [this.outH, this.outW] = stage.outputHW;
    this.inputMax = maxAbs(this.padded.data);
    this.weightMax = maxAbs(this.filter.data);
    this.activeLane = -1;
    this.activeMap = -1;
  }

  /** Build the lanes for a stage area of width × height CSS px. */
  build(width, height, maxCell = 96) {
    const { channels: C, multiplier: M, kh, kw, outH, outW } = this;
    const [, hp, wp] = this.padded.shape;
    const label = 22;
    const laneSize = (cell) => {
      const kc = kernelCell(cell, kh, kw);
      const branch = Math.max(kh * kc, outH * cell) + label + 10;
      return {
        kc,
        width: wp * cell + 44 + kw * kc + 36 + outW * cell + 28,
        height: Math.max(hp * cell + label, M * branch) + 16,
      };
    };
    const fits = (cell) => {
      const lane = laneSize(cell);
      const columns = Math.max(1, Math.floor((width + 16) / (lane.width + 16)));
      if (lane.width > width) return false;
      const rows = Math.ceil(C / columns);
      return rows * (lane.height + 12) <= height;
    };
    const cell = fitCell(fits, 2, maxCell);
    const { kc } = laneSize(cell);
    this.cell = cell;

    const layout = el("div", "stage-layout depthwise");
    const lanes = el("div", "lanes");
    this.lanes = [];
    for (let q = 0; q < C; q++) {
      const hue = channelHue(q);
      const lane = el("section", "lane");
      lane.style.setProperty("--hue", hue);
      lane.setAttribute("aria-label", t("stage.channel", { q }));
      const input = new Heatmap({
        rows: hp, cols: wp, cell, hue, className: "input",
        label: t("stage.in_channel", { q }),
        ariaLabel: t("stage.grid_label", { name: t("stage.in_channel", { q }), rows: hp, cols: wp }),
        onCell: this.handlers.onInputCell
          ? (i, j) => this.handlers.onInputCell(q, i - this.pad.pad_top, j - this.pad.pad_left)
          : null,
      });
      input.showRegion(this.pad.pad_top, this.pad.pad_left, this.input.shape[1], this.input.shape[2]);
      const branches = el("div", "branches");
      const branchViews = [];
      for (let r = 0; r < M; r++) {
        const o = q * M + r;
        const branch = el("div", "branch");
        const kernel = new Heatmap({
          rows: kh, cols: kw, cell: kc, hue, className: "kernel",
          label: t("stage.kernel", { q, r }),
          onCell: this.handlers.onKernelCell ? (i, j) => this.handlers.onKernelCell(o, i, j) : null,
        });
        const output = new Heatmap({
          rows: outH, cols: outW, cell, hue, className: "output",
          label: t("stage.out_channel_dw", { o, q, m: M, r }),
        });
        branch.append(kernel.element, el("span", "arrow", "→"), output.element);
        branches.append(branch);
        branchViews.push({ element: branch, kernel, output, o });
      }
      lane.append(input.element, branches);
      lanes.append(lane);
      this.lanes.push({ element: lane, input, branches: branchViews });
    }
    layout.append(lanes);
    this.root.replaceChildren(layout);
    this.layout = layout;
    // Wires need positions: one read after the DOM is built.
    for (const lane of this.lanes) {
      const svg = wireLayer(lane.element);
      sizeWireLayer(svg, lane.element);
      const from = anchor(lane.input.body, lane.element, "right");
      lane.wires = lane.branches.map((branch) => {
        const to = anchor(branch.kernel.body, lane.element, "left");
        const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
        path.setAttribute("d", wirePath(from, to));
        path.setAttribute("class", "wire");
        svg.appendChild(path);
        return path;
      });
    }
    this.drawn = null;
  }

  /** Paint step k (stage-local `frame.local`); every pixel follows from k and the store. */
  render(frame) {
    const { channels: C, multiplier: M, outH, outW, stage } = this;
    const scales = stageScales(this.inputMax, stage, this.weightMax);
    this.scales = scales;
    const staticKey = `${scales.maps}|${scales.weights}`;
    if (this.drawn !== staticKey) {
      this.drawn = staticKey;
      this.drawStatic(scales);
    }
    const q = frame.scalar("q");
    const r = frame.scalar("r");
    const i = frame.scalar("i");
    const j = frame.scalar("j");
    const o = frame.scalar("out_channel");
    const local = frame.local;
    if (q !== this.activeLane) {
      if (this.activeLane >= 0) {
        const old = this.lanes[this.activeLane];
        old.element.classList.remove("active");
        old.input.showWindow(null);
      }
      this.activeLane = q;
      this.lanes[q].element.classList.add("active");
      scrollIntoViewIfNeeded(this.lanes[q].element, this.root);
    }
    const lane = this.lanes[q];
    const rows = Array.from(frame.array("rows").data, (row) => row + this.pad.pad_top);
    const cols = Array.from(frame.array("cols").data, (col) => col + this.pad.pad_left);
    lane.input.showWindow(rows, cols);
    lane.branches.forEach((branch, index) => {
      const active = index === r;
      branch.element.classList.toggle("active", active);
      lane.wires[index].classList.toggle("active", active);
    });
    const perMap = outH * outW;
    for (let m = 0; m < C * M; m++) {
      const branch = this.lanes[Math.floor(m / M)].branches[m % M];
      const count = filledCells(local, m, perMap);
      branch.output.drawPrefix(partialMap(stage.values, m * perMap, outW, count), count, scales.maps);
    }
    if (this.activeMap !== o && this.activeMap >= 0) {
      this.lanes[Math.floor(this.activeMap / M)].branches[this.activeMap % M].output.showCursor(null);
    }
    this.activeMap = o;
    lane.branches[r].output.showCursor(i, j);
  }

  drawStatic(scales) {
    const { pad_top: top, pad_left: left } = this.pad;
    const [, h, w] = this.input.shape;
    this.lanes.forEach((lane, q) => {
      lane.input.draw((i, j) => {
        const inside = i >= top && i < top + h && j >= left && j < left + w;
        return inside ? at(this.padded, q, i, j) : undefined;
      }, scales.maps);
      lane.branches.forEach((branch, r) => {
        branch.kernel.draw((di, dj) => at(this.filter, q, r, di, dj), scales.weights);
      });
    });
  }
}

/** Scroll a lane into its scrolling container without moving the page. */
export function scrollIntoViewIfNeeded(element, container) {
  const box = element.getBoundingClientRect();
  const frame = container.getBoundingClientRect();
  if (box.top < frame.top || box.bottom > frame.bottom) {
    container.scrollTop += box.top - frame.top - 8;
  }
}
