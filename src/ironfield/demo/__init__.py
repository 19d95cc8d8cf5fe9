"""The demo sites: plant files and the simulated machines that feed them."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def plant_path(name: str = "demo") -> Path:
    """Path of a shipped demo plant file (``demo``: the mine and the welding shop)."""
    return Path(str(files("ironfield.demo") / f"{name}.yaml"))
