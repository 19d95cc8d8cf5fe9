"""Real services the tests talk to, and what happens when one is missing.

Locally a test whose service is not running is skipped with the reason; under CI
(``CI=true``) it fails instead, because CI's machine runs every one of them.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

POSTGRES = ("127.0.0.1", 5432)
MOSQUITTO = ("127.0.0.1", 1883)
NATS = ("127.0.0.1", 4222)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(host: str, port: int, name: str) -> None:
    """Skip (locally) or fail (CI) when ``name`` is not listening on host:port."""
    if reachable(host, port):
        return
    msg = f"{name} is not reachable at {host}:{port}"
    if in_ci():
        pytest.fail(msg + " (CI=true: service tests must run)")
    pytest.skip(msg)


def require_file(path: str, why: str) -> None:
    if os.path.exists(path):
        return
    if in_ci():
        pytest.fail(f"{path} is missing: {why}")
    pytest.skip(f"{path} is missing: {why}")


def shared_data(*parts: str) -> Path:
    """A file or folder of the shared reference data (``../shared/data`` beside the checkout).

    Searched in order: ``$IRONFIELD_SHARED_DATA``, ``<checkout>/../shared/data``, and
    ``/work/shared/data`` (where this project's machines keep it, so that a clone made
    elsewhere, e.g. a CI dry run in /tmp, still finds it). Returns the first that exists, or
    the ``../shared`` candidate when none does.
    """
    roots = [Path(p) for p in [os.environ.get("IRONFIELD_SHARED_DATA", "")] if p]
    roots += [Path(__file__).resolve().parents[1].parent / "shared" / "data", Path("/work/shared/data")]
    for root in roots:
        if root.joinpath(*parts).exists():
            return root.joinpath(*parts)
    return roots[-2].joinpath(*parts)


def require_files(paths: list[Path], name: str) -> None:
    """Skip (locally) or fail (CI) when reference files are missing."""
    missing = [str(p) for p in paths if not p.exists()]
    if not missing:
        return
    msg = f"{name} not found: {', '.join(missing)} (set IRONFIELD_SHARED_DATA)"
    if in_ci():
        pytest.fail(msg + " (CI=true: validation on reference data must run)")
    pytest.skip(msg)
