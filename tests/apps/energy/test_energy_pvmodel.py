"""PV plant model at the Luobei site: solar geometry, clear sky, ModelChain scaling,
calibration from data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest

from ironfield.apps.energy import calibrate, pvmodel
from ironfield.apps.energy.checks import to_ns
from ironfield.apps.energy.config import ArrayConfig, SiteConfig, demo_config

SITE = SiteConfig()  # Luobei, 47.6 N 130.8 E


def _day(date: str, freq: str = "15min") -> pd.DatetimeIndex:
    return pd.date_range(date, periods=24 * 4, freq=freq, tz="Asia/Shanghai")


@pytest.mark.parametrize(("date", "noon_elevation"), [
    # solar noon elevation = 90 - latitude +/- obliquity (23.44 deg) at the solstices
    ("2026-06-21", 90 - 47.6 + 23.44),
    ("2026-12-21", 90 - 47.6 - 23.44),
])
def test_noon_elevation_at_solstices(date: str, noon_elevation: float) -> None:
    idx = pd.date_range(date, periods=24 * 60, freq="1min", tz="Asia/Shanghai")
    sp = pvmodel.location(SITE).get_solarposition(idx)
    assert float(sp["elevation"].max()) == pytest.approx(noon_elevation, abs=0.4)
    # 130.8 E lies 10.8 deg east of UTC+8's meridian: noon 43 min early, +/- equation of time
    noon = sp["elevation"].idxmax()
    assert 11 * 60 + 5 <= noon.hour * 60 + noon.minute <= 11 * 60 + 25


def test_clear_sky_irradiation_plausible() -> None:
    june = pvmodel.clear_sky_weather(SITE, to_ns(_day("2026-06-21")))
    dec = pvmodel.clear_sky_weather(SITE, to_ns(_day("2026-12-21")))
    # daily horizontal irradiation [kWh/m2]: long summer days vs a low winter sun
    assert 7.0 < june["ghi"].sum() / 4000 < 9.5
    assert 1.0 < dec["ghi"].sum() / 4000 < 2.5
    assert june["ghi"].max() < 1100 and dec["ghi"].max() < 500
    night = pd.DatetimeIndex(june.index).tz_convert("Asia/Shanghai").hour == 0
    assert (june["ghi"][night] == 0).all()


def test_clear_sky_plant_power_peaks_before_local_noon() -> None:
    m = pvmodel.build_array(demo_config().pv.arrays[0], SITE)
    idx = _day("2026-03-20")
    p = pvmodel.clear_sky_ac_power(m, to_ns(idx), temp_air_c=0.0)
    peak = idx[int(np.argmax(p))]
    assert 10 <= peak.hour <= 11
    assert p.max() <= m.ac_rating_w * 1.0001  # the inverters clip
    assert p[idx.hour < 5].max() == 0.0


def _pvwatts_array() -> ArrayConfig:
    return ArrayConfig.model_validate({
        "name": "t", "surface_tilt_deg": 40, "module": {"pdc0_w": 400, "gamma_pdc_per_k": -0.004},
        "modules_per_string": 10, "strings": 4, "inverters": 2,
        "inverter": {"pac0_w": 8000, "eta_inv_nom": 0.96}, "dc_loss_fraction": 0.03})


def _pvwatts_inverter(pdc: float, pac0: float, eta_nom: float) -> float:
    # PVWatts v5 manual (Dobos 2014) eqs. 4-5, eta_ref = 0.9637
    pdc0 = pac0 / eta_nom
    z = pdc / pdc0
    eta = eta_nom / 0.9637 * (-0.0162 * z - 0.0059 / z + 0.9858)
    return min(eta * pdc, pac0)


def test_modelchain_scaling_matches_pvwatts_by_hand() -> None:
    m = pvmodel.build_array(_pvwatts_array(), SITE)
    assert m.dc_rating_w == 400 * 10 * 4
    ts = to_ns(_day("2026-06-01")[:3])
    poa = np.array([1000.0, 500.0, 1000.0])
    tc = np.array([25.0, 25.0, 45.0])
    got = pvmodel.expected_ac_power(m, ts, poa, tc)
    for k in range(3):
        dc_per_inv = 400 * 10 * 2 * poa[k] / 1000 * (1 - 0.004 * (tc[k] - 25)) * 0.97
        want = 2 * _pvwatts_inverter(dc_per_inv, 8000, 0.96)
        assert got[k] == pytest.approx(want, rel=1e-9)


def test_expected_power_keeps_gaps_and_night() -> None:
    m = pvmodel.build_array(_pvwatts_array(), SITE)
    ts = to_ns(_day("2026-06-01")[:3])
    got = pvmodel.expected_ac_power(m, ts, np.array([np.nan, 0.0, 600.0]),
                                    np.array([20.0, 20.0, np.nan]))
    assert np.isnan(got[0]) and got[1] == 0.0 and np.isnan(got[2])


def test_cell_from_module_temperature_adds_sapm_offset() -> None:
    # SAPM: T_cell = T_module + E/1000 * deltaT (King et al. 2004, eq. 12); deltaT = 3
    # for open-rack glass/polymer
    tc = pvmodel.cell_temperature(np.array([1000.0, 500.0]), module_temp_c=np.array([40.0, 10.0]))
    assert tc.tolist() == pytest.approx([43.0, 11.5])


def test_calibration_recovers_known_plant() -> None:
    rng = np.random.default_rng(7)
    n = 600
    poa = rng.uniform(60, 1050, n)
    tc = rng.uniform(-15, 55, n)
    truth = dict(pdc0_w=250_000.0, gamma_pdc_per_k=-0.0042, pac0_w=210_000.0)
    p = calibrate.pvwatts_ac(poa, tc, **truth) * (1 + rng.normal(0, 0.01, n))
    p[:20] = 0.0  # an outage the robust loss must shrug off (p > 0 filter drops these)
    p[20:40] *= 0.4  # partial snow
    cal = calibrate.calibrate_pvwatts(poa, tc, p)
    assert cal.clipping_seen
    assert cal.pdc0_w == pytest.approx(truth["pdc0_w"], rel=0.02)
    assert cal.pac0_w == pytest.approx(truth["pac0_w"], rel=0.02)
    assert cal.gamma_pdc_per_k == pytest.approx(truth["gamma_pdc_per_k"], abs=0.0004)
    # and the calibrated plant runs through ModelChain like a datasheet one
    m = pvmodel.build_array(cal.array_config("cal"), SITE)
    ts = to_ns(_day("2026-06-01")[:2])
    got = pvmodel.expected_ac_power(m, ts, np.array([800.0, 300.0]), np.array([30.0, 10.0]))
    want = calibrate.pvwatts_ac(np.array([800.0, 300.0]), np.array([30.0, 10.0]),
                                cal.pdc0_w, cal.gamma_pdc_per_k, cal.pac0_w)
    assert got == pytest.approx(want, rel=1e-9)


def test_calibration_without_clipping_assumes_dc_ac_ratio_one() -> None:
    poa = np.linspace(100, 700, 50)
    tc = np.full(50, 20.0)
    p = calibrate.pvwatts_ac(poa, tc, 100_000.0, -0.0037, 96_000.0)
    cal = calibrate.calibrate_pvwatts(poa, tc, p)
    assert not cal.clipping_seen
    assert cal.pdc0_w == pytest.approx(100_000.0, rel=0.01)
    assert cal.pac0_w == pytest.approx(cal.pdc0_w * calibrate.ETA_INV_NOM)


def test_pvlib_cec_library_names_exist() -> None:
    arr = demo_config().pv.arrays[0]
    mods = pvlib.pvsystem.retrieve_sam("CECMod")
    assert arr.module.cec_name in mods.columns  # type: ignore[union-attr]


def test_plant_is_the_sum_of_its_arrays() -> None:
    east = _pvwatts_array().model_copy(update={"name": "east", "surface_azimuth_deg": 90.0})
    west = _pvwatts_array().model_copy(update={"name": "west", "surface_azimuth_deg": 270.0})
    models = pvmodel.build_plant([east, west], SITE)
    ts = to_ns(_day("2026-06-21"))
    total = pvmodel.plant_clear_sky_ac_power(models, ts)
    e, w = (pvmodel.clear_sky_ac_power(mm, ts) for mm in models)
    assert total == pytest.approx(e + w)
    # east peaks in the morning, west in the afternoon
    assert np.argmax(e) < np.argmax(w)
