"""Shared fixtures. This file also puts tests/ on sys.path so `import services` works."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

from services import MOSQUITTO, require_service


@pytest.fixture
def mosquitto() -> tuple[str, int]:
    """The real Mosquitto broker CI runs on 127.0.0.1:1883."""
    require_service(*MOSQUITTO, "Mosquitto")
    return MOSQUITTO


@pytest.fixture
def unique() -> str:
    """A short unique token for topic prefixes, client ids and schema names."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def free_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    yield port
