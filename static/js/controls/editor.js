// "Edit a value": pick a cell (by clicking a grid or typing its position) and
// set it. Edits live in the state as text, so they are part of the URL.
import { t } from "../core/i18n.js";
import { kernelLayout, withEdit } from "./data.js";

/** Shape of each editable grid for the current values: [slices, rows, cols]. */
function shapeOf(target, values) {
  if (target === "input") return [values.channels, values.height, values.width];
  if (target === "kernel") {
    const layout = kernelLayout(values);
    return [layout.slices * (layout.perSlice || 1), values.kh, values.kw];
  }
  const rows = values.op === "separable" ? values.channels * values.multiplier : values.channels;
  return [1, rows, values.out];
}

export function bindEditor(form, state, currentValue) {
  const target = form.querySelector("#edit-target");
  const slice = form.querySelector("#edit-slice");
  const row = form.querySelector("#edit-row");
  const col = form.querySelector("#edit-col");
  const value = form.querySelector("#edit-value");
  const problem = form.querySelector("#edit-problem");
  const sliceLabel = form.querySelector("#edit-slice-label");
  const rowLabel = form.querySelector("#edit-row-label");
  const colLabel = form.querySelector("#edit-col-label");

  function relabel() {
    const kind = target.value;
    // A kernel's number says how it is counted: w[:, :, q, r] is q·M + r, w[:, :, c, o] is o·C/G + c.
    const layout = kind === "kernel" ? kernelLayout(state.values).kind : "";
    sliceLabel.textContent = t(layout === "depthwise" || layout === "standard" ? `edit.slice.kernel_${layout}` : `edit.slice.${kind}`);
    slice.disabled = kind === "pointwise";
    rowLabel.textContent = t(kind === "pointwise" ? "edit.row.pointwise" : "edit.row");
    colLabel.textContent = t(kind === "pointwise" ? "edit.col.pointwise" : "edit.col");
  }
  target.addEventListener("change", relabel);
  state.subscribe((changed) => changed.has("op") && relabel());
  relabel();

  /** A note under the editor: a problem (red) or, for "done", a plain confirmation. */
  function say(text, kind = "problem") {
    problem.textContent = text;
    problem.dataset.kind = kind;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = state.values;
    const kind = target.value;
    if (kind === "pointwise" && values.op !== "separable" && values.op !== "pointwise") return say(t("edit.no_pointwise"));
    const shape = shapeOf(kind, values);
    const index = [kind === "pointwise" ? 0 : Number(slice.value), Number(row.value), Number(col.value)];
    const number = Number(value.value);
    if (value.value.trim() === "" || !Number.isFinite(number)) return say(t("edit.not_a_number"));
    if (index.some((n, axis) => !Number.isInteger(n) || n < 0 || n >= shape[axis])) {
      return say(t("edit.out_of_range", { cell: index.join(", "), shape: shape.join(" × ") }));
    }
    if (kind === "input") state.set({ input_edits: withEdit(values.input_edits, index, number) });
    else if (kind === "kernel") state.set({ kernel_edits: withEdit(values.kernel_edits, index, number) });
    else state.set({ pointwise_edits: withEdit(values.pointwise_edits, index.slice(1), number) });
    say(t("edit.done", { cell: index.join(", "), value: number }), "done");
  });

  form.querySelector("#edit-reset").addEventListener("click", () => {
    state.set({ input_edits: "", kernel_edits: "", pointwise_edits: "" });
    say("");
  });

  /** A grid cell was clicked: fill in its position and current value, focus the value. */
  return function pick(kind, s, i, j) {
    target.value = kind;
    relabel();
    slice.value = kind === "pointwise" ? "" : String(s);
    row.value = String(i);
    col.value = String(j);
    const current = currentValue(kind, s, i, j);
    value.value = current === null || current === undefined ? "" : String(current);
    say("");
    value.focus();
    value.select();
  };
}
