// Mine map: road network, loaders, crusher, dumps, chargers; trucks moving live.
import { api, el, fmtTime } from "/static/js/common.js";
import { colour, label, legend, fmt } from "./haulage-common.js";

const NS = "http://www.w3.org/2000/svg";
const svg = document.getElementById("hm-svg");
const status = document.getElementById("hm-status");
let flipY = (y) => -y;
const trucks = new Map(); // id -> <g>

function s(tag, attrs = {}, ...kids) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k) e.append(k);
  return e;
}

const SHAPES = {
  loader: (x, y) => s("path", { d: `M${x} ${y - 46} L${x + 42} ${y + 30} L${x - 42} ${y + 30} Z`, fill: "#ff8c1a", stroke: "#ffd0a0", "stroke-width": 4 }),
  crusher: (x, y) => s("rect", { x: x - 44, y: y - 44, width: 88, height: 88, rx: 8, fill: "#9d7bff", stroke: "#d9ccff", "stroke-width": 4 }),
  dump: (x, y) => s("rect", { x: x - 38, y: y - 30, width: 76, height: 60, rx: 26, fill: "#6b5a3c", stroke: "#c9b48a", "stroke-width": 4 }),
  charger: (x, y) => s("g", {}, s("circle", { cx: x, cy: y, r: 40, fill: "#123d22", stroke: "#7cf29c", "stroke-width": 5 }),
    s("path", { d: `M${x + 6} ${y - 30} L${x - 16} ${y + 4} L${x} ${y + 4} L${x - 6} ${y + 30} L${x + 16} ${y - 4} L${x} ${y - 4} Z`, fill: "#7cf29c" })),
  parking: (x, y) => s("g", {}, s("rect", { x: x - 34, y: y - 34, width: 68, height: 68, rx: 6, fill: "#1b2b3c", stroke: "#56b3f5", "stroke-width": 4 }),
    s("text", { x, y: y + 14, "text-anchor": "middle", fill: "#56b3f5", "font-size": 44, "font-weight": 700, text: "P" })),
  junction: (x, y) => s("circle", { cx: x, cy: y, r: 12, fill: "#4a5d72" }),
};

