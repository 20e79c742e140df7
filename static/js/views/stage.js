// Picks the view of the current step's stage, builds it for the stage area's
// size, and rebuilds when that size changes.
import { DepthwiseView } from "./depthwise.js";
import { PointwiseView } from "./pointwise.js";
import { StandardView } from "./standard.js";

const VIEWS = { depthwise: DepthwiseView, standard: StandardView, pointwise: PointwiseView };

export class StageViews {
  constructor(root, handlers) {
    this.root = root;
    this.handlers = handlers;
    this.store = null;
    this.current = null;
    this.size = null;
  }

  reset(store) {
    this.store = store;
    this.current = null;
    this.root.replaceChildren();
  }

  /** Forget the layout (the stage area was resized); the next render rebuilds. */
  invalidate() {
    this.current = null;
  }

  overflows() {
    return this.root.scrollHeight > this.root.clientHeight + 1 || this.root.scrollWidth > this.root.clientWidth + 1;
  }

  /** The view for `stage`, built if it is not the one on screen. */
  viewFor(stage) {
    if (this.current && this.current.stage === stage) return this.current;
    // A block's elementwise stage (blocks/store.js) brings its own view.
    const View = stage.View || VIEWS[stage.name];
    // A block's convolution stage is drawn from a trace store of its own (blocks/store.js).
    const view = new View(this.root, stage.store || this.store, stage, this.handlers);
    const style = getComputedStyle(this.root);
    const width = this.root.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const height = this.root.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    view.build(width, height);
    // The views estimate their size; if the estimate was short, shrink until it fits.
    // (Not a plan that already knows it cannot fit, e.g. on a phone: that one scrolls.)
    for (let attempt = 0; attempt < 8 && view.cell > 2 && !(view.plan && view.plan.fallback) && this.overflows(); attempt++) {
      view.build(width, height, Math.max(2, Math.floor(view.cell * 0.9)));
    }
    // A block's stage names its maps as the block does (blocks/store.js).
    if (stage.afterBuild) stage.afterBuild(view);
    this.current = view;
    return view;
  }
}
