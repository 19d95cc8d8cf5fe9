"""CPU the survey app costs in ``ironfield demo``: one drone flight (generate + write LAZ)
and its processing (SMRF, DEM, cut/fill, stockpile, GeoTIFF, PNG), at the demo's settings.

    .venv/bin/python bench/survey_app_cpu.py

Prints CPU seconds per flight and the share of one core at the demo's flight interval.
The baseline is the flight alone (what any drone simulation costs); the ratio says how
much the processing adds to it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from ironfield.apps.survey.config import load_config
from ironfield.apps.survey.process import process_survey
from ironfield.apps.survey.simulate import flight, make_pit

DEMO = Path(__file__).resolve().parents[1] / "src" / "ironfield" / "demo" / "demo.yaml"


def cpu() -> float:
    return time.process_time()


def main() -> None:
    cfg = load_config(yaml.safe_load(DEMO.read_text())["apps"]["survey"])
    pit = make_pit(7)
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        flights, procs = [], []
        prev = None
        for k in range(4):
            pit.mined_m3 = 400.0 * k  # about 3 min of the demo fleet's production
            c0 = cpu()
            f = flight(pit, cfg, root / "inbox", f"f{k}", seed=k)
            c1 = cpu()
            _, prev = process_survey([f], root / f"s{k}", cfg, root, prev)
            c2 = cpu()
            flights.append(c1 - c0)
            procs.append(c2 - c1)
    fl, pr = sorted(flights)[len(flights) // 2], sorted(procs)[len(procs) // 2]
    every = cfg.simulation.interval_s
    print(f"demo settings: {cfg.simulation.spacing_m} m spacing, cell {cfg.cell_m} m, one flight every {every:g} s")
    print(f"flight (baseline): {fl:.2f} CPU s; processing: {pr:.2f} CPU s; ratio {pr / fl:.1f}x")
    print(f"share of one core: {100 * (fl + pr) / every:.2f} % (median of {len(flights)} flights)")


if __name__ == "__main__":
    main()
