// Output ↔ input linking on the stage. Hover an output cell: its window lights up on
// the input (every tap, dilation gaps and padding included) and its kernel is framed;
// click it: the player jumps to the step that wrote it. Hover an input cell: every
// output cell it feeds lights up. The mapping comes from the trace the server sent
// (each step's channel, output position and window rows/cols), never from arithmetic
// redone here: whatever the stride, padding, dilation or groups, the page links what
// the server computed.
//
// Works with the views' grids (depthwise.js, standard.js, pointwise.js): it reads
// their Heatmaps after each build and draws its marks in their overlays.

const PREFIX = "link";

/** The cell of `heatmap` under a pointer event, or null. */
function cellAt(heatmap, event) {
  const rect = heatmap.canvas.getBoundingClientRect();
  const i = Math.floor(((event.clientY - rect.top) / rect.height) * heatmap.rows);
  const j = Math.floor(((event.clientX - rect.left) / rect.width) * heatmap.cols);
  return i >= 0 && j >= 0 && i < heatmap.rows && j < heatmap.cols ? [i, j] : null;
}

/** The grids of a view: [{heatmap, kind: "input" | "kernel" | "output" | "z", channel, map}]. */
function gridsOf(view) {
  const grids = [];
  const name = view.stage.name;
  if (name === "depthwise") {
    for (const [q, lane] of (view.lanes || []).entries()) {
      if (!lane) continue;
      grids.push({ heatmap: lane.input, kind: "input", channel: q });
      for (const branch of lane.branches) {
        if (branch.kernel) grids.push({ heatmap: branch.kernel, kind: "kernel", map: branch.o });
        grids.push({ heatmap: branch.output, kind: "output", map: branch.o });
      }
    }
  } else if (name === "standard") {
    for (const [c, lane] of (view.lanes || []).entries()) {
      if (!lane) continue;
      grids.push({ heatmap: lane.input, kind: "input", channel: c, group: lane.group });
      if (lane.kernel) grids.push({ heatmap: lane.kernel, kind: "kernel", channel: c, group: lane.group });
    }
    (view.outputs || []).forEach((heatmap, o) => grids.push({ heatmap, kind: "output", map: o }));
  } else {
    (view.inputs || []).forEach((heatmap, a) => grids.push({ heatmap, kind: "z", map: a }));
    (view.outputs || []).forEach((heatmap, k) => grids.push({ heatmap, kind: "output", map: k }));
  }
  return grids.filter((grid) => grid.heatmap);
}

export class Linking {
  /** root: the stage view element; seek(step): move the player (pausing it). */
  constructor(root, { seek }) {
    this.root = root;
    this.seek = seek;
    this.reset(null);
  }

  reset(store) {
    this.store = store;
    this.view = null;
    this.layout = null;
    this.grids = [];
    this.indexes = new Map(); // stage name -> {outputs: Map("m|i|j" -> step), received}
    this.hovered = null;
  }

  /** After each render: (re)bind the grids when the view or its layout was rebuilt. */
  attach(view, store) {
    if (store !== this.store) this.reset(store);
    if (view === this.view && view.layout === this.layout) return;
    this.clear();
    this.view = view;
    this.layout = view.layout;
    this.grids = gridsOf(view);
    for (const grid of this.grids) {
      const { canvas } = grid.heatmap;
      canvas.addEventListener("pointermove", (event) => this.hover(grid, cellAt(grid.heatmap, event)));
      canvas.addEventListener("pointerleave", () => this.hover(null, null));
      if (grid.kind === "output" || grid.kind === "z") {
        grid.heatmap.element.classList.add("linkable");
        canvas.addEventListener("click", (event) => {
          const cell = cellAt(grid.heatmap, event);
          const step = cell ? this.stepOf(grid, cell[0], cell[1]) : null;
          if (step !== null) this.seek(step);
        });
      }
    }
  }

  /** The stage's steps by the output cell each one writes, read from the frames received. */
  index() {
    const stage = this.view.stage;
    let entry = this.indexes.get(stage.name);
    const received = Math.min(stage.steps, Math.max(0, this.store.received - stage.globalStart));
    if (entry && entry.received === received) return entry;
    entry = { outputs: new Map(), frames: [], received };
    for (let local = 0; local < received; local++) {
      const frame = this.store.frame(stage.globalStart + local);
      if (!frame) continue;
      const i = frame.scalar("i");
      const j = frame.scalar("j");
      if (stage.name === "pointwise") {
        entry.outputs.set(`${i}|${j}`, frame.global);
      } else {
        const m = frame.scalar("out_channel");
        entry.outputs.set(`${m}|${i}|${j}`, frame.global);
        entry.frames.push({
          step: frame.global, map: m, i, j,
          channel: frame.has("q") ? frame.scalar("q") : null,
          group: frame.has("group") ? frame.scalar("group") : null,
          rows: Array.from(frame.array("rows").data),
          cols: Array.from(frame.array("cols").data),
        });
      }
    }
    this.indexes.set(stage.name, entry);
    return entry;
  }

