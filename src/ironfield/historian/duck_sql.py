"""DuckDB DDL and statements of :mod:`ironfield.historian.duckdb`."""

from __future__ import annotations

import numpy as np

from ironfield.historian import sql
from ironfield.historian.rollup import WIDTHS

DDL = """
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY, path VARCHAR NOT NULL UNIQUE, unit VARCHAR, type VARCHAR,
    low DOUBLE, high DOUBLE, description VARCHAR, class VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS raw (
    signal_id INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE, quality UTINYINT NOT NULL,
    seq BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS latest (
    signal_id INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE, quality UTINYINT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, asset VARCHAR NOT NULL, ts BIGINT NOT NULL,
    payload VARCHAR NOT NULL);
CREATE SEQUENCE IF NOT EXISTS dead_letter_id;
CREATE TABLE IF NOT EXISTS dead_letters (
    id BIGINT DEFAULT nextval('dead_letter_id'), source VARCHAR NOT NULL,
    received_ts BIGINT NOT NULL, payload BLOB, reason VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR NOT NULL, value BIGINT);
"""
ROLLUP_DDL = """
CREATE TABLE IF NOT EXISTS {t} (
    signal_id INTEGER NOT NULL, bucket BIGINT NOT NULL, vmin DOUBLE, vmax DOUBLE,
    vsum DOUBLE, n BIGINT, first_ts BIGINT, first_v DOUBLE, last_ts BIGINT, last_v DOUBLE);
"""


def rebuild_sql(table: str, width: int) -> str:
    return f"""
INSERT INTO {table} SELECT signal_id, {sql.floor_expr("ts", width)} AS bucket, min(value),
  max(value), sum(value), count(*), min(ts), arg_min(value, ts), max(ts), arg_max(value, ts)
FROM raw WHERE seq > ? AND {sql.NOT_NAN} GROUP BY ALL"""

NO_DIRTY = np.iinfo(np.int64).max
META_KEYS = ("rolled_seq", *(f"dirty_{t}" for t in WIDTHS))
