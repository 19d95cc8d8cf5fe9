"""The historian: raw data, rollups, latest values, events and dead letters.

One interface (:class:`Historian`), two backends: embedded DuckDB (default) and
PostgreSQL (server mode). Imports ``ironfield.core`` only.
"""

from __future__ import annotations

from pathlib import Path

from ironfield.core.plant import HistorianSpec
from ironfield.historian.base import AGG_SCHEMA, DeadLetter, Historian


def open_historian(spec: HistorianSpec, data_dir: Path) -> Historian:
    """Build and open the backend a plant file asks for.

    DuckDB: ``spec.path`` relative to ``data_dir`` unless absolute. PostgreSQL:
    ``spec.dsn`` and ``spec.schema_``.
    """
    h: Historian
    if spec.backend == "duckdb":
        from ironfield.historian.duckdb import DuckDBHistorian

        p = Path(spec.path)
        h = DuckDBHistorian(p if p.is_absolute() else Path(data_dir) / p)
    elif spec.backend == "postgres":
        from ironfield.historian.postgres import PostgresHistorian

        h = PostgresHistorian(spec.dsn, schema=spec.schema_)
    else:  # pragma: no cover - the plant schema only allows the two above
        raise ValueError(f"unknown historian backend {spec.backend!r}")
    h.open()
    return h


__all__ = ["AGG_SCHEMA", "DeadLetter", "Historian", "open_historian"]
