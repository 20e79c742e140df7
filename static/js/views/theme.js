// Projector themes: light (default), dark and high contrast, chosen in the page and
// kept in the URL (`theme=` in state.js). The stylesheet holds the colours; the
// canvases read the few they paint (grid lines, pending and padding cells) from it, and
// the Plotly charts their text, grid and legend colours (chartColors, themedLayout); a
// theme change relayouts every chart on the page in the new colours.

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

/**
 * The colours a Plotly chart takes from the stylesheet: its text (ticks, titles, annotations)
 * is --ink, grid lines --line, zero and axis lines --line-2, the legend's box --paper. The
 * charts' backgrounds stay transparent: a chart is read on the panel it sits on.
 */
export function chartColors() {
  const probe = document.createElement("span");
  probe.hidden = true;
  document.body.append(probe);
  const read = (name, fallback) => {
    probe.style.color = `var(${name}, ${fallback})`;
    return getComputedStyle(probe).color;
  };
  const [r, g, b] = rgb(read("--paper", "#ffffff"), [255, 255, 255]);
  const chart = {
    text: read("--ink", "#1b2230"),
    grid: read("--line", "#e3e6ec"),
    axis: read("--line-2", "#d5d9e1"),
    legend: `rgba(${r}, ${g}, ${b}, 0.8)`,
  };
  probe.remove();
  return chart;
}

const AXIS = /^[xy]axis\d*$/;

/** The axes a chart has: its layout's, its traces' (`xaxis: "x2"` is xaxis2) and x and y. */
function axisNames(layout, traces) {
  const names = new Set(["xaxis", "yaxis", ...Object.keys(layout).filter((key) => AXIS.test(key))]);
  for (const trace of traces) {
    for (const ref of [trace.xaxis, trace.yaxis]) {
      if (ref) names.add(`${ref[0]}axis${ref.slice(1)}`);
    }
  }
  return [...names];
}

/** The theme's colours as a Plotly.relayout update ("yaxis2.gridcolor": …) for these axes. */
function themeUpdate(layout, axes) {
  const chart = chartColors();
  const update = { "font.color": chart.text };
  for (const axis of axes) {
    update[`${axis}.gridcolor`] = chart.grid;
    update[`${axis}.zerolinecolor`] = chart.axis;
    update[`${axis}.linecolor`] = chart.axis;
  }
  if (layout.title) update["title.font.color"] = chart.text;
  if (layout.legend) update["legend.bgcolor"] = chart.legend;
  return update;
}

/** `layout` (not changed) with the current theme's chart colours; `traces` name extra axes. */
export function themedLayout(layout, traces = []) {
  const themed = structuredClone(layout);
  for (const [path, value] of Object.entries(themeUpdate(layout, axisNames(layout, traces)))) {
    const keys = path.split(".");
    let node = themed;
    for (const key of keys.slice(0, -1)) {
      if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
      node = node[key];
    }
    node[keys[keys.length - 1]] = value;
  }
  return themed;
}

/** Every Plotly chart on the page in the current theme's colours (hidden ones included). */
function rethemeCharts() {
  const Plotly = window.Plotly;
  if (!Plotly) return; // no chart was ever drawn: plotly.js loads with the first one
  for (const chart of document.querySelectorAll(".js-plotly-plot")) {
    if (!chart._fullLayout) continue;
    const axes = Object.keys(chart._fullLayout).filter((key) => AXIS.test(key));
    Plotly.relayout(chart, themeUpdate(chart.layout, axes));
  }
}

/** Apply `theme` to the page; returns true when it changed (canvases must repaint). */
export function applyTheme(theme) {
  const name = THEMES.includes(theme) ? theme : "light";
  if (document.body.dataset.theme === name) return false;
  document.body.dataset.theme = name;
  colors = null;
  rethemeCharts();
  return true;
}
