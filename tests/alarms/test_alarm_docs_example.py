"""The plant-file example in docs/alarms.md validates, builds and raises its alarm."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ironfield.alarms import AlarmEngine
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plant import parse_plant
from ironfield.core.signals import SignalRegistry

DOC = Path(__file__).resolve().parents[2] / "docs" / "alarms.md"
S = 1_000_000_000


def test_the_documented_plant_file_works() -> None:
    if not DOC.exists():
        pytest.skip("docs/alarms.md is not in this checkout")
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    plant = parse_plant(blocks[0], str(DOC))
    registry = SignalRegistry()
    for d in plant.signal_defs():
        registry.register(d)
    events: list[Event] = []
    engine = AlarmEngine(plant.alarms, registry, events.append)
    assert len(engine.alarms()) == 7
    ids = [registry.id("luobei/pit/truck-07/payload_t"), registry.id("luobei/pit/truck-07/speed_kmh")]
    for k in range(12):  # overloaded (250 t > 242 t) and moving, for longer than the 10 s delay
        engine.process(Batch.build(ids, k * S, [250.0, 10.0]))
    assert [(e.payload["alarm"], e.ts) for e in events] == [("truck-07-overload-moving", 10 * S)]
