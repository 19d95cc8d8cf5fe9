"""Alarm transitions as events: the journal's record format, and reading it back.

Every transition of every alarm becomes one :class:`~ironfield.core.events.Event` of type
``"alarm"`` whose payload is an :class:`AlarmPayload`. The runtime stores these in the
historian's events table (the journal) and streams them; :meth:`AlarmEngine.restore` reads
them back after a restart, and :mod:`.health` computes the alarm-system figures from them.
Taking an asset out of service or back is journaled too, as an ``"alarm_service"`` event.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from ironfield.alarms.lifecycle import AlarmRecord, AlarmState, Transition
from ironfield.core.events import Event, register_event_type

EVENT_TYPE = "alarm"
SERVICE_EVENT_TYPE = "alarm_service"


class AlarmPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alarm: str
    rule: str
    kind: str
    level: str
    signal: str | None = None
    from_state: AlarmState
    to_state: AlarmState
    action: str
    active: bool
    value: float | None = None
    limit: float | None = None
    priority: str
    user: str = "system"
    comment: str = ""
    message: str = ""
    shelved_until: int | None = None
    suppressed: bool = False
    out_of_service: bool = False


class ServicePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    out_of_service: bool
    user: str
    comment: str = ""


register_event_type(EVENT_TYPE, AlarmPayload)
register_event_type(SERVICE_EVENT_TYPE, ServicePayload)


def _num(x: float | None) -> float | None:
    # JSON has no NaN; an undefined value (a stale signal) is stored as null.
    return None if x is None or not math.isfinite(x) else float(x)


class EventIds:
    """Unique event ids without a system call each: a random prefix per engine + a counter.

    ``uuid4`` reads the OS entropy pool every time, which dominated the cost of an event in
    an alarm flood; a random 64-bit prefix per engine keeps ids unique across restarts.
    """

    def __init__(self) -> None:
        self.prefix = uuid.uuid4().hex[:16]
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n:016x}"


def to_event(rec: AlarmRecord, t: Transition, event_id: str | None = None) -> Event:
    # Built by hand in the JSON form of AlarmPayload (a test holds them equal): validating a
    # payload made from typed fields would double the cost of every event in an alarm flood.
    payload = {
        "alarm": rec.alarm_id, "rule": rec.rule_id, "kind": rec.kind, "level": rec.level,
        "signal": rec.signal, "from_state": t.from_state.value, "to_state": t.to_state.value,
        "action": t.action, "active": rec.active, "value": _num(rec.value),
        "limit": _num(rec.limit), "priority": rec.priority, "user": t.user,
        "comment": t.comment, "message": rec.message, "shelved_until": rec.shelved_until,
        "suppressed": rec.suppressed, "out_of_service": rec.out_of_service,
    }
    if event_id is None:
        return Event(type=EVENT_TYPE, asset=rec.asset, ts=t.ts, payload=payload)
    return Event(type=EVENT_TYPE, asset=rec.asset, ts=t.ts, payload=payload, id=event_id)


def service_event(asset: str, on: bool, user: str, comment: str, ts: int) -> Event:
    return Event.make(SERVICE_EVENT_TYPE, asset,
                      ServicePayload(out_of_service=on, user=user, comment=comment), ts=ts)


def replay(events: Iterable[Event]) -> tuple[dict[str, tuple[int, AlarmPayload]], dict[str, bool]]:
    """The last journaled payload of each alarm, and the out-of-service flag of each asset.

    Events may come in any order; they are applied in time order (ties keep input order).
    """
    last: dict[str, tuple[int, AlarmPayload]] = {}
    service: dict[str, bool] = {}
    for ev in sorted(events, key=lambda e: e.ts):
        if ev.type == EVENT_TYPE:
            last[str(ev.payload["alarm"])] = (ev.ts, AlarmPayload.model_validate(ev.payload))
        elif ev.type == SERVICE_EVENT_TYPE:
            service[ev.asset] = bool(ev.payload["out_of_service"])
    return last, service


def apply(rec: AlarmRecord, ts: int, p: AlarmPayload) -> None:
    """Put a record where its last journaled transition left it."""
    rec.active = p.active
    rec.value = p.value
    rec.since = ts
    rec.shelved_until = p.shelved_until
    rec.suppressed = p.suppressed
    rec.out_of_service = p.out_of_service
    if p.to_state in (AlarmState.NORMAL, AlarmState.UNACK, AlarmState.ACKED, AlarmState.RTN_UNACK):
        rec.base = p.to_state
    else:  # hidden: the base is re-derived when it comes back
        rec.base = AlarmState.UNACK if p.active else AlarmState.NORMAL
    if p.action == "acknowledge":
        rec.acked_by, rec.comment = p.user, p.comment
    if p.active:
        rec.active_since = ts if p.action == "activate" else rec.active_since or ts
