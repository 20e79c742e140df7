// Runs a lesson: opening one sets the controls (its patch over the defaults), the
// step buttons (and PageUp/PageDown in presenter mode) walk through its steps, and
// its widget follows the live configuration. Lesson and step live in the URL.
import { buildProblem } from "../controls/data.js";
import { defaults, changesTrace } from "../core/state.js";
import { validate } from "../controls/validate.js";
import { LESSONS } from "./catalog.js";
import { rich, t } from "./common.js";

const $ = (selector) => document.querySelector(selector);

export function initLessons(ctx) {
  const { state } = ctx;
  const side = $("#side");
  const lessonBox = $("#lesson");
  const select = $("#lesson-select");
  let mounted = null; // {index, widget}
  let request = null;
  let timer = null;

  function open(index) {
    const lesson = LESSONS[index - 1];
    if (!lesson) {
      state.set({ lesson: 0, lstep: 0 });
      return;
    }
    const first = lesson.steps[0];
    const keep = { speed: state.get("speed"), present: state.get("present"), quiz: state.get("quiz") };
    state.set({ ...defaults(), ...lesson.patch, ...(first.patch || {}), ...keep, lesson: index, lstep: 0, step: first.step || 0 });
    // On a laptop screen the lesson column takes the settings' place (☰ brings them back).
    const toggle = $("#toggle-controls");
    if (innerWidth < 1600 && toggle.getAttribute("aria-expanded") === "true") toggle.click();
  }

  function go(delta) {
    const index = state.get("lesson");
    const lesson = LESSONS[index - 1];
    if (!lesson) return false;
    const next = state.get("lstep") + delta;
    if (next === lesson.steps.length && index < LESSONS.length) {
      open(index + 1); // past a lesson's last step: the next lesson
      return true;
    }
    if (next < 0 || next >= lesson.steps.length) return false;
    const step = lesson.steps[next];
    ctx.player.pause();
    state.set({ ...(step.patch || {}), lstep: next, step: step.step || 0 });
    return true;
  }

  function renderText(values) {
    const index = values.lesson;
    const lesson = LESSONS[index - 1];
    document.body.classList.toggle("lesson-open", Boolean(lesson));
    side.hidden = !lesson && !values.quiz;
    document.body.classList.toggle("side-open", !side.hidden);
    document.body.classList.toggle("quiz-open", Boolean(values.quiz)); // the stage takes the height (CSS)
    lessonBox.hidden = !lesson;
    select.value = String(index || "");
    if (!lesson) {
      if (mounted) {
        $("#lesson-widget").replaceChildren();
        mounted = null;
      }
      return;
    }
    const lstep = Math.min(values.lstep, lesson.steps.length - 1);
    $("#lesson-kicker").textContent = t("lesson.kicker", { n: index, total: LESSONS.length });
    $("#lesson-title").textContent = t(`lesson${index}.title`);
    const text = $("#lesson-text");
    text.innerHTML = `<p>${rich(`lesson${index}.step${lstep + 1}`, { c: values.channels, m: values.multiplier, o: values.out, g: values.groups })}</p>`;
    text.dataset.lesson = String(index);
    text.dataset.step = String(lstep);
    $("#lesson-progress").textContent = t("lesson.progress", { step: lstep + 1, total: lesson.steps.length });
    $("#lesson-prev").disabled = lstep === 0;
    const last = lstep === lesson.steps.length - 1;
    $("#lesson-next").disabled = last && index === LESSONS.length;
    $("#lesson-next").textContent = `${t(last && index < LESSONS.length ? "lesson.next_lesson" : "lesson.next")} →`;
    const dots = $("#lesson-dots");
    dots.innerHTML = lesson.steps.map((_, n) => `<span class="${n === lstep ? "current" : n < lstep ? "done" : ""}"></span>`).join("");
    if (!mounted || mounted.index !== index) {
      const element = $("#lesson-widget");
      element.replaceChildren();
      element.dataset.lesson = String(index);
      mounted = { index, widget: lesson.widget.mount(element, ctx) };
      refresh();
    }
  }

  function refresh() {
    clearTimeout(timer);
    $("#lesson-widget").dataset.state = "loading";
    timer = setTimeout(() => {
      if (!mounted) return;
      const values = state.values;
      if (request) request.abort();
      request = new AbortController();
      const element = $("#lesson-widget");
      const lesson = LESSONS[mounted.index - 1];
      const mismatch = Boolean(lesson.needs && !lesson.needs(values));
      $("#lesson-mismatch").hidden = !mismatch;
      element.hidden = mismatch;
      if (mismatch) {
        $("#lesson-mismatch-text").textContent = t("lesson.mismatch", { op: t(`op.${lesson.patch.op}`) });
        element.dataset.state = "mismatch";
        return;
      }
      if (validate(values, ctx.labels).length) {
        element.dataset.state = "invalid";
        return;
      }
      const problem = buildProblem(values);
      if (!problem) return;
      element.dataset.state = "loading";
      const mine = request;
      Promise.resolve(mounted.widget.update(values, problem, mine.signal)).then(() => {
        if (mine === request) element.dataset.state = "ready";
      });
    }, 160);
  }

  select.addEventListener("change", () => open(Number(select.value)));
  $("#lesson-prev").addEventListener("click", () => go(-1));
  $("#lesson-next").addEventListener("click", () => go(+1));
  $("#lesson-close").addEventListener("click", () => state.set({ lesson: 0, lstep: 0 }));
  $("#lesson-restore").addEventListener("click", () => {
    const index = state.get("lesson");
    const lesson = LESSONS[index - 1];
    if (!lesson) return;
    const lstep = Math.min(state.get("lstep"), lesson.steps.length - 1);
    let patch = { ...defaults(), ...lesson.patch };
    for (const step of lesson.steps.slice(0, lstep + 1)) patch = { ...patch, ...(step.patch || {}) };
    const keep = { speed: state.get("speed"), present: state.get("present"), quiz: state.get("quiz") };
    state.set({ ...patch, ...keep, lesson: index, lstep, step: lesson.steps[lstep].step || 0 });
  });

  state.subscribe((changed, values) => {
    if (changed.has("lesson") || changed.has("lstep") || changed.has("quiz") || changesTrace(changed)) renderText(values);
    if (mounted && changesTrace(changed)) refresh();
    else if (mounted && changed.has("step") && mounted.widget.onStep) mounted.widget.onStep(values);
  });
  renderText(state.values);
  return { go, open };
}
