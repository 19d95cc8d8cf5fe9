"""Shared by the survey app's platform tests: a plant with the survey app, synthetic
survey files with analytic volumes, and waiting for what the app reports."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ironfield.apps.survey import synth
from ironfield.apps.survey.app import SurveyApp
from ironfield.apps.survey.io import write_las
from ironfield.core.events import Event
from ironfield.core.plant import PlantSpec, parse_plant
from ironfield.core.signals import SignalDef
from ironfield.runtime.platform import Platform

SEED = 7
SPACING = 0.4  # [m], ~6 points/m2, as the volume accuracy tests
CONE = synth.make_site(SEED).cone  # (cx, cy, r, h) site-local [m]
DENSITY = 2.6
PILE_DENSITY = 1.8


def cone_ring(site: synth.Site) -> list[list[float]]:
    cx, cy, r, _ = site.cone
    ring = synth.circle(site.x0 + cx, site.y0 + cy, r + 3.0, 32)
    return [[float(a), float(b)] for a, b in ring]


def plant(site_id: str = "luobei", **survey: Any) -> PlantSpec:
    site = synth.make_site(SEED)
    cfg = {"cell_m": 0.5, "poll_s": 0.2, "density_t_m3": DENSITY,
           "stockpile_density_t_m3": PILE_DENSITY, "site": site_id,
           "stockpiles": [{"id": "cone", "ring": cone_ring(site), "base": "plane"}], **survey}
    doc = {
        "plant": "surveytest",
        "sites": [{"id": site_id, "areas": [{"id": "pit", "equipment": [
            {"id": "truck-01", "signals": [{"name": "payload_t", "unit": "t"}]}]}]}],
        "historian": {"backend": "duckdb", "path": "h.duckdb", "flush_interval": "50ms"},
        "apps": {"survey": cfg, "haulage": {}},
    }
    return parse_plant(yaml.safe_dump(doc))


class HaulageStandIn:
    """Declares haulage's ``tonnes_total`` so a test can write it; does nothing else (the
    real haulage app is another team's; apps meet only through signals)."""

    name = "haulage"

    def signals(self, config: Mapping[str, Any], plant: PlantSpec) -> list[SignalDef]:
        return [SignalDef(f"{plant.sites[0].id}/haulage/tonnes_total", unit="t")]

    async def run(self, ctx: Any) -> None:
        return None


def platform(data_dir: Path, pl: PlantSpec) -> Platform:
    p = Platform(plant=pl, data_dir=data_dir,
                 app_factories={"survey": SurveyApp, "haulage": HaulageStandIn})
    p.open()
    return p


def write_survey(path: Path, site: synth.Site, epoch: str, seed: int, spacing: float = SPACING,
                 mtime_ns: int | None = None) -> Path:
    """A synthetic survey written elsewhere, then (``path`` in an inbox) renamed in."""
    x, y, z, cls = synth.sample(site, epoch, spacing=spacing, noise=0.03, seed=seed)
    tmp = path.with_name("." + path.name + ".tmp.laz")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_las(tmp, x, y, z, cls)
    if mtime_ns is not None:
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
    os.replace(tmp, path)
    return path


def events(p: Platform, kind: str) -> list[Event]:
    assert p.historian is not None
    out: list[Event] = p.historian.events(0, 2**62, types=[kind])
    return out


async def wait_until(cond: Callable[[], bool], timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout} s: {what}")
        await asyncio.sleep(0.1)
