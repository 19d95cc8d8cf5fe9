"""Time inside ironfield is int64 nanoseconds since the Unix epoch, UTC."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
NS_PER_MIN = 60 * NS_PER_S
NS_PER_H = 60 * NS_PER_MIN
NS_PER_DAY = 24 * NS_PER_H

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "ms": NS_PER_MS,
    "s": NS_PER_S,
    "m": NS_PER_MIN,
    "min": NS_PER_MIN,
    "h": NS_PER_H,
    "d": NS_PER_DAY,
    "w": 7 * NS_PER_DAY,
    "y": 365 * NS_PER_DAY,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|min|m|h|d|w|y)\s*$")


def now_ns() -> int:
    return time.time_ns()


def parse_duration(text: str | int | float) -> int:
    """A duration such as ``"250ms"``, ``"10s"``, ``"30d"`` as nanoseconds.

    A bare number is taken as seconds.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"duration must not be negative: {text!r}")
        return int(text * NS_PER_S)
    m = _DURATION.match(text)
    if not m:
        raise ValueError(
            f"not a duration: {text!r} (expected a number and a unit: ns, us, ms, s, min, h, d, w, y)"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def parse_time(text: str | int, *, now: int | None = None) -> int:
    """A point in time as ns: an int (ns), ``now``, ``now-1h``, or ISO 8601 with a zone.

    A timestamp without a zone is refused: local plant time without a zone is ambiguous
    twice a year and is the most common source of shifted data.
    """
    if isinstance(text, int):
        return text
    s = text.strip()
    ref = now_ns() if now is None else now
    if s == "now":
        return ref
    if s.startswith("now-"):
        return ref - parse_duration(s[4:])
    if s.lstrip("-").isdigit():
        return int(s)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError as e:
        raise ValueError(f"not a time: {text!r} (expected ns, 'now', 'now-1h' or ISO 8601)") from e
    if dt.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone; add 'Z' or an offset such as +08:00")
    return int(dt.timestamp()) * NS_PER_S + dt.microsecond * 1_000


def format_ns(ts: int) -> str:
    """ISO 8601 UTC with milliseconds."""
    dt = datetime.fromtimestamp(ts / NS_PER_S, tz=UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")