async function drawLayout() {
  const lay = await api("/api/apps/haulage/layout");
  const xs = lay.nodes.map((n) => n.x), ys = lay.nodes.map((n) => n.y);
  const x0 = Math.min(...xs) - 300, x1 = Math.max(...xs) + 300, y0 = Math.min(...ys) - 250, y1 = Math.max(...ys) + 250;
  flipY = (y) => y1 + y0 - y;
  svg.setAttribute("viewBox", `${x0} ${y0} ${x1 - x0} ${y1 - y0}`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const by = Object.fromEntries(lay.nodes.map((n) => [n.id, n]));
  const roads = s("g", { id: "hm-roads" });
  for (const seg of lay.segments) {
    const a = by[seg.a], b = by[seg.b];
    for (const cls of ["seg", "seg-core"]) roads.append(s("line", { class: cls, x1: a.x, y1: flipY(a.y), x2: b.x, y2: flipY(b.y) }));
  }
  const nodes = s("g", { id: "hm-nodes" });
  for (const n of lay.nodes) {
    const x = n.x, y = flipY(n.y);
    const g = s("g", { class: `node node-${n.kind}`, "data-node": n.id });
    g.append(s("circle", { cx: x, cy: y, r: n.r, fill: "none", stroke: "#2f4256", "stroke-dasharray": "8 8", "stroke-width": 3 }));
    const shape = (SHAPES[n.kind] || SHAPES.junction)(x, y);
    shape.setAttribute("transform", `translate(${x} ${y}) scale(1.5) translate(${-x} ${-y})`);
    g.append(shape);
    if (n.kind !== "junction") {
      // parking sits left of the charger: its label goes left
      const left = n.kind === "parking", lx = left ? x - 75 : x + 75, anchor = left ? "end" : "start";
      g.append(s("text", { class: "node-label", x: lx, y: y + 75, "text-anchor": anchor, text: n.id }));
      g.append(s("text", { class: "node-sub", x: lx, y: y + 117, "text-anchor": anchor, text: `${n.kind} · ${Math.round(n.z)} m` }));
    }
    g.append(s("title", { text: `${n.id} (${n.kind}), elevation ${n.z} m` }));
    nodes.append(g);
  }
  svg.replaceChildren(roads, nodes, s("g", { id: "hm-trucks-layer" }));
}

function truckGlyph(t) {
  const g = s("g", { class: "truck", "data-truck": t.id });
  g.append(s("circle", { class: "body", r: 42, stroke: "#0b131b", "stroke-width": 5 }));
  // SoC ring: the arc's length is the state of charge
  g.append(s("circle", { class: "soc-ring", r: 53, fill: "none", stroke: "#7cf29c", "stroke-width": 9, "stroke-dasharray": "0 999", transform: "rotate(-90)" }));
  g.append(s("text", { "text-anchor": "middle", y: 12, text: t.id.replace(/^\D+/, "") }));
  g.append(s("title"));
  return g;
}

function place(t, offset = [0, 0]) {
  const layer = document.getElementById("hm-trucks-layer");
  let g = trucks.get(t.id);
  if (!g) { g = truckGlyph(t); trucks.set(t.id, g); layer.append(g); }
  if (t.x === null || t.y === null) { g.style.display = "none"; return; }
  g.style.display = "";
  g.setAttribute("data-phase", t.phase);
  g.style.transform = `translate(${t.x + offset[0]}px, ${flipY(t.y) + offset[1]}px)`;
  g.querySelector(".body").setAttribute("fill", colour(t.phase));
  const circ = 2 * Math.PI * 53, soc = Math.max(0, Math.min(1, t.soc ?? 0));
  const ring = g.querySelector(".soc-ring");
  ring.setAttribute("stroke-dasharray", `${(soc * circ).toFixed(1)} ${circ.toFixed(1)}`);
  ring.setAttribute("stroke", soc < 0.25 ? "#e5484d" : soc < 0.4 ? "#f2c94c" : "#7cf29c");
  g.querySelector("title").textContent = `${t.id}: ${label(t.phase)}, ${fmt(t.payload_t)} t, SoC ${fmt(100 * soc, 0)} %, ${fmt(t.speed_kmh)} km/h${t.to ? ", to " + t.to : ""}`;
}

function socBar(soc) {
  if (soc === null || soc === undefined) return el("span", { class: "muted", text: "–" });
  const p = Math.round(100 * soc);
  const c = soc < 0.25 ? "var(--bad)" : soc < 0.4 ? "var(--medium)" : "var(--good)";
  return el("span", {}, el("span", { class: "soc" }, el("i", { style: `width:${p}%;background:${c}` })), ` ${p} %`);
}

function side(st) {
  const body = el("tbody");
  for (const t of st.trucks) {
    body.append(el("tr", { "data-truck": t.id },
      el("td", { text: t.id }),
      el("td", {}, el("span", { class: "ph", style: `background:${colour(t.phase)}` }), label(t.phase)),
      el("td", { class: "num", text: fmt(t.payload_t) }),
      el("td", {}, socBar(t.soc)),
      el("td", { text: t.to || "–" })));
  }
  document.querySelector("#hm-trucks tbody").replaceWith(body);
  const ol = el("ol", { class: "hm-decisions", id: "hm-decisions" });
  for (const d of st.decisions) {
    ol.append(el("li", { class: d.status === "confirmed" ? "" : "error" },
      el("b", { text: d.truck }), ` → ${d.to} `, el("small", { class: "muted", text: `(${d.kind}, ${fmtTime(d.ts).slice(11)}, ${d.status})` }),
      el("span", { class: "why", text: d.reason })));
  }
  if (!st.decisions.length) ol.append(el("li", { class: "muted", text: "no decisions yet: trucks are assigned as they finish dumping or start loading" }));
  document.getElementById("hm-decisions").replaceWith(ol);
}

async function poll() {
  try {
    const st = await api("/api/apps/haulage/state");
    // trucks waiting at the same place are fanned out so each stays visible
    const seen = new Map();
    for (const t of st.trucks) {
      const key = t.x === null ? "" : `${Math.round(t.x / 60)},${Math.round(t.y / 60)}`;
      const k = seen.get(key) || 0;
      seen.set(key, k + 1);
      const a = -Math.PI / 2 - k * 0.8, r = k ? 100 + 30 * Math.floor(k / 7) : 0;
      place(t, [r * Math.cos(a), r * Math.sin(a)]);
    }
    side(st);
    const down = new Set(st.loaders_down || []);
    for (const g of svg.querySelectorAll(".node-loader")) {
      const isDown = down.has(g.dataset.node);
      g.classList.toggle("down", isDown);
      const sub = g.querySelector(".node-sub");
      if (sub) {
        sub.dataset.base ??= sub.textContent;
        sub.textContent = isDown ? `${sub.dataset.base} · DOWN` : sub.dataset.base;
      }
    }
    const k = st.kpis;
    const downText = down.size ? ` · loaders down: ${[...down].join(", ")}` : "";
    status.textContent = `${fmtTime(st.ts)} UTC · ${fmt(k.tph, 0)} t/h (plan ${fmt(k.plan_tph, 0)}) · ${st.trucks.length} trucks${downText}`;
    status.className = "muted";
  } catch (e) { status.textContent = e.message; status.className = "error"; }
}

legend(document.getElementById("hm-legend"));
drawLayout().then(poll).catch((e) => { status.textContent = e.message; status.className = "error"; });
setInterval(poll, 1000);
