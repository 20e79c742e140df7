// The depthwise stage: one lane per input channel q. Its padded grid (padding
// hatched) carries the sliding window; it fans out to M branches, kernel
// w[:, :, q, r] then output map q*M + r, which fills cell by cell.
import { t } from "../core/i18n.js";
import { Heatmap } from "./grid.js";
import { anchor, at, el, pagerBar, scrollIntoViewIfNeeded, sizeWireLayer, wireLayer, wirePath } from "./common.js";
import { LaneView } from "./lanes.js";
import { captionBox, columnsFor, focusShare, labelHeight, labelWidth, numberFont } from "./layout.js";

export class DepthwiseView extends LaneView {
  constructor(root, store, stage, handlers = {}) {
    const { header } = store;
    super(root, store, stage, handlers, header.kernels.depthwise_filter);
    this.multiplier = header.channel_multiplier;
    this.filter = header.kernels.depthwise_filter; // (C, M, kh, kw)
    this.activeLane = -1;
    this.activeMap = -1;
    // A separable convolution's depthwise maps are z (the pointwise formula's name), not outputs.
    this.mapKey = header.kernels.pointwise_filter ? "stage.z_channel_dw" : "stage.out_channel_dw";
  }

  /**
   * Build the lanes for a stage area of width × height CSS px: every lane on screen
   * (lanes in a grid, each lane's M branches in columns), kernels at the inputs'
   * scale, and a focus view when the grids are too small to carry numbers.
   * `maxCell` caps the cell (the stage shrinks it when an estimate ran short).
   */
  build(width, height, maxCell = null) {
    const { channels: C, multiplier: M, kh, kw, outH, outW } = this;
    const { hp, wp, presenting, zoom, cap, label, inLabel } = this.buildArea(width, height, maxCell);
    let outLabelShort = 0;
    for (let o = 0; o < C * M; o++) outLabelShort = Math.max(outLabelShort, labelWidth(this.mapLabel(o, true)));
    // Modes, most informative first: kernels and full captions; short captions; no kernel
    // thumbnails (the focus view shows the current kernel with its numbers).
    let mode = { kernels: true, short: false };
    const kText = t("stage.kernel", { q: C - 1, r: M - 1 });
    const outText = this.mapLabel(C * M - 1, false);
    // Captions wider than their grid wrap to two lines (captionBox); short ones never do.
    const captions = (cell) => ({
      kernel: captionBox(kText, kw * cell + 4),
      output: mode.short ? { width: Math.max(outLabelShort, outW * cell + 4), lines: 1 } : captionBox(outText, outW * cell + 4),
    });
    const laneBox = (cell, bc) => {
      if (mode.compact) {
        // Compact lanes (a laptop with the side panels open): the input and its maps only,
        // maps without captions (their names are their aria labels and the focus view's sum),
        // tight gaps. The lane gap (8 × 6 px, CSS .compact .lanes) is counted in the box.
        const mapSide = outW * cell + 4;
        const rows = Math.ceil(M / bc);
        return {
          width: 10 + Math.max(wp * cell + 4, inLabel) + 10 + bc * mapSide + (bc - 1) * 4 + 8,
          height: 10 + Math.max(hp * cell + 4 + label, rows * (outH * cell + 4) + (rows - 1) * 4) + 6,
        };
      }
      const { kernel: kBox, output: oBox } = captions(cell);
      const branchW = (mode.kernels ? kBox.width + 40 : 0) + oBox.width;
      const branchH = Math.max(mode.kernels ? labelHeight(kBox.lines) + kh * cell : 0, labelHeight(oBox.lines) + outH * cell) + 4;
      const rows = Math.ceil(M / bc);
      return {
        width: 22 + Math.max(wp * cell + 4, inLabel) + 44 + bc * branchW + (bc - 1) * 16 + 16,
        height: 18 + Math.max(hp * cell + 4 + label, rows * branchH + (rows - 1) * 10) + 12,
      };
    };
    // The largest cell at which `count` lanes fit the area, with its branch columns.
    const best = (count, w, h, top = cap) => {
      // Compact lanes are small: their cells go down in quarter pixels (colours only, no numbers to fit).
      for (let cell = top; cell >= 1; cell -= mode.compact && cell <= 4 ? 0.25 : 1) {
        for (let bc = 1; bc <= M; bc++) {
          const box = laneBox(cell, bc);
          const columns = mode.compact ? columnsFor(count, box.width, box.height, w + 8, h + 6)
            : columnsFor(count, box.width, box.height, w + 16, h + 12);
          if (columns) return { cell, bc, columns };
        }
      }
      // Nothing fits (a phone): one column as wide as the screen; the stage scrolls down.
      for (let cell = top; cell > 1; cell--) if (laneBox(cell, 1).width <= w + 16) return { cell, bc: 1, columns: 1, fallback: true };
      return { cell: 1, bc: 1, columns: 1, fallback: true };
    };
    const withMode = (next, make) => {
      mode = next;
      return { ...make(), mode: next };
    };
    const { inputTexts, kernelTexts } = this;
    const focus = this.focusView(1, kText, C * M - 1);
    let plan = { ...best(C, width, height), focus: null, mode };
    // A plan that fits scores its cell; one that does not (the stage will scroll) scores 0.
    const score = (candidate) => (candidate.fallback ? 0 : candidate.cell);
    if (plan.fallback || !numberFont(plan.cell, inputTexts)) {
      // The grids cannot carry numbers: the focus view does, beside or under the lanes.
      // Its cells: a little above the minimum when there is room for that beside or under the lanes.
      // Each placement at the largest focus cell it allows (a tall title or sum shrinks a column's cells).
      const share = focusShare();
      const largest = (orientation, fits) => {
        let cell = focus.cellFor(1.3);
        while (cell > focus.cellFor(1) && !fits(focus.size(cell, orientation))) cell -= 1;
        return cell;
      };
      const columnFc = largest("column", (c) => c.width < width * share && c.height <= height);
      const rowFc = largest("row", (r) => r.height < height * share && r.width <= width);
      const column = focus.size(columnFc, "column");
      const row = focus.size(rowFc, "row");
      const compactFc = focus.cellFor(1);
      const compactBox = focus.size(compactFc, "compact");
      const placed = (next) => {
        const options = [];
        if (next.compact && compactBox.width < width * 0.6 && compactBox.height <= height) {
          options.push(withMode(next, () => ({ ...best(C, width - compactBox.width - 16, height), focus: "compact" })));
        }
        if (column.width < width * share && column.height <= height) {
          options.push(withMode(next, () => ({ ...best(C, width - column.width - 16, height), focus: "column" })));
        }
        if (row.height < height * share && row.width <= width) {
          options.push(withMode(next, () => ({ ...best(C, width, height - row.height - 12), focus: "row" })));
        }
        if (!options.length) options.push(withMode(next, () => ({ ...best(C, width, height - row.height - 12), focus: "row" })));
        // Zoomed in, the focus view's numbers are what the class reads: its larger cell first.
        const fcOf = (option) => ({ compact: compactFc, column: columnFc, row: rowFc })[option.focus];
        const better = (a, b) => (zoom > 1 && score(a) && score(b) && fcOf(a) !== fcOf(b) ? fcOf(b) > fcOf(a) : score(b) > score(a));
        return options.reduce((a, b) => (better(a, b) ? b : a));
      };
      const short = placed({ kernels: true, short: true });
      const bare = placed({ kernels: false, short: true });
      const lanesOnly = plan;
      plan = score(short) >= 4 || score(short) >= score(bare) ? short : bare;
      // Still nothing fits (the stage between the settings and the lesson and quiz panels):
      // compact lanes, colours only, beside the focus view. Not on a phone (it scrolls down).
      if (!score(plan) && width >= 480) {
        const compact = placed({ kernels: false, short: true, compact: true });
        if (score(compact)) plan = compact;
      }
      // No room for the focus view beside lanes that fit: the lanes, without it.
      if (!score(plan) && score(lanesOnly)) plan = { ...lanesOnly, fc: null };
      mode = plan.mode;
      if (plan.focus) plan.fc = { compact: compactFc, column: columnFc, row: rowFc }[plan.focus];
    }
    // Zoom: bigger cells; when all lanes no longer fit, a page of lanes at a time.
    let perPage = C;
    if (zoom !== 1) {
      const target = Math.max(1, Math.min(cap, Math.round(plan.cell * zoom)));
      const [w, h] = plan.focus === "column" || plan.focus === "compact" ? [width - focus.size(plan.fc, plan.focus).width - 16, height]
        : plan.focus === "row" ? [width, height - focus.size(plan.fc, "row").height - 12] : [width, height];
      for (perPage = C; perPage > 1 && best(perPage, w, h, target).cell < target; perPage--);
      plan = { ...plan, ...best(perPage, w, h, target) };
    }
    this.plan = plan;
    this.perPage = perPage;
    this.page = Math.floor(Math.max(0, this.showLane ?? 0) / perPage);
    const cell = plan.cell;
    const wraps = captions(cell);
    this.cell = cell;
    this.activeLane = -1;
    this.activeMap = -1;

    const layout = el("div", `stage-layout depthwise${plan.focus ? ` with-focus focus-${plan.focus}` : ""}${plan.mode.compact ? " compact" : ""}`);
    // The plan, for tests and for anyone wondering why a grid has no numbers.
    layout.dataset.cell = String(cell);
    layout.dataset.focus = plan.focus || "none";
    layout.dataset.kernels = String(plan.mode.kernels);
    layout.dataset.perPage = String(perPage);
    const lanes = el("div", "lanes");
    lanes.style.setProperty("--lane-columns", String(plan.columns));
    this.lanes = [];
    const first = this.page * perPage;
    const last = Math.min(C, first + perPage);
    for (let q = first; q < last; q++) {
      const { lane, input, hue } = this.inputLane(q, cell, inputTexts);
      const branches = el("div", "branches");
      branches.style.setProperty("--branch-columns", String(plan.bc));
      const branchViews = [];
      for (let r = 0; r < M; r++) {
        const o = q * M + r;
        const branch = el("div", "branch");
        const kernel = plan.mode.kernels ? new Heatmap({
          rows: kh, cols: kw, cell, hue, className: "kernel", numberHint: kernelTexts,
          label: t("stage.kernel", { q, r }),
          onCell: this.handlers.onKernelCell ? (i, j) => this.handlers.onKernelCell(o, i, j) : null,
        }) : null;
        const output = new Heatmap({
          rows: outH, cols: outW, cell, hue, className: "output",
          label: plan.mode.compact ? "" : this.mapLabel(o, plan.mode.short), ariaLabel: this.mapLabel(o, false),
        });
        if (kernel && wraps.kernel.lines > 1) kernel.wrapCaption(wraps.kernel.width);
        if (wraps.output.lines > 1) output.wrapCaption(wraps.output.width);
        if (kernel) branch.append(kernel.element, el("span", "arrow", "→"));
        branch.append(output.element);
        branches.append(branch);
        branchViews.push({ element: branch, kernel, output, o });
      }
      lane.append(input.element, branches);
      lanes.append(lane);
      this.lanes[q] = { element: lane, input, branches: branchViews };
    }
    if (perPage < C) layout.append(pagerBar(this.page, perPage, C, (page) => this.turnTo(page)));
    layout.append(lanes);
    this.show(layout, focus, plan);
    // Wires need positions: one read after the DOM is built.
    for (const lane of this.lanes) {
      if (!lane) continue;
      const svg = wireLayer(lane.element);
      sizeWireLayer(svg, lane.element);
      const from = anchor(lane.input.body, lane.element, "right");
      lane.wires = lane.branches.map((branch) => {
        const to = anchor((branch.kernel || branch.output).body, lane.element, "left");
        const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
        path.setAttribute("d", wirePath(from, to));
        path.setAttribute("class", "wire");
        svg.appendChild(path);
        return path;
      });
    }
  }

