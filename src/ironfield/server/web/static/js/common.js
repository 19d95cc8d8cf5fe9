// Shared helpers: API calls with the CSRF header, formatting, the alarm banner, the live feed.

export function cookie(name) {
  const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return m ? decodeURIComponent(m[1]) : "";
}

export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = cookie("ironfield_csrf");
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); throw new Error("not logged in"); }
  if (!r.ok) {
    let msg = r.status + " " + r.statusText;
    try { const j = await r.json(); if (j.detail) msg = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail); } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  if (raw) return r;
  return r.status === 204 ? null : r.json();
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => u.append(k, x)); else u.append(k, v);
  }
  return u.toString();
}

export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

export function fmtValue(v, def) {
  if (v === null || v === undefined) return "–";
  if (def && def.type === "state" && def.states) {
    const name = def.states[String(Math.round(v))];
    if (name) return name;
  }
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  return v.toLocaleString("en-US", { maximumFractionDigits: a >= 100 ? 1 : a >= 10 ? 2 : 3 });
}

export function fmtTime(ns) {
  if (!ns && ns !== 0) return "–";
  return new Date(ns / 1e6).toISOString().replace("T", " ").replace("Z", "").slice(0, 19);
}

export function ago(ns) {
  const s = (Date.now() - ns / 1e6) / 1000;
  if (s < 0) return "now";
  if (s < 60) return Math.round(s) + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}

export function qualityClass(q) {
  if (q === null || q === undefined) return "q-none";
  const top = q & 0xc0;
  return top === 0xc0 ? "q-good" : top === 0x40 ? "q-uncertain" : "q-bad";
}

export function qualityText(q) {
  return { "q-good": "good", "q-uncertain": "uncertain", "q-bad": "bad", "q-none": "–" }[qualityClass(q)];
}

export function canWrite(min) {
  const order = ["viewer", "operator", "engineer", "admin"];
  return order.indexOf(document.body.dataset.role) >= order.indexOf(min);
}

// A modal asking for a comment (and optional extra fields); resolves with the form values or null.
export function ask(title, extraHtmlBuilder) {
  const dlg = document.getElementById("dlg");
  document.getElementById("dlg-title").textContent = title;
  const extra = document.getElementById("dlg-extra");
  extra.replaceChildren();
  if (extraHtmlBuilder) extra.append(extraHtmlBuilder());
  const comment = document.getElementById("dlg-comment");
  comment.value = "";
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => {
      if (dlg.returnValue !== "ok") return resolve(null);
      const data = Object.fromEntries(new FormData(document.getElementById("dlg-form")).entries());
      resolve(data);
    }, { once: true });
    dlg.showModal();
    comment.focus();
  });
}

// The live feed: subscribe, keep the newest row per signal, reconnect and replay the gap.
export class Live {
  constructor(onRows, { maxHz = 4 } = {}) {
    this.onRows = onRows;
    this.maxHz = maxHz;
    this.last = new Map(); // signal -> newest ts seen
    this.req = null;
    this.ws = null;
    this.backoff = 500;
    this.everOpen = false;
  }
  subscribe({ signals = [], assets = [] }) {
    this.req = { op: "subscribe", signals, assets, max_hz: this.maxHz };
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(this.req));
    else if (!this.ws) this.connect();
  }
  // Where to resume: the oldest newest-value among the signals (a quiet signal may have
  // changed while we were away), but no more than 5 minutes before the freshest one.
  since() {
    let lo = Infinity, hi = 0;
    for (const t of this.last.values()) { if (t < lo) lo = t; if (t > hi) hi = t; }
    return hi === 0 ? 0 : Math.max(lo, hi - 300e9);
  }
  connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/api/live");
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 500;
      setDot(true);
      if (this.req) {
        const req = { ...this.req };
        const s = this.since();
        if (this.everOpen && s > 0) req.since = s; // resume: replay what we missed
        ws.send(JSON.stringify(req));
      }
      this.everOpen = true;
    };
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type !== "batch") return;
      const rows = [];
      for (let i = 0; i < m.signal.length; i++) {
        const s = m.signal[i], t = m.ts[i];
        const prev = this.last.get(s);
        if (prev !== undefined && t <= prev) continue;
        this.last.set(s, t);
        rows.push({ signal: s, ts: t, value: m.value[i], quality: m.quality[i], replay: m.replay });
      }
      if (rows.length) this.onRows(rows);
    };
    ws.onclose = (ev) => {
      setDot(false, ev.reason);
      this.ws = null;
      if (ev.code === 1008 && ev.reason === "not logged in") { location.href = "/login"; return; }
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 10000);
    };
  }
}

function setDot(on, why) {
  const d = document.getElementById("live-dot");
  if (!d) return;
  d.classList.toggle("on", on);
  d.classList.toggle("lost", !on);
  d.title = on ? "live feed connected" : "live feed disconnected" + (why ? ": " + why : "");
}

async function banner() {
  const b = document.getElementById("banner");
  if (!b) return;
  try {
    const s = await api("/api/alarms/summary");
    for (const span of b.querySelectorAll(".pri")) {
      const n = s.counts[span.dataset.pri] || 0;
      span.querySelector("b").textContent = n;
      span.classList.toggle("lit", n > 0);
    }
    const u = document.getElementById("banner-unack");
    u.querySelector("b").textContent = s.unacknowledged;
    u.classList.toggle("lit", s.unacknowledged > 0);
    b.classList.toggle("off", !s.enabled);
  } catch (e) { /* keep the last counts; the next poll retries */ }
}

export function refreshBanner() { return banner(); }

if (document.getElementById("banner")) {
  banner();
  setInterval(banner, 2000);
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("/api/auth/logout", { method: "POST" }); } finally { location.href = "/login"; }
  });
}
