// One spot: X-bar and R charts of the weld time with their control limits.
import { api, el } from "/static/js/common.js";

const spot = document.getElementById("ws-title").dataset.spot;
const robot = spot.split("/").slice(0, -1).join("/");
const link = document.getElementById("ws-robot");
link.href = "/apps/welding/robot?path=" + encodeURIComponent(robot);
link.textContent = robot.split("/").pop();
const plots = {};
const f = (x, d = 2) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));
function kpi(k, v) { return el("div", { class: "kpi" }, el("span", { class: "k", text: k }), el("b", { text: v })); }

function chart(id, ys, cl, ucl, lcl, label) {
  const host = document.getElementById(id);
  if (plots[id]) plots[id].destroy();
  host.replaceChildren();
  if (!ys.length) { host.append(el("p", { class: "muted", text: "no complete subgroup yet (5 welds each)" })); return; }
  const x = ys.map((_, k) => k + 1);
  const line = (v) => x.map(() => v);
  const series = [{}, { label, stroke: "#4cc3ff", width: 2, points: { show: true } }];
  const data = [x, ys];
  if (cl !== null) {
    const np = { show: false };
    series.push({ label: "CL", stroke: "#2fbf71", points: np }, { label: "UCL", stroke: "#e5484d", dash: [5, 4], points: np }, { label: "LCL", stroke: "#e5484d", dash: [5, 4], points: np });
    data.push(line(cl), line(ucl), line(lcl));
  }
  plots[id] = new uPlot({ width: Math.max(300, host.clientWidth - 10), height: 200, series, scales: { x: { time: false } },
    axes: [{ stroke: "#8194a8", grid: { stroke: "#243446" }, label: "subgroup" }, { stroke: "#8194a8", grid: { stroke: "#243446" } }] }, data, host);
}

async function refresh() {
  let s;
  try { s = await api("/api/apps/welding/spot?id=" + encodeURIComponent(spot)); } catch (e) {
    document.getElementById("ws-kpi").replaceChildren(el("p", { class: "error", text: e.message })); return;
  }
  const L = s.limits;
  document.getElementById("ws-kpi").replaceChildren(
    kpi("Stack-up", s.stackup), kpi("Schedule", `${f(s.schedule.current_ka)} kA · ${f(s.schedule_ms, 0)} ms · ${f(s.schedule.force_kn, 1)} kN`),
    kpi("Welds", String(s.welds)), kpi("Cp / Cpk", s.capability ? `${f(s.capability.cp)} / ${f(s.capability.cpk)}` : "phase I"),
    kpi("Out-of-control signals", String(s.violations)));
  chart("ws-xbar", s.xbar, L && L.center_x, L && L.ucl_x, L && L.lcl_x, "x̄ ms");
  chart("ws-r", s.range, L && L.center_r, L && L.ucl_r, L && L.lcl_r, "R ms");
  document.getElementById("ws-ref").textContent = s.reference ? JSON.stringify(s.reference, null, 1) : "learning: the spot's first passing welds with curves set its reference";
}

refresh();
setInterval(refresh, 5000);
