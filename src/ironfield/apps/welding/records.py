"""Weld records and QA results: the data model, and the checks that keep bad input out.

A :class:`WeldRecord` is one finished weld as a robot's weld timer publishes it: who
(robot, gun, spot), what (stack-up, schedule), when (start in ns since the epoch, UTC),
how much (duration, energy) and the sampled curves at ``rate_hz``. Curves may carry
``None`` (or NaN) for samples the timer lost.

Structural errors (missing fields, wrong types, negative durations) are caught by
pydantic; :func:`check_record` then looks at the content and returns :class:`Issue`\\s:

========================  ========  ===================================================
code                      severity  when
========================  ========  ===================================================
``unknown_spot``          reject    the spot id is not in the plant's spot list
``missing_samples``       reject    channels of unequal length, fewer samples than
                                    duration x rate, or more than 2 % lost samples
``missing_samples``       flag      a few lost samples (kept, not learned from)
``wrong_unit``            reject    current looks like A (median > 100) or voltage
                                    like mV (median > 50) instead of kA and V
``saturated``             flag      a sensor sat at its full scale (curve clipped)
``energy_mismatch``       flag      stated energy differs > 10 % from ∫U·I dt
``current_off_schedule``  flag      mean current > 30 % off the schedule
========================  ========  ===================================================

"reject": the record is not stored as a weld; "flag": it is stored, marked, and not used
to learn references. :func:`parse_records` checks a batch record by record, so one bad
record never blocks the others. :func:`check_qa` rejects a QA result for a weld that
does not exist.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ironfield.apps.welding.model import Schedule, StackUp
from ironfield.apps.welding.simulator import WeldOutcome

F64 = npt.NDArray[np.float64]

MISSING_REJECT_SHARE = 0.02
SATURATION_RUN = 5


class WeldCurves(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rate_hz: float = Field(ge=500.0, le=100_000.0)
    current_ka: list[float | None]
    voltage_v: list[float | None]
    force_kn: list[float | None] | None = None
    displacement_mm: list[float | None] | None = None

    def array(self, channel: str) -> F64:
        """A channel as float64 with NaN for missing samples."""
        data = getattr(self, channel)
        if data is None:
            return np.empty(0)
        return np.array([math.nan if v is None else v for v in data], dtype=np.float64)

    def t_s(self) -> F64:
        return (np.arange(len(self.current_ka)) + 1) / self.rate_hz

    def resistance_uohm(self) -> F64:
        i = self.array("current_ka")
        u = self.array("voltage_v")
        n = min(len(i), len(u))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = 1000.0 * u[:n] / i[:n]
        return np.where(i[:n] > 0.5, r, np.nan)


class WeldRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weld_id: str = Field(min_length=1, max_length=128)
    robot: str = Field(min_length=1)
    gun: str = Field(min_length=1)
    spot_id: str = Field(min_length=1)
    stackup: StackUp
    schedule: Schedule
    start_ns: int = Field(gt=0)
    duration_s: float = Field(gt=0.0, le=5.0)
    energy_j: float = Field(ge=0.0)
    curves: WeldCurves
    stop_reason: str | None = None
    expulsion_detected: bool | None = None


class QAResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weld_id: str = Field(min_length=1)
    method: Literal["chisel", "ultrasonic"]
    nugget_mm: float = Field(ge=0.0, le=20.0)
    expelled: bool = False
    ts_ns: int = Field(gt=0)
    note: str = ""

    @model_validator(mode="after")
    def _finite(self) -> QAResult:
        if not math.isfinite(self.nugget_mm):
            raise ValueError("nugget_mm must be a finite number")
        return self


Severity = Literal["reject", "flag"]


@dataclass(frozen=True, slots=True)
class Issue:
    code: str
    severity: Severity
    message: str


@dataclass(frozen=True, slots=True)
class RecordCheck:
    """The verdict on one record (or QA result): accepted unless an issue rejects it."""

    ref: str  # weld id, or "#<index>" when even that could not be read
    record: WeldRecord | QAResult | None
    issues: tuple[Issue, ...] = field(default=())

    @property
    def accepted(self) -> bool:
        return self.record is not None and not any(i.severity == "reject" for i in self.issues)

    @property
    def learnable(self) -> bool:
        """Accepted without any flag: fit to learn a reference from."""
        return self.accepted and not self.issues

    def reasons(self) -> list[str]:
        return [f"{i.code}: {i.message}" for i in self.issues]


def _clipped_run(x: F64, full_scale: float | None) -> int:
    """Samples of the longest run sitting at the channel's top (or at its full scale)."""
    v = x[np.isfinite(x)]
    if len(v) < SATURATION_RUN:
        return 0
    top = float(np.max(v)) if full_scale is None else full_scale
    at = np.isfinite(x) & (x >= top - 1e-9 * max(abs(top), 1.0))
    best = run = 0
    for flag in at.tolist():
        run = run + 1 if flag else 0
        best = max(best, run)
    return best if best >= SATURATION_RUN else 0


