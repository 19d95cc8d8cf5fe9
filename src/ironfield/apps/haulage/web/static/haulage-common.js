// Shared by the haulage pages: phase colours and names.
export const PHASES = {
  queue_load: ["#e6a23c", "queue at loader"], spot: ["#d6a4ff", "spotting"], load: ["#ff8c1a", "loading"],
  haul: ["#4cc3ff", "hauling"], queue_dump: ["#f2c94c", "queue at dump"], dump: ["#9d7bff", "dumping"],
  return: ["#2fbf71", "returning"], charge: ["#7cf29c", "charging"], idle: ["#8194a8", "idle"], down: ["#e5484d", "down"],
};
export const colour = (p) => (PHASES[p] || ["#8194a8"])[0];
export const label = (p) => (PHASES[p] || [null, p || "–"])[1];
export function legend(box, keys = Object.keys(PHASES)) {
  box.replaceChildren(...keys.map((k) => {
    const s = document.createElement("span");
    const i = document.createElement("i");
    i.style.background = colour(k);
    s.append(i, label(k));
    return s;
  }));
}
export const fmt = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
