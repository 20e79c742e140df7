// The stage as one picture: the stage bar (stage tab, formula, legends) over the stage
// (lanes, grids, the sliding window, the current-cell highlight, wires, captions, the
// focus view), drawn onto a canvas from what is on screen, in document order. Every
// export (PNG, each GIF and WebM frame) is this picture.
//
// A small rasteriser of the page's own boxes: each element's background and border
// (so the window's taps and dashed span, the cursor, the lane frames and the region
// frame, which are positioned <div>s), then <canvas> pixels, inline <svg> (wires), and
// text in its font and colour.

const SVG_STYLES = ["fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-opacity", "opacity",
  "font-size", "font-family", "font-weight", "text-anchor", "dominant-baseline", "visibility", "display"];

const SKIP = ".visually-hidden, [hidden], .stage-status, .zoom, .pager, [data-export='skip']";

/** The region an export covers: the stage bar and the stage, as on screen (CSS px). */
export function exportRegion() {
  const bar = document.querySelector(".stage-bar");
  const stage = document.querySelector("#stage");
  const a = bar.getBoundingClientRect();
  const b = stage.getBoundingClientRect();
  // Whole CSS pixels, so an export lines up with a screenshot of the same region.
  const left = Math.floor(Math.min(a.left, b.left));
  const top = Math.floor(Math.min(a.top, b.top));
  return {
    left, top, width: Math.ceil(Math.max(a.right, b.right)) - left, height: Math.ceil(Math.max(a.bottom, b.bottom)) - top, roots: [bar, stage],
  };
}

function visible(element) {
  if (element.closest(SKIP)) return false;
  const style = getComputedStyle(element);
  return element.getClientRects().length > 0 && style.visibility !== "hidden" && style.display !== "none" && Number(style.opacity) > 0;
}

const transparent = (colour) => !colour || colour === "transparent" || /rgba\(.*,\s*0\)$/.test(colour);

/** An inline SVG as an image, its computed styles written into its attributes. */
function svgImage(svg) {
  const copy = svg.cloneNode(true);
  const sources = [svg, ...svg.querySelectorAll("*")];
  const targets = [copy, ...copy.querySelectorAll("*")];
  sources.forEach((source, n) => {
    const style = getComputedStyle(source);
    for (const name of SVG_STYLES) targets[n].setAttribute(name, style.getPropertyValue(name));
  });
  const box = svg.getBoundingClientRect();
  copy.setAttribute("width", String(box.width));
  copy.setAttribute("height", String(box.height));
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  const blob = new Blob([new XMLSerializer().serializeToString(copy)], { type: "image/svg+xml" });
  const url = URL.createObjectURL(blob);
  return new Promise((resolve) => {
    const image = new Image();
    image.onload = () => resolve({ image, url });
    image.onerror = () => resolve({ image: null, url });
    image.src = url;
  });
}

function roundedPath(context, x, y, w, h, radius) {
  context.beginPath();
  if (radius > 0 && context.roundRect) context.roundRect(x, y, w, h, Math.min(radius, w / 2, h / 2));
  else context.rect(x, y, w, h);
}