  /** The global step that writes output cell (i, j) of `grid`'s map, or null (not arrived). */
  stepOf(grid, i, j) {
    const { outputs } = this.index();
    const key = this.view.stage.name === "pointwise" ? `${i}|${j}` : `${grid.map}|${i}|${j}`;
    return outputs.has(key) ? outputs.get(key) : null;
  }

  hover(grid, cell) {
    const key = grid && cell ? `${this.grids.indexOf(grid)}|${cell}` : null;
    if (key === this.hovered) return;
    this.hovered = key;
    this.clear();
    if (!key || !this.store) return;
    const [i, j] = cell;
    if (grid.kind === "output" || grid.kind === "z") this.showOutput(grid, i, j);
    else if (grid.kind === "input") this.showInput(grid, i, j);
  }

  /** An output cell: its window on the input, its kernel, and itself. */
  showOutput(grid, i, j) {
    const step = this.stepOf(grid, i, j);
    if (step === null) return;
    this.root.dataset.linkStep = String(step);
    this.mark(grid, [[i, j]], "cell");
    if (this.view.stage.name === "pointwise") {
      // A pixel of the pointwise stage reads the C·M maps z at that pixel.
      for (const other of this.grids) if (other.kind === "z") this.mark(other, [[i, j]], "cell");
      return;
    }
    const frame = this.index().frames.find((entry) => entry.step === step);
    if (!frame) return;
    const pad = this.view.pad;
    const taps = [];
    for (const row of frame.rows) for (const col of frame.cols) taps.push([row + pad.pad_top, col + pad.pad_left]);
    for (const other of this.grids) {
      const reads = other.kind === "input" &&
        (frame.channel !== null ? other.channel === frame.channel : other.group === frame.group);
      if (reads) this.mark(other, taps, "tap");
      const kernel = other.kind === "kernel" &&
        (other.map === frame.map || (other.map === undefined && other.group === frame.group && this.view.activeOutput === frame.map));
      if (kernel) other.heatmap.element.classList.add(`${PREFIX}-kernel`);
    }
  }

  /** An input cell (in padded grid coordinates): every output cell whose window holds it. */
  showInput(grid, pi, pj) {
    const pad = this.view.pad;
    const i = pi - pad.pad_top;
    const j = pj - pad.pad_left;
    const [, height, width] = this.view.input.shape;
    if (i < 0 || j < 0 || i >= height || j >= width) return; // padding feeds nothing it holds
    this.mark(grid, [[pi, pj]], "source");
    const fed = new Map(); // map -> cells
    for (const frame of this.index().frames) {
      const reads = frame.channel !== null ? frame.channel === grid.channel : frame.group === grid.group;
      if (!reads || !frame.rows.includes(i) || !frame.cols.includes(j)) continue;
      if (!fed.has(frame.map)) fed.set(frame.map, []);
      fed.get(frame.map).push([frame.i, frame.j]);
    }
    let count = 0;
    for (const other of this.grids) {
      if (other.kind !== "output" || !fed.has(other.map)) continue;
      this.mark(other, fed.get(other.map), "cell");
      count += fed.get(other.map).length;
    }
    this.root.dataset.linkFed = String(count);
  }

  /** Outlined boxes over `cells` of a grid (class link-<kind>, data-i / data-j for tests). */
  mark(grid, cells, kind) {
    const { heatmap } = grid;
    const layer = document.createElement("div");
    layer.className = `${PREFIX}-layer`;
    const size = heatmap.cell;
    const border = `${Math.max(1, Math.min(3, Math.floor(size / 4)))}px`; // small cells stay see-through
    for (const [i, j] of cells) {
      const box = document.createElement("div");
      box.className = `${PREFIX}-${kind}`;
      box.dataset.i = String(i);
      box.dataset.j = String(j);
      if (grid.map !== undefined) box.dataset.map = String(grid.map);
      if (grid.channel !== undefined) box.dataset.channel = String(grid.channel);
      box.style.width = box.style.height = `${size}px`;
      box.style.borderWidth = border;
      box.style.transform = `translate(${j * size}px, ${i * size}px)`;
      layer.append(box);
    }
    heatmap.overlay.append(layer);
    (this.layers || (this.layers = [])).push(layer);
  }

  clear() {
    for (const layer of this.layers || []) layer.remove();
    this.layers = [];
    for (const element of this.root.querySelectorAll(`.${PREFIX}-kernel`)) element.classList.remove(`${PREFIX}-kernel`);
    delete this.root.dataset.linkStep;
    delete this.root.dataset.linkFed;
  }
}
