// One robot: electrodes, spots, recent welds; the selected weld's curves from the historian.
import { api, canWrite, el, fmtTime } from "/static/js/common.js";

const robot = document.getElementById("wr-title").dataset.robot;
const plots = {};
let selected = null;

function kpi(k, v) { return el("div", { class: "kpi" }, el("span", { class: "k", text: k }), el("b", { text: v })); }
const f = (x, d = 1) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));

function plot(id, series, data, opts = {}) {
  const host = document.getElementById(id);
  if (plots[id]) { plots[id].destroy(); }
  host.replaceChildren();
  const width = Math.max(300, host.clientWidth - 10);
  plots[id] = new uPlot({ width, height: opts.height || 220, series, scales: { x: { time: false } },
    axes: [{ stroke: "#8194a8", grid: { stroke: "#243446" }, label: opts.xlabel || "ms" }, { stroke: "#8194a8", grid: { stroke: "#243446" } }],
    legend: { show: true } }, data, host);
}

async function showWeld(id) {
  selected = id;
  document.querySelectorAll("#wr-recent tbody tr").forEach((tr) => tr.classList.toggle("sel", tr.dataset.id === id));
  let w;
  try { w = await api("/api/apps/welding/weld?id=" + encodeURIComponent(id)); } catch (e) {
    document.getElementById("wr-weld").textContent = e.message; return;
  }
  const c = w.curves;
  const t = c.curve_current_ka.t_ms;
  document.getElementById("wr-weld").textContent = `${id} · ${w.quality || ""}` + (w.note ? " · " + w.note : "") + ` · ${t.length} samples from the historian`;
  if (!t.length) {
    for (const idn of ["wr-res", "wr-curves"]) { if (plots[idn]) { plots[idn].destroy(); delete plots[idn]; } document.getElementById(idn).replaceChildren(el("p", { class: "muted", text: w.note || "no curve stored for this weld" })); }
    return;
  }
  // resistance on the band: one x axis (the weld's sample times; the band interpolated onto it)
  const series = [{}, { label: "R [µΩ]", stroke: "#4cc3ff", width: 2 }];
  const data = [t, w.resistance_uohm || []];
  if (w.band) {
    const interp = (xs, ys) => t.map((x) => {
      if (x < xs[0] || x > xs[xs.length - 1]) return null;
      let k = 1; while (k < xs.length && xs[k] < x) k++;
      const a = xs[k - 1], b = xs[Math.min(k, xs.length - 1)];
      const ya = ys[k - 1], yb = ys[Math.min(k, ys.length - 1)];
      return b === a ? ya : ya + (yb - ya) * (x - a) / (b - a);
    });
    series.push({ label: "ref p10", stroke: "#2fbf71", dash: [4, 4] }, { label: "ref p50", stroke: "#2fbf71" }, { label: "ref p90", stroke: "#2fbf71", dash: [4, 4] });
    data.push(interp(w.band.t_ms, w.band.p10), interp(w.band.t_ms, w.band.p50), interp(w.band.t_ms, w.band.p90));
  }
  plot("wr-res", series, data);
  plot("wr-curves", [{}, { label: "current kA", stroke: "#ff8c1a" }, { label: "voltage V ×10", stroke: "#4cc3ff" }, { label: "force kN", stroke: "#f2c94c" }, { label: "displacement mm ×10", stroke: "#e5484d" }],
    [t, c.curve_current_ka.v, c.curve_voltage_v.v.map((v) => (v === null ? null : v * 10)), c.curve_force_kn.v, c.curve_displacement_mm.v.map((v) => (v === null ? null : v * 10))]);
}

