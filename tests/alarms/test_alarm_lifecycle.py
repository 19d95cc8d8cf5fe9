"""ISA-18.2 lifecycle: acknowledge, return to normal, shelve, suppress, out of service, restore."""

from __future__ import annotations

from typing import Any

import pytest

from ironfield.alarms import (
    AlarmEngine,
    AlarmPayload,
    AlarmState,
    AlarmStateError,
    UnknownAlarmError,
)
from ironfield.alarms.testing import T0, S
from ironfield.alarms.testing import AlarmHarness as Rig
from ironfield.core.batch import Batch
from ironfield.core.events import Event

LEVEL = "plant/area/tank-1/level_m"
LEVEL2 = "plant/area/tank-2/level_m"
RUN2 = "plant/area/tank-2/running"
RULES: list[dict[str, Any]] = [
    {"id": "t1", "type": "limit", "signal": LEVEL, "h": {"limit": 8, "priority": "high"},
     "hh": {"limit": 9, "priority": "urgent"}},
    {"id": "t2", "type": "limit", "signal": LEVEL2, "l": 1.0, "priority": "low",
     "suppress_when": f"'{RUN2}' == 0"},
]


def states(rig: Rig) -> list[tuple[str, str, str]]:
    return [(str(e.payload["action"]), str(e.payload["from_state"]), str(e.payload["to_state"]))
            for e in rig.events if e.type == "alarm"]


def test_ack_then_clear_and_clear_then_ack() -> None:
    rig = Rig(RULES)
    rig.feed(LEVEL, [T0], [8.5])
    assert rig.engine.record("t1.H").state == AlarmState.UNACK
    ev = rig.engine.acknowledge("t1.H", "ana", "operator sent to the tank", ts=T0 + S)
    assert ev.payload["user"] == "ana" and ev.payload["comment"] == "operator sent to the tank"
    rig.feed(LEVEL, [T0 + 2 * S], [5.0])  # acked + cleared -> normal
    rig.feed(LEVEL, [T0 + 3 * S], [8.5])
    rig.feed(LEVEL, [T0 + 4 * S], [5.0])  # unacked + cleared -> returned, unacknowledged
    assert rig.engine.record("t1.H").state == AlarmState.RTN_UNACK
    rig.feed(LEVEL, [T0 + 5 * S], [8.5])  # re-alarm from rtn_unack
    rig.feed(LEVEL, [T0 + 6 * S], [5.0])
    rig.engine.acknowledge("t1.H", "ana", ts=T0 + 7 * S)
    assert states(rig) == [
        ("activate", "normal", "unack"), ("acknowledge", "unack", "acked"),
        ("clear", "acked", "normal"), ("activate", "normal", "unack"),
        ("clear", "unack", "rtn_unack"), ("activate", "rtn_unack", "unack"),
        ("clear", "unack", "rtn_unack"), ("acknowledge", "rtn_unack", "normal"),
    ]


def test_acknowledging_what_is_not_unacknowledged_is_refused() -> None:
    rig = Rig(RULES)
    with pytest.raises(AlarmStateError, match="normal"):
        rig.engine.acknowledge("t1.H", "ana")
    with pytest.raises(UnknownAlarmError, match="nope"):
        rig.engine.acknowledge("nope", "ana")
    rig.feed(LEVEL, [T0], [8.5])
    rig.engine.acknowledge("t1.H", "ana", ts=T0)
    with pytest.raises(AlarmStateError, match="acked"):
        rig.engine.acknowledge("t1.H", "bob", ts=T0)


