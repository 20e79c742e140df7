// The server's values for the page, read once from the JSON block the template
// renders (no inline script: the page runs under `script-src 'self'`).
// (In the stream worker there is no document, and no need for these values.)
const element = typeof document === "undefined" ? null : document.getElementById("convlens-config");

/** @type {{version: string, language: string, urls: {api: string, plotly: string},
 *          limits: {max_frames: number, max_stream_bytes: number},
 *          strings: Record<string, string>}} */
export const config = Object.freeze(JSON.parse(element ? element.textContent : "{}"));
