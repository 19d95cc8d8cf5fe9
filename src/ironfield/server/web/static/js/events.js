// Events: the journal (alarm transitions), audits, commands and app events, newest first.
import { api, qs, el, fmtTime } from "./common.js";

function what(e) {
  const p = e.payload;
  if (e.type === "alarm") return `${p.alarm}: ${p.from_state} → ${p.to_state} (${p.action}${p.user && p.user !== "system" ? " by " + p.user : ""}${p.comment ? ": " + p.comment : ""})`;
  if (e.type === "audit") return `${p.action} by ${p.user}${p.alarm ? " · " + p.alarm : ""}${p.signal ? " · " + p.signal + " = " + p.value : ""}${p.comment ? " · " + p.comment : ""}`;
  if (e.type === "command") return `${p.signal} := ${p.value} by ${p.user} → ${p.status}${p.message ? " (" + p.message + ")" : ""}`;
  return JSON.stringify(p).slice(0, 160);
}

async function load() {
  const type = document.getElementById("ev-type").value;
  const asset = document.getElementById("ev-asset").value.trim();
  const start = document.getElementById("ev-range").value;
  const evs = await api("/api/events?" + qs({ type, asset, start, limit: 500 }));
  const body = el("tbody");
  if (!evs.length) body.append(el("tr", {}, el("td", { colspan: 4, class: "muted", text: "No events in this range." })));
  for (const e of evs) body.append(el("tr", { class: "ev-" + e.type },
    el("td", { class: "muted", text: fmtTime(e.ts) }), el("td", {}, el("span", { class: "tag", text: e.type })),
    el("td", {}, el("a", { href: "/equipment/" + e.asset, text: e.asset })), el("td", { text: what(e) })));
  document.querySelector("#ev-table tbody").replaceWith(body);
}

document.getElementById("ev-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
load();
setInterval(() => { if (document.getElementById("ev-auto").checked) load(); }, 5000);