def test_shelving_hides_the_alarm_until_it_expires_on_the_tick() -> None:
    rig = Rig(RULES)
    rig.feed(LEVEL, [T0], [8.5])
    ev = rig.engine.shelve("t1.H", "ana", 60 * S, "sensor fouled, work order 4411", ts=T0 + S)
    assert ev.payload["to_state"] == "shelved" and ev.payload["shelved_until"] == T0 + 61 * S
    assert [a.alarm_id for a in rig.engine.active()] == []
    rig.feed(LEVEL, [T0 + 2 * S], [5.0])  # the condition clears and returns while shelved:
    rig.feed(LEVEL, [T0 + 3 * S], [8.6])  # nothing is announced
    assert len(rig.events) == 2
    assert rig.engine.tick(T0 + 60 * S) == []
    [back] = rig.engine.tick(T0 + 62 * S)
    assert (back.payload["action"], back.payload["to_state"]) == ("shelve_expired", "unack")
    assert back.ts == T0 + 61 * S and back.payload["user"] == "system"
    # Shelved while active but cleared in the meantime: comes back quietly, to normal.
    rig.engine.acknowledge("t1.H", "ana", ts=T0 + 63 * S)
    rig.engine.shelve("t1.H", "ana", 10 * S, ts=T0 + 64 * S)
    rig.feed(LEVEL, [T0 + 65 * S], [5.0])
    ev2 = rig.engine.unshelve("t1.H", "bob", "fixed", ts=T0 + 66 * S)
    assert ev2 is not None and ev2.payload["to_state"] == "normal" and ev2.payload["user"] == "bob"
    assert rig.engine.unshelve("t1.H", "bob") is None


def test_designed_suppression_follows_a_state_signal() -> None:
    rig = Rig(RULES)
    run, lvl = rig.sid(RUN2), rig.sid(LEVEL2)
    rig.engine.process(Batch.build([run, lvl], T0, [1.0, 5.0]))
    rig.engine.process(Batch.build([run, lvl], T0 + S, [0.0, 0.2]))  # stopped and drained
    # Suppression is decided first, so the low level is never announced.
    assert states(rig) == [("suppress", "normal", "suppressed")]
    assert rig.engine.record("t2.L").state == AlarmState.SUPPRESSED
    rig.engine.process(Batch.build([run], T0 + 2 * S, [1.0]))  # restarts, level still low
    assert states(rig)[1:] == [("unsuppress", "suppressed", "unack")]
    assert rig.events[1].ts == T0 + 2 * S


def test_bad_data_never_keeps_alarms_suppressed() -> None:
    rig = Rig(RULES)
    run, lvl = rig.sid(RUN2), rig.sid(LEVEL2)
    rig.engine.process(Batch.build([run, lvl], T0, [0.0, 0.2]))
    assert rig.engine.record("t2.L").state == AlarmState.SUPPRESSED
    rig.engine.process(Batch.build([run], T0 + S, [0.0], quality=0x18))  # bad: unknown
    assert rig.engine.record("t2.L").state == AlarmState.UNACK


def test_designed_suppression_journals_hiding_an_active_alarm() -> None:
    rig = Rig(RULES)
    run, lvl = rig.sid(RUN2), rig.sid(LEVEL2)
    rig.engine.process(Batch.build([run, lvl], T0, [1.0, 0.5]))
    rig.engine.process(Batch.build([run], T0 + S, [0.0]))
    assert states(rig) == [("activate", "normal", "unack"), ("suppress", "unack", "suppressed")]


def test_out_of_service_by_asset_subtree() -> None:
    rig = Rig(RULES)
    rig.feed(LEVEL, [T0], [9.5])  # H and HH active
    out = rig.engine.set_out_of_service("plant/area/tank-1", True, "maint", "relining", ts=T0 + S)
    assert out[0].type == "alarm_service" and out[0].payload["user"] == "maint"
    assert {e.payload["alarm"] for e in out[1:]} == {"t1.H", "t1.HH"}
    assert all(e.payload["to_state"] == "out_of_service" for e in out[1:])
    assert rig.engine.record("t2.L").state == AlarmState.NORMAL  # tank-2 untouched
    with pytest.raises(AlarmStateError):
        rig.engine.shelve("t1.H", "ana", S)
    rig.feed(LEVEL, [T0 + 2 * S], [5.0])
    back = rig.engine.set_out_of_service("plant/area/tank-1", False, "maint", ts=T0 + 3 * S)
    assert {(e.payload["alarm"], e.payload["to_state"]) for e in back[1:]} == {
        ("t1.H", "normal"), ("t1.HH", "normal")}
    # A parent asset out of service covers its children.
    rig.engine.set_out_of_service("plant", True, "maint", ts=T0 + 4 * S)
    assert rig.engine.summary()["by_state"]["out_of_service"] == 3


