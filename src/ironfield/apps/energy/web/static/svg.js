// Small SVG helpers shared by the energy app's pages.
export const NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
export const COLORS = ["#4cc3ff", "#2fbf71", "#e6a23c", "#c678dd", "#ff8c1a", "#56b3f5", "#e5484d", "#98c379", "#f2c94c", "#61afef"];
export function num(v, d = 0) { return v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }); }
export function pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1) + " %"; }
export function hhmm(ns) { return new Date(ns / 1e6).toISOString().slice(11, 16); }
