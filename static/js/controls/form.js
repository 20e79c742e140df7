// The settings form <-> the state: every element with data-param shows its
// parameter and writes it back; problems are shown next to their control.
import { t } from "../core/i18n.js";
import { PARAMS } from "../core/state.js";
import { relevantParams } from "./validate.js";
import {
  KERNEL_CONSTANTS, KERNEL_PRESETS, kernelLayout, sliceEdited, sliceToken, withSliceToken, withoutSliceEdits,
} from "./data.js";

const CUSTOM = "custom"; // the menu entry of a hand-edited kernel

/** The visible label of each parameter's control (for messages). */
export function controlLabels(root) {
  const labels = {};
  for (const element of root.querySelectorAll("[data-param]")) {
    const label = element.id ? root.querySelector(`label[for="${element.id}"]`) : null;
    if (label) labels[element.dataset.param] = label.textContent.trim();
  }
  return labels;
}

function readControl(element) {
  const name = element.dataset.param;
  const spec = PARAMS[name];
  if (element.type === "radio") return element.checked ? element.value : undefined;
  if (spec.kind === "int") {
    const text = element.value.trim();
    // A fraction stays a number (the message quotes it); an empty box is NaN.
    return /^-?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : Number.NaN;
  }
  if (spec.kind === "number") return Number(element.value);
  return element.value;
}

function showControl(element, value) {
  if (element.type === "radio") {
    element.checked = element.value === value;
    return;
  }
  const text = Number.isNaN(value) ? "" : String(value);
  // Leave a field alone while its text already means this value (keeps the caret, "07", "").
  if (document.activeElement === element && (readControl(element) === value || (Number.isNaN(value) && Number.isNaN(readControl(element))))) return;
  if (element.value !== text) element.value = text;
}

/**
 * Bind the form. Returns `update(values, problems)` to call on every state change.
 */
export function bindControls(root, state) {
  const elements = Array.from(root.querySelectorAll("[data-param]"));
  for (const element of elements) {
    const handler = () => {
      const value = readControl(element);
      if (value !== undefined) state.set({ [element.dataset.param]: value });
    };
    element.addEventListener(element.tagName === "SELECT" || element.type === "radio" ? "change" : "input", handler);
  }
  const kernelList = root.querySelector("#kernel-preset-list");
  let kernelKey = null;

  function updateKernelPresets(values) {
    const layout = kernelLayout(values);
    const section = root.querySelector("#kernel-presets");
    section.hidden = layout.slices === 0 || !(layout.slices <= 64);
    if (section.hidden) return;
    const key = `${values.op}|${layout.slices}|${values.multiplier}`;
    if (key !== kernelKey) {
      kernelKey = key;
      kernelList.replaceChildren();
      for (let s = 0; s < layout.slices; s++) {
        const id = `kernel-preset-${s}`;
        const row = document.createElement("div");
        row.className = "kernel-preset";
        const label = document.createElement("label");
        label.htmlFor = id;
        const names = { ...layout.labels(s), o: layout.kind === "depthwise" ? s : layout.labels(s).o };
        label.textContent = t(`kernel.slice.${layout.kind}`, names);
        label.title = t(`kernel.slice.${layout.kind}_title`, names);
        const select = document.createElement("select");
        select.id = id;
        select.dataset.slice = String(s);
        select.addEventListener("change", () => {
          const current = state.values;
          if (select.value === CUSTOM) return; // "Custom" names hand edits; it is not a preset
          const layout = kernelLayout(current);
          state.set({
            kernels: withSliceToken(current, s, select.value, layout.slices),
            kernel_edits: withoutSliceEdits(current.kernel_edits, s, layout.perSlice),
          });
        });
        row.append(label, select);
        kernelList.append(row);
      }
    }
    for (const select of kernelList.querySelectorAll("select")) {
      const s = Number(select.dataset.slice);
      // A kernel edited by hand is no longer its preset: the menu says "Custom".
      const edited = sliceEdited(values.kernel_edits, s, layout.perSlice);
      const token = edited ? CUSTOM : sliceToken(values, s);
      const options = [...KERNEL_PRESETS.map(String), ...KERNEL_CONSTANTS.map(String)];
      if (!options.includes(token)) options.push(token);
      const signature = options.join("|");
      if (select.dataset.options !== signature) {
        select.dataset.options = signature;
        select.replaceChildren(...options.map((option) => {
          const element = document.createElement("option");
          element.value = option;
          element.textContent = option === CUSTOM ? t("kernel.preset.custom")
            : KERNEL_PRESETS.includes(option) ? t(`kernel.preset.${option}`) : t("kernel.preset.const", { n: option });
          return element;
        }));
      }
      select.value = token;
    }
  }

  return function update(values, problems) {
    for (const element of elements) showControl(element, values[element.dataset.param]);
    const relevant = relevantParams(values);
    for (const field of root.querySelectorAll(".field[data-field]")) {
      const name = field.dataset.field;
      if (name in PARAMS) field.hidden = !relevant.has(name);
    }
    for (const block of root.querySelectorAll("[data-show-when]")) {
      const [name, allowed] = block.dataset.showWhen.split("=");
      block.hidden = !allowed.split(",").includes(String(values[name]));
    }
    for (const section of root.querySelectorAll(".control-group")) {
      const fields = section.querySelectorAll(".field[data-field]");
      if (fields.length && section.id !== "group-edit-section") {
        section.hidden = Array.from(fields).every((field) => field.hidden) && !section.querySelector("#kernel-presets:not([hidden])");
      }
    }
    const byParam = new Map(problems.map((problem) => [problem.param, problem.message]));
    for (const message of root.querySelectorAll(".problem[id^='problem-']")) {
      const name = message.id.slice("problem-".length);
      const text = byParam.get(name) || "";
      if (message.textContent !== text) message.textContent = text;
      const control = root.querySelector(`#param-${name}`);
      if (control) control.setAttribute("aria-invalid", text ? "true" : "false");
    }
    updateKernelPresets(values);
  };
}
