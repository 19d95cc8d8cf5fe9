"""PV plant model: expected AC power from measured irradiance and temperature.

Built on pvlib's :class:`~pvlib.modelchain.ModelChain` [1]_. Each configured array is
modelled as one inverter with its share of the strings; identical inverters multiply the
result. With measured plane-of-array irradiance the chain runs from effective irradiance
(the sensor already sees the angle of incidence the module sees, to first order), and the
cell temperature comes from the measured back-of-module temperature through the SAPM
conduction offset [2]_, or from air temperature and wind with the SAPM thermal model [2]_.

.. [1] Holmgren, Hansen & Mikofski 2018, "pvlib python: a python package for modeling
   solar energy systems", J. Open Source Software 3(29):884.
.. [2] King, Boyson & Kratochvil 2004, "Photovoltaic Array Performance Model",
   SAND2004-3535, eqs. 11-12.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pvlib
from pvlib.location import Location
from pvlib.modelchain import ModelChain
from pvlib.pvsystem import Array, FixedMount, PVSystem
from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

from ironfield.apps.energy.checks import EnergyInputError, FloatArray, NsArray, to_index
from ironfield.apps.energy.config import (
    ArrayConfig,
    CecInverter,
    CecModule,
    PvwattsInverter,
    PvwattsModule,
    SiteConfig,
)


def silence_pvlib_deprecations() -> None:
    """Ignore the pandas deprecation warnings pvlib raises from its own modules (pvlib still
    calls ``DatetimeIndex.dayofyear`` and friends, deprecated in pandas 3); our own code
    and every other warning still surface.

    Installed once, process-wide, when this module is imported, rather than with
    ``warnings.catch_warnings`` around each call: that context manager swaps the
    process-wide filter list and is not thread-safe, and the app calls pvlib from worker
    threads (two overlapping contexts can restore each other's filters, and a warning
    then escapes, or one of ours is swallowed). Adding the same filter again is a no-op.
    """
    for category in (FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category, module=r"pvlib\.")


silence_pvlib_deprecations()


@cache
def _cec_modules() -> pd.DataFrame:
    table: pd.DataFrame = pvlib.pvsystem.retrieve_sam("CECMod")
    return table


@cache
def _cec_inverters() -> pd.DataFrame:
    table: pd.DataFrame = pvlib.pvsystem.retrieve_sam("cecinverter")
    return table


def _lookup(table: pd.DataFrame, name: str, kind: str) -> dict[str, Any]:
    if name not in table.columns:
        close = [c for c in table.columns if name.lower()[:12] in c.lower()][:5]
        raise EnergyInputError(f"{kind} {name!r} not in pvlib's CEC library; close: {close}")
    return dict(table[name])


def location(site: SiteConfig) -> Location:
    return Location(site.latitude, site.longitude, tz="UTC", altitude=site.altitude_m,
                    name=site.name)


@dataclass(frozen=True, slots=True)
class ArrayModel:
    """A configured array as pvlib objects, plus what is needed to scale and rate it."""

    config: ArrayConfig
    site: SiteConfig
    chain: ModelChain
    inverters: int
    dc_rating_w: float
    ac_rating_w: float

    @property
    def sapm_deltat_k(self) -> float:
        return float(TEMPERATURE_MODEL_PARAMETERS["sapm"][self.config.temperature_model]["deltaT"])


def _dc_losses(fraction: float) -> Callable[[ModelChain], ModelChain]:
    def apply(mc: ModelChain) -> ModelChain:
        # CEC results are a DataFrame (i_sc, v_mp, p_mp...): only currents and power scale.
        dc = mc.results.dc
        if isinstance(dc, pd.DataFrame):
            dc = dc.copy()
            for col in ("i_sc", "i_mp", "p_mp", "i_x", "i_xx"):
                if col in dc:
                    dc[col] = dc[col] * (1.0 - fraction)
            mc.results.dc = dc
        else:
            mc.results.dc = dc * (1.0 - fraction)
        return mc
    return apply


def build_array(array: ArrayConfig, site: SiteConfig) -> ArrayModel:
    """pvlib ModelChain for one inverter's share of ``array`` [1]_."""
    if array.strings % array.inverters:
        raise EnergyInputError(
            f"array {array.name!r}: {array.strings} strings do not divide evenly over "
            f"{array.inverters} inverters")
    strings_per_inv = array.strings // array.inverters
    temp_params = TEMPERATURE_MODEL_PARAMETERS["sapm"][array.temperature_model]
    mount = FixedMount(surface_tilt=array.surface_tilt_deg,
                       surface_azimuth=array.surface_azimuth_deg)
    mod = array.module
    if isinstance(mod, CecModule):
        mp = _lookup(_cec_modules(), mod.cec_name, "module")
        module_w = float(mp["STC"])
        pv_array = Array(mount, module_parameters=mp, temperature_model_parameters=temp_params,
                         modules_per_string=array.modules_per_string, strings=strings_per_inv,
                         albedo=array.albedo, name=array.name)
        dc_model = "cec"
    else:
        assert isinstance(mod, PvwattsModule)
        module_w = mod.pdc0_w
        mp = {"pdc0": mod.pdc0_w * array.modules_per_string * strings_per_inv,
              "gamma_pdc": mod.gamma_pdc_per_k}
        pv_array = Array(mount, module_parameters=mp, temperature_model_parameters=temp_params,
                         albedo=array.albedo, name=array.name)
        dc_model = "pvwatts"
    inv = array.inverter
    if isinstance(inv, CecInverter):
        ip = _lookup(_cec_inverters(), inv.cec_name, "inverter")
        ac_w = float(ip["Paco"])
        ac_model = "sandia"
    else:
        assert isinstance(inv, PvwattsInverter)
        ac_w = inv.pac0_w
        ip = {"pdc0": inv.pac0_w / inv.eta_inv_nom, "eta_inv_nom": inv.eta_inv_nom}
        ac_model = "pvwatts"
    system = PVSystem(arrays=[pv_array], inverter_parameters=ip, name=array.name)
    chain = ModelChain(system, location(site), dc_model=dc_model, ac_model=ac_model,
                       aoi_model="no_loss", spectral_model="no_loss",
                       losses_model=_dc_losses(array.dc_loss_fraction))
    return ArrayModel(
        config=array, site=site, chain=chain, inverters=array.inverters,
        dc_rating_w=module_w * array.modules_per_string * array.strings,
        ac_rating_w=ac_w * array.inverters,
    )


