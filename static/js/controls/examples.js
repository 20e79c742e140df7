// Ready-made demos: each is a full set of parameters over the defaults, so an
// example means the same thing whatever was on screen before.
import { defaults } from "../core/state.js";

const EXAMPLES = {
  // DESIGN.md's seed example: out[0, 0, 0] = [0, 36, 9, 27], out[0, 0, 1] = [0, 54, 9, 27].
  seed: { op: "depthwise", source: "ramp", height: 4, width: 4, channels: 2, kh: 3, kw: 3, multiplier: 2, kernels: "0,2,1,3", padding: "VALID" },
  edges: { op: "depthwise", source: "digit", height: 12, width: 12, channels: 1, multiplier: 2, kernels: "edge_x,edge_y", padding: "SAME" },
  separable: { op: "separable", source: "ramp", height: 5, width: 5, channels: 3, multiplier: 1, out: 4, kernels: "identity,edge_x,laplacian", pointwise: "random", padding: "SAME" },
  standard: { op: "standard", source: "ramp", height: 5, width: 5, channels: 2, out: 3, kernels: "edge_x,edge_y,ones", padding: "VALID" },
  grouped: { op: "grouped", source: "checker", height: 6, width: 6, channels: 4, out: 4, groups: 2, kernels: "identity,edge_x,edge_y,laplacian", padding: "SAME" },
  strided: { op: "depthwise", source: "gradient", height: 6, width: 6, channels: 1, multiplier: 1, sh: 2, sw: 2, kernels: "ones", padding: "SAME" },
  dilated: { op: "depthwise", source: "digit", height: 9, width: 9, channels: 1, multiplier: 1, dh: 2, dw: 2, kernels: "ones", padding: "VALID" },
};

/** The full parameter patch of example `name` (keeps the playback speed), or null. */
export function examplePatch(name, speed) {
  const example = EXAMPLES[name];
  if (!example) return null;
  return { ...defaults(), ...example, step: 0, speed };
}
