// One run of the lab: its card (settings, live numbers, learned filters) and its stream.
import { ApiError, streamLab } from "../core/api.js";
import { language, t } from "../core/i18n.js";
import { drawFilters } from "./filters.js";
import { HUES } from "./charts.js";

const FIRST_LAYERS = ["standard", "separable", "separable_fixed_pointwise", "depthwise"];
const integer = new Intl.NumberFormat(language);
const percentFormat = new Intl.NumberFormat(language, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

export class RunCard {
  constructor(index, settings, { onChange }) {
    this.index = index;
    this.settings = { ...settings, channel_multiplier: settings.channel_multiplier || 1 };
    this.onChange = onChange;
    this.epochs = [];
    this.header = null;
    this.error = null;
    this.seconds = null;
    this.element = this.build();
    this.showName();
  }

  get name() {
    const layer = t(`lab.layer.${this.settings.first_layer}`);
    const base = this.settings.first_layer === "standard"
      ? t("lab.run.name", { n: this.index + 1, layer })
      : t("lab.run.name_m", { n: this.index + 1, layer, m: this.settings.channel_multiplier });
    // The fan_in preset's runs differ only in the second layer and its initialisation.
    if (this.settings.second_layer !== "separable") return base;
    const init = this.settings.depthwise_fan_in === "kh_kw_c" ? "lab.run.wrong_fan_in" : "lab.run.right_fan_in";
    return `${base} ${t("lab.run.second")} ${t(init)}`;
  }

  build() {
    const id = `lab-run-${this.index}`;
    this.title = element("h3", { id: `${id}-title` });
    this.state = element("span", { class: "lab-run-state", "data-role": "state" });
    this.layer = element("select", { id: `${id}-layer`, "data-field": "first_layer" },
      FIRST_LAYERS.map((name) => element("option", { value: name, text: t(`lab.layer.${name}`) })));
    this.layer.value = this.settings.first_layer;
    this.multiplier = element("input", {
      id: `${id}-multiplier`, type: "number", min: "1", max: "8", step: "1", inputmode: "numeric",
      "data-field": "channel_multiplier",
    });
    this.multiplier.value = String(this.settings.channel_multiplier);
    this.layer.addEventListener("change", () => this.changed());
    this.multiplier.addEventListener("change", () => this.changed());
    const number = (role, key) => element("div", {}, [
      element("dt", { text: t(key) }), element("dd", { "data-role": role, text: "—" }),
    ]);
    this.numbers = element("dl", { class: "lab-run-numbers" }, [
      number("accuracy", "lab.number.accuracy"), number("params", "lab.number.params"),
      number("macs", "lab.number.macs"), number("epoch", "lab.number.epoch"),
      number("rank", "lab.number.rank"),
    ]);
    this.canvas = element("canvas", { class: "lab-filters", role: "img", "aria-label": t("lab.filters") });
    return element("article", {
      class: `lab-run hue-${this.index % HUES.length}`, "data-run": String(this.index),
      "aria-labelledby": `${id}-title`,
    }, [
      element("header", { class: "lab-run-head" }, [this.title, this.state]),
      element("div", { class: "lab-run-fields" }, [
        element("label", { for: `${id}-layer` }, [element("span", { text: t("lab.first_layer") }), this.layer]),
        element("label", { for: `${id}-multiplier` }, [element("span", { text: t("lab.multiplier") }), this.multiplier]),
      ]),
      this.numbers,
      element("p", { class: "lab-filters-title", text: t("lab.filters") }),
      this.canvas,
    ]);
  }

  changed() {
    const multiplier = Number(this.multiplier.value);
    const valid = Number.isInteger(multiplier) && multiplier >= 1 && multiplier <= 8;
    this.multiplier.setAttribute("aria-invalid", String(!valid));
    if (!valid) return;
    this.settings = { ...this.settings, first_layer: this.layer.value, channel_multiplier: multiplier };
    this.multiplier.disabled = this.layer.value === "standard";
    this.showName();
    this.onChange();
  }

  showName() {
    this.title.textContent = this.name;
    this.multiplier.disabled = this.settings.first_layer === "standard";
  }

  set(role, text) {
    this.numbers.querySelector(`[data-role="${role}"]`).textContent = text;
  }

  reset(epochs) {
    this.epochs = [];
    this.header = null;
    this.error = null;
    this.seconds = null;
    this.total = epochs;
    this.state.textContent = t("lab.state.starting");
    this.element.dataset.state = "starting";
    for (const role of ["accuracy", "params", "macs", "rank"]) this.set(role, "—");
    this.set("epoch", `0 / ${epochs}`);
  }

  async train(body, signal, redraw) {
    try {
      await streamLab(body, (event) => this.receive(event, redraw), signal);
    } catch (error) {
      if (error.name === "AbortError") {
        this.state.textContent = t("lab.state.stopped");
        this.element.dataset.state = "stopped";
        return;
      }
      this.fail(error instanceof ApiError ? error.message : String(error));
    }
  }

  fail(message) {
    this.error = message;
    this.state.textContent = t("lab.state.failed", { message });
    this.element.dataset.state = "failed";
  }

  receive(event, redraw) {
    switch (event.event) {
      case "header": {
        this.header = event;
        const costs = event.costs;
        this.set("params", integer.format(costs.first_layer_params));
        this.set("macs", integer.format(costs.first_layer_macs));
        this.state.textContent = t(event.cached ? "lab.state.cached" : "lab.state.training");
        this.element.dataset.state = "training";
        break;
      }
      case "queue":
        this.state.textContent = t("lab.state.queued", { position: event.position });
        this.element.dataset.state = "queued";
        break;
      case "epoch":
        this.epochs.push(event);
        this.set("accuracy", `${percentFormat.format(event.test_accuracy * 100)} %`);
        this.set("epoch", `${event.epoch} / ${this.total}`);
        this.set("rank", t("lab.rank_of", { rank: event.filter_rank, filters: event.filters.length }));
        drawFilters(this.canvas, event.filters);
        redraw();
        break;
      case "end":
        this.seconds = event.seconds;
        this.state.textContent = t("lab.state.done");
        this.element.dataset.state = "done";
        break;
      case "error":
        this.fail(event.error ? event.error.message : event.message);
        break;
      default:
        break;
    }
  }

  result() {
    return { name: this.name, epochs: this.epochs };
  }

  summary() {
    const last = this.epochs.at(-1);
    const finished = this.element.dataset.state === "done";
    return {
      name: this.name,
      firstLayer: this.settings.first_layer,
      multiplier: this.settings.first_layer === "standard" ? 1 : this.settings.channel_multiplier,
      accuracy: finished && last ? last.test_accuracy : null,
      params: this.header ? integer.format(this.header.costs.first_layer_params) : null,
      rank: last ? last.filter_rank : null,
      filters: last ? last.filters.length : 0,
      epochs: last ? last.epoch : 0,
      error: this.error,
    };
  }
}
