"""Truck telemetry from the bus: per-signal values regrouped into tracker samples.

Each truck publishes its position, speed, payload, SoC and state as separate signals
(``<site>/<area>/<truck>/<signal>``) with the same timestamp; they may reach the bus in
different batches. Values are gathered per (truck, ts); a sample is complete when its
position and every other field is there, or, after ``max_wait_s`` of wall time, is
completed from the truck's last known values. A sample with no position ever known is
dropped and counted. Values of bad quality are skipped.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

from ironfield.apps.haulage.settings import DOWN, TELEMETRY
from ironfield.apps.haulage.tracking import Phase, Sample
from ironfield.core.batch import Batch
from ironfield.core.signals import SignalRegistry

_ROLE = {v: k for k, v in TELEMETRY.items()}
_NEEDED = ("x", "y", "speed", "payload", "soc", "state")
_PHASES = {p.value for p in Phase}


@dataclass(slots=True)
class Latest:
    """The newest values of one truck (for the map and dispatch)."""

    ts: int = 0
    x: float = math.nan
    y: float = math.nan
    speed: float = 0.0  # [m/s]
    payload: float = 0.0  # [t]
    soc: float = math.nan  # [-]
    state: str | None = None
    dest: str | None = None
    prev_soc: tuple[int, float] | None = None  # an earlier (ts, soc), for charging power
    soc_hist: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=64))
    extra: dict[str, float] = field(default_factory=dict)


class SampleAssembler:
    def __init__(self, registry: SignalRegistry, site: str, area: str, max_wait_s: float = 2.0) -> None:
        self.registry, self.prefix, self.max_wait_s = registry, f"{site}/{area}/", max_wait_s
        self._map: dict[int, tuple[str, str]] = {}
        self._states: dict[int, dict[int, str]] = {}
        self._known = -1
        self._pending: dict[tuple[str, int], tuple[float, dict[str, float]]] = {}
        self.latest: dict[str, Latest] = {}
        self.dropped_no_position = 0
        self.bad_quality = 0
        self.refresh()

    def refresh(self) -> bool:
        """Pick up truck signals (again) when the registry has grown; True if it changed."""
        if len(self.registry) == self._known:
            return False
        self._known = len(self.registry)
        for path in self.registry:
            if not path.startswith(self.prefix):
                continue
            rest = path[len(self.prefix):].split("/")
            if len(rest) != 2 or rest[1] not in _ROLE:
                continue
            sid = self.registry.id(path)
            self._map[sid] = (rest[0], _ROLE[rest[1]])
            if rest[1] in (TELEMETRY["state"], TELEMETRY["dest"]):
                states = self.registry.definition(path).states
                self._states[sid] = {int(k): str(v) for k, v in states.items()}
        return True

    @property
    def signal_ids(self) -> set[int]:
        return set(self._map)

    def trucks(self) -> set[str]:
        return {t for t, _ in self._map.values()}

    def code_of(self, truck: str, role: str, name: str) -> int | None:
        """The code of state ``name`` in the truck's ``role`` signal (e.g. a node in
        ``dispatch_to``), or None."""
        for sid, (t, r) in self._map.items():
            if t == truck and r == role:
                for code, n in self._states.get(sid, {}).items():
                    if n == name:
                        return code
        return None

    def add(self, batch: Batch, wall: float | None = None) -> None:
        wall = time.monotonic() if wall is None else wall
        for sid, ts, v, q in batch.rows():
            hit = self._map.get(sid)
            if hit is None:
                continue
            if q < 0x40:  # bad quality
                self.bad_quality += 1
                continue
            truck, role = hit
            if role in ("state", "dest"):
                name = self._states.get(sid, {}).get(int(round(v)))
                if role == "dest":
                    lt = self.latest.setdefault(truck, Latest())
                    lt.dest = name if name not in (None, "none") else None
                    continue
                v = float(_state_code(name))
            key = (truck, int(ts))
            entry = self._pending.get(key)
            if entry is None:
                entry = (wall, {})
                self._pending[key] = entry
            entry[1][role] = float(v)

    def ready(self, wall: float | None = None, force: bool = False) -> list[Sample]:
        """Samples complete, or waiting longer than ``max_wait_s``, in time order."""
        wall = time.monotonic() if wall is None else wall
        done = sorted(k for k, (t0, vals) in self._pending.items()
                      if force or all(r in vals for r in _NEEDED) or wall - t0 >= self.max_wait_s)
        out: list[Sample] = []
        for key in done:
            truck, ts = key
            vals = self._pending.pop(key)[1]
            lt = self.latest.setdefault(truck, Latest())
            fill = vals
            x, y = fill.get("x", lt.x), fill.get("y", lt.y)
            if math.isnan(x) or math.isnan(y):
                self.dropped_no_position += 1
                continue
            speed = fill["speed"] / 3.6 if "speed" in fill else lt.speed
            payload = fill.get("payload", lt.payload)
            soc = fill["soc"] / 100.0 if "soc" in fill else lt.soc
            code = fill.get("state")
            state = _state_name(code) if code is not None else lt.state
            if ts >= lt.ts:
                if not math.isnan(soc):
                    # charging power from the SoC rise over 30-120 s: a charger's SoC
                    # reading moves in steps, sample to sample it is often flat
                    lt.soc_hist.append((ts, soc))
                    while lt.soc_hist and ts - lt.soc_hist[0][0] > 120 * 10**9:
                        lt.soc_hist.popleft()
                    old = lt.soc_hist[0]
                    lt.prev_soc = old if ts - old[0] >= 30 * 10**9 else None
                lt.ts, lt.x, lt.y, lt.speed, lt.payload, lt.soc, lt.state = (
                    ts, x, y, speed, payload, soc, state)
            tracker_state = None if state == DOWN or state not in _PHASES else state
            out.append(Sample(truck, ts, x, y, speed, payload, 0.0 if math.isnan(soc) else soc,
                              tracker_state if state != DOWN else Phase.IDLE.value))
        return out


# state names travel through the float column as indexes into this list
_NAMES: list[str | None] = [None, DOWN, *sorted(_PHASES)]


def _state_code(name: str | None) -> int:
    return _NAMES.index(name) if name in _NAMES else 0


def _state_name(code: float) -> str | None:
    i = int(code)
    return _NAMES[i] if 0 <= i < len(_NAMES) else None
