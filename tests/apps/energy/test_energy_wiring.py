"""The energy app's wiring: entry point, a bad settings section named at start-up, and the
plan's windows on chargers (McNaughton) never double-booking a charger or a truck."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.energy.energy_rig import plant_yaml
from ironfield.apps.energy.app import EnergyApp
from ironfield.apps.energy.charging import ChargingPlan
from ironfield.apps.energy.planner import windows
from ironfield.core.errors import IronfieldError
from ironfield.core.plant import parse_plant
from ironfield.core.plugins import App, SimulatedApp
from ironfield.runtime.platform import Platform
from ironfield.server.appweb import WebApp


def test_entry_point_gives_the_app(tmp_path: Path) -> None:
    p = Platform(plant=parse_plant(plant_yaml(None)), data_dir=tmp_path)  # found by entry point
    p.open()
    try:
        app = p.apps["energy"]
        assert isinstance(app, EnergyApp) and isinstance(app, App)
        assert isinstance(app, WebApp) and isinstance(app, SimulatedApp)
        assert p.registry.definition("luobei/energy/co2_location_kg_per_t").unit == "kg/t"
        assert p.registry.definition("luobei/energy/pv_expected_kw").unit == "kW"
    finally:
        assert p.historian is not None
        p.historian.close()


def test_a_bad_section_is_named(tmp_path: Path) -> None:
    yaml = plant_yaml(None).replace("      tick_s: 1\n", "      tick_s: 1\n      tick_every: 5\n")
    p = Platform(plant=parse_plant(yaml), data_dir=tmp_path)
    with pytest.raises(IronfieldError, match=r"apps\.energy\.live\.tick_every: Extra inputs are not permitted"):
        p.open()
    if p.historian is not None:
        p.historian.close()


def test_windows_share_chargers_without_overlap() -> None:
    # 3 trucks, 2 chargers of 300 kW, 15-min periods: shares 0.6 + 0.7 + 0.5 = 1.8 in the first
    charge = np.array([[180.0, 300.0], [210.0, 0.0], [150.0, 300.0]])
    n = charge.shape
    plan = ChargingPlan(trucks=["t1", "t2", "t3"], start_ns=0, period_h=0.25, charge_kw=charge,
                        hauling=np.zeros(n), soc=np.zeros((3, 3)), grid_import_kw=np.zeros(2),
                        grid_export_kw=np.zeros(2), tonnes_per_h=np.zeros(3))
    win = windows(plan, 300.0, 2)
    period = 15 * 60 * 10**9
    assert {w.charger for w in win} == {"charger-1", "charger-2"}
    for key in ("charger", "truck"):
        for k in {getattr(w, key) for w in win}:
            spans = sorted((w.start_ns, w.end_ns) for w in win if getattr(w, key) == k)
            assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    # each truck gets exactly its energy [kWh] = charge kW x period h
    for i, t in enumerate(["t1", "t2", "t3"]):
        assert sum(w.kwh for w in win if w.truck == t) == pytest.approx(charge[i].sum() * 0.25)
    # t1 runs 0..0.6 of period 1 on charger-1; t2 wraps: 0.6..1 on charger-1, 0..0.3 on charger-2
    t2 = sorted((w.charger, w.start_ns, w.end_ns) for w in win if w.truck == "t2")
    assert t2 == [("charger-1", round(0.6 * period), period), ("charger-2", 0, round(0.3 * period))]


def test_windows_carry_the_dispatchers_charger_ids() -> None:
    charge = np.array([[300.0], [300.0]])
    plan = ChargingPlan(trucks=["t1", "t2"], start_ns=0, period_h=0.25, charge_kw=charge, hauling=np.zeros((2, 1)),
                        soc=np.zeros((2, 2)), grid_import_kw=np.zeros(1), grid_export_kw=np.zeros(1),
                        tonnes_per_h=np.zeros(2))
    # one charger node with two spots, as the haulage network names it
    win = windows(plan, 300.0, 2, ["charger", "charger"])
    assert [(w.truck, w.charger, w.start_ns, w.end_ns) for w in win] == [
        ("t1", "charger", 0, 15 * 60 * 10**9), ("t2", "charger", 0, 15 * 60 * 10**9)]
