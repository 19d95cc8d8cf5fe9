"""Truck cycles from raw telemetry: a pure per-truck state machine.

Samples (time, position, speed, payload, state of charge, optionally the truck's own state)
go in; haul cycles (queue at loader, spot, load, haul loaded, queue at dump, dump, return
empty, charge) with durations, tonnes and net kWh come out, plus events for what was wrong
with the data. No I/O: the plug-in feeds it from MQTT and publishes what it returns.

Robustness:
- out-of-order samples wait in a bounded reorder buffer and are released in time order
  once they are older than the newest sample by ``reorder_window_ns`` (or the buffer is
  full); a sample older than the last released one is dropped with a ``late_sample`` event;
- GPS jitter: zones have hysteresis (enter at ``radius``, leave at ``radius * exit_factor``)
  and a phase change must be seen in ``confirm_samples`` consecutive samples;
- missing samples: the phase of the last sample runs until the next one; a gap longer
  than ``max_gap_ns`` emits a ``telemetry_gap`` event;
- an impossible position (outside the mine) or speed (reported, or implied by the jump
  from the previous fix) drops the sample with an event naming it.
"""

from __future__ import annotations

import bisect
import math
import statistics
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ironfield.apps.haulage.config import DESTINATIONS, HaulageConfig, NodeKind
from ironfield.apps.haulage.events import CyclePayload
from ironfield.apps.haulage.network import RoadNetwork
from ironfield.core.events import Event
from ironfield.core.timeutil import NS_PER_S


class Phase(StrEnum):
    QUEUE_LOAD = "queue_load"
    SPOT = "spot"
    LOAD = "load"
    HAUL = "haul"
    QUEUE_DUMP = "queue_dump"
    DUMP = "dump"
    RETURN = "return"
    CHARGE = "charge"
    IDLE = "idle"  # parked, down, unknown


#: phases that start a new cycle when entered from outside the loading group
_LOADING_GROUP = {Phase.QUEUE_LOAD, Phase.SPOT, Phase.LOAD}


@dataclass(frozen=True, slots=True)
class Sample:
    """One telemetry sample of a truck.

    ts : [ns]; x_m, y_m : [m]; speed_mps : [m/s]; payload_t : [t]; soc : [-] 0..1;
    state : the truck's own phase if it reports one (a :class:`Phase` value).
    """

    truck: str
    ts: int
    x_m: float
    y_m: float
    speed_mps: float
    payload_t: float
    soc: float
    state: str | None = None


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    reorder_window_ns: int = 10 * NS_PER_S
    reorder_max: int = 64
    max_gap_ns: int = 60 * NS_PER_S
    max_speed_mps: float = 25.0  # 90 km/h: no haul truck goes faster
    stop_speed_mps: float = 0.5
    loaded_fraction: float = 0.5  # of rated payload
    exit_factor: float = 1.5
    confirm_samples: int = 2
    bounds_margin_m: float = 500.0


@dataclass(slots=True)
class Cycle:
    """A completed haul cycle, from arrival at a loader to the next arrival at one."""

    truck: str
    start_ts: int
    end_ts: int
    loader: str | None
    dump: str | None
    tonnes: float
    durations_s: dict[str, float]
    net_kwh: float  # battery energy used outside charging; negative = surplus
    regen_kwh: float
    charged_kwh: float

    def payload(self) -> dict[str, Any]:
        return {"start_ts": self.start_ts, "end_ts": self.end_ts, "loader": self.loader,
                "dump": self.dump, "tonnes": round(self.tonnes, 3),
                "durations_s": {k: round(v, 3) for k, v in self.durations_s.items()},
                "net_kwh": round(self.net_kwh, 4), "regen_kwh": round(self.regen_kwh, 4),
                "charged_kwh": round(self.charged_kwh, 4)}

    def event(self) -> Event:
        return Event.make("haulage.cycle", self.truck, CyclePayload(**self.payload()),
                          ts=self.end_ts)


@dataclass(slots=True)
class _Acc:
    start_ts: int
    loader: str | None = None
    dump: str | None = None
    tonnes: float = 0.0
    haul_t: list[float] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)
    used_kwh: float = 0.0
    regen_kwh: float = 0.0
    charged_kwh: float = 0.0


