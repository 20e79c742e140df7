// Comments inside code, in the page's language: the Code tab's snippets (written in
// English by /api/v1/code) and the lessons' snippets. The code stays as it is; each
// `# comment` whose English text has an entry "code.comment: <English>" in the
// string table (static/i18n/<language>.json) is replaced by that entry's value.
// "{name}" in an entry's English text matches any text, carried into the value.
// A comment without an entry stays English (a test lists them for the Chinese page).
import { config } from "../core/config.js";

const PREFIX = "code.comment: ";

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** [{pattern, value}] from the string table, the most specific (longest) English first. */
function templates() {
  const table = config.strings || {};
  return Object.keys(table)
    .filter((key) => key.startsWith(PREFIX))
    .sort((a, b) => b.length - a.length)
    .map((key) => {
      const english = key.slice(PREFIX.length);
      const names = [];
      const source = escapeRegExp(english).replace(/\\\{(\w+)\\\}/g, (_, name) => {
        names.push(name);
        return "(.+?)";
      });
      return { pattern: new RegExp(`^${source}$`), names, value: table[key] };
    });
}

let cache = null;

/** One comment's text (without "# ") in the page's language. */
export function translateComment(text) {
  cache = cache || templates();
  for (const { pattern, names, value } of cache) {
    const match = pattern.exec(text);
    if (!match) continue;
    return value.replace(/\{(\w+)\}/g, (whole, name) => {
      const index = names.indexOf(name);
      return index < 0 ? whole : match[index + 1];
    });
  }
  return text;
}

/** `code` with every `# comment` translated (a "#" inside a string literal is left alone). */
export function translateComments(code) {
  return code.split("\n").map((line) => {
    const at = commentStart(line);
    if (at < 0) return line;
    const body = line.slice(at).replace(/^#\s?/, "");
    return `${line.slice(0, at)}# ${translateComment(body.trimEnd())}`;
  }).join("\n");
}

/** Where the line's comment starts, outside quotes; -1 when it has none. */
function commentStart(line) {
  let quote = null;
  for (let n = 0; n < line.length; n++) {
    const c = line[n];
    if (quote) {
      if (c === "\\") n++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#") return n;
  }
  return -1;
}
