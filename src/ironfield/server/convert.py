"""Small translations at the HTTP edge: times, signal paths, NaN-free JSON columns."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from fastapi import HTTPException, status

from ironfield.core.signals import SignalRegistry, in_subtree
from ironfield.core.timeutil import parse_duration, parse_time

MAX_SIGNALS_PER_QUERY = 50


def bad_request(msg: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, msg)


def time_param(text: str, name: str, now: int) -> int:
    try:
        t = parse_time(text, now=now)
    except (ValueError, OverflowError) as e:
        raise bad_request(f"{name}: {e}") from None
    if not -(2**62) < t < 2**62:
        raise bad_request(f"{name}: time out of range")
    return t


def time_range(start: str, end: str, now: int) -> tuple[int, int]:
    s, e = time_param(start, "start", now), time_param(end, "end", now)
    if e <= s:
        raise bad_request(f"end ({e}) must be after start ({s})")
    return s, e


def duration_param(text: str, name: str, *, min_ns: int = 1, max_ns: int | None = None) -> int:
    try:
        d = parse_duration(text)
    except (ValueError, OverflowError) as e:
        raise bad_request(f"{name}: {e}") from None
    if d < min_ns or (max_ns is not None and d > max_ns):
        raise bad_request(f"{name}: {text!r} is out of the allowed range")
    return d


def resolve_signals(
    registry: SignalRegistry, signals: Sequence[str] | None, asset: str | None = None,
    *, limit: int = MAX_SIGNALS_PER_QUERY,
) -> list[tuple[str, int]]:
    """(path, id) for named signals plus every signal under ``asset``; 404 on unknown."""
    out: dict[str, int] = {}
    for p in signals or []:
        sid = registry.get_id(p)
        if sid is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown signal {p!r}")
        out[p] = sid
    if asset:
        found = [(p, sid) for p, sid in registry.mapping().items() if in_subtree(p, asset)]
        if not found:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no signals at or below {asset!r}")
        out.update(sorted(found))
    if not out:
        raise bad_request("name at least one signal (signal=...) or an asset (asset=...)")
    if len(out) > limit:
        raise bad_request(f"{len(out)} signals asked; at most {limit} per query")
    return list(out.items())


def floats(a: npt.NDArray[np.float64]) -> list[float | None]:
    """A float column as JSON-safe list (NaN and inf become null)."""
    vals: list[float | None] = a.tolist()
    if not bool(np.isfinite(a).all()):
        vals = [v if v is not None and math.isfinite(v) else None for v in vals]
    return vals


def opt_float(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def split_rows(signal: npt.NDArray[np.int32]) -> Iterable[tuple[int, int, int]]:
    """(signal id, start, end) of each run of equal ids in a signal-sorted column."""
    if len(signal) == 0:
        return
    cuts = np.flatnonzero(np.diff(signal)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(signal)]])
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        yield int(signal[s]), s, e
