"""Fixtures of the historian suite: every test runs on DuckDB and on PostgreSQL.

PostgreSQL is the loopback server at 127.0.0.1:5432 (database ``test``); each test gets a
fresh random schema, dropped afterwards. Without the server the PostgreSQL half skips
locally and fails under ``CI=true`` (see ``tests/services.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from historian.historian_cases import BACKENDS, Factory, factory
from ironfield.historian.base import Historian


@pytest.fixture(params=BACKENDS)
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """A maker of unopened historians sharing one store (to test reopening)."""
    yield from factory(request.param, tmp_path)


@pytest.fixture
def hist(make: Factory) -> Iterator[Historian]:
    h = make()
    h.open()
    yield h
    h.close()


@pytest.fixture
def pg_make(tmp_path: Path) -> Iterator[Factory]:
    """PostgreSQL only: several historians on one schema are several ingest workers."""
    yield from factory("postgres", tmp_path)
