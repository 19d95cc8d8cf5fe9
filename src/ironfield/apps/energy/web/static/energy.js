// Energy page: power flows now, PV actual vs expected with intraday and day-ahead forecast bands, balance, charging plan.
/* global uPlot */
import { api, el, fmtTime } from "/static/js/common.js";
import { svg, COLORS, num, pct, hhmm } from "./svg.js";

let chart = null;

function flows(now) {
  const box = document.getElementById("en-flows");
  const f = now.flows || {};
  const node = (x, y, w, label, value, color) => {
    const g = svg("g", { class: "en-flow-node" });
    g.append(svg("rect", { x, y, width: w, height: 46, rx: 6, style: `stroke:${color}` }));
    g.append(svg("text", { x: x + 8, y: y + 18 }, label));
    g.append(svg("text", { x: x + 8, y: y + 37, class: "en-svg-text", style: "font-weight:700" }, value === null || value === undefined ? "no data" : num(value) + " kW"));
    return g;
  };
  const line = (x1, y1, x2, y2, kw, color) => svg("path", { d: `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`, class: "en-flow-line", stroke: color, "stroke-width": Math.max(1.5, Math.min(14, (kw || 0) / 150)), opacity: kw ? 0.9 : 0.25 });
  const kids = [];
  const bus = [250, 128];
  kids.push(line(150, 45, bus[0], bus[1] + 10, f.pv_kw, COLORS[8]));
  const gridKw = (f.grid_import_kw || 0) - (f.grid_export_kw || 0);
  kids.push(line(150, 235, bus[0], bus[1] + 30, Math.abs(gridKw), gridKw >= 0 ? COLORS[6] : COLORS[1]));
  const loads = Object.entries(f.fixed_kw || {});
  if (f.truck_charging_kw !== null && f.truck_charging_kw !== undefined) loads.push(["truck charging", f.truck_charging_kw]);
  const known = loads.reduce((a, [, v]) => a + (v || 0), 0);
  if (f.load_kw !== null && f.load_kw !== undefined) loads.push(["other / unmetered", Math.max(0, f.load_kw - known)]);
  const step = Math.min(56, 270 / Math.max(1, loads.length));
  loads.forEach(([k, v], i) => kids.push(line(bus[0] + 60, bus[1] + 20, 400, 20 + i * step + 20, v, COLORS[i % COLORS.length])));
  kids.push(node(10, 20, 140, "PV (" + num(f.pv_expected_kw) + " expected)", f.pv_kw, COLORS[8]));
  kids.push(node(10, 210, 140, gridKw >= 0 ? "Grid import" : "Grid export", f.grid_import_kw === null || f.grid_import_kw === undefined ? null : Math.abs(gridKw), gridKw >= 0 ? COLORS[6] : COLORS[1]));
  kids.push(node(bus[0] - 10, bus[1], 80, "Site", f.load_kw, COLORS[0]));
  loads.forEach(([k, v], i) => kids.push(node(400, 20 + i * step, 150, k, v, COLORS[i % COLORS.length])));
  box.replaceChildren(...kids);
}

function kpis(now) {
  const t = now.today || {};
  const k = (label, value, id) => el("div", { class: "kpi", id }, el("span", { class: "k", text: label }), el("b", { text: value }));
  const kwh = (full, partial) => full !== null && full !== undefined ? num(full) + " kWh" : partial ? "≥ " + num(partial) + " kWh (gap)" : "–";
  document.getElementById("en-kpis").replaceChildren(
    k("Performance ratio", pct(t.performance_ratio), "en-kpi-pr"),
    k("Self-consumption", pct(t.self_consumption), "en-kpi-sc"),
    k("Self-sufficiency", pct(t.self_sufficiency), "en-kpi-ss"),
    k("Peak demand (15 min)", t.peak_demand_kw === null || t.peak_demand_kw === undefined ? "–" : num(t.peak_demand_kw) + " kW", "en-kpi-peak"),
    k("PV today", kwh(t.pv_kwh, t.pv_partial_kwh), "en-kpi-pv"),
    k("Grid import today", kwh(t.grid_import_kwh, t.grid_import_partial_kwh), "en-kpi-imp"),
    k("Regenerated in trucks (not a site flow)", t.truck_regen_kwh === null || t.truck_regen_kwh === undefined ? "–" : num(t.truck_regen_kwh) + " kWh", "en-kpi-regen"),
    k("Meter coverage today", pct(t.coverage), "en-kpi-cov"));
}

function shifts(now) {
  const body = el("tbody");
  const cell = (r, key) => el("td", { class: "num", text: r[key] !== null && r[key] !== undefined ? num(r[key]) : r[key + "_partial"] !== undefined ? "(" + num(r[key + "_partial"]) + ")" : "–" });
  for (const r of (now.shifts || []).filter((r) => (r.coverage || 0) > 0).slice(-6).reverse()) body.append(el("tr", {}, el("td", { text: r.shift }), cell(r, "pv"), cell(r, "grid_import"), cell(r, "grid_export"), cell(r, "load"), cell(r, "truck_charging"), el("td", { class: "num", text: pct(r.coverage) })));
  document.querySelector("#en-shifts tbody").replaceWith(body);
}

