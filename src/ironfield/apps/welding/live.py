"""The welding app's live processing: each weld in, verdicts, electrode care, learning out.

:class:`WeldingProcessor` is plain synchronous state (testable without a platform); the
app's ``run`` feeds it the bus batches and sends what it returns: derived rows, events
and write-back commands.

Per weld (see ``docs/welding.md``):

1. content checks (:func:`~ironfield.apps.welding.analysis.check_weld`): a rejected record
   becomes a ``welding.weld_rejected`` event with its reasons and never stops the others;
   a flagged one (kept, not learned from) a ``welding.weld_flagged`` event;
2. verdict: ``expulsion`` if the curve analysis (sharp resistance drop) or the robot's
   own timer saw one; ``undersized`` if the heat delivered after the beta peak falls short
   of the spot's learned reference (normalised by the beta resistance as the adaptive
   timer does) or, for robots that send only summaries, the energy falls 20 % short of the
   spot's recent passing welds; else ``ok``;
3. learning: a spot's first passing curves give its reference (``learn_reference``); a
   :class:`~ironfield.apps.welding.reference.SpotLearner` then refreshes the fixed-time
   fallback from passing welds and takes QA results; a fallback that moved by more than
   2 % is pushed down to the robot's ``spot_NN_time_ms`` (write-back, journaled);
4. electrodes: one :class:`~ironfield.apps.welding.electrode.WearModel` per robot and spot
   family, fed the beta resistance: current stepping (``current_step_pct``) and a dress
   request (``welding.dress_request`` and ``dress_cmd``) before the face outgrows its limit;
5. SPC per spot on the weld time (X-bar/R, subgroups of 5).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ironfield.apps.welding.analysis import Lookup, WeldData, analyse, check_weld, split_welds
from ironfield.apps.welding.electrode import WearModel
from ironfield.apps.welding.reference import SpotLearner, UnknownWeldError
from ironfield.apps.welding.shop import (
    CURVES,
    DERIVED,
    QUALITY_CODE,
    SHOP_SIGNALS,
    SUMMARY,
    FamilySpec,
    Shop,
    weld_id,
)
from ironfield.apps.welding.spc import SpotChart
from ironfield.apps.welding.timing import (
    SpotReference,
    SpotReferenceError,
    TimerResult,
    learn_reference,
)
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plugins import Command
from ironfield.core.signals import SignalRegistry

UNDERSIZED_HEAT = 0.8  # heat after the peak below this share of the reference: undersized
UNDERSIZED_ENERGY = 0.8  # summary-only robots: energy below this share of recent passing welds
SCHEDULE_PUSH = 0.02  # push a fallback time that moved by more than this share


@dataclass
class SpotState:
    spot_id: str
    robot: int
    spot_no: int
    family: FamilySpec
    learning: list[tuple[Any, Any, Any]] = field(default_factory=list)
    reference: SpotReference | None = None
    learner: SpotLearner | None = None
    chart: SpotChart = field(default_factory=lambda: SpotChart(n=5, phase1=20))
    energy: deque[float] = field(default_factory=lambda: deque(maxlen=50))
    schedule_ms: float = 0.0
    welds: int = 0
    violations: int = 0
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=20))


@dataclass
class RobotState:
    path: str
    index: int
    line: str
    state: int = 0
    quality: int = -1  # none yet
    welds: int = 0
    streak: int = 0
    life_pct: float = 100.0
    dress_due: bool = False
    welds_since_dress: int = 0
    step_pct: float = 0.0
    curves: bool = False
    wear: dict[str, WearModel] = field(default_factory=dict)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=30))


@dataclass
class Output:
    rows: list[tuple[int, int, float]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    def batch(self) -> Batch | None:
        if not self.rows:
            return None
        s, t, v = zip(*self.rows, strict=True)
        return Batch.build(list(s), list(t), list(v))


def _wear_model(f: FamilySpec, share: float) -> WearModel:
    galv = f.coating.value == "galvanised"
    return WearModel(f.face_mm, growth_per_weld=5e-4 if galv else 1.5e-4,
                     max_welds=max(10, int(f.dress_every * share)))


class WeldingProcessor:
    def __init__(self, shop: Shop, registry: SignalRegistry) -> None:
        self.shop = shop
        self.cfg = shop.config
        self.registry = registry
        chans = SUMMARY + CURVES
        sids: dict[tuple[int, int], int] = {}
        for r, path in enumerate(shop.robots):
            for c, name in enumerate(chans):
                sid = registry.get_id(f"{path}/{name}")
                if sid is not None:
                    sids[(r, c)] = sid
        self.lookup = Lookup(sids)
        self.derived = [[registry.id(f"{p}/{d}") for d in DERIVED] for p in shop.robots]
        area = self.cfg.area.rstrip("/")
        self.shop_sids = {name: registry.id(f"{area}/{name}") for name, _, _ in SHOP_SIGNALS}
        self.robots = [RobotState(p, k, shop.line_of(p)) for k, p in enumerate(shop.robots)]
        self.by_path = {r.path: r for r in self.robots}
        self.spots: dict[str, SpotState] = {}
        self.reference_version = 0  # bumped on every change of a spot's reference
        for rs in self.robots:
            fams = [shop.family(rs.index, k) for k in range(1, self.cfg.spots_per_robot + 1)]
            for k, f in enumerate(fams, start=1):
                spot_id = shop.spot_id(rs.path, k)
                self.spots[spot_id] = SpotState(spot_id, rs.index, k, f, schedule_ms=f.weld_time_ms)
            for f in set(fams):
                rs.wear[f.name] = _wear_model(f, fams.count(f) / len(fams))
        self.welds_total = 0
        self.rejected_total = 0
        self.flagged_total = 0
        self.recent_quality: deque[int] = deque(maxlen=1000)
        self.minute: deque[int] = deque()
        self.latency_ns: deque[int] = deque(maxlen=20_000)
        self.welds: dict[str, tuple[str, int]] = {}  # recent weld id -> (spot id, quality)
        self._weld_order: deque[str] = deque()

    # -- per batch --------------------------------------------------------------------

    def process(self, batch: Batch, now_ns: int) -> Output:
        out = Output()
        for w in split_welds(batch, self.lookup):
            self._weld(w, now_ns, out)
        return out

    def _weld(self, w: WeldData, now_ns: int, out: Output) -> None:
        robot = self.robots[w.robot]
        wid = weld_id(robot.path, w.start_ns)
        end = max(w.end_ns(), w.start_ns + 1)
        s = w.summary
        robot.state = int(s.get("state", 1)) if math.isfinite(s.get("state", 1.0)) else robot.state
        robot.curves = robot.curves or w.has_curves
        issues = check_weld(w, self.cfg.spots_per_robot)
        rejected = [i for i in issues if i.severity == "reject"]
        flags = [i for i in issues if i.severity == "flag"]
        self.latency_ns.append(now_ns - end)
        if rejected:
            self.rejected_total += 1
            robot.quality = QUALITY_CODE["rejected"]
            robot.recent.appendleft({"weld_id": wid, "ts": w.start_ns, "quality": "rejected",
                                     "reasons": [f"{i.code}: {i.message}" for i in issues]})
            out.events.append(Event.make("welding.weld_rejected", robot.path, {
                "weld_id": wid, "robot": robot.path, "codes": sorted({i.code for i in rejected}),
                "reasons": [f"{i.code}: {i.message}" for i in issues]}, ts=end))
            out.rows.append((self.derived[w.robot][0], end, float(robot.quality)))
            return
        spot_no = int(s["spot_no"])
        spot = self.spots[self.shop.spot_id(robot.path, spot_no)]
        res = analyse(w) if w.has_curves else None
        quality, detail = self._verdict(spot, w, res)
        if flags:
            self.flagged_total += 1
            out.events.append(Event.make("welding.weld_flagged", robot.path, {
                "weld_id": wid, "robot": robot.path, "codes": sorted({i.code for i in flags}),
                "reasons": [f"{i.code}: {i.message}" for i in flags]}, ts=end))
        passed = quality == "ok" and not flags
        self._learn(spot, robot, w, res, wid, passed, end, out)
        self._electrode(robot, spot, w, res, end, out)
        # counters and derived signals
        self.welds_total += 1
        spot.welds += 1
        robot.welds += 1
        code = QUALITY_CODE[quality]
        robot.quality = code
        self.recent_quality.append(code)
        self.minute.append(now_ns)
        robot.streak = robot.streak + 1 if quality == "expulsion" else 0
        if quality == "expulsion":
            out.events.append(Event.make("welding.expulsion", robot.path, {
                "weld_id": wid, "spot": spot.spot_id, "streak": robot.streak, "detail": detail}, ts=end))
        if passed:
            spot.energy.append(s.get("energy_j", math.nan))
        viol = spot.chart.add(s["weld_time_ms"])
        spot.violations += len(viol)
        spot.recent.appendleft(wid)
        self._remember(wid, spot.spot_id, code)
        robot.recent.appendleft({
            "weld_id": wid, "ts": w.start_ns, "spot": spot_no, "quality": quality,
            "weld_time_ms": s["weld_time_ms"], "energy_j": s.get("energy_j"),
            "current_ka": s.get("weld_current_ka"), "curves": w.has_curves, "detail": detail,
            "reasons": [f"{i.code}: {i.message}" for i in flags],
        })
        d = self.derived[w.robot]
        out.rows += [(d[0], end, float(code)), (d[1], end, robot.life_pct),
                     (d[2], end, float(robot.streak)), (d[3], end, 1.0 if robot.dress_due else 0.0)]

    def _verdict(self, spot: SpotState, w: WeldData, res: TimerResult | None) -> tuple[str, str]:
        s = w.summary
        if res is not None and res.expulsion:
            return "expulsion", f"resistance drop at {res.t_expulsion_s * 1000:.0f} ms"
        if s.get("expulsion", 0.0) >= 0.5:
            return "expulsion", "reported by the robot's timer"
        ref = spot.reference
        if res is not None and ref is not None and ref.mode == "adaptive":
            if not res.beta_found:
                return "undersized", "no beta peak: the weld never reached melting"
            scale = min(max(ref.r_beta_uohm / res.r_beta_uohm, 0.75), 1.6) if res.r_beta_uohm > 0 else 1.0
            need = ref.heat_after_peak_j * scale
            if res.heat_after_peak_j < UNDERSIZED_HEAT * need:
                return "undersized", f"heat after peak {res.heat_after_peak_j:.0f} J of {need:.0f} J needed"
        elif res is None and len(spot.energy) >= 10:
            e = s.get("energy_j", math.nan)
            med = statistics.median(spot.energy)
            if math.isfinite(e) and e < UNDERSIZED_ENERGY * med:
                return "undersized", f"energy {e:.0f} J, spot's recent passing welds {med:.0f} J"
        return "ok", ""

    def _learn(self, spot: SpotState, robot: RobotState, w: WeldData, res: TimerResult | None,
               wid: str, passed: bool, ts: int, out: Output) -> None:
        if res is None or w.curve_ts is None:
            return
        if spot.learner is None:
            if passed:
                spot.learning.append((w.curve_ts, w.curves["curve_current_ka"], w.curves["curve_voltage_v"]))
            if len(spot.learning) >= self.cfg.reference_welds:
                try:
                    ref = learn_reference(spot.learning, [True] * len(spot.learning), spot_id=spot.spot_id)
                except SpotReferenceError as e:
                    out.events.append(Event.make("welding.reference_update", robot.path, {
                        "spot": spot.spot_id, "reason": f"cannot learn: {e}"}, ts=ts))
                    spot.learning.clear()
                    return
                spot.reference = ref
                spot.learner = SpotLearner(spot.spot_id, ref)
                self.reference_version += 1
                spot.learning.clear()
                out.events.append(Event.make("welding.reference_update", robot.path, {
                    "spot": spot.spot_id, "reason": f"learned from {ref.n_welds} passing welds",
                    "after": {"mode": ref.mode, "t_fixed_s": ref.t_fixed_s,
                              "heat_after_peak_j": ref.heat_after_peak_j}}, ts=ts))
                self._push_schedule(spot, robot, ref, "reference learned", ts, out)
            return
        upd = spot.learner.observe(wid, res, passed=passed, ts_ns=ts)
        if upd is not None:
            spot.reference = spot.learner.reference
            self.reference_version += 1
            out.events.append(Event.make("welding.reference_update", robot.path, {
                "spot": spot.spot_id, "reason": upd.reason, "before": upd.before, "after": upd.after}, ts=ts))
            self._push_schedule(spot, robot, spot.learner.reference, upd.reason, ts, out)

    def _push_schedule(self, spot: SpotState, robot: RobotState, ref: SpotReference, why: str,
                       ts: int, out: Output) -> None:
        ms = round(ref.t_fixed_s * 1000, 1)
        if abs(ms - spot.schedule_ms) <= SCHEDULE_PUSH * spot.schedule_ms:
            return
        spot.schedule_ms = ms
        out.commands.append(Command(f"{robot.path}/spot_{spot.spot_no:02d}_time_ms", ms, user="welding",
                                    reason=f"{spot.spot_id}: {why}", ts=ts))

    def _electrode(self, robot: RobotState, spot: SpotState, w: WeldData, res: TimerResult | None,
                   ts: int, out: Output) -> None:
        s = w.summary
        wsd = s.get("welds_since_dress", math.nan)
        if math.isfinite(wsd):
            if wsd < robot.welds_since_dress:
                for m in robot.wear.values():
                    m.dressed()
                robot.dress_due = False
            robot.welds_since_dress = int(wsd)
        r_beta = res.r_beta_uohm if res is not None and res.beta_found else s.get("r_beta_uohm", math.nan)
        model = robot.wear[spot.family.name]
        model.record(r_beta)
        lives, factors, why = [], [], ""
        for m in robot.wear.values():
            a = m.advice()
            lives.append(min(1.0 - a.life_used, 1.0 - min(m.welds / m.max_welds, 1.0)))
            factors.append(a.current_factor)
            if a.dress_requested and not why:
                why = a.reason
        robot.life_pct = round(100.0 * max(0.0, min(lives)), 1)
        if not why and robot.life_pct <= self.cfg.dress_at_life_pct:
            why = f"electrode life {robot.life_pct:.0f} % <= {self.cfg.dress_at_life_pct:g} %"
        if why and not robot.dress_due:
            robot.dress_due = True
            out.events.append(Event.make("welding.dress_request", robot.path, {
                "robot": robot.path, "reason": why, "welds_since_dress": robot.welds_since_dress,
                "life_pct": robot.life_pct}, ts=ts))
            out.commands.append(Command(f"{robot.path}/dress_cmd", 1.0, user="welding", reason=why, ts=ts))
        step = round(100.0 * (max(factors) - 1.0), 1)
        if abs(step - robot.step_pct) >= 1.0:
            robot.step_pct = step
            out.commands.append(Command(f"{robot.path}/current_step_pct", step, user="welding",
                                        reason=f"electrode wear: face growth on {spot.family.name}", ts=ts))

    def _remember(self, wid: str, spot_id: str, code: int) -> None:
        self.welds[wid] = (spot_id, code)
        self._weld_order.append(wid)
        while len(self._weld_order) > 50_000:
            self.welds.pop(self._weld_order.popleft(), None)

    # -- restart ----------------------------------------------------------------------

    def restore(self, last: dict[str, float]) -> None:
        """Pick up after a restart from the last stored values (path -> value): robot
        verdicts, streaks, dress state, shop totals; the wear models restart from the
        robots' own count of welds since dressing (their resistance history is gone)."""
        area = self.cfg.area.rstrip("/")
        self.welds_total = int(last.get(f"{area}/welds_total", 0.0))
        self.rejected_total = int(last.get(f"{area}/rejected_total", 0.0))
        for r in self.robots:
            p = r.path
            r.quality = int(last.get(f"{p}/quality", -1.0))
            r.streak = int(last.get(f"{p}/expulsion_streak", 0.0))
            r.dress_due = last.get(f"{p}/dress_due", 0.0) >= 0.5
            r.life_pct = last.get(f"{p}/electrode_life_pct", 100.0)
            r.state = int(last.get(f"{p}/state", 0.0))
            wsd = last.get(f"{p}/welds_since_dress", 0.0)
            if math.isfinite(wsd) and wsd > 0:
                r.welds_since_dress = int(wsd)
                fams = [self.spots[self.shop.spot_id(p, k)].family.name
                        for k in range(1, self.cfg.spots_per_robot + 1)]
                for name, m in r.wear.items():
                    m.welds = round(wsd * fams.count(name) / len(fams))

    def references(self) -> dict[str, SpotReference]:
        """Every spot's learned reference (immutable objects: safe to read elsewhere)."""
        return {sid: sp.reference for sid, sp in self.spots.items() if sp.reference is not None}

    def restore_references(self, refs: Mapping[str, SpotReference]) -> tuple[int, list[str]]:
        """Carry on with the references learned before a restart instead of learning every
        spot again; returns (spots restored, spots named that this shop does not have)."""
        unknown: list[str] = []
        for sid, ref in refs.items():
            spot = self.spots.get(sid)
            if spot is None:
                unknown.append(sid)
                continue
            spot.reference = ref
            spot.learner = SpotLearner(sid, ref)
            spot.learning.clear()
            spot.schedule_ms = round(ref.t_fixed_s * 1000, 1)  # what the robot already holds
        return len(refs) - len(unknown), unknown

    # -- shop level, QA ---------------------------------------------------------------

    def shop_rows(self, now_ns: int) -> Batch:
        while self.minute and self.minute[0] < now_ns - 60_000_000_000:
            self.minute.popleft()
        q = self.recent_quality
        n = len(q) or 1
        defects = sum(1 for c in q if c in (1, 2))
        expelled = sum(1 for c in q if c == 2)
        vals = {
            "welds_total": float(self.welds_total), "welds_per_min": float(len(self.minute)),
            "defect_pct": 100.0 * defects / n, "expulsion_pct": 100.0 * expelled / n,
            "rejected_total": float(self.rejected_total),
            "robots_dress_due": float(sum(1 for r in self.robots if r.dress_due)),
        }
        names = list(vals)
        return Batch.build([self.shop_sids[k] for k in names], now_ns, [vals[k] for k in names])

    def qa(self, wid: str, *, nugget_mm: float, expelled: bool, ts_ns: int) -> dict[str, Any]:
        """A QA result for a weld this app analysed; raises UnknownWeldError otherwise."""
        known = self.welds.get(wid)
        if known is None:
            raise UnknownWeldError(f"QA result for weld {wid!r}, which does not exist (or is too old)")
        spot = self.spots[known[0]]
        update = None
        if spot.learner is not None:
            try:
                update = spot.learner.qa(wid, nugget_mm=nugget_mm, d_nominal_mm=spot.family.stackup.d_nominal_mm,
                                         expelled=expelled, ts_ns=ts_ns)
            except UnknownWeldError:
                update = None
            if update is not None:
                spot.reference = spot.learner.reference
                self.reference_version += 1
        ok = nugget_mm >= spot.family.stackup.d_min_mm and not expelled
        return {"weld_id": wid, "spot": spot.spot_id, "nugget_ok": ok,
                "d_min_mm": round(spot.family.stackup.d_min_mm, 3),
                "reference_update": None if update is None else {"reason": update.reason, "before": update.before,
                                                                 "after": update.after}}
