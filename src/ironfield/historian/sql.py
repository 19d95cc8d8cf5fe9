"""SQL text shared by the backends (DuckDB's ``?`` markers; PostgreSQL converts them).

Bucket starts use ``x - ((x % iv) + iv) % iv`` rather than ``//``: DuckDB and PostgreSQL
both truncate integer division toward zero, so this is the portable floor for negative
timestamps too. NaN values are skipped everywhere, as in :mod:`ironfield.historian.rollup`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ironfield.core.events import Event
from ironfield.core.timeutil import NS_PER_H, NS_PER_MIN

NOT_NAN = "value <> CAST('NaN' AS DOUBLE PRECISION)"


def floor_expr(col: str, iv: int) -> str:
    return f"({col} - ((({col} % {int(iv)}) + {int(iv)}) % {int(iv)}))"


def in_list(col: str, ids: npt.NDArray[np.int32]) -> str:
    """``col IN (...)`` with the ids inlined (they are ints from numpy: nothing to quote)."""
    return f"{col} IN ({','.join(str(int(i)) for i in ids.tolist())})"


def pg(q: str) -> str:
    """DuckDB-style ``?`` markers and bare ``%`` to psycopg's ``%s`` and ``%%``."""
    return q.replace("%", "%%").replace("?", "%s")


def events_query(table: str, payload: str, start: int, end: int, types: Sequence[str] | None,
                 asset_prefix: str | None, limit: int, *, type_in: str) -> tuple[str, list[Any]]:
    """The events query of both backends (``?`` markers; :func:`pg` converts them):
    ``[start, end)`` by ts, optional types (``type_in``: the dialect's "type is one of ?"),
    an asset and everything below it in the tree; ordered by (ts, id)."""
    where = ["ts >= ?", "ts < ?"]
    params: list[Any] = [start, end]
    if types is not None:
        where.append(type_in)
        params.append(list(types))
    if asset_prefix is not None:
        p = asset_prefix.rstrip("/")
        where.append("(asset = ? OR starts_with(asset, ?))")
        params += [p, p + "/"]
    q = f"SELECT id, type, asset, ts, {payload} FROM {table} WHERE {' AND '.join(where)} ORDER BY ts, id LIMIT ?"
    return q, [*params, limit]


def rollup_for(interval_ns: int, start: int, end: int) -> str | None:
    """The coarsest rollup table that answers this query exactly, if any."""
    for table, width in (("rollup_1h", NS_PER_H), ("rollup_1m", NS_PER_MIN)):
        if interval_ns % width == 0 and start % width == 0 and end % width == 0:
            return table
    return None


def agg_from_rollup(table: str, ids: str, iv: int, first: str, last: str) -> str:
    """Merge partials in ``[?, ?)`` into buckets of ``iv`` [ns]."""
    return f"""
SELECT signal_id, b AS bucket, min(vmin) AS "min", max(vmax) AS "max",
       sum(vsum) / sum(n) AS "mean", CAST(sum(n) AS BIGINT) AS "count",
       {first} AS "first", {last} AS "last"
FROM (SELECT *, {floor_expr("bucket", iv)} AS b FROM {table}
      WHERE {ids} AND bucket >= ? AND bucket < ?) p
GROUP BY signal_id, b ORDER BY signal_id, b"""


def agg_from_raw(table: str, ids: str, iv: int, first: str, last: str) -> str:
    return f"""
SELECT signal_id, b AS bucket, min(value) AS "min", max(value) AS "max",
       sum(value) / count(*) AS "mean", count(*) AS "count",
       {first} AS "first", {last} AS "last"
FROM (SELECT signal_id, ts, value, {floor_expr("ts", iv)} AS b FROM {table}
      WHERE {ids} AND ts >= ? AND ts < ? AND {NOT_NAN}) r
GROUP BY signal_id, b ORDER BY signal_id, b"""


DUCK_ANTI_JOIN = """
SELECT o.* FROM _old o ANTI JOIN (SELECT signal_id, ts FROM raw WHERE ts >= ? AND ts <= ?) r
ON o.signal_id = r.signal_id AND o.ts = r.ts"""

LATEST_MERGED = """
SELECT signal_id, max(ts) AS ts, arg_max(value, ts) AS value, arg_max(quality, ts) AS quality
FROM {t} GROUP BY signal_id"""

PARTIALS_MERGED = """
SELECT signal_id, bucket, min(vmin) AS vmin, max(vmax) AS vmax, sum(vsum) AS vsum,
       CAST(sum(n) AS BIGINT) AS n, min(first_ts) AS first_ts,
       arg_min(first_v, first_ts) AS first_v, max(last_ts) AS last_ts,
       arg_max(last_v, last_ts) AS last_v
FROM {t} WHERE bucket >= ? GROUP BY signal_id, bucket"""

DUCK_MINMAX = f"""
WITH r AS (
  SELECT struct_pack(signal_id, ts, value, quality) AS x, ts, value, (ts - ?) // ? AS k
  FROM raw WHERE signal_id = ? AND ts >= ? AND ts < ? AND {NOT_NAN}),
g AS (SELECT arg_min(x, value) AS lo, arg_max(x, value) AS hi,
             arg_min(x, ts) AS fst, arg_max(x, ts) AS lst FROM r GROUP BY k),
u AS (SELECT lo AS x FROM g UNION SELECT hi AS x FROM g {{ends}})
SELECT struct_extract(x, 'signal_id') AS signal_id, struct_extract(x, 'ts') AS ts,
       struct_extract(x, 'value') AS value, struct_extract(x, 'quality') AS quality
FROM u ORDER BY ts"""
DUCK_M4_ENDS = "UNION SELECT fst AS x FROM g UNION SELECT lst AS x FROM g"

SIGNALS_UPSERT = """
INSERT INTO {s}signals SELECT * FROM _sig ON CONFLICT (id) DO UPDATE SET
  unit = excluded.unit, type = excluded.type, low = excluded.low, high = excluded.high,
  description = excluded.description, class = excluded.class"""
SIGNALS_INSERT = "INSERT INTO {s}signals SELECT * FROM _sig ON CONFLICT DO NOTHING"

EVENTS_INSERT = "INSERT INTO {s}events SELECT * FROM _ev ON CONFLICT DO NOTHING RETURNING id"

# (table, time column, retention field, width [ns]): a row goes once its whole span
# [t, t + width) is older than the cutoff; a raw row spans 1 ns.
RETENTION_TARGETS: tuple[tuple[str, str, str, int], ...] = (
    ("raw", "ts", "raw", 1),
    ("rollup_1m", "bucket", "rollup_1m", NS_PER_MIN),
    ("rollup_1h", "bucket", "rollup_1h", NS_PER_H),
)
RETENTION_BY_CLASS = """
DELETE FROM {s}{t} USING _cut WHERE {s}{t}.signal_id = _cut.signal_id
  AND {s}{t}.{col} + {w} <= _cut.{c}"""
RETENTION_DEFAULT = """
DELETE FROM {s}{t} WHERE {col} + {w} <= ? AND signal_id NOT IN (SELECT signal_id FROM _cut)"""


def row_to_event(r: tuple[Any, ...]) -> Event:
    i, typ, asset, ts, payload = r
    return Event(type=typ, asset=asset, ts=int(ts), payload=json.loads(payload), id=i)