function losses(pv) {
  const body = el("tbody");
  const rows = (pv.losses || []).slice(-12).reverse();
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "no losses in the window" })));
  for (const l of rows) body.append(el("tr", { title: l.reason }, el("td", { text: l.inverter.split("/").pop() }), el("td", { text: l.kind.replace("_", " ") }), el("td", { text: fmtTime(l.start_ns).slice(5, 16) }), el("td", { text: fmtTime(l.end_ns).slice(11, 16) }), el("td", { class: "num", text: num(l.energy_lost_kwh, 1) })));
  document.querySelector("#en-losses tbody").replaceWith(body);
}

function pvChart(pv) {
  const fc = pv.forecast || { ts: [] };
  const da = pv.dayahead && pv.dayahead.available ? pv.dayahead : { ts: [] };
  const m = new Map();
  const put = (ts, i, v) => { if (!m.has(ts)) m.set(ts, [null, null, null, null, null, null, null, null, null]); m.get(ts)[i] = v; };
  pv.ts.forEach((t, j) => { put(t / 1e9, 0, pv.actual_kw[j]); put(t / 1e9, 1, pv.expected_kw[j]); });
  fc.ts.forEach((t, j) => { const x = t / 1e9 + 450; put(x, 2, fc.clear_sky_kw[j]); put(x, 3, fc.p50_kw[j]); put(x, 4, fc.q10_kw[j]); put(x, 5, fc.q90_kw[j]); });
  da.ts.forEach((t, j) => { const x = t / 1e9 + 450; put(x, 6, da.mean_kw[j]); put(x, 7, da.q10_kw[j]); put(x, 8, da.q90_kw[j]); });
  const xs = [...m.keys()].sort((a, b) => a - b);
  const data = [xs, ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => xs.map((x) => m.get(x)[i]))];
  const box = document.getElementById("en-pv-chart");
  box.dataset.dayaheadPoints = String((da.mean_kw || []).filter((v) => v !== null).length);
  box.dataset.intradayPoints = String((fc.p50_kw || []).filter((v) => v !== null).length);
  document.getElementById("en-fc-method").textContent = fc.method ? "Intraday forecast (orange, next " + num((fc.ts.length ? (fc.ts[fc.ts.length - 1] - fc.made_ns) / 3.6e12 : 0), 1) + " h): " + fc.method + (fc.k_now !== undefined && fc.k_now !== null ? ` (clear-sky index now ${num(fc.k_now, 2)})` : "") + "." : "";
  const d = pv.dayahead;
  document.getElementById("en-da-note").textContent = !d ? "Day-ahead forecast: not issued yet."
    : d.available ? `Day-ahead forecast (violet, today and tomorrow, issued ${fmtTime(d.made_ns).slice(5, 16)} UTC from ${d.days_with_data} days of PV history): ${d.method}. Honestly: ${d.skill}.`
      : "Day-ahead forecast: " + d.note + ".";
  if (typeof uPlot === "undefined") return;
  if (chart) { chart.setData(data); return; }
  chart = new uPlot({
    width: box.clientWidth || 900, height: 300,
    series: [{}, { label: "actual kW", stroke: COLORS[1], width: 1.5 }, { label: "expected kW", stroke: COLORS[0], width: 1.5 },
      { label: "clear sky kW", stroke: "#8194a8", dash: [4, 4], spanGaps: true }, { label: "intraday forecast p50 kW", stroke: COLORS[2], width: 2, spanGaps: true },
      { label: "intraday q10", stroke: "rgba(230,162,60,.4)", spanGaps: true }, { label: "intraday q90", stroke: "rgba(230,162,60,.4)", spanGaps: true },
      { label: "day-ahead forecast kW", stroke: COLORS[3], width: 2, dash: [8, 3], spanGaps: true },
      { label: "day-ahead q10", stroke: "rgba(198,120,221,.4)", spanGaps: true }, { label: "day-ahead q90", stroke: "rgba(198,120,221,.4)", spanGaps: true }],
    bands: [{ series: [6, 5], fill: "rgba(230,162,60,.18)" }, { series: [9, 8], fill: "rgba(198,120,221,.14)" }],
    axes: [{ stroke: "#8194a8", grid: { stroke: "#243446" } }, { stroke: "#8194a8", grid: { stroke: "#243446" }, label: "kW" }],
  }, data, box);
}