def test_summary_counts_by_priority_and_orders_the_list() -> None:
    rig = Rig(RULES)
    rig.feed(LEVEL2, [T0], [0.5])
    rig.feed(LEVEL, [T0 + S], [9.5])
    summary = rig.engine.summary()
    assert summary["by_priority"] == {"urgent": 1, "high": 1, "medium": 0, "low": 1}
    assert summary["unacknowledged"] == 3 and summary["total"] == 3
    assert [a.alarm_id for a in rig.engine.active()] == ["t1.HH", "t1.H", "t2.L"]


def test_restore_from_the_journal_after_a_restart() -> None:
    rig = Rig(RULES)
    rig.feed(LEVEL, [T0], [9.5])
    rig.engine.acknowledge("t1.HH", "ana", "seen", ts=T0 + S)
    rig.engine.shelve("t1.H", "ana", 300 * S, ts=T0 + 2 * S)
    rig.feed(LEVEL2, [T0 + 3 * S], [0.5])
    rig.feed(LEVEL2, [T0 + 4 * S], [5.0])  # t2.L: returned, unacknowledged
    journal = [Event.make(e.type, e.asset, e.payload, e.ts) for e in reversed(rig.events)]
    before = {a.alarm_id: (a.state, a.active, a.shelved_until) for a in rig.engine.alarms()}

    fresh: list[Event] = []
    engine = AlarmEngine(RULES, rig.registry, fresh.append)
    assert engine.restore(journal) == 3
    after = {a.alarm_id: (a.state, a.active, a.shelved_until) for a in engine.alarms()}
    assert after == before
    assert after["t1.HH"][0] == AlarmState.ACKED and after["t2.L"][0] == AlarmState.RTN_UNACK
    # Still active after the restart: the same value does not announce it a second time ...
    engine.process(Batch.build(rig.sid(LEVEL), T0 + 10 * S, 9.5))
    assert fresh == []
    # ... while the lifecycle goes on where it was: ack of t2.L, expiry of the shelving.
    engine.acknowledge("t2.L", "bob", ts=T0 + 11 * S)
    engine.tick(T0 + 303 * S)
    assert [(e.payload["alarm"], e.payload["action"]) for e in fresh] == [
        ("t2.L", "acknowledge"), ("t1.H", "shelve_expired")]


def test_restore_takes_the_out_of_service_assets_back() -> None:
    rig = Rig(RULES)
    rig.engine.set_out_of_service("plant/area/tank-2", True, "maint", ts=T0)
    engine = AlarmEngine(RULES, rig.registry)
    engine.restore(rig.events)
    assert engine.record("t2.L").state == AlarmState.OUT_OF_SERVICE
    engine.set_out_of_service("plant/area/tank-2", False, "maint", ts=T0 + S)
    assert engine.record("t2.L").state == AlarmState.NORMAL


def test_restore_keeps_designed_suppression_liftable() -> None:
    rig = Rig(RULES)
    run, lvl = rig.sid(RUN2), rig.sid(LEVEL2)
    rig.engine.process(Batch.build([run, lvl], T0, [0.0, 0.5]))
    assert rig.engine.record("t2.L").state == AlarmState.SUPPRESSED
    fresh: list[Event] = []
    engine = AlarmEngine(RULES, rig.registry, fresh.append)
    engine.restore(rig.events)
    assert engine.record("t2.L").state == AlarmState.SUPPRESSED
    engine.process(Batch.build([run], T0 + S, [1.0]))
    # Condition changes while hidden are not transitions, so the journal does not hold them:
    # the restored engine learns the level is low from the next sample.
    engine.process(Batch.build([lvl], T0 + 2 * S, [0.5]))
    assert [(e.payload["action"], e.payload["to_state"]) for e in fresh] == [
        ("unsuppress", "normal"), ("activate", "unack")]


def test_event_payloads_are_exactly_the_journal_model() -> None:
    rig = Rig(RULES)
    rig.feed(LEVEL, [T0], [9.5])
    rig.engine.acknowledge("t1.H", "ana", "ok", ts=T0 + S)
    rig.engine.shelve("t1.HH", "ana", 5 * S, ts=T0 + S)
    rig.feed(LEVEL, [T0 + 2 * S], [1.0])
    assert len(rig.events) == 5
    for e in rig.events:
        assert AlarmPayload.model_validate(e.payload).model_dump(mode="json") == e.payload
        again = Event.make(e.type, e.asset, e.payload, e.ts)  # validates with the model
        assert again.payload == e.payload and again.payload_json() == e.payload_json()
