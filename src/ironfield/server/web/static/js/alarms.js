// Alarm summary: announced alarms, acknowledge / shelve / unshelve with comments.
import { api, qs, el, fmtValue, fmtTime, canWrite, ask, refreshBanner } from "./common.js";

const tbody = () => document.querySelector("#alarm-table tbody");

function shelveFields() {
  const sel = el("select", { name: "duration", id: "dlg-duration" },
    ...["15min", "1h", "4h", "8h", "24h", "7d"].map((d) => el("option", { value: d, text: d, selected: d === "1h" })));
  return el("label", {}, "Shelve for ", sel);
}

async function act(a, kind) {
  const title = { ack: "Acknowledge", shelve: "Shelve", unshelve: "Unshelve" }[kind] + " " + a.alarm_id;
  const d = await ask(title, kind === "shelve" ? shelveFields : null);
  if (!d) return;
  const body = { comment: d.comment || "" };
  if (kind === "shelve") body.duration = d.duration;
  try {
    await api(`/api/alarms/${encodeURIComponent(a.alarm_id)}/${kind}`, { method: "POST", body });
  } catch (e) { alert(e.message); }
  load(); refreshBanner();
}

function row(a) {
  const buttons = [];
  if (canWrite("operator")) {
    if (a.state === "unack" || a.state === "rtn_unack") buttons.push(el("button", { class: "ack", text: "Ack", onclick: () => act(a, "ack") }));
    if (a.state === "shelved") buttons.push(el("button", { class: "ghost", text: "Unshelve", onclick: () => act(a, "unshelve") }));
    else if (a.state !== "out_of_service" && a.state !== "suppressed") buttons.push(el("button", { class: "ghost", text: "Shelve", onclick: () => act(a, "shelve") }));
  }
  const who = a.acked_by ? `${a.acked_by}${a.comment ? ": " + a.comment : ""}` : a.shelved_by ? `shelved by ${a.shelved_by} until ${fmtTime(a.shelved_until)}` : "";
  return el("tr", { class: `pri-${a.priority} st-${a.state}`, "data-alarm": a.alarm_id },
    el("td", {}, el("span", { class: "badge " + a.priority, text: a.priority })),
    el("td", { class: "state", text: a.state.replace("_", " ") }),
    el("td", { class: "muted", text: fmtTime(a.since) }),
    el("td", {}, el("a", { href: "/equipment/" + a.asset, text: a.asset })),
    el("td", { text: a.alarm_id }), el("td", { text: a.message }),
    el("td", { class: "num", text: fmtValue(a.value) }), el("td", { class: "num", text: fmtValue(a.limit) }),
    el("td", { class: "muted", text: who }), el("td", { class: "actions" }, ...buttons));
}

async function load() {
  const all = document.getElementById("show-all").checked;
  const asset = document.getElementById("alarm-filter").value.trim();
  const data = await api("/api/alarms?" + qs({ all, asset }));
  const body = el("tbody");
  if (!data.summary.enabled) body.append(el("tr", {}, el("td", { colspan: 10, class: "muted", text: "No alarm engine is running." })));
  else if (!data.alarms.length) body.append(el("tr", {}, el("td", { colspan: 10, class: "muted", text: "No announced alarms." })));
  data.alarms.forEach((a) => body.append(row(a)));
  tbody().replaceWith(body);
  document.getElementById("alarm-count").textContent = `${data.alarms.length} shown · ${data.summary.unacknowledged} unacknowledged · ${data.summary.shelved} shelved · ${data.summary.total} configured`;
}

document.getElementById("show-all").addEventListener("change", load);
document.getElementById("alarm-filter").addEventListener("change", load);
load();
setInterval(() => { if (!document.getElementById("dlg").open) load(); }, 3000);