function plan(p) {
  const box = document.getElementById("en-plan");
  const note = document.getElementById("en-plan-note");
  if (!p || !p.windows) { box.replaceChildren(); note.textContent = p && p.problem ? p.problem : "no plan yet (the first comes once the forecast and the trucks' state of charge are known)"; return; }
  const o = p.optimised, b = p.charge_when_low;
  const rows = [["Grid energy", "grid_kwh", " kWh"], ["Peak import", "peak_kw", " kW"], ["Energy cost", "energy_cost", ""], ["Tonnes lost to charging", "tonnes_lost", " t"], ["Charged", "charged_kwh", " kWh"]];
  const tbl = el("table", { class: "grid en-cmp", id: "en-cmp" }, el("thead", {}, el("tr", {}, el("th", { text: "" }), el("th", { class: "num", text: "optimised (LP)" }), el("th", { class: "num", text: "charge-when-low" }))),
    el("tbody", {}, ...rows.map(([label, key, unit]) => el("tr", {}, el("td", { text: label }), el("td", { class: "num" + (o[key] < b[key] && key !== "charged_kwh" ? " better" : ""), text: num(o[key]) + unit }), el("td", { class: "num", text: num(b[key]) + unit })))));
  document.getElementById("en-plan-cmp").replaceChildren(tbl);
  const t0 = p.ts[0], t1 = p.ts[p.ts.length - 1] + p.period_ns, W = 900, L = 150;
  const x = (t) => L + (W - L - 10) * (t - t0) / (t1 - t0);
  const kids = [];
  const trucks = Object.keys(p.trucks);
  const color = (tr) => COLORS[trucks.indexOf(tr) % COLORS.length];
  let y = 18;
  for (let h = 0; h < p.ts.length; h += 4) kids.push(svg("text", { x: x(p.ts[h]), y: 12, class: "en-svg-muted" }, hhmm(p.ts[h])));
  const ids = p.charger_ids || [...Array(p.chargers).keys()].map((c) => `charger-${c + 1}`);
  for (const [title, wins] of [["LP", p.windows], ["when low", p.baseline_windows]]) {
    // one lane per charger (spot): windows of a charger id with several spots are packed
    // onto its lanes in time order
    const lanes = [];
    for (const id of ids) lanes.push({ id, ends: -Infinity, wins: [] });
    for (const w of [...wins].sort((a, b) => a.start_ns - b.start_ns)) {
      let lane = lanes.find((l) => l.id === w.charger && l.ends <= w.start_ns);
      if (!lane) { lane = { id: w.charger, ends: -Infinity, wins: [] }; lanes.push(lane); }
      lane.wins.push(w); lane.ends = w.end_ns;
    }
    for (const lane of lanes) {
      kids.push(svg("text", { x: 4, y: y + 14, class: "en-svg-muted" }, `${title} ${lane.id}`));
      kids.push(svg("rect", { x: L, y, width: W - L - 10, height: 16, fill: "#1b2b3c" }));
      for (const w of lane.wins) {
        const r = svg("rect", { x: x(w.start_ns), y, width: Math.max(1, x(w.end_ns) - x(w.start_ns)), height: 16, fill: color(w.truck), opacity: title === "LP" ? 1 : 0.55, class: "en-win" });
        r.append(svg("title", {}, `${w.truck} ${hhmm(w.start_ns)}–${hhmm(w.end_ns)} UTC ${num(w.kwh)} kWh`));
        kids.push(r);
        if (x(w.end_ns) - x(w.start_ns) > 40) kids.push(svg("text", { x: x(w.start_ns) + 3, y: y + 12, class: "en-svg-text", style: "font-size:10px;fill:#00131f" }, w.truck));
      }
      y += 20;
    }
    y += 8;
  }
  box.setAttribute("viewBox", `0 0 ${W} ${y + 4}`);
  box.replaceChildren(...kids);
  note.textContent = `Plan ${p.plan_id} made ${fmtTime(p.made_ns)} UTC for ${trucks.length} trucks (SoC now: ${trucks.map((t) => t + " " + Math.round(100 * p.trucks[t]) + "%").join(", ")}); other site load ${num(p.other_load_kw)} kW. Times in UTC.` + (p.pv_source ? ` PV: intraday forecast for the first ${num(p.pv_source.intraday_periods * p.period_ns / 3.6e12, 1)} h` + (p.pv_source.dayahead_periods ? `, day-ahead for the next ${num(p.pv_source.dayahead_periods * p.period_ns / 3.6e12, 1)} h.` : " (no day-ahead forecast: the plan ends there).") : "") + (o.problems.length ? " Problems: " + o.problems.join("; ") : "");
}

async function load() {
  try {
    const [now, pv, pl] = await Promise.all([api("/api/apps/energy/now"), api("/api/apps/energy/pv"), api("/api/apps/energy/plan")]);
    document.getElementById("en-asof").textContent = now.ts ? "minute of " + fmtTime(now.ts) + " UTC" : "waiting for the first minute of data";
    document.getElementById("en-error").textContent = now.errors ? `${now.errors} failed ticks; last: ${now.last_error}` : "";
    const fl = Object.entries(now.flags || {});
    const flagBox = document.getElementById("en-flags");
    flagBox.hidden = !fl.length;
    flagBox.textContent = fl.length ? "Input left out of the window (minutes): " + fl.map(([r, c]) => `${r}: ${c}`).join("; ") : "";
    flows(now); kpis(now); shifts(now); losses(pv); pvChart(pv); plan(pl.plan);
  } catch (e) { document.getElementById("en-error").textContent = e.message; }
}
load();
setInterval(load, 30000);
