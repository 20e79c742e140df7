// Helpers shared by the stage views: what every view starts from (StageView; the lane
// views build on it in lanes.js), scales, output-map filling by index arithmetic, wires
// between grids.
import { t } from "../core/i18n.js";
import { maxAbs, niceMax } from "./colors.js";
import { formatNumber } from "./format.js";
import { svgElement } from "./grid.js";

/** Element of a tensor {shape, data} at a full index (row-major). */
export function at(tensor, ...index) {
  let offset = 0;
  for (let n = 0; n < index.length; n++) offset = offset * tensor.shape[n] + index[n];
  return tensor.data[offset];
}

/**
 * Scales of a stage: one for every feature map (its input maps and its output
 * maps, over the values received so far) and one for its weights.
 */
export function stageScales(inputMax, stage, weightMax) {
  return {
    maps: niceMax(Math.max(inputMax, stage.valuesMaxAbs)),
    weights: niceMax(weightMax),
  };
}

/**
 * How much of each output map step `local` has written, for stages whose steps
 * run map by map (order [..., "i", "j"] with the map index slowest): map `m`
 * holds stage steps m*HW … m*HW + HW-1. Returns the number of filled cells of map m.
 */
export function filledCells(local, m, cellsPerMap) {
  const first = m * cellsPerMap;
  if (local < first) return 0;
  return Math.min(cellsPerMap, local - first + 1);
}

/** A value accessor for an output map whose first `count` cells (row-major) are written. */
export function partialMap(values, offset, cols, count, stride = 1, channel = 0) {
  return (i, j) => {
    const cell = i * cols + j;
    return cell < count ? values[(offset + cell) * stride + channel] : null;
  };
}

/**
 * What every stage view starts from: where it draws (`root`), the trace (`store`) and
 * its stage, the page's handlers, the stage's output size, and the largest |value| of
 * its `weights` (a tensor {shape, data}), which fixes their colour scale.
 */
export class StageView {
  constructor(root, store, stage, handlers, weights) {
    this.root = root;
    this.store = store;
    this.stage = stage;
    this.handlers = handlers;
    [this.outH, this.outW] = stage.outputHW;
    this.weightMax = maxAbs(weights.data);
  }

  /**
   * Put a freshly built `layout` in the stage area, with `focus` (a FocusView) built into
   * it when the plan places one (`plan.focus`, at cell `plan.fc`). The next render paints
   * everything.
   */
  show(layout, focus = null, plan = {}) {
    this.focus = null;
    if (plan.focus) {
      focus.build(plan.fc, plan.focus);
      layout.append(focus.element);
      this.focus = focus;
    }
    this.root.replaceChildren(layout);
    this.layout = layout;
    this.drawn = null;
  }

  /**
   * This frame's scales (stageScales over `inputMax` and the view's weights). When they
   * differ from the last frame's, `redraw(scales)` first repaints what does not move with
   * the step (the inputs, the weights): a scale only grows as the stage's values arrive.
   */
  frameScales(inputMax, redraw) {
    const scales = stageScales(inputMax, this.stage, this.weightMax);
    this.scales = scales;
    const key = `${scales.maps}|${scales.weights}`;
    if (this.drawn !== key) {
      this.drawn = key;
      redraw(scales);
    }
    return scales;
  }

  /**
   * Paint output map `m` as far as stage step `local` has written it, for stages that
   * fill their maps one after another. Its numbers are sized for the widest the scale
   * allows, so their size does not jump as the map fills.
   */
  fillMap(map, m, local, scales) {
    const perMap = this.outH * this.outW;
    const count = filledCells(local, m, perMap);
    map.numberHint = [formatNumber(-scales.maps, 3)];
    map.drawPrefix(partialMap(this.stage.values, m * perMap, this.outW, count), count, scales.maps);
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

/** Largest cell size (integer CSS px, within [min, max]) for which `fits(cell)` holds, else min. */
export function fitCell(fits, min, max) {
  for (let cell = max; cell > min; cell--) if (fits(cell)) return cell;
  return min;
}

/** Kernel cells: large enough to read their numbers when there is room. */
export function kernelCell(mapCell, kh, kw) {
  const readable = Math.min(mapCell * 2.5, 90 / Math.max(kh, kw));
  return Math.max(12, Math.min(44, Math.round(Math.max(mapCell, readable))));
}

/** Centre-left / centre-right of an element relative to `origin`, in CSS px. */
export function anchor(element, origin, side) {
  const a = element.getBoundingClientRect();
  const o = origin.getBoundingClientRect();
  return { x: (side === "right" ? a.right : a.left) - o.left, y: a.top + a.height / 2 - o.top };
}

/** A smooth wire from p to q. */
export function wirePath(p, q) {
  const bend = Math.max(12, (q.x - p.x) / 2);
  return `M${p.x},${p.y} C${p.x + bend},${p.y} ${q.x - bend},${q.y} ${q.x},${q.y}`;
}

/** An SVG layer covering `parent` (which must be position: relative) for wires. */
export function wireLayer(parent) {
  const svg = svgElement("svg", { class: "wires", "aria-hidden": "true" });
  parent.appendChild(svg);
  return svg;
}

export function sizeWireLayer(svg, parent) {
  // Measured without the layer itself (an SVG without a size is 300 × 150 px).
  svg.setAttribute("width", 0);
  svg.setAttribute("height", 0);
  svg.setAttribute("width", parent.scrollWidth);
  svg.setAttribute("height", parent.scrollHeight);
}

export function el(tag, className = "", text = null) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== null) element.textContent = text;
  return element;
}

/**
 * The pager over lanes: "Lanes 1–4 of 8" with previous/next buttons; shown when
 * the zoom makes the lanes larger than the stage. `turn(page)` shows a page.
 */
export function pagerBar(page, perPage, count, turn, key = "pager.lanes") {
  const pages = Math.ceil(count / perPage);
  const bar = el("nav", "pager");
  bar.setAttribute("aria-label", t("pager.label"));
  const previous = el("button", "button pager-previous", "‹");
  previous.type = "button";
  previous.title = t("pager.previous");
  previous.disabled = page <= 0;
  previous.addEventListener("click", () => turn(page - 1));
  const next = el("button", "button pager-next", "›");
  next.type = "button";
  next.title = t("pager.next");
  next.disabled = page >= pages - 1;
  next.addEventListener("click", () => turn(page + 1));
  const text = el("span", "pager-text", t(key, {
    first: page * perPage + 1, last: Math.min(count, (page + 1) * perPage), count,
  }));
  bar.append(previous, text, next);
  return bar;
}
