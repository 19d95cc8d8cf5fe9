"""A harness for trying alarm rules: a registry, an engine that records its events, and
helpers to feed it values. Used by the tests; handy for checking a plant's rules on
recorded or made-up data before they go live.

``EXAMPLE_SIGNALS`` is the small two-tank plant the tests and examples use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ironfield.alarms.engine import AlarmEngine
from ironfield.alarms.rules import Rule
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalDef, SignalRegistry
from ironfield.core.timeutil import NS_PER_S

S = NS_PER_S
T0 = 1_800_000_000 * S  # 2027-01-15T08:00:00Z, a fixed time for examples

EXAMPLE_SIGNALS: tuple[SignalDef | str, ...] = (
    "plant/area/tank-1/level_m",
    "plant/area/tank-1/level_sp_m",
    SignalDef("plant/area/tank-1/pump_state", type="state", states={0: "off", 1: "on", 2: "trip"}),
    "plant/area/tank-1/flow_m3h",
    "plant/area/tank-2/level_m",
    "plant/area/tank-2/running",
)


class AlarmHarness:
    """An engine over its own registry, recording every event it emits."""

    def __init__(self, rules: Sequence[Rule | dict[str, Any]],
                 signals: Sequence[SignalDef | str] = EXAMPLE_SIGNALS) -> None:
        self.registry = SignalRegistry()
        self.registry.register_many(signals)
        self.events: list[Event] = []
        self.engine = AlarmEngine(list(rules), self.registry, self.events.append)

    def sid(self, path: str) -> int:
        return self.registry.id(path)

    def feed(self, path: str, ts: Sequence[int] | npt.NDArray[np.int64],
             values: Sequence[float] | npt.NDArray[np.float64],
             quality: int = Quality.GOOD) -> list[Event]:
        """One batch of samples of one signal."""
        return self.engine.process(Batch.build(self.sid(path), np.asarray(ts, np.int64),
                                               np.asarray(values, np.float64), quality))

    def actions(self, alarm: str | None = None) -> list[tuple[str, str, int]]:
        """(alarm, action, ts) of every alarm event so far, optionally of one alarm."""
        return [(str(e.payload["alarm"]), str(e.payload["action"]), e.ts) for e in self.events
                if e.type == "alarm" and (alarm is None or e.payload["alarm"] == alarm)]
