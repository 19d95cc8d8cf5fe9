"""One weld as it arrives from the bus: assembled from a batch, checked, analysed.

A robot publishes each finished weld as one message: the summary rows (``spot_no``,
``weld_time_ms``, ... see :data:`~ironfield.apps.welding.shop.SUMMARY`) at the weld's
start and, for robots that send them, the curve rows (current, voltage, force,
displacement at 1 kHz) after it. :func:`split_welds` cuts a bus batch into welds;
:func:`check_weld` applies the content checks of :mod:`ironfield.apps.welding.records`
(same codes, same thresholds) to the arrays directly, without building a pydantic record
of thousands of floats; :func:`analyse` replays the curve through the adaptive timer's
observer (:func:`ironfield.apps.welding.timing.analyse_curve`: alpha, beta peak, heat
after it, expulsion) for the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ironfield.apps.welding.records import MISSING_REJECT_SHARE, SATURATION_RUN, Issue, Severity
from ironfield.apps.welding.shop import CURVES, SUMMARY
from ironfield.apps.welding.timing import TimerResult, analyse_curve
from ironfield.core.batch import Batch

F64 = npt.NDArray[np.float64]
SPOT = SUMMARY.index("spot_no")
N_SUMMARY = len(SUMMARY)


@dataclass
class WeldData:
    robot: int  # index into the shop's robots
    start_ns: int
    summary: dict[str, float]
    curves: dict[str, F64] = field(default_factory=dict)
    curve_ts: F64 | None = None  # current's sample times [s since start]

    @property
    def has_curves(self) -> bool:
        return bool(self.curves)

    def end_ns(self) -> int:
        ms = self.summary.get("weld_time_ms", math.nan)
        return self.start_ns + (int(ms * 1e6) if math.isfinite(ms) else 0)


class Lookup:
    """Signal id -> (robot index, channel index); channels: summary, then curves."""

    def __init__(self, sids: dict[tuple[int, int], int]) -> None:
        size = max(sids.values(), default=-1) + 1
        self.robot = np.full(size, -1, np.int32)
        self.channel = np.full(size, -1, np.int32)
        for (r, c), sid in sids.items():
            self.robot[sid] = r
            self.channel[sid] = c
        self.sids = set(sids.values())


def split_welds(batch: Batch, lut: Lookup) -> list[WeldData]:
    """The welds in a batch, in time order per robot (rows of other signals ignored)."""
    sig = batch.signal
    ok = sig < len(lut.robot)
    if not ok.all():
        batch = batch.take(ok)
        sig = batch.signal
    rob = lut.robot[sig]
    keep = rob >= 0
    if not keep.all():
        batch = batch.take(keep)
        rob = rob[keep]
    if not len(batch):
        return []
    ch = lut.channel[batch.signal]
    order = np.lexsort((ch, batch.ts, rob))  # spot_no (channel 0) first at a weld's start
    rob, ch, ts, val = rob[order], ch[order], batch.ts[order], batch.value[order]
    starts = np.flatnonzero(ch == SPOT)
    out: list[WeldData] = []
    # robot boundaries: a weld's rows end at the next weld of the robot or the robot's end
    robot_end = np.r_[np.flatnonzero(np.diff(rob)) + 1, len(rob)]
    for k, s in enumerate(starts):
        r = int(rob[s])
        nxt = starts[k + 1] if k + 1 < len(starts) and rob[starts[k + 1]] == r else None
        end = int(nxt) if nxt is not None else int(robot_end[np.searchsorted(robot_end, s, side="right")])
        t0 = int(ts[s])
        seg_ch, seg_ts, seg_val = ch[s:end], ts[s:end], val[s:end]
        w = WeldData(r, t0, {})
        at0 = seg_ts == t0
        for c in np.flatnonzero(at0):
            cc = int(seg_ch[c])
            if cc < N_SUMMARY:
                w.summary[SUMMARY[cc]] = float(seg_val[c])
        for j, name in enumerate(CURVES):
            m = seg_ch == N_SUMMARY + j
            if m.any():
                w.curves[name] = seg_val[m]
                if j == 0:
                    w.curve_ts = (seg_ts[m] - t0) / 1e9
        out.append(w)
    return out


def _longest_top_run(x: F64) -> int:
    v = np.isfinite(x)
    if v.sum() < SATURATION_RUN:
        return 0
    top = float(np.max(x[v]))
    at = v & (x >= top - 1e-9 * max(abs(top), 1.0))
    if not at.any():
        return 0
    # lengths of runs of True
    d = np.diff(np.r_[0, at.astype(np.int8), 0])
    runs = np.flatnonzero(d == -1) - np.flatnonzero(d == 1)
    best = int(runs.max())
    return best if best >= SATURATION_RUN else 0


def check_weld(w: WeldData, spots_per_robot: int, rate_hz: float = 1000.0) -> list[Issue]:
    """The checks of :func:`ironfield.apps.welding.records.check_record`, on arrays."""
    issues: list[Issue] = []
    s = w.summary
    spot = s.get("spot_no", math.nan)
    if not math.isfinite(spot) or spot != int(spot) or not 1 <= spot <= spots_per_robot:
        issues.append(Issue("unknown_spot", "reject",
                            f"spot {spot:g} is not one of this robot's spots 1..{spots_per_robot}"))
    dur = s.get("weld_time_ms", math.nan)
    if not math.isfinite(dur) or dur <= 0:
        issues.append(Issue("invalid", "reject", "weld_time_ms missing or not positive"))
        return issues
    if not w.has_curves:
        return issues
    i = w.curves.get("curve_current_ka", np.empty(0))
    u = w.curves.get("curve_voltage_v", np.empty(0))
    if len(i) != len(u):
        issues.append(Issue("missing_samples", "reject",
                            f"current has {len(i)} samples, voltage {len(u)}: channels must be equally long"))
        return issues
    expected = round(dur / 1000 * rate_hz)
    if len(i) < expected - max(2, int(0.02 * expected)):
        issues.append(Issue("missing_samples", "reject",
                            f"{len(i)} samples for {dur:.0f} ms at {rate_hz:g} Hz (expected {expected})"))
    lost = int(np.count_nonzero(~np.isfinite(i) | ~np.isfinite(u)))
    if lost:
        share = lost / max(len(i), 1)
        sev: Severity = "reject" if share > MISSING_REJECT_SHARE else "flag"
        issues.append(Issue("missing_samples", sev, f"{lost} of {len(i)} samples lost ({share:.1%})"))
    fi, fu = i[np.isfinite(i)], u[np.isfinite(u)]
    if len(fi) and float(np.median(np.abs(fi))) > 100.0:
        issues.append(Issue("wrong_unit", "reject",
                            f"current median {float(np.median(fi)):.0f}: looks like A, expected kA"))
    if len(fu) and float(np.median(np.abs(fu))) > 50.0:
        issues.append(Issue("wrong_unit", "reject",
                            f"voltage median {float(np.median(fu)):.0f}: looks like mV, expected V"))
    for name, x, unit in (("current", i, "kA"), ("voltage", u, "V")):
        run = _longest_top_run(x)
        if run:
            issues.append(Issue("saturated", "flag",
                                f"{name} sensor sat at {float(np.nanmax(x)):g} {unit} for {run} consecutive samples"))
    return issues


def analyse(w: WeldData) -> TimerResult | None:
    """Alpha, beta, heat after the peak and expulsion of the weld's curve (None: no curve)."""
    i = w.curves.get("curve_current_ka")
    u = w.curves.get("curve_voltage_v")
    if i is None or u is None or w.curve_ts is None or len(i) != len(u) or len(i) < 5:
        return None
    return analyse_curve((w.curve_ts, i, u))


def displacement_drop_mm(w: WeldData, window: int = 3) -> float:
    """Largest fall of the electrode displacement within ``window`` samples [mm]: the
    electrodes sink when liquid metal is expelled (Gedeon et al. 1987)."""
    d = w.curves.get("curve_displacement_mm")
    if d is None or len(d) <= window:
        return 0.0
    v = d[np.isfinite(d)]
    if len(v) <= window:
        return 0.0
    return float(max(0.0, np.max(v[:-window] - v[window:])))