  /** Output map o's caption; short: without "= q·M+r" (a small map in a crowded stage). */
  mapLabel(o, short) {
    const M = this.multiplier;
    const full = t(this.mapKey || "stage.out_channel_dw", { o, q: Math.floor(o / M), m: M, r: o % M });
    return short ? full.split(" = ")[0] : full;
  }

  /** Paint step k (stage-local `frame.local`); every pixel follows from k and the store. */
  render(frame) {
    const { channels: C, multiplier: M } = this;
    const scales = this.frameScales(this.inputMax, (fresh) => this.drawStatic(fresh));
    const q = frame.scalar("q");
    const r = frame.scalar("r");
    const i = frame.scalar("i");
    const j = frame.scalar("j");
    const o = frame.scalar("out_channel");
    const local = frame.local;
    if (!this.lanes[q]) {
      // The lane is on another page: turn to it (the page follows the player).
      this.showLane = q;
      this.build(...this.area);
      this.drawn = null;
      this.render(frame);
      return;
    }
    if (q !== this.activeLane) {
      const old = this.lanes[this.activeLane];
      if (old) {
        old.element.classList.remove("active");
        old.input.showWindow(null);
      }
      this.activeLane = q;
      this.lanes[q].element.classList.add("active");
      scrollIntoViewIfNeeded(this.lanes[q].element, this.root);
    }
    const lane = this.lanes[q];
    lane.input.showWindow(...this.windowTaps(frame));
    lane.branches.forEach((branch, index) => {
      const active = index === r;
      branch.element.classList.toggle("active", active);
      lane.wires[index].classList.toggle("active", active);
    });
    for (let m = 0; m < C * M; m++) {
      const owner = this.lanes[Math.floor(m / M)];
      if (owner) this.fillMap(owner.branches[m % M].output, m, local, scales);
    }
    const previous = this.lanes[Math.floor(this.activeMap / M)];
    if (this.activeMap !== o && previous) previous.branches[this.activeMap % M].output.showCursor(null);
    this.activeMap = o;
    lane.branches[r].output.showCursor(i, j);
    if (this.focus) {
      this.focus.render({
        window: frame.array("window").data, weights: frame.array("weights").data,
        mask: frame.array("padding_mask").data,
        labels: [[this.windowCaption(q), t("stage.kernel", { q, r })]],
        // A separable convolution's depthwise maps are z, as in its formula.
        sumLabel: `${this.store.header.kernels.pointwise_filter ? "z" : "out"}[${i}, ${j}, ${o}]`, sum: frame.scalar("sum"), scales,
        palettes: this.handlers.inputPalette && this.handlers.inputPalette(q) ? [this.handlers.inputPalette(q)] : null,
      });
    }
  }

  /** Show page `page` of lanes (the pager's buttons). */
  turnTo(page) {
    const q = Math.min(this.channels - 1, page * this.perPage);
    if (this.handlers.seek) this.handlers.seek(this.stage, q * this.multiplier * this.outH * this.outW);
  }

  drawStatic(scales) {
    this.lanes.forEach((lane, q) => {
      if (!lane) return;
      this.drawInput(lane.input, q, scales);
      lane.branches.forEach((branch, r) => {
        if (branch.kernel) branch.kernel.draw((di, dj) => at(this.filter, q, r, di, dj), scales.weights);
      });
    });
  }
}
