"""Event types of the survey app: ``survey.processed`` and ``survey.failed``.

Payloads are checked where they are made (:func:`ironfield.core.events.register_event_type`).
Volumes [m3], masses [t], times int64 ns UTC.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ironfield.core.events import register_event_type

PROCESSED = "survey.processed"
FAILED = "survey.failed"


class Reconciliation(BaseModel):
    """Surveyed tonnes mined over the tonnes haulage counted between the two survey times."""

    start_ns: int | None = None
    end_ns: int | None = None
    surveyed_t: float | None = None
    hauled_t: float | None = None
    ratio: float | None = None  # absent (None) when haulage has no data, never 0
    note: str = ""


class ProcessedPayload(BaseModel):
    model_config = ConfigDict(extra="allow")

    survey_id: str
    files: list[str]
    points: int
    survey_ns: int
    previous_id: str | None
    cut_m3: float | None
    fill_m3: float | None
    net_m3: float | None
    mined_m3: float | None
    mined_t: float | None
    mined_basis: str = ""  # where mined = cut - fill was summed
    coverage: float
    level_of_detection_m: float | None
    min_change_m: float
    cell_m: float
    stockpiles: list[dict[str, Any]]
    reconciliation: Reconciliation
    warnings: list[str]
    duration_s: float


class FailedPayload(BaseModel):
    survey_id: str
    file: str  # where the input now lies (the failed/ folder)
    files: list[str]
    reason: str


register_event_type(PROCESSED, ProcessedPayload)
register_event_type(FAILED, FailedPayload)
