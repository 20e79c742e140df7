// The seven lessons: the questions people ask about these operations. Each sets the
// page's controls (a full parameter patch over the defaults) and walks through steps;
// a step may move the player or change a control. Texts: lesson{n}.title / .step{k}.
// `needs`: the settings its panel is about (another operation shows a way back).
import * as approximation from "./approximation.js";
import * as costs from "./costs.js";
import * as equivalence from "./equivalence.js";
import * as groups from "./groups.js";
import * as multiplier from "./multiplier.js";
import * as outchannels from "./outchannels.js";
import * as shared from "./shared.js";

// Seed 80: no seeded pointwise weight is 0 (seed 1 zeroes two of output 0's three, so two
// thirds of lesson 3's equivalent kernel were zeros); sharpen, not identity (8 zeros in 9).
const LIVELY_SEED = 80;
const SEPARABLE = {
  op: "separable", source: "ramp", height: 5, width: 5, channels: 3, kh: 3, kw: 3, multiplier: 1, out: 4,
  kernels: "sharpen,edge_x,laplacian", pointwise: "random", padding: "SAME", seed: LIVELY_SEED,
};

export const LESSONS = [
  {
    // 1. What depthwise convolution does; channel_multiplier: q*M + r.
    widget: multiplier,
    needs: (v) => v.op === "depthwise",
    patch: { op: "depthwise", source: "ramp", height: 4, width: 4, channels: 2, kh: 3, kw: 3, multiplier: 2, kernels: "0,2,1,3", padding: "VALID" },
    // Output 2×2: each (q, r) map has 4 steps; map q·M + r starts at 4·(q·M + r).
    steps: [{ step: 0 }, { step: 4 }, { step: 8 }, { step: 15 }],
  },
  {
    // 2. Separable = depthwise + pointwise: parameters and multiply-adds.
    widget: costs,
    patch: SEPARABLE,
    // 5×5 SAME, C·M = 3: the pointwise stage starts at step 75.
    // Step 3 asks to change the outputs or the kernel size: `controls` are shown in presenter
    // mode, which hides the settings panel (classroom/present.js).
    steps: [{ step: 0 }, { step: 75 }, { step: 75, controls: ["out", "kh", "kw"] }, { step: 75 }],
  },
  {
    // 3. The equivalent standard kernel of a separable convolution.
    widget: equivalence,
    needs: (v) => v.op === "separable",
    patch: SEPARABLE,
    steps: [{ step: 0 }, { step: 75 }, { step: 99 }],
  },
  {
    // 4. "My separable network only reaches 10% on MNIST": M = 1 on a grayscale input.
    widget: approximation,
    needs: (v) => v.op === "separable",
    // Seed 80: none of the 1×4 (or, at M = 3, 3×4) pointwise weights is 0, so no output is blank.
    patch: { op: "separable", source: "digit", height: 10, width: 10, channels: 1, kh: 3, kw: 3, multiplier: 1, out: 4, kernels: "edge_x", pointwise: "random", padding: "SAME", seed: LIVELY_SEED },
    // 10×10 SAME, C·M = 1: the pointwise stage is steps 100–199; at 199 every output map is done.
    steps: [{ step: 99 }, { step: 199 }, { step: 199 }, { step: 0, patch: { multiplier: 3, kernels: "edge_x,edge_y,laplacian" } }],
  },
  {
    // 5. out_channels < in_channels · channel_multiplier.
    widget: outchannels,
    needs: (v) => v.op === "separable",
    patch: { op: "separable", source: "ramp", height: 5, width: 5, channels: 3, kh: 3, kw: 3, multiplier: 2, out: 2, kernels: "edge_x,edge_y", pointwise: "random", padding: "VALID", seed: LIVELY_SEED },
    // Output 3×3, C·M = 6: the pointwise stage starts at step 54.
    steps: [{ step: 0 }, { step: 54 }, { step: 54 }],
  },
  {
    // 6. Groups: standard -> grouped -> depthwise.
    widget: groups,
    needs: (v) => v.op === "grouped",
    patch: { op: "grouped", source: "checker", height: 6, width: 6, channels: 4, kh: 3, kw: 3, out: 4, groups: 2, kernels: "identity,edge_x,edge_y,laplacian", padding: "SAME" },
    steps: [{ step: 0, patch: { groups: 1 } }, { step: 0, patch: { groups: 2 } }, { step: 0, patch: { groups: 4 } }, { step: 0, patch: { groups: 2 } }],
  },
  {
    // 7. One kernel shared by every channel, without mixing.
    widget: shared,
    needs: (v) => v.op === "depthwise" && v.multiplier === 1,
    patch: { op: "depthwise", source: "ramp", height: 6, width: 6, channels: 3, kh: 3, kw: 3, multiplier: 1, kernels: "edge_x", padding: "SAME" },
    // 6×6 SAME: channel q's map starts at step 36·q.
    steps: [{ step: 0 }, { step: 36 }, { step: 72 }],
  },
];