class TruckTracker:
    """State machine of one truck. Feed :meth:`push`; it returns the events it emits."""

    def __init__(self, truck: str, net: RoadNetwork, payload_t: float, battery_kwh: float,
                 settings: TrackerSettings | None = None) -> None:
        self.truck = truck
        self.net = net
        self.rated_t = payload_t
        self.battery_kwh = battery_kwh
        self.s = settings or TrackerSettings()
        self.bounds = net.bounds(self.s.bounds_margin_m)
        self._buf: list[tuple[int, int, Sample]] = []
        self._seq = 0
        self._max_ts: int | None = None
        self.last: Sample | None = None
        self.phase = Phase.IDLE
        self.phase_since: int | None = None
        self.zone: str | None = None
        self._cand: Phase | None = None
        self._cand_n = 0
        self._cand_ts = 0
        self._acc: _Acc | None = None
        self.cycles: list[Cycle] = []

    @property
    def settled(self) -> bool:
        """The last processed sample showed the current phase (no change is pending)."""
        return self._cand is None

    # --- input -------------------------------------------------------------------------
    def push(self, sample: Sample) -> list[Event]:
        """Take one sample (any order); returns events: cycles and data problems."""
        out: list[Event] = []
        if self.last is not None and sample.ts <= self.last.ts:
            kind = "duplicate_sample" if sample.ts == self.last.ts else "late_sample"
            out.append(self._ev(kind, sample.ts, {"released_up_to": self.last.ts}))
            return out
        bisect.insort(self._buf, (sample.ts, self._seq, sample))
        self._seq += 1
        self._max_ts = sample.ts if self._max_ts is None else max(self._max_ts, sample.ts)
        while self._buf and (len(self._buf) > self.s.reorder_max
                             or self._buf[0][0] <= self._max_ts - self.s.reorder_window_ns):
            out.extend(self._process(self._buf.pop(0)[2]))
        return out

    def flush(self) -> list[Event]:
        """Release every buffered sample (end of stream, or a quiet truck)."""
        out: list[Event] = []
        while self._buf:
            out.extend(self._process(self._buf.pop(0)[2]))
        return out

    # --- processing --------------------------------------------------------------------
    def _process(self, s: Sample) -> list[Event]:
        out: list[Event] = []
        prev = self.last
        if prev is not None and s.ts <= prev.ts:
            return [self._ev("duplicate_sample" if s.ts == prev.ts else "late_sample", s.ts,
                             {"released_up_to": prev.ts})]
        x0, y0, x1, y1 = self.bounds
        if not (math.isfinite(s.x_m) and math.isfinite(s.y_m)) or not (
                x0 <= s.x_m <= x1 and y0 <= s.y_m <= y1):
            return [self._ev("impossible_position", s.ts, {"x_m": s.x_m, "y_m": s.y_m})]
        if not math.isfinite(s.speed_mps) or s.speed_mps < 0 or s.speed_mps > self.s.max_speed_mps:
            return [self._ev("impossible_speed", s.ts, {"speed_mps": s.speed_mps})]
        if prev is not None:
            dt = (s.ts - prev.ts) / NS_PER_S
            jump = math.hypot(s.x_m - prev.x_m, s.y_m - prev.y_m)
            # GPS error allowance of 30 m on top of the fastest possible travel
            if jump > self.s.max_speed_mps * dt + 30.0:
                return [self._ev("impossible_speed", s.ts,
                                 {"implied_speed_mps": round(jump / dt, 2), "jump_m": round(jump, 1)})]
            if s.ts - prev.ts > self.s.max_gap_ns:
                out.append(self._ev("telemetry_gap", s.ts, {"from_ts": prev.ts,
                                                            "gap_s": round(dt, 3)}))
        self._update_zone(s)
        cand = self._classify(s, prev)
        if prev is not None:
            self._accumulate(prev, s)
        out.extend(self._step(cand, s))
        self.last = s
        return out

    def _update_zone(self, s: Sample) -> None:
        if self.zone is not None:
            n = self.net.nodes[self.zone]
            if math.hypot(n.x_m - s.x_m, n.y_m - s.y_m) <= n.radius_m * self.s.exit_factor:
                return
            self.zone = None
        for n in self.net.nodes.values():
            if n.kind != NodeKind.JUNCTION and math.hypot(n.x_m - s.x_m, n.y_m - s.y_m) <= n.radius_m:
                self.zone = n.id
                return

    def _classify(self, s: Sample, prev: Sample | None) -> Phase:
        if s.state is not None:
            try:
                return Phase(s.state)
            except ValueError:
                pass  # unknown reported state: infer it
        loaded = s.payload_t >= self.s.loaded_fraction * self.rated_t
        stopped = s.speed_mps <= self.s.stop_speed_mps
        kind = self.net.nodes[self.zone].kind if self.zone else None
        d_pay = s.payload_t - prev.payload_t if prev is not None else 0.0
        if kind == NodeKind.LOADER:
            if stopped and (d_pay > 0.5 or (s.payload_t > 0.5 and not loaded)):
                return Phase.LOAD
            if loaded:
                return Phase.LOAD if stopped and self.phase == Phase.LOAD else Phase.HAUL
            return Phase.QUEUE_LOAD if stopped else Phase.SPOT
        if kind in DESTINATIONS:
            if d_pay < -0.5 or (self.phase == Phase.DUMP and stopped and s.payload_t > 0.5):
                return Phase.DUMP
            if loaded:
                return Phase.QUEUE_DUMP if stopped else Phase.HAUL
            return Phase.RETURN
        if kind == NodeKind.CHARGER and not loaded:
            if stopped or (prev is not None and s.soc > prev.soc):
                return Phase.CHARGE
            return Phase.RETURN
        if kind == NodeKind.PARKING and stopped:
            return Phase.IDLE
        return Phase.HAUL if loaded else Phase.RETURN

    def _accumulate(self, prev: Sample, s: Sample) -> None:
        if self._acc is None:
            return
        dt = (s.ts - prev.ts) / NS_PER_S
        self._acc.durations[self.phase.value] = self._acc.durations.get(self.phase.value, 0.0) + dt
        d_kwh = (s.soc - prev.soc) * self.battery_kwh
        if self.phase == Phase.CHARGE and d_kwh > 0:
            self._acc.charged_kwh += d_kwh
        elif d_kwh > 0:
            self._acc.regen_kwh += d_kwh
        else:
            self._acc.used_kwh -= d_kwh
        if self.phase == Phase.LOAD:
            self._acc.tonnes = max(self._acc.tonnes, s.payload_t)
        if self.phase == Phase.HAUL and self._acc.loader is not None:
            # the median of the haul readings resists a bouncing payload sensor
            self._acc.haul_t.append(s.payload_t)
            self._acc.tonnes = statistics.median(self._acc.haul_t)
        if self.zone is not None:
            kind = self.net.nodes[self.zone].kind
            if kind == NodeKind.LOADER and self.phase in _LOADING_GROUP:
                self._acc.loader = self.zone
            elif kind in DESTINATIONS and self.phase in (Phase.QUEUE_DUMP, Phase.DUMP):
                self._acc.dump = self.zone

    def _step(self, cand: Phase, s: Sample) -> list[Event]:
        if cand == self.phase:
            self._cand, self._cand_n = None, 0
            return []
        if cand != self._cand:
            self._cand, self._cand_n, self._cand_ts = cand, 0, s.ts
        self._cand_n += 1
        first = self.phase_since is None
        if self._cand_n < self.s.confirm_samples and not first:
            return []
        return self._enter(cand, s.ts if first else self._cand_ts, s.ts)

    def _enter(self, phase: Phase, ts: int, now: int) -> list[Event]:
        """Switch to ``phase`` as of ``ts`` (first sample that showed it); ``now`` is the
        sample being processed, up to which time has been booked to the old phase."""
        out: list[Event] = []
        old = self.phase
        moved = max(0.0, (now - ts) / NS_PER_S) if self.phase_since is not None else 0.0
        if self._acc is not None and moved > 0:
            d = self._acc.durations
            d[old.value] = d.get(old.value, 0.0) - moved
        if phase in _LOADING_GROUP and old not in _LOADING_GROUP:
            if self._acc is not None and self._acc.tonnes > 0:
                cyc = Cycle(self.truck, self._acc.start_ts, ts, self._acc.loader, self._acc.dump,
                            self._acc.tonnes, {k: v for k, v in self._acc.durations.items() if v > 0},
                            self._acc.used_kwh - self._acc.regen_kwh, self._acc.regen_kwh,
                            self._acc.charged_kwh)
                self.cycles.append(cyc)
                out.append(cyc.event())
            self._acc = _Acc(start_ts=ts)
            if self.zone is not None:
                self._acc.loader = self.zone
        if self._acc is not None and moved > 0:
            d = self._acc.durations
            d[phase.value] = d.get(phase.value, 0.0) + moved
        self.phase, self.phase_since = phase, ts
        self._cand, self._cand_n = None, 0
        out.append(Event.make("haulage.phase", self.truck, {"phase": phase.value,
                                                            "from": old.value}, ts=ts))
        return out

    def _ev(self, kind: str, ts: int, payload: dict[str, Any]) -> Event:
        return Event.make(f"haulage.{kind}", self.truck, payload, ts=ts)


class FleetTracker:
    """One :class:`TruckTracker` per declared truck; unknown trucks become events."""

    def __init__(self, cfg: HaulageConfig, settings: TrackerSettings | None = None) -> None:
        net = cfg.network()
        self.trackers: dict[str, TruckTracker] = {}
        for t in cfg.trucks:
            m = cfg.truck_model(t.id)
            self.trackers[t.id] = TruckTracker(t.id, net, m.payload_t, m.battery_kwh, settings)

    def push(self, sample: Sample) -> list[Event]:
        tr = self.trackers.get(sample.truck)
        if tr is None:
            return [Event.make("haulage.unknown_truck", sample.truck,
                               {"ts": sample.ts, "known": len(self.trackers)}, ts=sample.ts)]
        return tr.push(sample)

    def flush(self) -> list[Event]:
        return [e for tr in self.trackers.values() for e in tr.flush()]

    def phases(self) -> dict[str, Phase]:
        return {k: t.phase for k, t in self.trackers.items()}
