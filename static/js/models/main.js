// Wiring only: the URL state, the two tabs (your model, blocks), the language menu.
import { BlockView } from "./blocks.js";
import { ModelView } from "./model.js";
import { ModelsState } from "./state.js";

const $ = (selector) => document.querySelector(selector);
const state = new ModelsState(location.hash);
const model = new ModelView(state);
const blocks = new BlockView(state);
let blocksLoaded = false;

function showView() {
  const view = state.get("view");
  for (const name of ["model", "blocks"]) {
    const selected = name === view;
    $(`#tab-${name}`).setAttribute("aria-selected", String(selected));
    $(`#tab-${name}`).tabIndex = selected ? 0 : -1;
    $(`#panel-${name}`).hidden = !selected;
  }
  if (view === "blocks" && !blocksLoaded) {
    blocksLoaded = true;
    blocks.load();
  }
}

$("#tab-model").addEventListener("click", () => state.set({ view: "model" }));
$("#tab-blocks").addEventListener("click", () => state.set({ view: "blocks" }));
for (const tab of document.querySelectorAll("[role='tab']")) {
  tab.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    const next = state.get("view") === "model" ? "blocks" : "model";
    state.set({ view: next });
    $(`#tab-${next}`).focus();
  });
}
$("#models-language").addEventListener("change", (event) => {
  location.href = `/models?lang=${encodeURIComponent(event.target.value)}${location.hash}`;
});
state.onChange((changed) => {
  if (changed.includes("view")) showView();
});

showView();
history.replaceState(null, "", `#${state.hash()}`);
model.openShipped().finally(() => {
  document.body.dataset.ready = "true";
});
