// Plant overview: one card per piece of equipment under the chosen asset, one tile per signal.
import { api, qs, el, fmtValue, ago, qualityClass, Live } from "./common.js";

const box = document.getElementById("tiles");
const asset = box.dataset.asset;
const MAX_TILES = 600;
const tiles = new Map(); // signal path -> {def, value, ts, q elements}

function card(eq, defs) {
  const state = defs.find((d) => d.type === "state");
  const head = el("div", { class: "card-head" },
    el("a", { href: "/equipment/" + eq, text: eq.slice(asset.length + 1) || eq.split("/").pop(), title: eq }),
    state ? el("span", { class: "state-pill", "data-state-of": state.path, text: "–" }) : null);
  const grid = el("div", { class: "card-tiles" });
  for (const d of defs) {
    if (d.type === "state") { tiles.set(d.path, { def: d, pill: head.querySelector(".state-pill") }); continue; }
    const v = el("span", { class: "v", text: "–" });
    const t = el("div", { class: "tile q-none", "data-signal": d.path, title: d.path + (d.description ? "\n" + d.description : "") },
      el("span", { class: "n", text: d.path.split("/").pop() }), v, el("span", { class: "u", text: d.unit || "" }));
    tiles.set(d.path, { def: d, tile: t, v });
    grid.append(t);
  }
  return el("div", { class: "card" }, head, grid);
}

function show(row) {
  const t = tiles.get(row.signal);
  if (!t) return;
  if (t.pill) {
    t.pill.textContent = fmtValue(row.value, t.def);
    t.pill.dataset.value = t.pill.textContent;
    return;
  }
  t.v.textContent = fmtValue(row.value, t.def);
  t.tile.className = "tile " + qualityClass(row.quality);
  t.tile.dataset.ts = row.ts;
  t.tile.title = `${row.signal}\n${new Date(row.ts / 1e6).toISOString()} (${ago(row.ts)})`;
  t.tile.classList.remove("flash"); void t.tile.offsetWidth; t.tile.classList.add("flash");
}

async function main() {
  const defs = (await api("/api/signals?" + qs({ asset }))).slice(0, MAX_TILES);
  const byEq = new Map();
  for (const d of defs) {
    const eq = d.path.slice(0, d.path.lastIndexOf("/"));
    if (!byEq.has(eq)) byEq.set(eq, []);
    byEq.get(eq).push(d);
  }
  box.replaceChildren(...[...byEq.entries()].map(([eq, ds]) => card(eq, ds)));
  if (!defs.length) box.replaceChildren(el("p", { class: "muted", text: "No signals here." }));
  document.getElementById("tile-count").textContent = `${defs.length} signals · ${byEq.size} assets`;
  document.getElementById("trend-all").href = "/trends?" + qs({ signal: defs.filter((d) => d.type !== "state").slice(0, 6).map((d) => d.path), start: "now-1h" });
  if (defs.length) {
    const last = await api("/api/last?" + qs({ asset }));
    last.forEach(show);
    const live = new Live((rows) => rows.forEach(show), { maxHz: 2 });
    last.forEach((r) => live.last.set(r.signal, r.ts));
    live.subscribe({ assets: [asset] });
  }
}
main().catch((e) => box.replaceChildren(el("p", { class: "error", text: String(e.message || e) })));
