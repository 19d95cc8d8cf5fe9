"""PostgreSQL DDL and statements of :mod:`ironfield.historian.postgres` (``{s}``: schema)."""

from __future__ import annotations

import re

IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
ROLLUP_COLS = """signal_id integer NOT NULL, bucket bigint NOT NULL,
    vmin double precision, vmax double precision, vsum double precision, n bigint,
    first_ts bigint, first_v double precision, last_ts bigint, last_v double precision,
    PRIMARY KEY (signal_id, bucket)"""
# Rows of latest and the rollups are updated in place batch after batch: free room in
# each page lets PostgreSQL make those heap-only-tuple (HOT) updates, which skip the
# index. .. [1] PostgreSQL 15 documentation, 73.7 "Heap-Only Tuples (HOT)".
DDL = f"""
CREATE SCHEMA IF NOT EXISTS {{s}};
CREATE TABLE IF NOT EXISTS {{s}}.signals (
    id integer PRIMARY KEY, path text NOT NULL UNIQUE, unit text, type text,
    low double precision, high double precision, description text, class text NOT NULL);
CREATE TABLE IF NOT EXISTS {{s}}.raw (
    signal_id integer NOT NULL, ts bigint NOT NULL, value double precision,
    quality smallint NOT NULL, PRIMARY KEY (signal_id, ts)) PARTITION BY RANGE (ts);
CREATE TABLE IF NOT EXISTS {{s}}.latest (
    signal_id integer PRIMARY KEY, ts bigint NOT NULL, value double precision,
    quality smallint NOT NULL) WITH (fillfactor = 50);
CREATE TABLE IF NOT EXISTS {{s}}.rollup_1m ({ROLLUP_COLS}) WITH (fillfactor = 70);
CREATE TABLE IF NOT EXISTS {{s}}.rollup_1h ({ROLLUP_COLS}) WITH (fillfactor = 50);
CREATE TABLE IF NOT EXISTS {{s}}.events (
    id text PRIMARY KEY, type text NOT NULL, asset text NOT NULL, ts bigint NOT NULL,
    payload jsonb NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON {{s}}.events (ts);
CREATE TABLE IF NOT EXISTS {{s}}.dead_letters (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, source text NOT NULL,
    received_ts bigint NOT NULL, payload bytea, reason text NOT NULL);
"""
STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_raw (signal_id integer, ts bigint,
    value double precision, quality smallint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_rollup_1m (LIKE {s}.rollup_1m) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_rollup_1h (LIKE {s}.rollup_1h) ON COMMIT DELETE ROWS;
"""
UPSERT_ROLLUP = """
INSERT INTO {s}.{t} AS r SELECT * FROM stage_{t} ORDER BY signal_id, bucket
ON CONFLICT (signal_id, bucket) DO UPDATE SET
  vmin = LEAST(r.vmin, excluded.vmin), vmax = GREATEST(r.vmax, excluded.vmax),
  vsum = r.vsum + excluded.vsum, n = r.n + excluded.n,
  first_v = CASE WHEN excluded.first_ts < r.first_ts THEN excluded.first_v ELSE r.first_v END,
  first_ts = LEAST(r.first_ts, excluded.first_ts),
  last_v = CASE WHEN excluded.last_ts > r.last_ts THEN excluded.last_v ELSE r.last_v END,
  last_ts = GREATEST(r.last_ts, excluded.last_ts)"""
UPSERT_LATEST = """
INSERT INTO {s}.latest AS l
SELECT DISTINCT ON (signal_id) * FROM stage_raw ORDER BY signal_id, ts DESC
ON CONFLICT (signal_id) DO UPDATE SET ts = excluded.ts, value = excluded.value,
  quality = excluded.quality WHERE l.ts < excluded.ts"""


def first_last(v: str, t: str) -> tuple[str, str]:
    return f"(array_agg({v} ORDER BY {t}))[1]", f"(array_agg({v} ORDER BY {t} DESC))[1]"