def build_plant(arrays: list[ArrayConfig], site: SiteConfig) -> list[ArrayModel]:
    """Every configured array as an :class:`ArrayModel` (one ModelChain each)."""
    return [build_array(a, site) for a in arrays]


def plant_clear_sky_ac_power(models: list[ArrayModel], ts_ns: NsArray,
                             temp_air_c: float | FloatArray = 20.0) -> FloatArray:
    """Clear-sky AC power of the whole plant [W]: the sum over its arrays."""
    out = np.zeros(len(ts_ns))
    for mdl in models:
        out += clear_sky_ac_power(mdl, ts_ns, temp_air_c)
    return out


def cell_temperature(poa_wm2: FloatArray, *, module_temp_c: FloatArray | None = None,
                     temp_air_c: FloatArray | None = None, wind_ms: FloatArray | None = None,
                     model: str = "open_rack_glass_polymer") -> FloatArray:
    """Cell temperature [degC] from back-of-module or air temperature (SAPM, [2]_).

    poa_wm2 : plane-of-array irradiance [W/m2]
    module_temp_c : back-of-module temperature [degC] (preferred when measured)
    temp_air_c, wind_ms : air temperature [degC] and wind speed [m/s]
    """
    p = TEMPERATURE_MODEL_PARAMETERS["sapm"][model]
    poa = np.asarray(poa_wm2, np.float64)
    if module_temp_c is not None:
        return np.asarray(pvlib.temperature.sapm_cell_from_module(
            np.asarray(module_temp_c, np.float64), poa, p["deltaT"]), np.float64)
    if temp_air_c is None:
        raise EnergyInputError("cell temperature needs module or air temperature")
    wind = np.zeros_like(poa) if wind_ms is None else np.asarray(wind_ms, np.float64)
    return np.asarray(pvlib.temperature.sapm_cell(poa, np.asarray(temp_air_c, np.float64), wind,
                                                  p["a"], p["b"], p["deltaT"]), np.float64)


