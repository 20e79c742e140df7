// The training lab page: up to four runs side by side, trained by the server
// (POST /api/v1/lab/train), their curves, learned filters, costs and a verdict computed
// from what the runs actually did. State (preset, dataset, seed, epochs, each run's first
// layer and M) lives in one table mirrored to the URL hash.
import { uploadLabDataset } from "../core/api.js";
import { config } from "../core/config.js";
import { language, t } from "../core/i18n.js";
import { BackwardView } from "./backward.js";
import { drawCurves } from "./charts.js";
import { RunCard } from "./runs.js";
import { verdict } from "./verdict.js";

const lab = config.lab || { presets: {}, defaults: {}, datasets: ["digits"], limits: {} };
const $ = (selector) => document.querySelector(selector);
const percentFormat = new Intl.NumberFormat(language, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const percent = (value) => percentFormat.format(value * 100);

const state = {
  preset: "seed", dataset: "digits", upload: null, seed: 0, epochs: lab.defaults.epochs || 8, runs: null,
};
const IDX_FIELDS = {
  "train-images": "train_images", "train-labels": "train_labels",
  "t10k-images": "test_images", "t10k-labels": "test_labels",
};

function readHash() {
  const values = new URLSearchParams(location.hash.slice(1));
  if (lab.presets[values.get("preset")]) state.preset = values.get("preset");
  if (lab.datasets.includes(values.get("dataset"))) state.dataset = values.get("dataset");
  for (const name of ["seed", "epochs"]) {
    const number = Number(values.get(name));
    if (values.has(name) && Number.isInteger(number) && number >= 0) state[name] = number;
  }
  const runs = values.get("runs");
  state.runs = runs ? runs.split(",").map((item) => {
    const [first_layer, multiplier] = item.split(":");
    return { first_layer, channel_multiplier: Number(multiplier) || 1 };
  }) : null;
}

function writeHash() {
  const values = new URLSearchParams({
    preset: state.preset, dataset: state.dataset, seed: state.seed, epochs: state.epochs,
  });
  if (state.upload) values.set("upload", state.upload);
  const custom = cards.map((card) => `${card.settings.first_layer}:${card.settings.channel_multiplier}`);
  const preset = (lab.presets[state.preset] || []).map((run) => `${run.first_layer}:${run.channel_multiplier || 1}`);
  if (custom.join(",") !== preset.join(",")) values.set("runs", custom.join(","));
  history.replaceState(null, "", `#${values}`);
}

let cards = [];
let controller = null;
let backward = null;

function buildCards() {
  const container = $("#lab-runs");
  container.replaceChildren();
  const preset = lab.presets[state.preset] || [];
  cards = preset.slice(0, lab.max_runs || 4).map((run, index) => {
    const override = state.runs && state.runs[index];
    const card = new RunCard(index, { ...run, ...(override || {}) }, {
      onChange: () => { writeHash(); if (backward) backward.refreshRuns(); },
    });
    container.appendChild(card.element);
    return card;
  });
  redraw();
}

function bodyOf(card) {
  const { label, ...fields } = card.settings;
  if (fields.first_layer === "standard") fields.channel_multiplier = 1;
  const body = { ...fields, dataset: state.dataset, seed: state.seed, epochs: state.epochs };
  if (state.upload) body.upload = state.upload;
  return body;
}

let redrawQueued = false;
function redraw() {
  if (redrawQueued) return;
  redrawQueued = true;
  requestAnimationFrame(async () => {
    redrawQueued = false;
    await drawCurves($("#lab-accuracy-chart"), $("#lab-loss-chart"), cards.map((card) => card.result()));
    $("#lab-accuracy-chart").dataset.points = String(cards.reduce((n, card) => n + card.epochs.length, 0));
  });
}

function showVerdict() {
  const sentences = verdict(cards.map((card) => card.summary()), t, percent);
  const node = $("#lab-verdict");
  node.replaceChildren(...sentences.map((sentence) => {
    const paragraph = document.createElement("p");
    paragraph.textContent = sentence;
    return paragraph;
  }));
  node.dataset.ready = sentences.length ? "true" : "false";
}

function setStatus(key, values) {
  $("#lab-status").textContent = key ? t(key, values) : "";
}

async function train() {
  if (controller) controller.abort();
  controller = new AbortController();
  const signal = controller.signal;
  $("#lab-verdict").replaceChildren();
  $("#lab-verdict").dataset.ready = "false";
  $("#lab-stop").disabled = false;
  $("#lab-train").disabled = true;
  document.body.dataset.training = "true";
  setStatus("lab.status.training", { runs: cards.length });
  for (const card of cards) card.reset(state.epochs);
  redraw();
  await Promise.all(cards.map((card) => card.train(bodyOf(card), signal, redraw)));
  if (signal.aborted) return;
  controller = null;
  $("#lab-stop").disabled = true;
  $("#lab-train").disabled = false;
  document.body.dataset.training = "false";
  setStatus("lab.status.done", { seconds: Math.max(...cards.map((card) => card.seconds || 0)).toFixed(1) });
  showVerdict();
}

function stop() {
  if (!controller) return;
  controller.abort();
  controller = null;
  $("#lab-stop").disabled = true;
  $("#lab-train").disabled = false;
  document.body.dataset.training = "false";
  setStatus("lab.status.stopped");
  showVerdict();
}

/** The chosen files as the upload's fields: one mnist.npz, or the four IDX files by name. */
function uploadFields(files) {
  const fields = {};
  for (const file of files) {
    if (file.name.endsWith(".npz")) fields.npz = file;
    const prefix = Object.keys(IDX_FIELDS).find((name) => file.name.startsWith(name));
    if (prefix) fields[IDX_FIELDS[prefix]] = file;
  }
  return fields;
}

async function upload(files) {
  const fields = uploadFields(files);
  if (!Object.keys(fields).length) {
    setStatus("lab.upload.which");
    return;
  }
  setStatus("lab.upload.sending");
  try {
    const answer = await uploadLabDataset(fields);
    const select = $("#lab-dataset");
    const value = `mnist:${answer.upload}`;
    if (![...select.options].some((option) => option.value === value)) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = t("lab.dataset.uploaded", { train: answer.train_examples, test: answer.test_examples });
      select.appendChild(option);
    }
    select.value = value;
    state.dataset = "mnist";
    state.upload = answer.upload;
    writeHash();
    setStatus("lab.upload.done", { train: answer.train_examples, test: answer.test_examples });
  } catch (error) {
    setStatus("lab.upload.failed", { message: error.message });
  }
}

