// The Code tab: TensorFlow, Keras and PyTorch code for the current configuration,
// written by the server (/code), with a copy button. Fetched when the tab is open. While a
// block is on the stage (ctx.blockConfig()), the Keras and PyTorch code that builds the block
// with its weights and reproduces its output (/blocks/code); tf.nn has no block to show.
import { translateComments } from "./comments.js";
import { buildProblem } from "../controls/data.js";
import { t } from "../core/i18n.js";
import { changesTrace } from "../core/state.js";
import { validate } from "../controls/validate.js";

const $ = (selector) => document.querySelector(selector);
const FLAVOURS = ["tf", "keras", "pytorch"];

export function initCodePanel(ctx) {
  const { state } = ctx;
  const panel = $("#panel-code");
  const code = $("#code-text");
  const status = $("#code-status");
  let flavour = "pytorch";
  let snippets = null;
  let request = null;
  let timer = null;

  function show() {
    for (const button of panel.querySelectorAll("[data-flavour]")) {
      button.setAttribute("aria-pressed", String(button.dataset.flavour === flavour));
      button.hidden = Boolean(snippets) && !(button.dataset.flavour in snippets);
    }
    code.textContent = snippets ? snippets[flavour] : "";
    code.dataset.flavour = flavour;
  }

  async function refresh() {
    if (panel.hidden) return;
    const values = state.values;
    if (request) request.abort();
    snippets = null;
    show();
    panel.dataset.ready = "false";
    const block = ctx.blockConfig();
    if (block) {
      refreshBlock(block);
      return;
    }
    if (validate(values, ctx.labels).length) {
      status.textContent = t("code.invalid");
      return;
    }
    const problem = buildProblem(values);
    if (!problem) return;
    const controller = new AbortController();
    request = controller;
    status.textContent = t("lesson.loading");
    try {
      const answer = await ctx.callApi("code", { op: problem.op, ...ctx.opBody(problem) }, controller.signal);
      if (controller !== request) return;
      // The server writes English comments; the page shows them in its language.
      snippets = Object.fromEntries(FLAVOURS.map((name) => [name, translateComments(answer[name])]));
      status.textContent = t("code.shape", { shape: `[${answer.output_shape.join(", ")}]` });
      show();
      panel.dataset.ready = "true";
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = t("lesson.failed", { message: error.message });
    }
  }

  async function refreshBlock(block) {
    const controller = new AbortController();
    request = controller;
    status.textContent = t("lesson.loading");
    try {
      const answer = await ctx.callApi("block_code", block, controller.signal);
      if (controller !== request) return;
      snippets = { keras: translateComments(answer.keras), pytorch: translateComments(answer.pytorch) };
      if (!(flavour in snippets)) flavour = "keras";
      status.textContent = t("code.block_shape", { shape: `[${answer.output_shape.join(", ")}]` });
      show();
      panel.dataset.ready = "true";
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = t("lesson.failed", { message: error.message });
    }
  }

  panel.addEventListener("click", async (event) => {
    const choice = event.target.closest("[data-flavour]");
    if (choice) {
      flavour = choice.dataset.flavour;
      show();
      return;
    }
    if (event.target.closest("#code-copy") && snippets) {
      const text = snippets[flavour];
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        // No clipboard permission (an insecure origin, a headless browser): select the text instead.
        const range = document.createRange();
        range.selectNodeContents(code);
        const selection = getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
      }
      status.textContent = t("code.copied");
    }
  });
  // The tab opens by click or arrow keys (main.js): follow the panel's visibility.
  new MutationObserver(() => {
    if (!panel.hidden && panel.dataset.ready !== "true") refresh();
  }).observe(panel, { attributes: true, attributeFilter: ["hidden"] });
  state.subscribe((changed) => {
    if (!changesTrace(changed)) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  });
  show();
}
