// Shop floor: one tile per robot (680), refreshed every 2 s from one compact answer.
import { api, el } from "/static/js/common.js";

const tiles = new Map(); // path -> { a, b, i }
let built = false;

function kpi(k, v, unit) {
  return el("div", { class: "kpi" }, el("span", { class: "k", text: k }), el("b", { text: v === null || v === undefined ? "–" : String(v) + (unit || "") }));
}

function build(s) {
  const byLine = new Map();
  s.paths.forEach((p, k) => {
    const line = s.lines[k];
    if (!byLine.has(line)) byLine.set(line, []);
    byLine.get(line).push(k);
  });
  const root = document.getElementById("wlines");
  const frag = document.createDocumentFragment();
  for (const [line, ks] of byLine) {
    const grid = el("div", { class: "wgrid" });
    for (const k of ks) {
      const b = el("b", { text: s.robots[k].replace("robot-", "") });
      const i = el("i");
      const a = el("a", { class: "wt q-none", href: "/apps/welding/robot?path=" + encodeURIComponent(s.paths[k]), "data-robot": s.paths[k] }, b, i);
      tiles.set(s.paths[k], { a, b, i });
      grid.append(a);
    }
    const curves = ks.filter((k) => s.curves[k]).length;
    frag.append(el("div", { class: "wline" }, el("h3", { text: `${line} · ${ks.length} robots` + (curves ? ` · ${curves === ks.length ? "all" : curves} with 1 kHz curves` : "") }), grid));
  }
  root.replaceChildren(frag);
  built = true;
}

async function refresh() {
  let s;
  try { s = await api("/api/apps/welding/shop"); } catch (e) {
    document.getElementById("wlines").replaceChildren(el("p", { class: "error", text: e.message }));
    return;
  }
  if (!built) build(s);
  const qn = s.quality_states;
  s.paths.forEach((p, k) => {
    const t = tiles.get(p);
    if (!t) return;
    const q = s.quality[k];
    const cls = "wt q-" + (q < 0 ? "none" : q) + (s.due[k] ? " due" : "") + (s.state[k] >= 2 ? " st-" + s.state[k] : "");
    if (t.a.className !== cls) t.a.className = cls;
    t.i.style.width = Math.max(0, Math.min(100, s.life[k])) + "%";
    t.a.title = `${p}\nlast weld: ${q < 0 ? "none yet" : qn[q]}\nelectrode life ${s.life[k].toFixed(0)} %` + (s.streak[k] ? `\nexpulsion streak ${s.streak[k]}` : "") + (s.due[k] ? "\ndress due" : "");
  });
  const k = s.kpi;
  document.getElementById("wk").replaceChildren(
    kpi("Welds analysed", k.welds.toLocaleString("en-US")),
    kpi("Welds / min", k.welds_per_min, ` (line ${k.line_rate_per_min})`),
    kpi("Defects, last 1000", k.defect_pct, " %"),
    kpi("Expulsions, last 1000", k.expulsion_pct, " %"),
    kpi("Dress due", k.dress_due),
    kpi("Rejected records", k.rejected),
    kpi("Analysis latency p99", k.latency_p99_ms, " ms"));
}

refresh();
setInterval(refresh, 2000);
