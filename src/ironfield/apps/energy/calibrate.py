"""Calibrate a PV model from measured data, for plants whose datasheets are unknown.

The PVWatts model [1]_ has few parameters that a period of measurements identifies:
DC rating ``pdc0`` [W], power temperature coefficient ``gamma_pdc`` [1/K] and the
inverter AC limit ``pac0`` [W] (seen as clipping). They are fitted by robust least squares
(soft-L1 loss, so snow or outage intervals weigh little) on samples with usable
irradiance; ``gamma_pdc`` carries a weak prior because a winter week spans too few cell
temperatures to pin it alone. The result is a configured array that :mod:`pvmodel` runs
through pvlib's ModelChain like any datasheet plant.

.. [1] Dobos 2014, "PVWatts Version 5 Manual", NREL/TP-6A20-62641, eqs. 1-2 (DC) and
   eqs. 4-5 (inverter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pvlib
from scipy.optimize import least_squares

from ironfield.apps.energy.checks import EnergyInputError, FloatArray
from ironfield.apps.energy.config import ArrayConfig, PvwattsInverter, PvwattsModule

ETA_INV_NOM = 0.96  # PVWatts v5 default nominal inverter efficiency [1]_
GAMMA_PRIOR = -0.0037  # [1/K], PVWatts v5 "standard" module [1]_ table 3
# Weight of the gamma prior, relative to one sample's residual per 0.001 1/K of deviation:
# strong enough to hold gamma near the prior when the data span few temperatures, weak
# enough that a year of data (hundreds of samples over 60 K) moves it.
_GAMMA_PRIOR_WEIGHT = 0.01


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted PVWatts parameters and how well they explain the calibration data."""

    pdc0_w: float
    gamma_pdc_per_k: float
    pac0_w: float
    samples: int
    clipping_seen: bool  # was pac0 fitted (True) or set to pdc0 * eta (False)
    nmae_pct: float  # on the calibration samples, normalised by pdc0 [%]

    def array_config(self, name: str, *, surface_tilt_deg: float = 30.0,
                     surface_azimuth_deg: float = 180.0) -> ArrayConfig:
        """The calibrated plant as one configured array (for :func:`pvmodel.build_array`)."""
        return ArrayConfig(
            name=name, surface_tilt_deg=surface_tilt_deg, surface_azimuth_deg=surface_azimuth_deg,
            module=PvwattsModule(pdc0_w=self.pdc0_w, gamma_pdc_per_k=self.gamma_pdc_per_k),
            modules_per_string=1, strings=1,
            inverter=PvwattsInverter(pac0_w=self.pac0_w, eta_inv_nom=ETA_INV_NOM),
            dc_loss_fraction=0.0,
        )


def pvwatts_ac(poa_wm2: FloatArray, cell_temp_c: FloatArray, pdc0_w: float,
               gamma_pdc_per_k: float, pac0_w: float) -> FloatArray:
    """PVWatts AC power [W] from effective irradiance [W/m2] and cell temperature [degC]."""
    dc = pvlib.pvsystem.pvwatts_dc(poa_wm2, cell_temp_c, pdc0_w, gamma_pdc_per_k)
    ac = pvlib.inverter.pvwatts(dc, pac0_w / ETA_INV_NOM, ETA_INV_NOM)
    return np.asarray(np.clip(ac, 0.0, None), np.float64)


