// Trends: several signals, drag to zoom, pan, server-side downsampling on every view change.
/* global uPlot */
import { api, qs, el } from "./common.js";

const NS = 1e9;
const RANGES = { "1h": 3600, "8h": 8 * 3600, "1d": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "1y": 365 * 86400 };
const COLORS = ["#4cc3ff", "#ffb347", "#7ddc7a", "#ff6b8b", "#c792ea", "#f7e463", "#5ce1c6", "#ff8f5a"];
const chartBox = document.getElementById("chart");
const info = document.getElementById("trend-info");
const params = new URLSearchParams(location.search);
let signals = params.getAll("signal");
let defs = new Map();
let span = parseSpan(params.get("start"));
let end = Date.now() / 1000;
let start = end - span;
let plot = null;
let loads = 0;
let seq = 0;

function parseSpan(s) {
  const m = /^now-(\d+)(h|d|y|min)$/.exec(s || "");
  if (!m) return 3600;
  return Number(m[1]) * { h: 3600, d: 86400, y: 365 * 86400, min: 60 }[m[2]];
}

function syncUrl() {
  history.replaceState(null, "", "/trends?" + qs({ signal: signals }));
}

function chips() {
  const box = document.getElementById("chips");
  box.replaceChildren(...signals.map((s, i) => el("span", { class: "chip", style: `border-color:${COLORS[i % COLORS.length]}` },
    el("i", { style: `background:${COLORS[i % COLORS.length]}` }), s + (defs.get(s)?.unit ? ` [${defs.get(s).unit}]` : ""),
    el("button", { class: "x", title: "remove", text: "×", onclick: () => { signals.splice(i, 1); rebuild(); } }))));
}

function merge(series) {
  const all = new Set();
  for (const s of series) for (const t of s.ts) all.add(t);
  const xs = [...all].sort((a, b) => a - b);
  const idx = new Map(xs.map((t, i) => [t, i]));
  const data = [xs.map((t) => t / NS)];
  for (const s of series) {
    const col = new Array(xs.length).fill(null);
    for (let i = 0; i < s.ts.length; i++) col[idx.get(s.ts[i])] = s.value[i];
    data.push(col);
  }
  return data;
}

function size() {
  return { width: chartBox.clientWidth || 1200, height: Math.max(260, window.innerHeight - chartBox.getBoundingClientRect().top - 60) };
}

function makePlot(data) {
  const units = [...new Set(signals.map((s) => defs.get(s)?.unit || ""))];
  const scales = { x: { time: true, range: () => [start, end] } };
  units.forEach((u) => { scales["u:" + u] = { auto: true }; });
  const axes = [{ stroke: "#9fb0c3", grid: { stroke: "#243446" }, ticks: { stroke: "#243446" } }];
  units.forEach((u, i) => axes.push({ scale: "u:" + u, label: u, side: i % 2 ? 1 : 3, show: i < 2, stroke: "#9fb0c3", grid: { show: i === 0, stroke: "#243446" } }));
  const opts = {
    ...size(),
    scales, axes,
    series: [{}, ...signals.map((s, i) => ({ label: s.split("/").slice(-2).join("/"), scale: "u:" + (defs.get(s)?.unit || ""), stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true, points: { show: false } }))],
    cursor: { drag: { x: true, y: false, setScale: false } },
    legend: { live: true },
    hooks: {
      setSelect: [(u) => {
        if (u.select.width < 5) return;
        const a = u.posToVal(u.select.left, "x"), b = u.posToVal(u.select.left + u.select.width, "x");
        u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
        document.getElementById("follow").checked = false;
        start = a; end = b; load();
      }],
    },
  };
  chartBox.replaceChildren();
  plot = new uPlot(opts, data, chartBox);
  plot.over.addEventListener("dblclick", () => zoom(4));
}

async function load() {
  if (!signals.length) { chartBox.replaceChildren(el("p", { class: "muted", text: "Add a signal to draw a trend." })); return; }
  const my = ++seq;
  const points = Math.min(1500, Math.max(100, Math.round(chartBox.clientWidth || 1200)));
  const t0 = performance.now();
  const r = await api("/api/history/plot?" + qs({ signal: signals, start: Math.round(start * NS).toString(), end: Math.round(end * NS).toString(), points }));
  if (my !== seq) return; // a newer view was asked for meanwhile
  const data = merge(r.series);
  const n = r.series.reduce((a, s) => a + s.ts.length, 0);
  if (!plot || plot.series.length !== signals.length + 1) makePlot(data); else { plot.setData(data, false); plot.redraw(); }
  loads++;
  chartBox.dataset.start = Math.round(start * 1000);
  chartBox.dataset.end = Math.round(end * 1000);
  chartBox.dataset.loads = loads;
  chartBox.dataset.points = n;
  const secs = end - start;
  const w = secs >= 86400 ? (secs / 86400).toFixed(1) + " d" : secs >= 3600 ? (secs / 3600).toFixed(1) + " h" : (secs / 60).toFixed(1) + " min";
  info.textContent = `${new Date(start * 1000).toISOString().slice(0, 19)} → ${new Date(end * 1000).toISOString().slice(0, 19)} UTC · window ${w} · ${n} points drawn (server-downsampled, ${Math.round(performance.now() - t0)} ms). Drag to zoom, double-click to zoom out.`;
  syncUrl();
}

function zoom(f) {
  const mid = (start + end) / 2, half = ((end - start) * f) / 2;
  start = mid - half; end = Math.min(Date.now() / 1000, mid + half);
  load();
}

function pan(f) {
  const d = (end - start) * f;
  start += d; end += d;
  load();
}

async function rebuild() {
  plot = null;
  for (const s of signals) if (!defs.has(s)) {
    try { defs.set(s, await api("/api/signals/" + s)); } catch (e) { defs.set(s, { unit: "" }); }
  }
  chips();
  load();
}

async function main() {
  const all = await api("/api/signals");
  document.getElementById("sig-list").replaceChildren(...all.filter((d) => d.type !== "state").map((d) => el("option", { value: d.path })));
  for (const d of all) defs.set(d.path, d);
  const add = () => {
    const v = document.getElementById("sig-input").value.trim();
    if (v && defs.has(v) && !signals.includes(v)) { signals.push(v); rebuild(); }
    document.getElementById("sig-input").value = "";
  };
  document.getElementById("sig-add").addEventListener("click", add);
  document.getElementById("sig-input").addEventListener("keydown", (e) => { if (e.key === "Enter") add(); });
  for (const b of document.querySelectorAll(".rng")) b.addEventListener("click", () => {
    span = RANGES[b.dataset.range]; end = Date.now() / 1000; start = end - span; load();
  });
  document.getElementById("pan-left").addEventListener("click", () => pan(-0.5));
  document.getElementById("pan-right").addEventListener("click", () => pan(0.5));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(2));
  window.addEventListener("resize", () => { if (plot) plot.setSize(size()); });
  setInterval(() => {
    if (!document.getElementById("follow").checked) return;
    const w = end - start; end = Date.now() / 1000; start = end - w; load();
  }, 2000);
  rebuild();
}
main();
