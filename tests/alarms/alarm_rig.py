"""Test rig of the alarm tests: a registry of a few signals and an engine that records its events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ironfield.alarms import AlarmEngine
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalDef, SignalRegistry

S = 1_000_000_000  # ns per second
T0 = 1_800_000_000 * S

PATHS = [
    "plant/area/tank-1/level_m",
    "plant/area/tank-1/level_sp_m",
    "plant/area/tank-1/pump_state",
    "plant/area/tank-1/flow_m3h",
    "plant/area/tank-2/level_m",
    "plant/area/tank-2/running",
]


class Rig:
    """An engine over the fixture registry, with helpers to feed it."""

    def __init__(self, rules: Sequence[dict[str, Any]]) -> None:
        self.registry = SignalRegistry()
        for p in PATHS:
            if p.endswith("pump_state"):
                self.registry.register(SignalDef(p, type="state",
                                                 states={0: "off", 1: "on", 2: "trip"}))
            else:
                self.registry.register(p)
        self.events: list[Event] = []
        self.engine = AlarmEngine(list(rules), self.registry, self.events.append)

    def sid(self, path: str) -> int:
        return self.registry.id(path)

    def feed(self, path: str, ts: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray,
             quality: int = Quality.GOOD) -> list[Event]:
        return self.engine.process(Batch.build(self.sid(path), np.asarray(ts, np.int64),
                                               np.asarray(values, np.float64), quality))

    def actions(self, alarm: str | None = None) -> list[tuple[str, str, int]]:
        """(alarm, action, ts) of every alarm event so far."""
        return [(str(e.payload["alarm"]), str(e.payload["action"]), e.ts) for e in self.events
                if e.type == "alarm" and (alarm is None or e.payload["alarm"] == alarm)]