def calibrate_pvwatts(poa_wm2: FloatArray, cell_temp_c: FloatArray, ac_power_w: FloatArray,
                      *, min_poa_wm2: float = 50.0, exclude: FloatArray | None = None
                      ) -> Calibration:
    """Fit ``pdc0``, ``gamma_pdc`` and ``pac0`` to measured AC power.

    poa_wm2 : measured plane-of-array irradiance [W/m2]
    cell_temp_c : cell temperature [degC] (see :func:`pvmodel.cell_temperature`)
    ac_power_w : measured AC power [W]
    min_poa_wm2 : samples below this irradiance are not used [W/m2] (low-light and
        angle-of-incidence errors dominate there)
    exclude : optional boolean mask of samples known bad (flagged, snow, outage)
    """
    g = np.asarray(poa_wm2, np.float64)
    tc = np.asarray(cell_temp_c, np.float64)
    p = np.asarray(ac_power_w, np.float64)
    use = np.isfinite(g) & np.isfinite(tc) & np.isfinite(p) & (g >= min_poa_wm2) & (p > 0)
    if exclude is not None:
        use &= ~np.asarray(exclude, bool)
    n = int(use.sum())
    if n < 8:
        raise EnergyInputError(
            f"calibration needs at least 8 daytime samples with irradiance >= {min_poa_wm2:g} "
            f"W/m2 and positive power; got {n}")
    g, tc, p = g[use], tc[use], p[use]
    pmax = float(p.max())
    # Initial DC rating from the median specific power at STC-corrected irradiance.
    pdc0_init = float(np.median(p / (g / 1000.0))) / ETA_INV_NOM
    scale = max(pmax, 1.0)

    # The inverter limit is identifiable only where the data show clipping. Fit twice:
    # (a) pac0 tied to pdc0 * eta (DC/AC ratio 1), (b) pac0 free; keep (b) only if it
    # explains the data clearly better *and* its limit actually binds on observed power.
    x0 = np.array([pdc0_init / scale, GAMMA_PRIOR * 1000.0, 1.0])

    def prior(x: FloatArray) -> FloatArray:
        return np.array([_GAMMA_PRIOR_WEIGHT * np.sqrt(n) * (x[1] - GAMMA_PRIOR * 1000.0)])


    def res_tied(x: FloatArray) -> FloatArray:
        pdc0 = x[0] * scale
        model = pvwatts_ac(g, tc, pdc0, x[1] / 1000.0, pdc0 * ETA_INV_NOM)
        return np.concatenate([(model - p) / scale, prior(x)])

    def res_free(x: FloatArray) -> FloatArray:
        model = pvwatts_ac(g, tc, x[0] * scale, x[1] / 1000.0, x[2] * scale)
        return np.concatenate([(model - p) / scale, prior(x)])

    # gamma within the range of crystalline and thin-film modules in the CEC library
    # (about -0.006 .. -0.0015 1/K); 0 would let snow-depressed cold mornings pass for
    # a plant without temperature loss.
    lo, hi = np.array([0.1, -6.0]), np.array([20.0, -1.5])
    tied = least_squares(res_tied, np.clip(x0[:2], lo + 1e-9, hi - 1e-9), bounds=(lo, hi),
                         loss="soft_l1", f_scale=0.02)
    lo3, hi3 = np.array([0.1, -6.0, 0.9]), np.array([20.0, -1.5, 20.0])
    free = least_squares(res_free, np.clip(x0, lo3 + 1e-9, hi3 - 1e-9), bounds=(lo3, hi3),
                         loss="soft_l1", f_scale=0.02)
    binds = free.x[2] * scale <= 1.02 * float(np.quantile(p, 0.99))
    clipping = bool(binds and free.cost < 0.8 * tied.cost)
    if clipping:
        pdc0, gamma, pac0 = free.x[0] * scale, free.x[1] / 1000.0, free.x[2] * scale
    else:
        pdc0, gamma = tied.x[0] * scale, tied.x[1] / 1000.0
        pac0 = pdc0 * ETA_INV_NOM
    fit = pvwatts_ac(g, tc, pdc0, gamma, pac0)
    nmae = 100.0 * float(np.mean(np.abs(fit - p))) / pdc0
    return Calibration(pdc0_w=float(pdc0), gamma_pdc_per_k=float(gamma), pac0_w=float(pac0),
                       samples=n, clipping_seen=clipping, nmae_pct=nmae)
