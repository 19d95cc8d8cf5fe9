"""The ISA-18.2 alarm state machine of one alarm.

States follow the alarm state transition diagram of ANSI/ISA-18.2 [1]_ (states A-G;
the latched states are not used): A normal, B unacknowledged (active), C acknowledged (active), D returned to
normal unacknowledged, E shelved, F suppressed by design, G out of service. E-G hide the
alarm from the operator; the process condition is still tracked underneath so that, when
the alarm comes back, an active condition is announced again (back to B) and a cleared one
returns quietly (back to A).

Functions here mutate one :class:`AlarmRecord` and return the :class:`Transition` they
made (or ``None``); the engine turns transitions into journal events.

.. [1] ANSI/ISA-18.2-2016, Management of Alarm Systems for the Process Industries,
       "Alarm states" and the alarm state transition diagram.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ironfield.alarms.errors import AlarmStateError


class AlarmState(StrEnum):
    NORMAL = "normal"  # A
    UNACK = "unack"  # B: active, unacknowledged
    ACKED = "acked"  # C: active, acknowledged
    RTN_UNACK = "rtn_unack"  # D: returned to normal, unacknowledged
    SHELVED = "shelved"  # E
    SUPPRESSED = "suppressed"  # F: suppressed by design
    OUT_OF_SERVICE = "out_of_service"  # G


ANNOUNCED = (AlarmState.UNACK, AlarmState.ACKED, AlarmState.RTN_UNACK)


@dataclass(frozen=True, slots=True)
class Transition:
    from_state: AlarmState
    to_state: AlarmState
    action: str  # activate | clear | acknowledge | shelve | unshelve | suppress | ...
    ts: int
    user: str = "system"
    comment: str = ""


@dataclass(slots=True)
class AlarmRecord:
    """One alarm: what it is (fixed at build) and where it is in its lifecycle (mutable)."""

    alarm_id: str
    rule_id: str
    kind: str  # limit | rate | deviation | stale | state | expression
    level: str  # HH | H | L | LL for limits, else the kind
    asset: str
    signal: str | None
    priority: str
    limit: float | None
    message: str = ""
    base: AlarmState = AlarmState.NORMAL  # A-D, the state when not hidden
    active: bool = False  # the process condition, tracked even while hidden
    value: float | None = None
    since: int = 0  # ts of the last transition
    active_since: int | None = None
    shelved_until: int | None = None
    shelved_by: str | None = None
    suppressed: bool = False
    out_of_service: bool = False
    acked_by: str | None = None
    comment: str = ""

    @property
    def state(self) -> AlarmState:
        if self.out_of_service:
            return AlarmState.OUT_OF_SERVICE
        if self.suppressed:
            return AlarmState.SUPPRESSED
        if self.shelved_until is not None:
            return AlarmState.SHELVED
        return self.base

    @property
    def hidden(self) -> bool:
        return self.out_of_service or self.suppressed or self.shelved_until is not None


def _move(rec: AlarmRecord, before: AlarmState, action: str, ts: int, user: str = "system",
          comment: str = "") -> Transition | None:
    after = rec.state
    if after == before:
        return None
    rec.since = ts
    return Transition(before, after, action, ts, user, comment)


def condition(rec: AlarmRecord, active: bool, ts: int, value: float | None) -> Transition | None:
    """The process condition became ``active`` (True) or cleared (False) at ``ts``."""
    before = rec.state
    rec.active = active
    rec.value = value
    if active:
        rec.active_since = ts
    if rec.hidden:
        return None
    if active and rec.base in (AlarmState.NORMAL, AlarmState.RTN_UNACK):
        rec.base = AlarmState.UNACK
        rec.acked_by, rec.comment = None, ""
        return _move(rec, before, "activate", ts)
    if not active and rec.base == AlarmState.UNACK:
        rec.base = AlarmState.RTN_UNACK
        return _move(rec, before, "clear", ts)
    if not active and rec.base == AlarmState.ACKED:
        rec.base = AlarmState.NORMAL
        return _move(rec, before, "clear", ts)
    return None


def acknowledge(rec: AlarmRecord, ts: int, user: str, comment: str = "") -> Transition:
    before = rec.state
    if before == AlarmState.UNACK:
        rec.base = AlarmState.ACKED
    elif before == AlarmState.RTN_UNACK:
        rec.base = AlarmState.NORMAL
    else:
        raise AlarmStateError(
            f"alarm {rec.alarm_id!r} is {before.value}; only unacknowledged alarms "
            "(unack, rtn_unack) can be acknowledged"
        )
    rec.acked_by, rec.comment = user, comment
    t = _move(rec, before, "acknowledge", ts, user, comment)
    assert t is not None
    return t


def _unhide(rec: AlarmRecord) -> None:
    # Coming back from E/F/G the alarm is re-evaluated: an active condition is announced anew.
    if not rec.hidden:
        rec.base = AlarmState.UNACK if rec.active else AlarmState.NORMAL


def shelve(rec: AlarmRecord, ts: int, until: int, user: str, comment: str = "") -> Transition:
    if until <= ts:
        raise AlarmStateError(f"shelving {rec.alarm_id!r} needs a positive duration")
    if rec.out_of_service or rec.suppressed:
        raise AlarmStateError(
            f"alarm {rec.alarm_id!r} is {rec.state.value}; it cannot be shelved"
        )
    before = rec.state
    rec.shelved_until, rec.shelved_by = until, user
    t = _move(rec, before, "shelve", ts, user, comment)
    if t is None:  # already shelved: a new expiry is still a journaled change
        t = Transition(before, before, "shelve", ts, user, comment)
    return t


def unshelve(rec: AlarmRecord, ts: int, user: str = "system", comment: str = "",
             action: str = "unshelve") -> Transition | None:
    if rec.shelved_until is None:
        return None
    before = rec.state
    rec.shelved_until, rec.shelved_by = None, None
    _unhide(rec)
    return _move(rec, before, action, ts, user, comment) or Transition(
        before, before, action, ts, user, comment
    )


def set_suppressed(rec: AlarmRecord, on: bool, ts: int, user: str = "system",
                   comment: str = "") -> Transition | None:
    """Designed suppression (a rule's ``suppress_when`` condition)."""
    if rec.suppressed == on:
        return None
    before = rec.state
    rec.suppressed = on
    _unhide(rec)
    return _move(rec, before, "suppress" if on else "unsuppress", ts, user, comment)


def set_out_of_service(rec: AlarmRecord, on: bool, ts: int, user: str,
                       comment: str = "") -> Transition | None:
    if rec.out_of_service == on:
        return None
    before = rec.state
    rec.out_of_service = on
    _unhide(rec)
    return _move(rec, before, "out_of_service" if on else "in_service", ts, user, comment)
