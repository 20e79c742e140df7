// The notebook widget's one ES module (built by app/notebook/bundle.py): the page's
// modules, inlined below as sources, loaded from blob: URLs, dependencies first.
const SOURCES = __SOURCES__;
const ENTRY = __ENTRY__;
const IMPORT = __IMPORT__;
let loading = null;

function resolve(importer, specifier) {
  const parts = importer.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}

function load() {
  if (!loading) {
    const urls = {};
    for (const [path, source] of Object.entries(SOURCES)) {
      const code = source.replace(IMPORT, (match, head, quote, specifier) =>
        head + quote + urls[resolve(path, specifier)] + quote);
      urls[path] = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    }
    loading = import(urls[ENTRY]);
  }
  return loading;
}

function configure(model) {
  // The page's modules read their strings from this element once (static/js/config.js).
  if (document.getElementById("convlens-config")) return;
  const element = document.createElement("script");
  element.type = "application/json";
  element.id = "convlens-config";
  element.textContent = JSON.stringify({
    language: model.get("language"), urls: {}, limits: {}, strings: model.get("_strings"),
  });
  document.head.append(element);
}

export default {
  async render({ model, el }) {
    configure(model);
    const widget = await load();
    return widget.mount(el, model);
  },
};