function init() {
  readHash();
  const dataset = $("#lab-dataset");
  for (const name of lab.datasets) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = t(`lab.dataset.${name}`);
    dataset.appendChild(option);
  }
  dataset.value = state.dataset;
  $("#lab-preset").value = state.preset;
  $("#lab-seed").value = String(state.seed);
  const epochs = $("#lab-epochs");
  epochs.max = String(lab.limits.max_epochs || 30);
  epochs.value = String(state.epochs);
  $("#lab-network").textContent = t("lab.network");

  $("#lab-preset").addEventListener("change", (event) => {
    state.preset = event.target.value;
    state.runs = null;
    buildCards();
    writeHash();
    backward.refreshRuns();
  });
  dataset.addEventListener("change", () => {
    const [name, upload] = dataset.value.split(":");
    state.dataset = name;
    state.upload = upload || null;
    writeHash();
  });
  $("#lab-upload").addEventListener("change", (event) => upload(event.target.files));
  for (const [id, name] of [["#lab-seed", "seed"], ["#lab-epochs", "epochs"]]) {
    $(id).addEventListener("change", (event) => {
      const input = event.target;
      const value = Number(input.value);
      const valid = Number.isInteger(value) && value >= Number(input.min) && (!input.max || value <= Number(input.max));
      input.setAttribute("aria-invalid", String(!valid));
      if (valid) { state[name] = value; writeHash(); }
    });
  }
  $("#lab-train").addEventListener("click", train);
  $("#lab-stop").addEventListener("click", stop);
  $("#lab-language").addEventListener("change", (event) => {
    location.href = `/lab?lang=${encodeURIComponent(event.target.value)}${location.hash}`;
  });
  buildCards();
  writeHash();
  backward = new BackwardView($("#lab-backward"), () => cards.map((card) => ({ name: card.name, body: bodyOf(card) })));
  document.body.dataset.ready = "true";
}

init();
