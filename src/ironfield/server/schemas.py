"""Request and response models of the REST API (they make up the published OpenAPI).

Times are int64 ns since the epoch, UTC, as everywhere in ironfield; query parameters
also accept ``now``, ``now-1h`` or ISO 8601 with a zone. JSON has no NaN: a missing or
non-finite value is ``null``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ironfield.server.auth.users import Role


class UserOut(BaseModel):
    name: str
    role: Role
    via: Literal["session", "token"] | None = None
    csrf_token: str | None = Field(None, description="echo in X-CSRF-Token on unsafe requests")


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role


class TokenIn(BaseModel):
    user: str = Field(min_length=1, max_length=64)
    label: str = Field("", max_length=100)


class TokenOut(BaseModel):
    id: str
    user: str
    label: str
    created_ns: int
    token: str | None = Field(None, description="the plain token; shown once, at creation")


class SignalOut(BaseModel):
    path: str
    id: int
    unit: str
    type: str
    low: float | None = None
    high: float | None = None
    description: str = ""
    writable: bool = False
    states: dict[int, str] = Field(default_factory=dict)


class AssetNode(BaseModel):
    path: str
    name: str
    kind: Literal["plant", "site", "area", "equipment"]
    signals: list[str] = Field(default_factory=list)
    children: list[AssetNode] = Field(default_factory=list)


class Series(BaseModel):
    """One signal's rows: columns of equal length."""

    signal: str
    unit: str = ""
    ts: list[int]
    value: list[float | None]
    quality: list[int]


class SeriesOut(BaseModel):
    start: int
    end: int
    series: list[Series]
    truncated: bool = False
    method: str = "raw"


class AggSeries(BaseModel):
    signal: str
    unit: str = ""
    bucket: list[int]
    min: list[float | None]
    max: list[float | None]
    mean: list[float | None]
    count: list[int]
    first: list[float | None]
    last: list[float | None]


class AggOut(BaseModel):
    start: int
    end: int
    interval_ns: int
    series: list[AggSeries]


class LastValue(BaseModel):
    signal: str
    unit: str = ""
    ts: int
    value: float | None
    quality: int


class EventOut(BaseModel):
    id: str
    type: str
    asset: str
    ts: int
    payload: dict[str, Any]


class AlarmOut(BaseModel):
    alarm_id: str
    rule_id: str
    kind: str
    level: str
    asset: str
    signal: str | None = None
    priority: str
    state: str
    active: bool
    value: float | None = None
    limit: float | None = None
    message: str = ""
    since: int = 0
    active_since: int | None = None
    shelved_until: int | None = None
    shelved_by: str | None = None
    acked_by: str | None = None
    comment: str = ""


class AlarmSummary(BaseModel):
    enabled: bool
    counts: dict[str, int] = Field(description="announced alarms by priority")
    unacknowledged: int
    shelved: int
    total: int


class AlarmList(BaseModel):
    summary: AlarmSummary
    alarms: list[AlarmOut]


class AckIn(BaseModel):
    comment: str = Field("", max_length=500)


class ShelveIn(BaseModel):
    duration: str = Field("1h", max_length=20, description="e.g. '30min', '8h' (max 7d)")
    comment: str = Field("", max_length=500)


class ServiceIn(BaseModel):
    asset: str = Field(min_length=1, max_length=300)
    out_of_service: bool
    comment: str = Field("", max_length=500)


class CommandIn(BaseModel):
    signal: str = Field(min_length=1, max_length=300)
    value: float | str | list[float]
    reason: str = Field("", max_length=500)
    timeout_s: float = Field(5.0, gt=0, le=60)


class CommandOut(BaseModel):
    status: Literal["confirmed", "rejected", "timeout", "failed"]
    old_value: float | str | None = None
    new_value: float | str | None = None
    message: str = ""


class HealthOut(BaseModel):
    plant: str
    uptime_s: float
    signals: int
    pipeline: dict[str, Any] | None = None
    bus_subscribers: int
    tasks: dict[str, dict[str, Any]] = Field(default_factory=dict)
    alarms: dict[str, Any] | None = None
    live_clients: int = 0
    extra: dict[str, Any] = Field(default_factory=dict, description="other platform figures")


class ShiftOee(BaseModel):
    shift: str
    start: int
    end: int
    planned_s: float
    run_s: float
    total_count: float | None = None
    good_count: float | None = None
    availability: float | None = None
    performance: float | None = None
    quality: float | None = None
    oee: float | None = None


class OeeOut(BaseModel):
    asset: str
    state_signal: str
    total_signal: str | None = None
    good_signal: str | None = None
    ideal_cycle_s: float | None = None
    shifts: list[ShiftOee]
    overall: ShiftOee


class Problem(BaseModel):
    detail: str


AssetNode.model_rebuild()
