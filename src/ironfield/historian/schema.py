"""Arrow tables the backends bulk-load: signals, events, dead letters, retention cutoffs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from ironfield.core.events import Event
from ironfield.core.plant import RetentionSpec
from ironfield.core.signals import SignalDef
from ironfield.historian.base import Cutoffs, cutoffs

SIGNAL_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int32()),
        pa.field("path", pa.string()),
        pa.field("unit", pa.string()),
        pa.field("type", pa.string()),
        pa.field("low", pa.float64()),
        pa.field("high", pa.float64()),
        pa.field("description", pa.string()),
        pa.field("class", pa.string()),
    ]
)
EVENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("type", pa.string()),
        pa.field("asset", pa.string()),
        pa.field("ts", pa.int64()),
        pa.field("payload", pa.string()),
    ]
)
DEAD_LETTER_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string()),
        pa.field("received_ts", pa.int64()),
        pa.field("payload", pa.binary()),
        pa.field("reason", pa.string()),
    ]
)
CUT_SCHEMA = pa.schema(
    [
        pa.field("signal_id", pa.int32()),
        pa.field("raw", pa.int64()),
        pa.field("rollup_1m", pa.int64()),
        pa.field("rollup_1h", pa.int64()),
    ]
)


def signals_table(
    defs: Sequence[SignalDef], mapping: Mapping[str, int], stored: Mapping[str, int]
) -> tuple[pa.Table, pa.Table]:
    """(rows with a definition: upserted, rows with only a path: inserted if missing).

    Raises ``ValueError`` when an id or path would change meaning.
    """
    by_id = {i: p for p, i in stored.items()}
    for path, sid in mapping.items():
        if path in stored and stored[path] != sid:
            raise ValueError(f"signal {path!r} is stored with id {stored[path]}, not {sid}")
        if sid in by_id and by_id[sid] != path:
            raise ValueError(f"signal id {sid} is stored for {by_id[sid]!r}, not {path!r}")
    known = {d.path: d for d in defs}
    missing = [p for p in known if p not in mapping]
    if missing:
        raise ValueError(f"no id for signals {missing[:5]} (register them first)")

    def rows(ds: list[SignalDef]) -> pa.Table:
        return pa.Table.from_pylist(
            [
                {"id": mapping[d.path], "path": d.path, "unit": d.unit, "type": d.type,
                 "low": d.low, "high": d.high, "description": d.description,
                 "class": d.klass}
                for d in ds
            ],
            schema=SIGNAL_SCHEMA,
        )

    return rows(list(known.values())), rows([SignalDef(p) for p in mapping if p not in known])


def events_table(events: Sequence[Event]) -> pa.Table:
    seen: dict[str, Event] = {}
    for e in events:
        seen.setdefault(e.id, e)
    evs = list(seen.values())
    return pa.Table.from_arrays(
        [
            pa.array([e.id for e in evs], pa.string()),
            pa.array([e.type for e in evs], pa.string()),
            pa.array([e.asset for e in evs], pa.string()),
            pa.array([e.ts for e in evs], pa.int64()),
            pa.array([e.payload_json() for e in evs], pa.string()),
        ],
        schema=EVENT_SCHEMA,
    )


def retention_table(
    now: int, retention: Mapping[str, RetentionSpec], classes: Mapping[int, str]
) -> tuple[pa.Table, Cutoffs | None]:
    """Cutoffs per stored signal (null: kept forever), and the one for unknown signals."""
    cuts = cutoffs(now, retention)
    default = cuts.get("default")
    ids, raw, r1m, r1h = [], [], [], []
    for sid, klass in classes.items():
        c = cuts.get(klass, default)
        ids.append(sid)
        raw.append(None if c is None else c.raw)
        r1m.append(None if c is None else c.rollup_1m)
        r1h.append(None if c is None else c.rollup_1h)
    table = pa.Table.from_arrays(
        [pa.array(ids, pa.int32()), pa.array(raw, pa.int64()), pa.array(r1m, pa.int64()),
         pa.array(r1h, pa.int64())],
        schema=CUT_SCHEMA,
    )
    return table, default
