// Classroom features: presenter mode (full screen, large type, keyboard only), quiz
// mode (type the next value or the parameter count, checked against what the server
// sent); exports live in export/.
import { buildProblem } from "../controls/data.js";
import { t } from "../core/i18n.js";
import { changesTrace } from "../core/state.js";
import { validate } from "../controls/validate.js";
import { formatNumber } from "../views/format.js";
import { elementwiseQuestion } from "../blocks/play.js";
import { bindExport } from "../export/index.js";

const $ = (selector) => document.querySelector(selector);

// ------------------------------------------------------------------ presenter

function bindPresenter(ctx, lessons) {
  const { state } = ctx;
  const button = $("#present-toggle");

  function enter() {
    state.set({ present: 1 });
    state.flushUrl();
    // Full screen needs a user gesture (a click or a key); without one the page fills the window.
    const root = document.documentElement;
    if (!document.fullscreenElement && root.requestFullscreen) root.requestFullscreen().catch(() => {});
  }

  function leave() {
    state.set({ present: 0 });
    state.flushUrl();
    if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(() => {});
  }

  function apply(values) {
    const on = values.present === 1;
    document.body.classList.toggle("presenting", on);
    button.setAttribute("aria-pressed", String(on));
    ctx.views.invalidate();
    ctx.scheduleRender();
  }

  button.addEventListener("click", () => (state.get("present") ? leave() : enter()));
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement && state.get("present")) leave();
  });

  // Capture phase: before the player's keys (player.js skips events already handled).
  window.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const tag = event.target && event.target.tagName;
    const field = tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA";
    const clicker = event.key === "PageDown" || event.key === "PageUp";
    if (field && !(clicker && tag === "INPUT" && event.target.type !== "range")) return;
    const presenting = state.get("present") === 1;
    if ((event.key === "p" || event.key === "P") && !event.shiftKey) {
      event.preventDefault();
      if (presenting) leave();
      else enter();
    } else if (event.key === "Escape" && presenting) {
      event.preventDefault();
      leave();
    } else if ((event.key === "q" || event.key === "Q") && !event.shiftKey) {
      event.preventDefault();
      state.set({ quiz: state.get("quiz") ? 0 : 1 });
    } else if (presenting && state.get("lesson") && (event.key === "PageDown" || event.key === "PageUp")) {
      // A presenter clicker's buttons walk through the lesson's steps.
      if (lessons.go(event.key === "PageDown" ? 1 : -1)) event.preventDefault();
    }
  }, { capture: true });

  state.subscribe((changed, values) => {
    if (changed.has("present")) apply(values);
  });
  apply(state.values);
}

// ------------------------------------------------------------------ quiz

/** What the next step asks for: {label, value} from the frames the server sent. */
function nextQuestion(store, step) {
  if (!store || !store.header) return { pending: true };
  if (step + 1 >= store.total) return null;
  const frame = store.frame(step + 1);
  if (!frame) return { pending: true };
  if (frame.elementwise) return elementwiseQuestion(frame, store); // its operands in the question
  const name = frame.stage.name;
  const i = frame.scalar("i");
  const j = frame.scalar("j");
  if (name === "pointwise") {
    return { label: `out[${i}, ${j}, 0]`, value: frame.array("outputs").data[0] };
  }
  const o = frame.has("out_channel") ? frame.scalar("out_channel") : frame.scalar("o");
  const value = frame.has("output") ? frame.scalar("output") : frame.scalar("sum");
  return { label: `out[${i}, ${j}, ${o}]`, value };
}

/** Right within display rounding: the typed number, read as shown (4 significant digits). */
function matches(typed, value, slack = 0) {
  const text = String(typed).trim().replace(/\u2212/g, "-").replace(",", ".");
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) return null;
  const number = Number(text);
  if (formatNumber(number) === formatNumber(value)) return true;
  const shown = Number(formatNumber(value).replace(/\u2212/g, "-"));
  return Math.abs(number - value) <= Math.abs(shown - value) + slack + 1e-9 * Math.max(1, Math.abs(value));
}

