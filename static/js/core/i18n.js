// Every visible string comes from one table (static/i18n/<language>.json), which
// the server renders into the page and hands to the scripts once: templates and
// scripts read the same table, so a translation is one new file.
import { config } from "./config.js";

const table = config.strings || {};

/**
 * The string for `key`, with `{name}` placeholders replaced from `params`.
 * A missing key shows itself (and warns once), so a gap is visible, not silent.
 */
export function t(key, params) {
  let text = table[key];
  if (text === undefined) {
    if (!missing.has(key)) {
      missing.add(key);
      console.warn(`i18n: no string for ${key}`);
    }
    text = key;
  }
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

const missing = new Set();

/** The page's language, for number formatting. */
export const language = config.language || "en";
