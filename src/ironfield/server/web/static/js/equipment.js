// Equipment detail: live signal table, write-back, the asset's alarms and recent events.
import { api, qs, el, fmtValue, fmtTime, ago, qualityClass, qualityText, Live, canWrite, ask, refreshBanner } from "./common.js";

const root = document.querySelector(".detail");
const asset = root.dataset.asset;
const rows = new Map();
for (const tr of document.querySelectorAll("#signals tbody tr")) {
  rows.set(tr.dataset.signal, { tr, def: { type: tr.dataset.type, states: JSON.parse(tr.dataset.states || "{}") } });
}

function show(r) {
  const x = rows.get(r.signal);
  if (!x) return;
  const txt = fmtValue(r.value, x.def);
  x.tr.querySelector(".val").textContent = txt;
  const q = x.tr.querySelector(".q");
  q.textContent = qualityText(r.quality);
  q.className = "q " + qualityClass(r.quality);
  x.tr.querySelector(".ts").textContent = ago(r.ts);
  x.tr.querySelector(".ts").title = fmtTime(r.ts);
  if (x.def.type === "state" && document.getElementById("eq-state")) document.getElementById("eq-state").textContent = txt;
}

async function alarms() {
  const data = await api("/api/alarms?" + qs({ asset, all: true }));
  const body = el("tbody");
  const list = data.alarms.filter((a) => a.state !== "normal");
  if (!list.length) body.append(el("tr", {}, el("td", { class: "muted", text: "No alarms." })));
  for (const a of list) {
    const act = (a.state === "unack" || a.state === "rtn_unack") && canWrite("operator")
      ? el("button", { text: "Ack", onclick: async () => {
        const d = await ask("Acknowledge " + a.alarm_id);
        if (!d) return;
        await api(`/api/alarms/${encodeURIComponent(a.alarm_id)}/ack`, { method: "POST", body: { comment: d.comment } });
        alarms(); refreshBanner();
      } }) : null;
    body.append(el("tr", { class: "pri-" + a.priority },
      el("td", {}, el("span", { class: "badge " + a.priority, text: a.priority })),
      el("td", { class: "st-" + a.state, text: a.state }), el("td", { text: a.alarm_id }),
      el("td", { text: a.message }), el("td", {}, act)));
  }
  document.querySelector("#eq-alarms tbody").replaceWith(body);
}

async function events() {
  const evs = await api("/api/events?" + qs({ asset, start: "now-1d", limit: 30 }));
  const body = el("tbody");
  if (!evs.length) body.append(el("tr", {}, el("td", { class: "muted", text: "No events." })));
  for (const e of evs) {
    const p = e.payload;
    const what = p.action ? `${p.action}${p.alarm ? " " + p.alarm : ""}${p.user && p.user !== "system" ? " by " + p.user : ""}` : JSON.stringify(p).slice(0, 80);
    body.append(el("tr", {}, el("td", { class: "muted", text: fmtTime(e.ts) }), el("td", { text: e.type }), el("td", { text: what })));
  }
  document.querySelector("#eq-events tbody").replaceWith(body);
}

for (const f of document.querySelectorAll("form.cmd")) {
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const signal = f.closest("tr").dataset.signal;
    const raw = f.value.value.trim();
    const value = raw !== "" && !isNaN(Number(raw)) ? Number(raw) : raw;
    const d = await ask(`Set ${signal} to ${raw}`);
    if (!d) return;
    const out = document.getElementById("cmd-result");
    try {
      const r = await api("/api/commands", { method: "POST", body: { signal, value, reason: d.comment } });
      out.textContent = `${signal}: ${r.status}${r.message ? " – " + r.message : ""}`;
      out.className = r.status === "confirmed" ? "ok" : "error";
    } catch (e) { out.textContent = String(e.message); out.className = "error"; }
    events();
  });
}

const COLORS = ["#4cc3ff", "#ffb347", "#7ddc7a", "#ff6b8b", "#c792ea", "#f7e463"];

// A compact last-hour chart of the numeric signals, each scaled to its own range.
async function chart() {
  const box = document.getElementById("eq-chart");
  const sigs = [...rows.entries()].filter(([, x]) => x.def.type !== "state").map(([s]) => s).slice(0, 6);
  if (!sigs.length || typeof uPlot === "undefined") { box.remove(); return; }
  const r = await api("/api/history/plot?" + qs({ signal: sigs, start: "now-1h", points: 400 }));
  const all = new Set();
  r.series.forEach((s) => s.ts.forEach((t) => all.add(t)));
  const xs = [...all].sort((a, b) => a - b);
  const idx = new Map(xs.map((t, i) => [t, i]));
  const data = [xs.map((t) => t / 1e9)];
  for (const s of r.series) {
    const col = new Array(xs.length).fill(null);
    s.ts.forEach((t, i) => { col[idx.get(t)] = s.value[i]; });
    data.push(col);
  }
  const scales = { x: { time: true } };
  sigs.forEach((s) => { scales[s] = { auto: true }; });
  /* global uPlot */
  new uPlot({
    width: box.clientWidth || 800, height: 260, scales,
    axes: [{ stroke: "#9fb0c3", grid: { stroke: "#243446" } }, { show: false, scale: sigs[0] }],
    series: [{}, ...sigs.map((s, i) => ({ label: s.split("/").pop(), scale: s, stroke: COLORS[i % COLORS.length], width: 1.2, spanGaps: true, points: { show: false } }))],
    cursor: { drag: { x: false, y: false } },
  }, data, box);
}

async function main() {
  if (rows.size) {
    const last = await api("/api/last?" + qs({ signal: [...rows.keys()] }));
    last.forEach(show);
    const live = new Live((rs) => rs.forEach(show), { maxHz: 4 });
    last.forEach((r) => live.last.set(r.signal, r.ts));
    live.subscribe({ signals: [...rows.keys()] });
  }
  alarms(); events(); chart().catch(() => {});
  setInterval(() => { alarms(); events(); }, 5000);
}
main();
