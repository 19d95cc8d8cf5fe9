"""Finding plug-ins through entry points, exactly as a third-party one would register."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from ironfield.core.errors import IronfieldError


def load_entry_point(group: str, name: str) -> Any:
    eps = entry_points(group=group)
    for ep in eps:
        if ep.name == name:
            return ep.load()
    known = sorted(ep.name for ep in eps)
    raise IronfieldError(f"no plug-in {name!r} in {group} (installed: {', '.join(known) or 'none'})")


def available(group: str) -> list[str]:
    return sorted(ep.name for ep in entry_points(group=group))