async function refresh() {
  let r;
  try { r = await api("/api/apps/welding/robot?path=" + encodeURIComponent(robot)); } catch (e) {
    document.getElementById("wr-kpi").replaceChildren(el("p", { class: "error", text: e.message })); return;
  }
  const qn = { "-1": "none yet", 0: "ok", 1: "undersized", 2: "expulsion", 3: "rejected" };
  document.getElementById("wr-kpi").replaceChildren(
    kpi("Last weld", qn[r.quality]), kpi("Electrode life", f(r.life_pct, 0) + " %"), kpi("Welds since dress", String(r.welds_since_dress)),
    kpi("Current step", f(r.step_pct) + " %"), kpi("Expulsion streak", String(r.streak)), kpi("Dress due", r.dress_due ? "yes" : "no"),
    kpi("Welds analysed", String(r.welds)));
  document.querySelector("#wr-wear tbody").replaceWith(el("tbody", {}, ...r.wear.map((w) => el("tr", {},
    el("td", { text: w.family }), el("td", { class: "num", text: w.welds }), el("td", { class: "num", text: f(w.face_mm, 3) }),
    el("td", { class: "num", text: f(w.limit_mm, 2) }),
    el("td", {}, el("div", { class: "meter" }, el("i", { style: `width:${100 * w.life_used}%` }), el("span", { text: f(100 * w.life_used, 0) + " %" })))))));
  document.querySelector("#wr-spots tbody").replaceWith(el("tbody", {}, ...r.spots.map((s) => el("tr", {},
    el("td", {}, el("a", { href: "/apps/welding/spot?id=" + encodeURIComponent(s.id), text: "spot " + s.no })),
    el("td", { text: s.family }), el("td", { class: "num", text: s.welds }), el("td", { class: "num", text: f(s.schedule_ms) }),
    el("td", { text: s.reference ? `${s.reference}, fallback ${f(s.t_fixed_ms)} ms` : "learning" }), el("td", { class: "num", text: s.violations })))));
  const body = el("tbody");
  for (const w of r.recent) {
    const tr = el("tr", { "data-id": w.weld_id, onclick: () => showWeld(w.weld_id), title: (w.reasons || []).join("\n") || w.detail || "" },
      el("td", { text: fmtTime(w.ts).slice(11) }), el("td", { text: w.spot ?? "–" }),
      el("td", { class: "v-" + w.quality, text: w.quality + (w.detail ? " · " + w.detail : "") + ((w.reasons || []).length ? " ⚑" : "") }),
      el("td", { class: "num", text: f(w.weld_time_ms, 0) }), el("td", { class: "num", text: f(w.current_ka, 2) }), el("td", { class: "num", text: f(w.energy_j, 0) }));
    if (w.weld_id === selected) tr.classList.add("sel");
    body.append(tr);
  }
  document.querySelector("#wr-recent tbody").replaceWith(body);
  if (r.trend && r.trend.t.length) {
    // one series per spot: the adaptive timer's choice, weld by weld
    const t0 = r.trend.t[0];
    const colours = ["#4cc3ff", "#ff8c1a", "#2fbf71", "#f2c94c", "#e5484d", "#b48cff", "#56b3f5", "#dce6f0"];
    const spots = [...new Set(r.trend.spot)].sort((a, b) => a - b);
    const series = [{}, ...spots.map((s, k) => ({ label: "spot " + s + " ms", stroke: colours[k % colours.length], points: { show: true, size: 4 }, width: 0 }))];
    const data = [r.trend.t.map((x) => (x - t0) / 60), ...spots.map((s) => r.trend.ms.map((v, k) => (r.trend.spot[k] === s ? v : null)))];
    plot("wr-trend", series, data, { height: 180, xlabel: "minutes" });
  }
  const first = r.recent.find((w) => w.curves);
  if (!selected && first) showWeld(first.weld_id);
  else if (!selected && r.recent.length) showWeld(r.recent[0].weld_id);
}

refresh();
setInterval(refresh, 5000);

// QA entry (engineers): a chisel or ultrasonic result for the selected weld
const qa = document.getElementById("wr-qa");
if (canWrite("engineer")) qa.hidden = false;
qa.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = document.getElementById("wr-qa-out");
  if (!selected) { out.textContent = "select a weld first"; return; }
  try {
    const r = await api("/api/apps/welding/qa", { method: "POST", body: {
      weld_id: selected, method: document.getElementById("wr-qa-method").value,
      nugget_mm: Number(document.getElementById("wr-qa-nugget").value), expelled: document.getElementById("wr-qa-expelled").checked } });
    out.className = r.nugget_ok ? "ok" : "error";
    out.textContent = (r.nugget_ok ? "nugget ok" : `nugget below ${r.d_min_mm} mm`) + (r.reference_update ? " · reference: " + r.reference_update.reason : "");
  } catch (e) { out.className = "error"; out.textContent = e.message; }
});
