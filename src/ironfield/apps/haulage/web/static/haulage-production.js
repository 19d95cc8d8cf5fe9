// Production: t/h vs plan (history), KPIs, trucks by state, cycle-time breakdown, cycles.
/* global uPlot */
import { api, el, fmtTime } from "/static/js/common.js";
import { colour, label, legend, fmt } from "./haulage-common.js";

const status = document.getElementById("hp-status");
let hours = 1;
let plot = null;

const KPIS = [
  ["tph", "Throughput", "t/h", 0], ["plan_tph", "Plan", "t/h", 0], ["tonnes_total", "Delivered", "t", 0],
  ["cycles_total", "Cycles", "", 0], ["cycle_min", "Cycle time", "min", 1], ["match_factor", "Match factor", "", 2], ["availability", "Availability", "%", 1],
  ["utilisation", "Utilisation", "%", 1], ["queue_min_per_cycle", "Queue / cycle", "min", 1], ["hang_min", "Loader hang", "min", 0], ["loaders_down", "Loaders down", "", 0],
  ["kwh_per_t", "Energy", "kWh/t", 3], ["regen_share", "Regen share", "%", 1], ["charging_kw", "Charging now", "kW", 0],
];

function kpis(k) {
  const box = document.getElementById("hp-kpis");
  box.replaceChildren(...KPIS.map(([key, name, unit, d]) => {
    let v = k[key];
    if (unit === "%" && v !== null && v !== undefined) v = 100 * v;
    return el("div", { class: "kpi", "data-kpi": key }, el("span", { class: "k", text: name }),
      el("b", { text: fmt(v, d) }), el("small", { text: unit }));
  }));
  const ratio = k.plan_tph ? k.tph / k.plan_tph : null;
  box.firstChild.append(el("small", { text: ratio === null ? "" : `${fmt(100 * ratio, 0)} % of plan` }));
}

function states(k) {
  const keys = ["queue_load", "spot", "load", "haul", "queue_dump", "dump", "return", "charge", "idle", "down"];
  document.getElementById("hp-states").replaceChildren(...keys.map((s) =>
    el("div", { class: "tile", style: `border-left-color:${colour(s)}`, "data-state": s },
      el("span", { class: "n", text: label(s) }), el("span", { class: "v", text: fmt(k["trucks_" + s], 0) }))));
}

function breakdown(b) {
  const box = document.getElementById("hp-breakdown");
  const entries = Object.entries(b).filter(([, v]) => v > 0);
  const total = entries.reduce((a, [, v]) => a + v, 0);
  if (!total) { box.replaceChildren(el("div", { class: "muted", style: "width:100%;color:var(--muted)", text: "no completed cycle in the window yet" })); return; }
  box.replaceChildren(...entries.map(([k, v]) => el("div", {
    style: `width:${(100 * v / total).toFixed(2)}%;background:${colour(k)}`, title: `${label(k)}: ${fmt(v)} min`, text: `${fmt(v)}`,
  })));
  legend(document.getElementById("hp-breakdown-legend"), entries.map(([k]) => k));
}

function cycles(cs) {
  const body = el("tbody");
  for (const c of cs) {
    body.append(el("tr", {}, el("td", { text: c.truck }), el("td", { text: fmtTime(c.end_ts) }),
      el("td", { text: c.loader || "–" }), el("td", { text: c.dump || "–" }), el("td", { class: "num", text: fmt(c.tonnes) }),
      el("td", { class: "num", text: fmt((c.end_ts - c.start_ts) / 60e9) }), el("td", { class: "num", text: fmt(c.net_kwh) }),
      el("td", { class: "num", text: fmt(c.regen_kwh) })));
  }
  if (!cs.length) body.append(el("tr", {}, el("td", { colspan: 8, class: "muted", text: "no cycle completed since the app started" })));
  document.querySelector("#hp-cycles tbody").replaceWith(body);
}

function plan(flows) {
  const entries = Object.entries(flows).sort((a, b) => b[1] - a[1]);
  const top = Math.max(1, ...entries.map(([, v]) => v));
  document.getElementById("hp-plan").replaceChildren(...entries.map(([path, v]) =>
    el("div", { class: "hp-path" }, el("span", { text: path.replace("->", " → ") }),
      el("span", { class: "hp-bar" }, el("i", { style: `width:${(100 * v / top).toFixed(1)}%` })),
      el("b", { text: fmt(v, 0) }))));
}

async function live() {
  try {
    const st = await api("/api/apps/haulage/state");
    kpis(st.kpis); states(st.kpis); breakdown(st.breakdown_min); plan(st.plan); cycles(st.cycles);
    status.textContent = `${fmtTime(st.ts)} UTC` + (st.plan_conflicts.length ? ` · plan: ${st.plan_conflicts.join("; ")}` : "");
    status.className = "muted";
  } catch (e) { status.textContent = e.message; status.className = "error"; }
}

async function trend() {
  const box = document.getElementById("hp-chart");
  try {
    const r = await api(`/api/apps/haulage/trend?hours=${hours}&points=400`);
    const xs = [...new Set([...r.tph.ts, ...r.plan_tph.ts])].sort((a, b) => a - b);
    const at = (ser) => { const m = new Map(ser.ts.map((t, i) => [t, ser.v[i]])); return xs.map((t) => (m.has(t) ? m.get(t) : null)); };
    const data = [xs.map((t) => t / 1e9), at(r.tph), at(r.plan_tph)];
    const opts = {
      width: box.clientWidth - 12, height: 300, spanGaps: true,
      scales: { x: { time: true, range: [r.start / 1e9, r.end / 1e9] }, y: { range: (u, lo, hi) => [0, Math.max(100, (hi || 0) * 1.15)] } },
      axes: [{ stroke: "#8194a8", grid: { stroke: "#243446" } }, { stroke: "#8194a8", grid: { stroke: "#243446" }, label: "t/h" }],
      series: [{}, { label: "t/h", stroke: "#4cc3ff", width: 2, fill: "rgba(76,195,255,0.10)" },
        { label: "plan t/h", stroke: "#f2c94c", width: 2, dash: [8, 6] }],
    };
    if (plot) plot.destroy();
    box.replaceChildren();
    plot = new uPlot(opts, data, box);
  } catch (e) { box.replaceChildren(el("p", { class: "error", text: e.message })); }
}

const ranges = [...document.querySelectorAll(".hp-rng")];
function mark() { for (const b of ranges) b.classList.toggle("on", Number(b.dataset.hours) === hours); }
for (const b of ranges) b.addEventListener("click", () => { hours = Number(b.dataset.hours); mark(); trend(); });
mark();
live(); trend();
setInterval(live, 5000);
setInterval(trend, 30000);