def check_record(
    rec: WeldRecord,
    known_spots: Container[str],
    *,
    current_full_scale_ka: float | None = None,
    voltage_full_scale_v: float | None = None,
) -> list[Issue]:
    """Content checks of a structurally valid record (see the module docstring)."""
    issues: list[Issue] = []
    if rec.spot_id not in known_spots:
        issues.append(Issue("unknown_spot", "reject", f"spot {rec.spot_id!r} is not known"))
    c = rec.curves
    i = c.array("current_ka")
    u = c.array("voltage_v")
    if len(i) != len(u):
        issues.append(Issue(
            "missing_samples", "reject",
            f"current has {len(i)} samples, voltage {len(u)}: channels must be equally long",
        ))
        return issues
    expected = round(rec.duration_s * c.rate_hz)
    if len(i) < expected - max(2, int(0.02 * expected)):
        issues.append(Issue(
            "missing_samples", "reject",
            f"{len(i)} samples for {rec.duration_s * 1000:.0f} ms at {c.rate_hz:g} Hz "
            f"(expected {expected})",
        ))
    lost = int(np.count_nonzero(~np.isfinite(i) | ~np.isfinite(u)))
    if lost:
        share = lost / max(len(i), 1)
        sev: Severity = "reject" if share > MISSING_REJECT_SHARE else "flag"
        issues.append(Issue("missing_samples", sev, f"{lost} of {len(i)} samples lost ({share:.1%})"))
    fi = i[np.isfinite(i)]
    fu = u[np.isfinite(u)]
    if len(fi) and float(np.median(np.abs(fi))) > 100.0:
        issues.append(Issue(
            "wrong_unit", "reject",
            f"current median {float(np.median(fi)):.0f}: looks like A, expected kA",
        ))
    if len(fu) and float(np.median(np.abs(fu))) > 50.0:
        issues.append(Issue(
            "wrong_unit", "reject",
            f"voltage median {float(np.median(fu)):.0f}: looks like mV, expected V",
        ))
    for name, x, fs, unit in (
        ("current", i, current_full_scale_ka, "kA"),
        ("voltage", u, voltage_full_scale_v, "V"),
    ):
        run = _clipped_run(x, fs)
        if run:
            top = fs if fs is not None else float(np.nanmax(x))
            issues.append(Issue(
                "saturated", "flag",
                f"{name} sensor sat at {top:g} {unit} for {run} consecutive samples",
            ))
    if not any(iss.severity == "reject" for iss in issues) and len(fi):
        ok = np.isfinite(i) & np.isfinite(u)
        energy = float(np.sum(i[ok] * u[ok])) * 1000.0 / c.rate_hz
        if energy > 0 and abs(rec.energy_j - energy) > 0.1 * energy:
            issues.append(Issue(
                "energy_mismatch", "flag",
                f"stated {rec.energy_j:.0f} J, curves give {energy:.0f} J",
            ))
        mean_i = float(np.mean(fi[len(fi) // 4:])) if len(fi) >= 4 else float(np.mean(fi))
        if abs(mean_i - rec.schedule.current_ka) > 0.3 * rec.schedule.current_ka:
            issues.append(Issue(
                "current_off_schedule", "flag",
                f"mean current {mean_i:.2f} kA, schedule {rec.schedule.current_ka:.2f} kA",
            ))
    return issues


def _ref_of(raw: Any, index: int) -> str:
    if isinstance(raw, Mapping):
        wid = raw.get("weld_id")
        if isinstance(wid, str) and wid:
            return wid
    return f"#{index}"


def _validation_issues(e: ValidationError) -> tuple[Issue, ...]:
    out = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"])
        out.append(Issue("invalid", "reject", f"{loc}: {err['msg']}"))
    return tuple(out)


def parse_records(
    raw: Iterable[Mapping[str, Any] | WeldRecord],
    known_spots: Container[str],
    **limits: float | None,
) -> list[RecordCheck]:
    """Validate and check each record on its own; one verdict per input, in order."""
    out: list[RecordCheck] = []
    for k, item in enumerate(raw):
        ref = item.weld_id if isinstance(item, WeldRecord) else _ref_of(item, k)
        try:
            rec = item if isinstance(item, WeldRecord) else WeldRecord.model_validate(item)
        except ValidationError as e:
            out.append(RecordCheck(ref, None, _validation_issues(e)))
            continue
        out.append(RecordCheck(ref, rec, tuple(check_record(rec, known_spots, **limits))))
    return out


def check_qa(raw: Mapping[str, Any] | QAResult, known_welds: Container[str]) -> RecordCheck:
    """A QA result is accepted only for a weld that exists."""
    ref = raw.weld_id if isinstance(raw, QAResult) else _ref_of(raw, 0)
    try:
        qa = raw if isinstance(raw, QAResult) else QAResult.model_validate(raw)
    except ValidationError as e:
        return RecordCheck(ref, None, _validation_issues(e))
    if qa.weld_id not in known_welds:
        return RecordCheck(ref, qa, (Issue(
            "unknown_weld", "reject", f"QA result for weld {qa.weld_id!r} that does not exist",
        ),))
    return RecordCheck(ref, qa)


def record_from_outcome(
    outcome: WeldOutcome,
    *,
    weld_id: str,
    robot: str,
    gun: str,
    spot_id: str,
    stackup: StackUp,
    schedule: Schedule,
    start_ns: int,
    rate_hz: float = 1000.0,
    stop_reason: str | None = None,
    expulsion_detected: bool | None = None,
) -> WeldRecord:
    """A record as a robot would publish it, from a simulated weld."""

    def rounded(x: F64, nd: int) -> list[float | None]:
        return [round(float(v), nd) for v in np.asarray(x).tolist()]

    return WeldRecord(
        weld_id=weld_id, robot=robot, gun=gun, spot_id=spot_id, stackup=stackup,
        schedule=schedule, start_ns=start_ns, duration_s=float(outcome.duration_s),
        energy_j=round(float(outcome.energy_j), 2),
        curves=WeldCurves(
            rate_hz=rate_hz,
            current_ka=rounded(outcome.current_ka, 4),
            voltage_v=rounded(outcome.voltage_v, 5),
            force_kn=rounded(outcome.force_kn, 4),
            displacement_mm=rounded(outcome.displacement_mm, 5),
        ),
        stop_reason=stop_reason, expulsion_detected=expulsion_detected,
    )
