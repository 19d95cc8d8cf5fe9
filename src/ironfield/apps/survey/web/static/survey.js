// Survey page: history chart, surveys in progress (polled), upload form (engineer).
/* global uPlot */
import { api, el, cookie, canWrite, fmtTime } from "/static/js/common.js";

const latestId = document.getElementById("sv-latest-id")?.textContent || null;
for (const td of document.querySelectorAll("td.ts")) td.textContent = fmtTime(Number(td.dataset.ns));

let plot = null;
function chart(surveys) {
  const rows = surveys.filter((s) => s.mined_t !== null).reverse();
  const box = document.getElementById("sv-chart");
  if (!rows.length) { box.replaceChildren(el("p", { class: "muted", text: "Two surveys are needed for a first volume." })); return; }
  const data = [rows.map((s) => s.survey_ns / 1e9), rows.map((s) => s.mined_t),
    rows.map((s) => (s.reconciliation && s.reconciliation.ratio !== null ? s.reconciliation.ratio : null))];
  const opts = {
    width: Math.max(320, box.clientWidth - 8), height: 240,
    series: [{}, { label: "mined t", stroke: "#c0392b", fill: "rgba(192,57,43,.15)", scale: "t", points: { show: true, size: 9 } },
      { label: "surveyed / hauled", stroke: "#2c6fbb", scale: "r", points: { show: true, size: 9 }, spanGaps: true }],
    axes: [{}, { scale: "t", label: "t", size: 70 }, { scale: "r", side: 1, label: "ratio", grid: { show: false } }],
    scales: { r: { range: (u, lo, hi) => [Math.min(0.5, lo ?? 1), Math.max(1.5, hi ?? 1)] },
      // one survey: show the hour around it rather than uPlot's default span
      x: rows.length > 1 ? {} : { time: true, range: () => [data[0][0] - 3600, data[0][0] + 3600] } },
  };
  if (plot) plot.destroy();
  box.replaceChildren();
  plot = new uPlot(opts, data, box);
}

function jobs(list) {
  const active = list.filter((j) => j.state === "queued" || j.state === "processing" || j.state === "failed");
  const sec = document.getElementById("sv-jobs");
  sec.hidden = active.length === 0;
  document.getElementById("sv-jobs-body").replaceChildren(...active.map((j) => el("tr", { class: "sv-" + j.state },
    el("td", { text: j.id }), el("td", { text: j.files.join(", ") }), el("td", { text: j.source }), el("td", { text: j.state }),
    el("td", {}, el("div", { class: "meter" }, el("i", { style: `width:${Math.round(100 * j.progress)}%` }), el("span", { text: `${j.stage} ${Math.round(100 * j.progress)} %` }))),
    el("td", { class: "error", text: j.error }))));
}

async function refresh() {
  try {
    const r = await api("/api/apps/survey/surveys?limit=500");
    if (r.surveys.length && r.surveys[0].survey_id !== latestId) { location.reload(); return; }
    jobs(r.jobs);
    chart(r.surveys);
  } catch (e) { /* the app may be starting; try again */ }
}

const form = document.getElementById("sv-upload");
if (canWrite("engineer")) {
  form.hidden = false;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const msg = document.getElementById("sv-upload-msg");
    const fd = new FormData();
    for (const f of document.getElementById("sv-files").files) fd.append("files", f, f.name);
    msg.textContent = "uploading…";
    const r = await fetch("/api/apps/survey/surveys", { method: "POST", body: fd, credentials: "same-origin",
      headers: { "X-CSRF-Token": cookie("ironfield_csrf"), Accept: "application/json" } });
    const j = await r.json().catch(() => ({}));
    msg.textContent = r.ok ? `queued as ${j.id}` : `refused: ${j.detail || r.status}`;
    msg.className = r.ok ? "muted" : "error";
    refresh();
  });
}
refresh();
setInterval(refresh, 3000);