/** An element's own box: background, then each border side (solid or dashed). */
function paintBox(context, element, box, style) {
  const radius = parseFloat(style.borderTopLeftRadius) || 0;
  if (!transparent(style.backgroundColor)) {
    context.fillStyle = style.backgroundColor;
    roundedPath(context, box.x, box.y, box.w, box.h, radius);
    context.fill();
  }
  // Border widths as the browser paints them: whole pixels (2.5px is drawn 2px wide).
  const snap = (width) => (width >= 1 ? Math.floor(width) : width);
  const sides = ["Top", "Right", "Bottom", "Left"].map((side) => ({
    width: snap(parseFloat(style[`border${side}Width`]) || 0),
    color: style[`border${side}Color`],
    kind: style[`border${side}Style`],
  }));
  const same = sides.every((side) => side.width === sides[0].width && side.color === sides[0].color && side.kind === sides[0].kind);
  const dash = (kind, width) => (kind === "dashed" ? [width * 3, width * 2] : kind === "dotted" ? [width, width] : []);
  if (same && sides[0].width > 0 && sides[0].kind !== "none" && !transparent(sides[0].color)) {
    const { width, color, kind } = sides[0];
    context.strokeStyle = color;
    context.lineWidth = width;
    context.setLineDash(dash(kind, width));
    roundedPath(context, box.x + width / 2, box.y + width / 2, box.w - width, box.h - width, Math.max(0, radius - width / 2));
    context.stroke();
    context.setLineDash([]);
    return;
  }
  const edges = [
    [box.x, box.y, box.x + box.w, box.y], [box.x + box.w, box.y, box.x + box.w, box.y + box.h],
    [box.x, box.y + box.h, box.x + box.w, box.y + box.h], [box.x, box.y, box.x, box.y + box.h],
  ];
  sides.forEach((side, n) => {
    if (!(side.width > 0) || side.kind === "none" || transparent(side.color)) return;
    const [x0, y0, x1, y1] = edges[n];
    const inset = side.width / 2;
    const dx = n === 1 ? -inset : n === 3 ? inset : 0;
    const dy = n === 0 ? inset : n === 2 ? -inset : 0;
    context.strokeStyle = side.color;
    context.lineWidth = side.width;
    context.setLineDash(dash(side.kind, side.width));
    context.beginPath();
    context.moveTo(x0 + dx, y0 + dy);
    context.lineTo(x1 + dx, y1 + dy);
    context.stroke();
  });
  context.setLineDash([]);
}

/** Ring shadows (no offset, no blur, a spread: the grids' coloured frames). */
function paintShadow(context, box, style) {
  const shadow = style.boxShadow;
  if (!shadow || shadow === "none") return;
  const pattern = /(rgba?\([^)]*\)|#[0-9a-fA-F]+)\s+(-?[\d.]+)px\s+(-?[\d.]+)px\s+([\d.]+)px\s+(-?[\d.]+)px/g;
  for (const [, color, dx, dy, blur, spread] of shadow.matchAll(pattern)) {
    const grow = Number(spread);
    if (Number(dx) || Number(dy) || Number(blur) || !(grow > 0) || transparent(color)) continue;
    context.fillStyle = color;
    context.beginPath();
    context.rect(box.x - grow, box.y - grow, box.w + 2 * grow, box.h + 2 * grow);
    context.rect(box.x, box.y, box.w, box.h);
    context.fill("evenodd");
  }
}

