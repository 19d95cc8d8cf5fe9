"""InfluxDB line protocol, parsed strictly, with the line and column of any mistake.

``measurement[,tag=value...] field=value[,field=value...] [timestamp]``

.. [1] InfluxData, "Line protocol reference", InfluxDB v2 documentation (data types,
   escaping rules: commas, spaces and equals signs in measurement, tag and field keys;
   double quotes and backslashes in string field values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ironfield.core.errors import MalformedPayloadError

PRECISION = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_TRUE = {"t", "T", "true", "True", "TRUE"}
_FALSE = {"f", "F", "false", "False", "FALSE"}


@dataclass(frozen=True, slots=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | str]
    ts: int | None


def _split(s: str, sep: str, line: int, quoted: bool = False) -> list[str]:
    """Split on ``sep`` outside escapes (and outside double quotes when ``quoted``)."""
    out, cur, i, inq = [], [], 0, False
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur.append(s[i:i + 2])
            i += 2
            continue
        if quoted and c == '"':
            inq = not inq
        if c == sep and not inq:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    if inq:
        raise MalformedPayloadError(f"line {line}: unterminated string field value")
    out.append("".join(cur))
    return out


def _unescape(s: str) -> str:
    return s.replace("\\,", ",").replace("\\ ", " ").replace("\\=", "=").replace('\\"', '"').replace("\\\\", "\\")


def _field_value(raw: str, line: int, key: str) -> float | str:
    if not raw:
        raise MalformedPayloadError(f"line {line}: field {key!r} has no value")
    if raw[0] == '"':
        if len(raw) < 2 or raw[-1] != '"':
            raise MalformedPayloadError(f"line {line}: field {key!r}: unterminated string")
        return raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if raw in _TRUE:
        return 1.0
    if raw in _FALSE:
        return 0.0
    try:
        if raw[-1] in "iu":
            v = int(raw[:-1])
            if raw[-1] == "u" and v < 0:
                raise ValueError
            return float(v)
        v_f = float(raw)
    except ValueError:
        raise MalformedPayloadError(f"line {line}: field {key!r}: {raw!r} is not a number, boolean or string") from None
    if not math.isfinite(v_f):
        raise MalformedPayloadError(f"line {line}: field {key!r}: {raw!r} is not finite")
    return v_f


def parse(text: str) -> list[Point]:
    points: list[Point] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        parts = _split(s, " ", n, quoted=True)
        parts = [p for p in parts if p != ""]
        if len(parts) not in (2, 3):
            raise MalformedPayloadError(
                f"line {n}: expected 'measurement[,tags] fields [timestamp]', got {len(parts)} space-separated parts"
            )
        head = _split(parts[0], ",", n)
        meas = _unescape(head[0])
        if not meas:
            raise MalformedPayloadError(f"line {n}: missing measurement name")
        tags: dict[str, str] = {}
        for t in head[1:]:
            kv = _split(t, "=", n)
            if len(kv) != 2 or not kv[0] or not kv[1]:
                raise MalformedPayloadError(f"line {n}: bad tag {t!r} (expected key=value)")
            tags[_unescape(kv[0])] = _unescape(kv[1])
        fields: dict[str, float | str] = {}
        for f in _split(parts[1], ",", n, quoted=True):
            eq = _split(f, "=", n, quoted=True)
            if len(eq) < 2 or not eq[0]:
                raise MalformedPayloadError(f"line {n}: bad field {f!r} (expected key=value)")
            key = _unescape(eq[0])
            fields[key] = _field_value("=".join(eq[1:]), n, key)
        ts: int | None = None
        if len(parts) == 3:
            try:
                ts = int(parts[2])
            except ValueError:
                raise MalformedPayloadError(f"line {n}: timestamp {parts[2]!r} is not an integer") from None
        points.append(Point(meas, tags, fields, ts))
    return points
