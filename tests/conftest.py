"""Shared fixtures. This file also puts tests/ on sys.path so `import services` works."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright (skipped locally without it, a failure in CI)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (CI installs the Debian chromium package)")
        pytest.skip(f"{CHROMIUM} is missing; apt-get install chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
