// Carbon page: scopes, per tonne (location/market), avoided vs diesel, daily trend, report links.
import { api, el } from "/static/js/common.js";
import { svg, COLORS, num } from "./svg.js";

function bars(id, items, unit) {
  const box = document.getElementById(id);
  const max = Math.max(1e-9, ...items.map(([, v]) => v || 0));
  const kids = [];
  items.forEach(([label, v, color], i) => {
    const y = 20 + i * 48, w = 240 * (v || 0) / max;
    kids.push(svg("text", { x: 4, y: y + 20, class: "en-svg-text" }, label));
    kids.push(svg("rect", { x: 200, y, width: Math.max(1, w), height: 30, fill: color, class: "co-bar" }));
    kids.push(svg("text", { x: 206 + w, y: y + 20, class: "en-svg-text" }, v === null || v === undefined ? "–" : num(v, 2) + unit));
  });
  box.replaceChildren(...kids);
}

function trend(days) {
  const box = document.getElementById("co-trend");
  const W = 1000, H = 240, L = 50;
  const vals = days.map((d) => d.kg_per_t);
  const max = Math.max(1e-9, ...vals.filter((v) => v !== null));
  const bw = (W - L - 10) / Math.max(1, days.length);
  const every = Math.ceil(days.length / 12);
  const kids = [svg("text", { x: 4, y: 14, class: "en-svg-muted" }, "kg/t"), svg("line", { x1: L, x2: W - 10, y1: H - 24, y2: H - 24, stroke: "#243446" })];
  days.forEach((d, i) => {
    const x = L + i * bw;
    if (d.kg_per_t === null) {
      const t = svg("rect", { x: x + 2, y: H - 26, width: Math.max(2, bw - 4), height: 2, fill: "#8194a8" });
      t.append(svg("title", {}, `${d.day}: no ore counted` + (d.coverage ? "" : ", no meter data")));
      kids.push(t);
    } else {
      const h = (H - 60) * d.kg_per_t / max;
      const r = svg("rect", { x: x + 2, y: H - 24 - h, width: Math.max(2, bw - 4), height: h, fill: COLORS[0], opacity: 0.3 + 0.7 * d.coverage });
      r.append(svg("title", {}, `${d.day}: ${num(d.kg_per_t, 3)} kg/t, ${num(d.grid_import_kwh)} kWh import, ${num(d.ore_t)} t ore, meter coverage ${Math.round(100 * d.coverage)} %`));
      kids.push(r);
      kids.push(svg("text", { x: x + 2, y: H - 28 - h, class: "en-svg-muted" }, num(d.kg_per_t, 2)));
    }
    if (i % every === 0 || i === days.length - 1) kids.push(svg("text", { x: x + 2, y: H - 8, class: "en-svg-muted" }, d.day.slice(5)));
  });
  box.replaceChildren(...kids);
}

async function load() {
  const note = document.getElementById("co-note");
  try {
    const { carbon: c } = await api("/api/apps/energy/carbon");
    if (!c) { note.textContent = "no account yet (the app computes it on its first tick)"; return; }
    const k = (label, value, id) => el("div", { class: "kpi", id }, el("span", { class: "k", text: label }), el("b", { text: value }));
    const perT = (v) => (c.ore_known && v !== null ? num(v, 3) + " kg/t" : "– (no ore count)");
    document.getElementById("co-kpis").replaceChildren(
      k("CO2 per tonne, location-based", perT(c.intensity_location_kg_per_t), "co-kpi-loc"),
      k("CO2 per tonne, market-based", perT(c.intensity_market_kg_per_t), "co-kpi-mkt"),
      k("Ore, month to date", c.ore_known ? num(c.ore_t) + " t" : "–", "co-kpi-ore"),
      k("Scope 1 + 2 (location)", num(c.total_location_t, 2) + " t", "co-kpi-total"),
      k("Avoided vs diesel fleet", num(c.avoided_location_t, 2) + " t", "co-kpi-avoided"),
      k("Electricity per tonne", c.ore_known && c.electricity_kwh_per_t !== null ? num(c.electricity_kwh_per_t, 2) + " kWh/t" : "–", "co-kpi-kwh"));
    bars("co-scopes", [["Scope 1 (diesel)", c.scope1_t, COLORS[4]], ["Scope 2 location", c.scope2_location_t, COLORS[0]], ["Scope 2 market", c.scope2_market_t, COLORS[3]], ["PV on site [MWh]", c.pv_on_site_kwh / 1000, COLORS[8]]], "");
    const fleetGrid = c.diesel_baseline_t - c.avoided_location_t;
    bars("co-avoided", [["Diesel fleet baseline", c.diesel_baseline_t, COLORS[6]], ["Electric fleet (grid share)", fleetGrid, COLORS[1]], ["Avoided", c.avoided_location_t, COLORS[2]]], " t");
    trend(c.trend || []);
    note.textContent = `Grid factor ${c.location_factor} kg CO2/kWh (location), ${c.market_factor} (market); meter coverage ${Math.round(100 * c.coverage)} %. Truck regeneration (${num(c.truck_regen_kwh)} kWh) stays in the trucks and is reported separately.`;
  } catch (e) { note.textContent = e.message; note.className = "error"; }
}

const month = document.getElementById("co-month");
month.addEventListener("change", () => {
  for (const f of ["csv", "html"]) document.getElementById("co-" + f).href = `/api/apps/energy/report?month=${encodeURIComponent(month.value)}&format=${f}`;
});
load();
setInterval(load, 60000);
