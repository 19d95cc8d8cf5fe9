"""Payload decoders: JSON value, JSON object of values, columnar JSON batch.

Each decoder turns one message into rows appended to an :class:`Accumulator`, or raises
:class:`MalformedPayloadError` saying what is wrong. A message is taken whole or not at
all, so a half-understood message never leaves half its values behind.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from ironfield.core.batch import Batch
from ironfield.core.errors import MalformedPayloadError
from ironfield.core.quality import Quality

TS_FACTOR = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
GOOD = int(Quality.GOOD)

Resolver = Callable[[str], int | None]


class Accumulator:
    """Rows gathered between two hand-overs to the pipeline (filled by the network thread)."""

    __slots__ = ("batches", "q", "sid", "ts", "val")

    def __init__(self) -> None:
        self.sid: list[int] = []
        self.ts: list[int] = []
        self.val: list[float] = []
        self.q: list[int] = []
        self.batches: list[Batch] = []

    def __len__(self) -> int:
        return len(self.sid) + sum(len(b) for b in self.batches)

    def extend(self, other: Accumulator) -> None:
        self.sid.extend(other.sid)
        self.ts.extend(other.ts)
        self.val.extend(other.val)
        self.q.extend(other.q)
        self.batches.extend(other.batches)

    def to_batch(self) -> Batch:
        parts = list(self.batches)
        if self.sid:
            parts.append(
                Batch(
                    np.fromiter(self.sid, np.int32, len(self.sid)),
                    np.fromiter(self.ts, np.int64, len(self.ts)),
                    np.fromiter(self.val, np.float64, len(self.val)),
                    np.fromiter(self.q, np.uint8, len(self.q)),
                )
            )
        return Batch.concat(parts)


def _number(x: Any, where: str) -> float:
    if isinstance(x, bool):
        return 1.0 if x else 0.0
    if isinstance(x, int | float):
        return float(x)
    if x is None:
        return math.nan
    raise MalformedPayloadError(f"{where}: expected a number, got {type(x).__name__} {x!r:.40}")


def _ts(x: Any, factor: int, where: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise MalformedPayloadError(f"{where}: timestamp must be a number, got {x!r:.40}")
    t = int(x * factor) if isinstance(x, float) else x * factor
    if not 0 < t < 2**62:
        raise MalformedPayloadError(f"{where}: timestamp {x!r} is out of range")
    return t


def _quality(x: Any, where: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= 255:
        raise MalformedPayloadError(f"{where}: quality must be an integer 0-255, got {x!r:.40}")
    return x


def _json(payload: bytes) -> Any:
    # orjson parses numbers about twice as fast as the standard library, and numbers are
    # most of what a plant sends
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise MalformedPayloadError(f"not JSON: {e}") from None


def decode_value(
    payload: bytes, sid: int, recv_ns: int, ts_factor: int, acc: Accumulator
) -> None:
    """A bare JSON number, or ``{"v": x, "ts": t, "q": quality}``."""
    try:
        v = float(payload)
    except ValueError:
        pass
    else:
        if math.isfinite(v) or payload.strip().lower() in (b"nan", b"inf", b"-inf"):
            acc.sid.append(sid)
            acc.ts.append(recv_ns)
            acc.val.append(v)
            acc.q.append(GOOD)
            return
    doc = _json(payload)
    if isinstance(doc, dict):
        if "v" not in doc:
            raise MalformedPayloadError("object payload has no 'v' field")
        v = _number(doc["v"], "v")
        t = _ts(doc["ts"], ts_factor, "ts") if "ts" in doc else recv_ns
        q = _quality(doc["q"], "q") if "q" in doc else GOOD
    else:
        v, t, q = _number(doc, "payload"), recv_ns, GOOD
    acc.sid.append(sid)
    acc.ts.append(t)
    acc.val.append(v)
    acc.q.append(q)


def decode_object(
    payload: bytes,
    resolve_key: Callable[[str], int | None],
    recv_ns: int,
    ts_factor: int,
    acc: Accumulator,
) -> list[str]:
    """``{"ts": t, "q": quality, "name": value, ...}``; returns keys with no signal."""
    doc = _json(payload)
    if not isinstance(doc, dict):
        raise MalformedPayloadError(f"expected a JSON object, got {type(doc).__name__}")
    t = _ts(doc["ts"], ts_factor, "ts") if "ts" in doc else recv_ns
    q = _quality(doc["q"], "q") if "q" in doc else GOOD
    rows: list[tuple[int, float]] = []
    unknown: list[str] = []
    for k, x in doc.items():
        if k in ("ts", "q"):
            continue
        v = _number(x, k)
        sid = resolve_key(k)
        if sid is None:
            unknown.append(k)
            continue
        rows.append((sid, v))
    for sid, v in rows:
        acc.sid.append(sid)
        acc.ts.append(t)
        acc.val.append(v)
        acc.q.append(q)
    return unknown


class KeySets:
    """Signal ids for the key sets of one topic's columnar messages, remembered.

    A device sends the same keys in every message, so after the first message its keys
    resolve with one dictionary lookup instead of one per key, and the repeated signal
    column and the all-good quality column of each message shape are built once. Key sets
    with an unknown key are not remembered (the signal may be added later), and the memory
    is bounded: a topic whose keys never repeat just resolves them each time.
    """

    __slots__ = ("_seen", "resolve")
    MAX_KEY_SETS = 4096

    def __init__(self, resolve_key: Resolver) -> None:
        self.resolve = resolve_key
        self._seen: dict[tuple[str, ...], _KeySet] = {}

    def get(self, keys: tuple[str, ...]) -> _KeySet:
        ks = self._seen.get(keys)
        if ks is not None:
            return ks
        sids: list[int] = []
        rows: list[int] = []
        unknown: list[str] = []
        for i, k in enumerate(keys):
            sid = self.resolve(k)
            if sid is None:
                unknown.append(k)
            else:
                sids.append(sid)
                rows.append(i)
        ks = _KeySet(np.asarray(sids, np.int32), None if len(rows) == len(keys) else np.asarray(rows, np.intp),
                     unknown)
        if not unknown:
            if len(self._seen) >= self.MAX_KEY_SETS:
                self._seen.clear()
            self._seen[keys] = ks
        return ks


class _KeySet:
    __slots__ = ("_shapes", "rows", "sids", "unknown")

    def __init__(self, sids: npt.NDArray[np.int32], rows: npt.NDArray[np.intp] | None, unknown: list[str]) -> None:
        self.sids = sids
        self.rows = rows
        self.unknown = unknown
        self._shapes: dict[int, tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]] = {}

    def columns(self, n: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
        """The signal column of a message with ``n`` timestamps, and its all-good quality
        column; shared between batches, so read-only."""
        cols = self._shapes.get(n)
        if cols is None:
            sig = np.repeat(self.sids, n)
            good = np.full(len(sig), GOOD, np.uint8)
            sig.flags.writeable = False
            good.flags.writeable = False
            if len(self._shapes) < 64:
                self._shapes[n] = (sig, good)
            cols = (sig, good)
        return cols


def decode_columnar(
    payload: bytes,
    keys: KeySets,
    ts_factor: int,
    acc: Accumulator,
) -> list[str]:
    """``{"ts": [...], "values": {"name": [...]}, "quality": {"name": [...]}}``; returns
    keys with no signal (the message is then not taken)."""
    doc = _json(payload)
    if not isinstance(doc, dict) or "ts" not in doc or "values" not in doc:
        raise MalformedPayloadError("columnar payload needs 'ts' (array) and 'values' (object)")
    ts_raw, values, quals = doc["ts"], doc["values"], doc.get("quality") or {}
    if not isinstance(ts_raw, list) or not isinstance(values, dict) or not isinstance(quals, dict):
        raise MalformedPayloadError("'ts' must be an array, 'values' and 'quality' objects")
    n = len(ts_raw)
    try:
        ts = np.array(ts_raw)
    except (TypeError, ValueError, OverflowError):
        raise MalformedPayloadError("'ts' must hold only numbers") from None
    if n and (ts.dtype.kind not in "iuf" or ts.ndim != 1):
        raise MalformedPayloadError("'ts' must hold only numbers")
    # bounds on the Python numbers: exact, cheaper than numpy on ten values, and checked
    # before the multiplication that could overflow int64
    if n and not (min(ts_raw) * ts_factor > 0 and max(ts_raw) * ts_factor < 2**62):
        raise MalformedPayloadError("'ts' has a timestamp out of range")
    ts_ns = (ts * ts_factor).astype(np.int64)
    names = tuple(values)
    mat = _value_matrix(names, list(values.values()), n)
    ks = keys.get(names)
    if ks.unknown:
        return list(ks.unknown)
    sig, good = ks.columns(n)
    if quals:
        q = _quality_matrix(quals, names, n)
        if ks.rows is not None:
            q = q[ks.rows]
        q_col = q.reshape(-1)
    else:
        q_col = good
    if ks.rows is not None:
        mat = mat[ks.rows]
    if len(sig):
        ts_col = np.empty((len(ks.sids), n), np.int64)
        ts_col[:] = ts_ns  # every signal row gets the message's timestamps
        acc.batches.append(Batch(sig, ts_col.reshape(-1), mat.reshape(-1), q_col))
    return []


def _value_matrix(names: tuple[str, ...], cols: list[Any], n: int) -> npt.NDArray[np.float64]:
    """The values as a (signals, n) matrix; null becomes NaN. One C-level conversion for
    the whole message; only a message that fails it is checked column by column, to say
    which column is wrong."""
    try:
        mat = np.array(cols)
    except (TypeError, ValueError, OverflowError):
        mat = None
    if mat is not None and mat.shape == (len(names), n) and mat.dtype.kind in "biuf":
        return mat.astype(np.float64, copy=False)
    for k, col in zip(names, cols, strict=True):
        if not isinstance(col, list) or len(col) != n:
            raise MalformedPayloadError(
                f"values[{k!r}] must be an array of {n} numbers (one per ts), "
                f"got {len(col) if isinstance(col, list) else type(col).__name__}"
            )
        if any(not (x is None or isinstance(x, int | float)) for x in col):
            raise MalformedPayloadError(f"values[{k!r}] must hold only numbers or null")
    try:
        return np.array([[math.nan if x is None else x for x in col] for col in cols],
                        dtype=np.float64).reshape(len(names), n)
    except (TypeError, ValueError, OverflowError):
        raise MalformedPayloadError("'values' must hold only numbers or null") from None


def _quality_matrix(quals: dict[str, Any], names: tuple[str, ...], n: int) -> npt.NDArray[np.uint8]:
    q = np.full((len(names), n), GOOD, np.uint8)
    index = {k: i for i, k in enumerate(names)}
    for k, qc in quals.items():
        if k not in index:
            raise MalformedPayloadError(f"quality[{k!r}] has no matching values[{k!r}]")
        if not isinstance(qc, list) or len(qc) != n:
            raise MalformedPayloadError(f"quality[{k!r}] must be an array of {n} integers")
        try:
            qa = np.asarray(qc, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise MalformedPayloadError(f"quality[{k!r}] must be integers 0-255") from None
        if qa.min(initial=0) < 0 or qa.max(initial=0) > 255:
            raise MalformedPayloadError(f"quality[{k!r}] must be integers 0-255")
        q[index[k]] = qa.astype(np.uint8)
    return q