const LAYER = { depthwise: "depthwise", separable: "separable", standard: "standard", grouped: "grouped", pointwise: "pointwise" };

function bindQuiz(ctx) {
  const { state } = ctx;
  const box = $("#quiz");
  const stepQuestion = $("#quiz-step-question");
  const stepAnswer = $("#quiz-step-answer");
  const stepFeedback = $("#quiz-step-feedback");
  const paramsQuestion = $("#quiz-params-question");
  const paramsAnswer = $("#quiz-params-answer");
  const paramsFeedback = $("#quiz-params-feedback");
  let asked = null;
  let costs = null;
  let costsRequest = null;

  function feedback(element, kind, key, params) {
    element.textContent = t(key, params);
    element.dataset.kind = kind;
  }

  /** A block on the stage: the stage of the current step (the quiz asks about its parameters). */
  function blockStage() {
    const store = ctx.store();
    if (!store || !store.isBlock || !store.header || !store.total) return null;
    return store.locate(Math.min(state.get("step"), store.total - 1))?.stage ?? null;
  }

  /** In block mode the weights question is about the current stage's parameters, counted as
   * the Cost tab counts them (the server's per-stage cost); the question follows the step. */
  function askBlockParams() {
    const stage = blockStage();
    // "the add stage", not "stage add (add)": the residual add is named by its kind.
    const key = stage && stage.kind === "add" && stage.name === "add" ? "quiz.block_params_question_named" : "quiz.block_params_question";
    const text = stage
      ? t(key, { stage: stage.name, kind: t(`blocks.play.kind.${stage.kind}`) })
      : t("quiz.step_waiting");
    if (paramsQuestion.textContent !== text) {
      // The stage's name is an identifier (the API's): kept as it is in every language.
      const [before, after] = stage ? t(key, { stage: "\u0000", kind: t(`blocks.play.kind.${stage.kind}`) }).split("\u0000") : [text, ""];
      const name = document.createElement("code");
      name.translate = false;
      name.textContent = stage ? stage.name : "";
      paramsQuestion.replaceChildren(before, ...(stage ? [name, after] : []));
      paramsQuestion.dataset.stage = stage ? stage.name : "";
      paramsAnswer.value = "";
      paramsFeedback.textContent = "";
      delete paramsFeedback.dataset.kind;
    }
  }

  function ask() {
    if (!state.get("quiz")) return;
    if (state.get("block")) askBlockParams();
    const question = nextQuestion(ctx.store(), state.get("step"));
    asked = question && !question.pending ? question : null;
    stepAnswer.disabled = !asked;
    stepQuestion.textContent = question === null ? t("quiz.step_done")
      : question.pending ? t("quiz.step_waiting")
      : t("quiz.step_question", { step: state.get("step") + 2, label: question.prompt ?? question.label });
  }

  async function askParams() {
    if (!state.get("quiz")) return;
    const values = state.values;
    costs = null;
    if (costsRequest) costsRequest.abort();
    if (values.block) {
      askBlockParams();
      return;
    }
    delete paramsQuestion.dataset.stage;
    paramsQuestion.textContent = t("quiz.params_question", { layer: t(`op.${values.op}`) });
    if (validate(values, ctx.labels).length || !buildProblem(values)) return;
    const controller = new AbortController();
    costsRequest = controller;
    const shapes = {
      input_hw: [values.height, values.width], in_channels: values.channels, out_channels: values.op === "depthwise" ? values.channels * values.multiplier : values.out,
      kernel_hw: values.op === "pointwise" ? [1, 1] : [values.kh, values.kw],
      channel_multiplier: values.op === "depthwise" || values.op === "separable" ? values.multiplier : 1,
      groups: values.op === "grouped" ? values.groups : 1, padding: "VALID",
    };
    try {
      const answer = await ctx.callApi("costs", shapes, controller.signal);
      if (controller === costsRequest) costs = answer.costs;
    } catch {
      costs = null;
    }
  }

  $("#quiz-step-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!asked) return;
    const right = matches(stepAnswer.value, asked.value, asked.slack);
    if (right === null) return feedback(stepFeedback, "problem", "quiz.not_a_number");
    if (!right) return feedback(stepFeedback, "wrong", "quiz.wrong", { answer: stepAnswer.value.trim() });
    feedback(stepFeedback, "right", "quiz.right", { value: formatNumber(asked.value) });
    stepAnswer.value = "";
    ctx.player.stepBy(1); // reveal: the sum of that step is now on screen
  });
  $("#quiz-reveal").addEventListener("click", () => {
    if (!asked) return;
    feedback(stepFeedback, "revealed", "quiz.revealed", { label: asked.label, value: formatNumber(asked.value) });
    ctx.player.stepBy(1);
  });
  $("#quiz-params-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (state.get("block")) return checkBlockParams();
    if (!costs) return feedback(paramsFeedback, "problem", "quiz.params_unavailable");
    const expected = costs[LAYER[state.get("op")]].weights;
    const typed = paramsAnswer.value.trim().replace(/[\s,_]/g, "");
    if (!/^\d+$/.test(typed)) return feedback(paramsFeedback, "problem", "quiz.not_a_number");
    if (Number(typed) === expected) feedback(paramsFeedback, "right", "quiz.params_right", { value: expected });
    else feedback(paramsFeedback, "wrong", "quiz.params_wrong", { answer: typed });
  });
  function checkBlockParams() {
    const stage = blockStage();
    if (!stage || stage.name !== paramsQuestion.dataset.stage) return feedback(paramsFeedback, "problem", "quiz.params_unavailable");
    const expected = stage.cost.weights + stage.cost.biases;
    const typed = paramsAnswer.value.trim().replace(/[\s,_]/g, "");
    if (!/^\d+$/.test(typed)) return feedback(paramsFeedback, "problem", "quiz.not_a_number");
    if (Number(typed) === expected) feedback(paramsFeedback, "right", "quiz.block_params_right", { value: expected });
    else feedback(paramsFeedback, "wrong", "quiz.block_params_wrong", { answer: typed });
  }
  $("#quiz-toggle").addEventListener("click", () => state.set({ quiz: state.get("quiz") ? 0 : 1 }));

  /** Answers and verdicts about another configuration would mislead: clear them. */
  function clearAnswers() {
    for (const element of [stepAnswer, paramsAnswer]) element.value = "";
    for (const element of [stepFeedback, paramsFeedback]) {
      element.textContent = "";
      delete element.dataset.kind;
    }
  }

  state.subscribe((changed, values) => {
    if (changesTrace(changed)) clearAnswers();
    if (changed.has("quiz")) {
      box.hidden = !values.quiz;
      $("#quiz-toggle").setAttribute("aria-pressed", String(values.quiz === 1));
      askParams();
      ask(); // the question is there at once, whatever the step
    }
    if (!values.quiz) return;
    if (changesTrace(changed)) askParams();
    if (changed.has("step") || changesTrace(changed)) ask();
  });
  // The question follows the frames as they arrive.
  new MutationObserver(() => ask()).observe($("#stream-progress"), { childList: true, characterData: true, subtree: true });
  box.hidden = !state.get("quiz");
  $("#quiz-toggle").setAttribute("aria-pressed", String(state.get("quiz") === 1));
  askParams();
  ask();
}

// Export (PNG, GIF, WebM): export/index.js.

/** The language menu: the language is part of the URL (?lang=), the state stays in the hash. */
function bindLanguage() {
  $("#language").addEventListener("change", (event) => {
    const url = new URL(location.href);
    url.searchParams.set("lang", event.target.value);
    location.assign(url.toString());
  });
}

export function initClassroom(ctx, lessons) {
  bindLanguage();
  bindPresenter(ctx, lessons);
  bindQuiz(ctx);
  bindExport(ctx);
}
