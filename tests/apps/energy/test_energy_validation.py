"""Validation on measured data shipped with pvanalytics (skipped when it is absent).

NREL RSF II, 2-6 Jan 2022: the model calibrated on two days must reproduce the next two
snow-free days within a few percent of capacity, and the snow day must be found as snow.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ironfield.apps.energy import calibrate, checks, performance, pvmodel
from ironfield.apps.energy import metrics as m
from ironfield.apps.energy.config import SiteConfig

# Only the data file is needed: locate the package without importing it (slow import).
_SPEC = importlib.util.find_spec("pvanalytics")
if _SPEC is None or _SPEC.origin is None:
    pytest.skip("pvanalytics not installed", allow_module_level=True)
RSF = Path(_SPEC.origin).parent / "data" / "nrel_RSF_II.csv"
SITE = SiteConfig(name="rsf", latitude=39.7407, longitude=-105.1686, altitude_m=1800,
                  timezone="America/Denver")


@pytest.fixture(scope="module")
def rsf() -> pd.DataFrame:
    if not RSF.exists():
        pytest.skip(f"{RSF} not present")
    df = pd.read_csv(RSF, index_col=0)
    naive = pd.DatetimeIndex(pd.to_datetime(df.index, format="%m/%d/%Y %H:%M"))
    with pytest.raises(checks.EnergyInputError, match="no zone"):
        checks.to_ns(naive)  # the file's own stamps are refused as they stand
    df.index = naive.tz_localize("Etc/GMT+7")
    return df


def test_rsf_calibrated_model_reproduces_unseen_days(rsf: pd.DataFrame) -> None:
    ts = checks.to_ns(pd.DatetimeIndex(rsf.index))
    poa = rsf["poa_irradiance__1055"].to_numpy(np.float64)
    tmod = rsf["module_temp__1056"].to_numpy(np.float64)
    p = rsf["ac_power_kw_1137"].to_numpy(np.float64) * 1000.0
    tc = pvmodel.cell_temperature(poa, module_temp_c=tmod)
    day = pd.DatetimeIndex(rsf.index).day
    cal = calibrate.calibrate_pvwatts(poa[day <= 3], tc[day <= 3], p[day <= 3])
    model = pvmodel.build_array(cal.array_config("rsf"), SITE)
    exp = pvmodel.expected_ac_power(model, ts, poa, tc)
    test = ((day == 4) | (day == 5)) & (poa > 0)
    assert m.nmae(exp[test], p[test], cal.pdc0_w) < 6.0  # measured 4.5 % (docs/bench)

    events = performance.detect_losses(ts, p, exp, cal.pac0_w, module_temp_c=tmod)
    snow = [e for e in events if e.kind == "snow"]
    assert len(snow) == 1
    start = pd.Timestamp(snow[0].start_ns, unit="ns", tz="UTC").tz_convert("Etc/GMT+7")
    assert start.day == 6
    assert snow[0].energy_lost_kwh > 300.0
    assert not any(e.kind == "inverter_trip" for e in events)
