// OEE by shift for equipment with a state signal.
import { api, qs, el } from "./common.js";

const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + " %");
function bar(x) {
  if (x === null || x === undefined) return el("span", { class: "muted", text: "–" });
  const w = Math.max(0, Math.min(100, 100 * x));
  return el("div", { class: "meter" }, el("i", { style: `width:${w}%` }), el("span", { text: pct(x) }));
}

async function load() {
  const asset = document.getElementById("oee-asset").value;
  if (!asset) return;
  const q = { asset, start: document.getElementById("oee-range").value, total: document.getElementById("oee-total").value.trim(), good: document.getElementById("oee-good").value.trim(), ideal_cycle_s: document.getElementById("oee-cycle").value.trim() };
  const body = el("tbody");
  try {
    const r = await api("/api/oee?" + qs(q));
    for (const s of r.shifts) body.append(el("tr", {},
      el("td", { text: s.shift }), el("td", { class: "num", text: (s.planned_s / 3600).toFixed(2) }),
      el("td", { class: "num", text: (s.run_s / 3600).toFixed(2) }), el("td", { class: "num", text: s.total_count ?? "–" }),
      el("td", { class: "num", text: s.good_count ?? "–" }), el("td", {}, bar(s.availability)), el("td", {}, bar(s.performance)),
      el("td", {}, bar(s.quality)), el("td", {}, bar(s.oee))));
    const o = r.overall;
    document.getElementById("oee-overall").replaceChildren(
      ...[["Availability", o.availability], ["Performance", o.performance], ["Quality", o.quality], ["OEE", o.oee]].map(([k, v]) =>
        el("div", { class: "kpi" }, el("span", { class: "k", text: k }), el("b", { text: pct(v) }))),
      el("div", { class: "kpi" }, el("span", { class: "k", text: "State signal" }), el("small", { text: r.state_signal })));
  } catch (e) { body.append(el("tr", {}, el("td", { colspan: 9, class: "error", text: e.message }))); }
  document.querySelector("#oee-table tbody").replaceWith(body);
}

document.getElementById("oee-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
document.getElementById("oee-asset").addEventListener("change", load);
load();
