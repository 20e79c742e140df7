// Lesson 4's way into the lab: the seed's four experiments trained by the server (the same
// runs as the lab's "seed" preset, so a class shares one training and later askers get the
// cached numbers), their final test accuracies in a sentence, and a link to the lab.
import { streamLab } from "../core/api.js";
import { config } from "../core/config.js";
import { language, t } from "../core/i18n.js";

const format = new Intl.NumberFormat(language, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

function runName(run) {
  const layer = t(`lab.layer.${run.first_layer}`);
  return run.first_layer === "standard" ? layer : `${layer}, M = ${run.channel_multiplier || 1}`;
}

/** Fill `node` with a link to the lab and, once trained, the four runs' accuracies. */
export async function showLabNumbers(node, signal) {
  const runs = config.lab_seed_preset || [];
  const link = document.createElement("a");
  link.href = `/lab?lang=${encodeURIComponent(language)}#preset=seed`;
  link.className = "lesson-lab-link";
  link.textContent = t("lesson4.lab");
  const numbers = document.createElement("span");
  numbers.dataset.role = "lab-accuracies";
  numbers.textContent = t("lesson4.lab_training");
  node.replaceChildren(numbers, " ", link);
  const results = [];
  try {
    for (const run of runs) {
      const { label, ...fields } = run;
      let accuracy = null;
      await streamLab(fields, (event) => {
        if (event.event === "end") accuracy = event.test_accuracy;
      }, signal);
      results.push(`${runName(run)}: ${accuracy === null ? "—" : `${format.format(accuracy * 100)} %`}`);
    }
  } catch (error) {
    if (error.name === "AbortError") return;
    numbers.textContent = t("lesson4.lab_failed", { message: error.message });
    return;
  }
  numbers.textContent = t("lesson4.lab_numbers", { runs: results.join("; ") });
  node.dataset.ready = "true";
}