/** A ::before box drawn as a swatch (the captions' channel colour), at the content's start. */
function paintBefore(context, element, box, style) {
  const before = getComputedStyle(element, "::before");
  if (!before || before.content === "none" || before.content === "normal") return;
  const w = parseFloat(before.width) || 0;
  const h = parseFloat(before.height) || 0;
  if (!(w > 0 && h > 0) || transparent(before.backgroundColor)) return;
  const x = box.x + (parseFloat(style.paddingLeft) || 0) + (parseFloat(style.borderLeftWidth) || 0);
  const first = Array.from(element.childNodes).find((node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
  let y = box.y + (box.h - h) / 2;
  if (first) {
    const range = document.createRange();
    range.selectNodeContents(first);
    const rect = range.getClientRects()[0];
    if (rect) y = rect.top - element.getBoundingClientRect().top + box.y + (rect.height - h) / 2;
  }
  context.fillStyle = before.backgroundColor;
  roundedPath(context, x, y, w, h, parseFloat(before.borderTopLeftRadius) || 0);
  context.fill();
}

function paintOutline(context, box, style) {
  const width = parseFloat(style.outlineWidth) || 0;
  if (!(width > 0) || style.outlineStyle === "none" || transparent(style.outlineColor)) return;
  const offset = parseFloat(style.outlineOffset) || 0;
  context.strokeStyle = style.outlineColor;
  context.lineWidth = width;
  context.setLineDash(style.outlineStyle === "dashed" ? [width * 3, width * 2] : []);
  const grow = offset + width / 2;
  context.strokeRect(box.x - grow, box.y - grow, box.w + 2 * grow, box.h + 2 * grow);
  context.setLineDash([]);
}

function paintText(context, node, origin) {
  const parent = node.parentElement;
  const text = node.textContent.replace(/\s+/g, " ").trim();
  if (!text || !parent) return;
  const style = getComputedStyle(parent);
  const range = document.createRange();
  range.selectNodeContents(node);
  const rects = Array.from(range.getClientRects()).filter((rect) => rect.width > 0);
  if (!rects.length) return;
  context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  context.fillStyle = style.color;
  context.textBaseline = "middle";
  context.textAlign = "left";
  if (rects.length === 1) {
    context.fillText(text, rects[0].left - origin.left, rects[0].top - origin.top + rects[0].height / 2);
    return;
  }
  // Wrapped text: lay the words out again, one line box at a time.
  const words = text.split(" ");
  let word = 0;
  for (const rect of rects) {
    let line = "";
    while (word < words.length) {
      const candidate = line ? `${line} ${words[word]}` : words[word];
      if (line && context.measureText(candidate).width > rect.width + 2) break;
      line = candidate;
      word++;
    }
    context.fillText(line, rect.left - origin.left, rect.top - origin.top + rect.height / 2);
  }
}

/**
 * Draw the export region onto `canvas` at `scale` (device px per CSS px). Returns the
 * canvas. Background: the page's.
 */
export async function renderStage(canvas, scale = 1) {
  const region = exportRegion();
  canvas.width = Math.round(region.width * scale);
  canvas.height = Math.round(region.height * scale);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.setTransform(scale, 0, 0, scale, 0, 0);
  const page = getComputedStyle(document.body).backgroundColor;
  context.fillStyle = transparent(page) ? "#ffffff" : page;
  context.fillRect(0, 0, region.width, region.height);
  // Boxes snapped to whole pixels, as the browser snaps borders and canvases when it paints.
  const at = (element) => {
    const box = element.getBoundingClientRect();
    const x = Math.round(box.left - region.left);
    const y = Math.round(box.top - region.top);
    return { x, y, w: Math.round(box.right - region.left) - x, h: Math.round(box.bottom - region.top) - y };
  };
  const walk = async (element, alpha) => {
    if (!visible(element)) return;
    const tag = element.tagName.toLowerCase();
    const style = getComputedStyle(element);
    const box = at(element);
    alpha *= Number(style.opacity);
    context.globalAlpha = alpha;
    if (tag === "svg") {
      const { image, url } = await svgImage(element);
      if (image) context.drawImage(image, box.x, box.y, box.w, box.h);
      URL.revokeObjectURL(url);
      return;
    }
    paintShadow(context, box, style);
    paintBox(context, element, box, style);
    paintBefore(context, element, box, style);
    if (tag === "canvas") {
      if (element.width && element.height) {
        context.imageSmoothingEnabled = false;
        context.drawImage(element, box.x, box.y, box.w, box.h);
      }
    }
    // Its outline in document order: later boxes (the window over the region frame) paint over it.
    if (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) paintOutline(context, box, style);
    for (const child of element.childNodes) {
      context.globalAlpha = alpha;
      if (child.nodeType === Node.TEXT_NODE) paintText(context, child, region);
      else if (child.nodeType === Node.ELEMENT_NODE) await walk(child, alpha);
    }
  };
  for (const root of region.roots) {
    // Under each root, the colour that shows through it on the page.
    let behind = root;
    while (behind && transparent(getComputedStyle(behind).backgroundColor)) behind = behind.parentElement;
    if (behind) {
      const box = at(root);
      context.globalAlpha = 1;
      context.fillStyle = getComputedStyle(behind).backgroundColor;
      context.fillRect(box.x, box.y, box.w, box.h);
    }
    await walk(root, 1);
  }
  context.globalAlpha = 1;
  return canvas;
}