def expected_ac_power(model: ArrayModel, ts_ns: NsArray, poa_wm2: FloatArray,
                      cell_temp_c: FloatArray) -> FloatArray:
    """Expected AC power of the whole array [W] from measured POA irradiance [W/m2] and
    cell temperature [degC]. NaN in, NaN out: a gap stays a gap."""
    poa = np.asarray(poa_wm2, np.float64)
    tc = np.asarray(cell_temp_c, np.float64)
    out = np.full(poa.shape, np.nan)
    valid = np.isfinite(poa) & np.isfinite(tc)
    out[valid & (poa <= 0.0)] = 0.0  # pvlib gives -Pnt (night tare); meters read ~0
    run = valid & (poa > 0.0)
    if run.any():
        # Only finite daytime rows go to the single-diode solver, which warns on NaN.
        data = pd.DataFrame({"effective_irradiance": poa[run], "cell_temperature": tc[run]},
                            index=to_index(np.asarray(ts_ns, np.int64)[run]))
        with np.errstate(invalid="ignore", divide="ignore"):
            model.chain.run_model_from_effective_irradiance(data)
        ac = _ac_w(model.chain.results.ac) * model.inverters
        out[run] = np.clip(ac, 0.0, None)
    return out


def clear_sky_weather(site: SiteConfig, ts_ns: NsArray,
                      temp_air_c: float | FloatArray = 20.0) -> pd.DataFrame:
    """Clear-sky GHI/DNI/DHI [W/m2] at the site (Ineichen with monthly Linke turbidity,
    Ineichen & Perez 2002, Solar Energy 73(3):151-157) with air temperature and no wind."""
    idx = to_index(ts_ns)
    cs: pd.DataFrame = location(site).get_clearsky(idx, model="ineichen")
    cs["temp_air"] = temp_air_c
    cs["wind_speed"] = 1.0
    return cs


def clear_sky_ac_power(model: ArrayModel, ts_ns: NsArray,
                       temp_air_c: float | FloatArray = 20.0) -> FloatArray:
    """Expected AC power of the array under clear sky [W] (transposition with Hay-Davies
    through ModelChain, physical AOI loss, SAPM cell temperature)."""
    weather = clear_sky_weather(model.site, ts_ns, temp_air_c)
    out = np.zeros(len(weather))
    day = np.asarray(weather["ghi"] > 0.0)
    if not day.any():
        return out
    chain = ModelChain(model.chain.system, model.chain.location, dc_model=_dc_name(model),
                       ac_model=_ac_name(model), aoi_model="physical", spectral_model="no_loss",
                       losses_model=_dc_losses(model.config.dc_loss_fraction),
                       transposition_model="haydavies")
    # The single-diode solver divides 0/0 for modules in full shade at sunrise; those rows
    # come out NaN and are set to zero below.
    with np.errstate(invalid="ignore", divide="ignore"):
        chain.run_model(weather[day])
    ac = _ac_w(chain.results.ac) * model.inverters
    out[day] = np.clip(np.nan_to_num(ac, nan=0.0), 0.0, None)
    return out


def _ac_w(ac: Any) -> FloatArray:
    """AC power [W] from ModelChain results. With a single-diode (CEC) DC model and the
    PVWatts inverter, pvlib applies the inverter to every column of the DC frame; the
    column that is power is ``p_mp``."""
    if isinstance(ac, pd.DataFrame):
        ac = ac["p_mp"]
    return np.asarray(ac, np.float64)


def _dc_name(model: ArrayModel) -> str:
    return "cec" if isinstance(model.config.module, CecModule) else "pvwatts"


def _ac_name(model: ArrayModel) -> str:
    return "sandia" if isinstance(model.config.inverter, CecInverter) else "pvwatts"
