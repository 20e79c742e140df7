// Which settings make sense together. A problem is explained next to its control
// (and nothing is clamped); the server checks again and has the last word
// (its messages are shown the same way).
import { PARAMS, PHOTO_SOURCES } from "../core/state.js";
import { t } from "../core/i18n.js";

/** The parameters that matter for an operation (the others are hidden). */
export function relevantParams(values) {
  const op = values.op;
  const photo = PHOTO_SOURCES.includes(values.source);
  // A photo brings its channels (RGB or grey: the upload field's choice) and shows the upload.
  const names = photo ? ["source", "image", "seed", "height", "width"] : ["source", "seed", "height", "width", "channels"];
  if (op !== "pointwise") names.push("kh", "kw", "sh", "sw", "dh", "dw", "padding");
  if (op !== "pointwise" && values.padding === "EXPLICIT") names.push("pad_top", "pad_bottom", "pad_left", "pad_right");
  if (op === "depthwise" || op === "separable") names.push("multiplier");
  if (op !== "depthwise") names.push("out");
  if (op === "grouped") names.push("groups");
  return new Set(names);
}

/** Problems as [{param, message}], in control order. */
export function validate(values, labels) {
  const problems = [];
  const relevant = relevantParams(values);
  for (const name of relevant) {
    const spec = PARAMS[name];
    if (spec.kind !== "int") continue;
    const value = values[name];
    if (!Number.isInteger(value) || value < spec.min || value > spec.max) {
      // An empty box or a word has no number to quote ("got NaN" helps nobody).
      const key = Number.isFinite(value) ? "problem.range" : "problem.range_empty";
      problems.push({
        param: name,
        message: t(key, { label: labels[name] || name, min: spec.min, max: spec.max, value }),
      });
    }
  }
  if (problems.length) return problems;
  const { op, channels, out, groups } = values;
  if (op === "grouped") {
    if (channels % groups) problems.push({ param: "groups", message: t("problem.groups_in", { groups, channels }) });
    else if (out % groups) problems.push({ param: "groups", message: t("problem.groups_out", { groups, out }) });
  }
  if ((op === "depthwise" || op === "separable") && (values.dh > 1 || values.dw > 1) && (values.sh > 1 || values.sw > 1)) {
    const param = values.dh > 1 || values.dw > 1 ? "dh" : "sh";
    problems.push({ param, message: t("problem.dilation_stride") });
  }
  if (values.source === "image" && !values.image) problems.push({ param: "source", message: t("problem.image_missing") });
  return problems;
}
