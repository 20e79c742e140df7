// Projector themes: light (default), dark and high contrast, chosen in the page and
// kept in the URL (`theme=` in state.js). The stylesheet holds the colours; the
// canvases read the few they paint (grid lines, pending and padding cells) from it.

export const THEMES = ["light", "dark", "contrast"];

let colors = null;

function rgb(text, fallback) {
  const match = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(text || "");
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : fallback;
}

/** The colours canvases paint with, read from the stylesheet for the current theme. */
export function canvasColors() {
  if (colors) return colors;
  const probe = document.createElement("span");
  probe.hidden = true;
  document.body.append(probe);
  const read = (name, fallback) => {
    probe.style.color = `var(${name})`;
    return getComputedStyle(probe).color || fallback;
  };
  const gridLine = read("--grid-line", "rgb(255, 255, 255)");
  colors = {
    gridLine,
    pending: rgb(read("--cell-pending", ""), [241, 243, 247]),
    padding: rgb(read("--cell-padding", ""), [226, 229, 235]),
    padText: read("--pad-text", "rgb(138, 147, 166)"),
    hatch: read("--hatch", "rgba(120, 128, 145, 0.45)"),
  };
  probe.remove();
  return colors;
}

/** Apply `theme` to the page; returns true when it changed (canvases must repaint). */
export function applyTheme(theme) {
  const name = THEMES.includes(theme) ? theme : "light";
  if (document.body.dataset.theme === name) return false;
  document.body.dataset.theme = name;
  colors = null;
  return true;
}
