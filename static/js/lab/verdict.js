// The lab's plain-language verdict: sentences computed from the runs' actual numbers,
// never written in advance. A pure function of the results, so a test can feed it any.

/**
 * @param {Array<{name: string, firstLayer: string, multiplier: number, accuracy: number|null,
 *   params: number|null, rank: number|null, filters: number, epochs: number,
 *   error: string|null}>} runs  finished runs (accuracy in 0..1, null when not finished)
 * @param {(key: string, params?: object) => string} t  the strings table
 * @param {(value: number) => string} percent  formats 0..1 as "97.5"
 * @returns {string[]} sentences, most important first
 */
export function verdict(runs, t, percent) {
  const done = runs.filter((run) => run.accuracy !== null && !run.error);
  const sentences = [];
  for (const run of runs.filter((run) => run.error)) {
    sentences.push(t("lab.verdict.failed", { name: run.name, message: run.error }));
  }
  if (!done.length) return sentences;
  const best = done.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  sentences.push(t("lab.verdict.best", { name: best.name, accuracy: percent(best.accuracy), epochs: best.epochs }));
  for (const run of done) {
    if (run === best) continue;
    const gap = (best.accuracy - run.accuracy) * 100;
    const values = {
      name: run.name, accuracy: percent(run.accuracy), gap: gap.toFixed(1),
      params: run.params ?? "?", best_params: best.params ?? "?", best: best.name,
    };
    if (run.accuracy < 0.2) sentences.push(t("lab.verdict.chance", values));
    else if (gap <= 2) sentences.push(t("lab.verdict.close", values));
    else sentences.push(t("lab.verdict.below", values));
  }
  const join = (items) => items.join(t("lab.verdict.and"));
  const oneFilter = done.filter((run) => run.rank === 1 && run.filters > 1);
  if (oneFilter.length) {
    sentences.push(t("lab.verdict.rank_one", { names: join(oneFilter.map((run) => run.name)), filters: oneFilter[0].filters }));
  }
  const singleFilter = done.filter(
    (run) => run.firstLayer.startsWith("separable") && run.multiplier === 1,
  );
  if (singleFilter.length) {
    const stalled = singleFilter.filter((run) => run.accuracy < 0.2);
    const learned = singleFilter.filter((run) => run.accuracy >= 0.2);
    const list = (runs) => join(runs.map((run) => t("lab.verdict.named", { name: run.name, accuracy: percent(run.accuracy) })));
    if (stalled.length) sentences.push(t("lab.verdict.folklore_holds", { runs: list(stalled) }));
    if (learned.length) sentences.push(t("lab.verdict.folklore_not", { runs: list(learned) }));
  }
  const separable = done
    .filter((run) => run.firstLayer === "separable")
    .sort((a, b) => a.multiplier - b.multiplier);
  if (separable.length >= 2 && separable[0].multiplier !== separable.at(-1).multiplier) {
    const [low, high] = [separable[0], separable.at(-1)];
    sentences.push(t(high.accuracy >= low.accuracy ? "lab.verdict.multiplier_up" : "lab.verdict.multiplier_down", {
      low: low.multiplier, high: high.multiplier,
      low_accuracy: percent(low.accuracy), high_accuracy: percent(high.accuracy),
    }));
  }
  return sentences;
}
