"""A lumped electro-thermal model of resistance spot welding (RSW), closed-loop.

What it is for: exercising weld controllers (the adaptive timer, a fixed timer), the
electrode-care and quality code, and the shop demo, on welds whose true nugget size is
known. It is a *lumped* model, not a finite-element one: it reproduces the published
trends and ranges well enough to rank control strategies, and every claim made with it is
a claim about this model, not about a real shop.

The model (one weld, two sheets of low-carbon steel, MFDC constant-current supply)
-------------------------------------------------------------------------------------
State: the enthalpy ``H`` [J] of the weld zone (a cylinder of the electrode contact
diameter ``dc`` through the stack), the relative electrode indentation ``ind`` and an
expulsion flag.

* Resistance between the tips ``R_w = R_bulk + R_contact`` [µΩ]:

  - ``R_bulk = k_sp · ρ(T) · L(1 − ind) / (π dc²/4)``, with the resistivity of low-carbon
    steel rising from 0.14 µΩ·m at 20 °C to about 1.3 µΩ·m above 1000 °C (the Curie
    region flattens it) [4], ``k_sp`` a spreading factor;
  - ``R_contact = R_hot + R_c0 · exp(−(T − 20)/T_c)``: the cold contact resistance of
    the three interfaces breaks down as the asperities soften. ``R_c0`` falls with force
    (``∝ F^-0.7``), rises with a sheet gap, and is much lower on zinc-coated sheet.

  The contact diameter grows as the steel softens and, on galvanised sheet, as the zinc
  melts (420 °C) and is squeezed out into a conducting ring: that lowers the current
  density, which is why galvanised steel needs more current and time [3].

* Shunting: a neighbouring weld at pitch ``s`` offers a parallel path through both sheets,
  ``R_sh = k_sh · 2 · ρ_sh/(π t) · ln(s/a)`` (the 2-D resistance between two discs of
  radius ``a`` at distance ``s ≫ a`` in a sheet of thickness ``t``, one term per sheet;
  ``k_sh = 3`` lumps the neighbour's contact and the sheets' curvature, chosen so that a
  neighbour at 30 mm costs the weld 10-25 % of its current, not all of its nugget). The supply regulates the *total* secondary current; only the part
  through ``R_w`` heats the weld.

* Heat: ``dH/dt = I_w² R_w − G (T − T_w)(1 + β (d/dc)²)``. Below the melting point
  ``T = 20 + H/C``; above it the surplus enthalpy is the molten nugget,
  ``V = (H − C (T_m − 20)) / h_v``, a lens of height ``0.7 L`` and diameter ``d``. The loss
  to the water-cooled electrodes grows with the nugget's area, so the nugget saturates at
  a size that grows with current (the weldability lobe).

* Indentation grows with pressure, softening and the molten fraction; it shortens the
  current path, which together with contact growth makes the resistance fall after
  melting starts: the beta peak of the dynamic-resistance curve [1, 2].

* Expulsion: when the nugget outgrows the contact that contains it,
  ``d > k_exp · dc · (1 − 0.2 gap/t)`` (scattered ±3 % per weld), liquid is ejected: 30 %
  of the molten volume is lost and the electrodes sink, giving the sharp drop in
  resistance controllers look for [1].

* Electrodes: the face diameter grows with wear (``ElectrodeState``), faster on
  galvanised sheet (zinc alloys with the copper), and is restored by tip dressing.

* Sensors: current ±0.4 %, voltage ±0.8 % plus 5 mV white noise, sampled at ``rate_hz``.

Calibration targets (BS EN ISO 14373 ranges): 0.8-2.0 mm low-carbon steel, 6-15 kA,
7-22 cycles at 50 Hz (140-440 ms), 1.4-5.2 kN; a nugget of 4√t-5√t mm at the nominal
schedule, expulsion 1-3 kA above it, galvanised sheet needing roughly 1-2 kA more. The
tests in ``tests/apps/welding`` check these trends.

Closed loop, and why it can be precomputed
------------------------------------------
The controller is asked after every sample whether to stop. The supply holds the current
constant until then, so the trajectory up to the stop does not depend on *when* the stop
comes: :func:`simulate_batch` integrates every weld of a batch to its maximum time at
once (numpy, vectorised across welds), then streams each weld's samples to its controller
and reads the nugget, energy and expulsion state at the sample where the controller said
stop. This is exact for stop-only controllers (the public timer API); a controller that
modulated the current would need the step-by-step variant, which this module does not
offer.

References
----------
[1] D. W. Dickinson, J. E. Franklin, A. Stanya, "Characterization of spot welding
    behavior by dynamic electrical parameter monitoring", Welding Journal 59(6),
    170s-176s, 1980.
[2] S. A. Gedeon, C. D. Sorensen, K. T. Ulrich, T. W. Eagar, "Measurement of dynamic
    electrical and mechanical properties of resistance spot welds", Welding Journal
    66(12), 378s-385s, 1987.
[3] BS EN ISO 14373, Resistance welding - Procedure for spot welding of uncoated and
    coated low carbon steels.
[4] British Iron and Steel Research Association, "Physical constants of some commercial
    steels at elevated temperatures", Butterworths, 1953 (resistivity, heat capacity and
    density of low-carbon steel; the lumped model uses round values).

The remaining constants in :class:`Physics` (heat-capacity and loss factors, melt
enthalpy per mm³, indentation rate, expulsion ratio) are calibration parameters fitted
to the ranges above, not measured values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ironfield.apps.welding.model import StackUp

F64 = npt.NDArray[np.float64]

T_AMBIENT_C = 20.0
T_WATER_C = 25.0
T_MELT_C = 1500.0
DENSITY_G_MM3 = 7.85e-3
HEAT_CAPACITY_J_GK = 0.68


class Controller(Protocol):
    """Anything a weld controller must offer the simulator: one call per sample."""

    def step(self, t_s: float, current_ka: float, voltage_v: float) -> bool: ...


class FixedTimer:
    """The conventional weld timer: constant current for a fixed time."""

    __slots__ = ("weld_time_s",)

    def __init__(self, weld_time_s: float) -> None:
        self.weld_time_s = weld_time_s - 1e-9

    def step(self, t_s: float, current_ka: float, voltage_v: float) -> bool:
        return t_s >= self.weld_time_s


@dataclass(frozen=True, slots=True)
class Physics:
    """Calibration constants of the lumped model (see the module docstring)."""

    k_spread: float = 1.25  # bulk-resistance spreading factor [-]
    r_contact_uncoated_uohm: float = 110.0  # cold R_c0 at 2.5 kN, three interfaces
    r_contact_galv_uohm: float = 28.0
    r_contact_hot_uohm: float = 6.0
    t_contact_c: float = 130.0  # breakdown temperature scale
    heat_capacity_factor: float = 1.4  # heated mass / contact cylinder mass
    loss_w_mm2k: float = 0.07  # electrode cooling per contact area
    nugget_loss_beta: float = 2.2  # loss growth with (d/dc)^2
    h_melt_j_mm3: float = 7.0  # enthalpy to grow the nugget by 1 mm^3 (latent + HAZ)
    indent_rate: float = 1.1  # relative indentation per s at 100 MPa, fully soft
    indent_max: float = 0.18  # indentation saturates at this share of the stack
    soft_growth: float = 0.05  # contact diameter growth when fully soft
    zinc_growth: float = 0.16  # contact diameter growth from the zinc ring (nominal coat)
    k_expulsion: float = 1.0  # nugget/contact diameter ratio at expulsion
    expulsion_scatter: float = 0.03
    gap_containment: float = 0.2  # containment lost per (gap / governing thickness)
    gap_force_kn_per_mm: float = 0.6  # force spent closing a gap, per mm, per mm^3 of t
    shunt_factor: float = 3.0
    shunt_resistivity_uohm_m: float = 0.2
    sigma_current: float = 0.004
    sigma_voltage: float = 0.008
    sigma_voltage_v: float = 0.005


DEFAULT_PHYSICS = Physics()


@dataclass(frozen=True, slots=True)
class WeldConditions:
    """Everything the physics of one weld depends on.

    ``electrode_face_mm`` is the current face diameter (it grows with wear);
    ``shunt_pitch_mm`` the distance to an existing neighbouring weld (None: no shunt);
    ``coating_factor`` the zinc coating weight relative to nominal (galvanised only);
    ``contact_factor`` scales the cold contact resistance (surface condition, oil, scale).
    """

    stackup: StackUp
    current_ka: float
    force_kn: float
    electrode_face_mm: float
    gap_mm: float = 0.0
    shunt_pitch_mm: float | None = None
    coating_factor: float = 1.0
    contact_factor: float = 1.0
    resistivity_factor: float = 1.0
    upslope_s: float = 0.002
    seed: int = 0


@dataclass(frozen=True, slots=True)
class WeldOutcome:
    """What a simulated weld turned out to be (the truth a QA lab would find)."""

    duration_s: float
    nugget_mm: float
    expelled: bool
    t_expulsion_s: float | None
    energy_j: float  # electrical energy at the tips, from the measured U and I
    weld_heat_j: float  # heat delivered into the weld zone (excludes the shunt)
    samples: int
    d_min_mm: float
    t_s: F64 = field(repr=False)
    current_ka: F64 = field(repr=False)
    voltage_v: F64 = field(repr=False)
    force_kn: F64 = field(repr=False)
    displacement_mm: F64 = field(repr=False)

    @property
    def undersized(self) -> bool:
        return self.nugget_mm < self.d_min_mm

    @property
    def ok(self) -> bool:
        """Good weld: nugget at least 4·√t and no expulsion."""
        return not self.undersized and not self.expelled

    @property
    def resistance_uohm(self) -> F64:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = 1000.0 * self.voltage_v / self.current_ka
        return np.where(self.current_ka > 0.5, r, np.nan)


@dataclass(frozen=True, slots=True)
class Trajectories:
    """Every weld of a batch integrated to its maximum time; rows are welds."""

    dt_s: float
    t_s: F64  # (n,)
    current_ka: F64  # (N, n) measured
    voltage_v: F64  # (N, n) measured
    nugget_mm: F64  # (N, n) true nugget diameter at the end of each sample
    weld_power_w: F64  # (N, n) true power into the weld zone
    force_kn: F64  # (N, n)
    displacement_mm: F64  # (N, n)
    expulsion_index: npt.NDArray[np.int64]  # (N,) first sample with expulsion, or n
    d_min_mm: F64  # (N,)

    def outcome(self, row: int, stop_index: int) -> WeldOutcome:
        """The weld in ``row`` as it is when the current stops after ``stop_index``."""
        s = min(stop_index, len(self.t_s) - 1)
        sl = slice(0, s + 1)
        i = self.current_ka[row, sl]
        u = self.voltage_v[row, sl]
        ex = int(self.expulsion_index[row])
        expelled = ex <= s
        return WeldOutcome(
            duration_s=float(self.t_s[s]),
            nugget_mm=float(self.nugget_mm[row, s]),
            expelled=expelled,
            t_expulsion_s=float(self.t_s[ex]) if expelled else None,
            energy_j=float(np.sum(u * i) * 1000.0 * self.dt_s),
            weld_heat_j=float(np.sum(self.weld_power_w[row, sl]) * self.dt_s),
            samples=s + 1,
            d_min_mm=float(self.d_min_mm[row]),
            t_s=self.t_s[sl].copy(),
            current_ka=i.copy(),
            voltage_v=u.copy(),
            force_kn=self.force_kn[row, sl].copy(),
            displacement_mm=self.displacement_mm[row, sl].copy(),
        )


def _col(values: Sequence[float]) -> F64:
    return np.asarray(values, dtype=np.float64)


def integrate(
    conditions: Sequence[WeldConditions],
    t_max_s: float,
    *,
    rate_hz: float = 1000.0,
    physics: Physics = DEFAULT_PHYSICS,
) -> Trajectories:
    """Integrate every weld in ``conditions`` for ``t_max_s`` with constant current.

    Vectorised across welds: the cost is about ``n_samples`` numpy steps whatever the
    batch size, so a few thousand welds take well under a second.
    """
    p = physics
    n_w = len(conditions)
    dt = 1.0 / rate_hz
    n = max(1, math.ceil(t_max_s * rate_hz - 1e-9))
    c = conditions
    t1 = _col([w.stackup.t1_mm for w in c])
    t2 = _col([w.stackup.t2_mm for w in c])
    thick = t1 + t2
    t_gov = np.minimum(t1, t2)
    galv = _col([1.0 if w.stackup.galvanised else 0.0 for w in c])
    coat = _col([w.coating_factor for w in c]) * galv
    i_set = _col([w.current_ka for w in c])
    force = _col([w.force_kn for w in c])
    de = _col([w.electrode_face_mm for w in c])
    gap = _col([w.gap_mm for w in c])
    upslope = np.maximum(_col([w.upslope_s for w in c]), 1e-6)
    rho_f = _col([w.resistivity_factor for w in c])

    # Force spent closing a gap (sheet bending stiffness ~ t^3); what is left presses the
    # faying surfaces, shrinks the contact and raises the cold contact resistance.
    f_gap = np.minimum(0.6 * force, p.gap_force_kn_per_mm * gap * t_gov**3)
    f_eff = force - f_gap
    gap_shrink = (f_eff / force) ** 0.25
    rc_ref = np.where(galv > 0, p.r_contact_galv_uohm, p.r_contact_uncoated_uohm)
    rc0 = (
        rc_ref
        * _col([w.contact_factor for w in c])
        * (2.5 / f_eff) ** 0.7
        * (1.0 + 1.5 * gap / thick)
    )
    a_face = math.pi / 4.0 * de**2
    pressure_mpa = force * 1000.0 / a_face
    heat_cap = p.heat_capacity_factor * DENSITY_G_MM3 * HEAT_CAPACITY_J_GK * a_face * thick
    loss_g = p.loss_w_mm2k * a_face
    h_melt0 = heat_cap * (T_MELT_C - T_AMBIENT_C)

    g_shunt = np.zeros(n_w)
    for k, w in enumerate(c):
        if w.shunt_pitch_mm is not None:
            a = w.electrode_face_mm / 2.0
            ratio = max(w.shunt_pitch_mm / a, 1.5)
            per_sheet = (
                1000.0 * p.shunt_resistivity_uohm_m / (math.pi * min(w.stackup.t1_mm,
                                                                     w.stackup.t2_mm))
            )
            g_shunt[k] = 1.0 / (p.shunt_factor * 2.0 * per_sheet * math.log(ratio))

    rngs = [np.random.default_rng(w.seed) for w in c]
    noise = np.stack([r.standard_normal((3, n)) for r in rngs], axis=1)  # (3, N, n)
    exp_thr = p.k_expulsion * (
        1.0 + p.expulsion_scatter * _col([float(r.standard_normal()) for r in rngs])
    )
    # Containment by the corona bond: weaker with a gap, a little stronger with pressure.
    contain = exp_thr * (1.0 - p.gap_containment * gap / t_gov) * (pressure_mpa / 90.0) ** 0.1

    t_axis = ((np.arange(n) + 1) * dt).astype(np.float64)
    out_i = np.empty((n_w, n))
    out_u = np.empty((n_w, n))
    out_d = np.empty((n_w, n))
    out_p = np.empty((n_w, n))
    out_disp = np.empty((n_w, n))
    ex_index = np.full(n_w, n, dtype=np.int64)

    h = np.zeros(n_w)
    ind = np.zeros(n_w)
    expelled = np.zeros(n_w, dtype=bool)
    lost = np.zeros(n_w)  # molten volume ejected, mm^3
    for k in range(n):
        ramp = np.minimum(1.0, t_axis[k] / upslope)
        current = i_set * ramp
        temp = np.minimum(T_MELT_C, T_AMBIENT_C + h / heat_cap)
        soft = np.clip((temp - 700.0) / 800.0, 0.0, 1.0)
        zinc = coat * np.clip((temp - 420.0) / 300.0, 0.0, 1.0)
        dc = de * gap_shrink * (1.0 + p.soft_growth * soft + p.zinc_growth * zinc)
        area = math.pi / 4.0 * dc**2
        l_eff = thick * (1.0 - ind)
        rho = rho_f * (0.14 + 1.16 * np.minimum(1.0, (temp / 1000.0) ** 1.4))
        r_bulk = 1000.0 * p.k_spread * rho * l_eff / area
        r_cont = p.r_contact_hot_uohm + rc0 * np.exp(-(temp - T_AMBIENT_C) / p.t_contact_c)
        r_w = r_bulk + r_cont
        r_tot = 1.0 / (1.0 / r_w + g_shunt)
        u = current * r_tot / 1000.0  # kA * µΩ = mV
        i_w = 1000.0 * u / r_w
        p_w = i_w * i_w * r_w  # kA^2 * µΩ = W

        e_melt = np.maximum(0.0, h - h_melt0)
        vol = np.maximum(0.0, e_melt / p.h_melt_j_mm3 - lost)
        h_n = 0.7 * l_eff
        d = np.sqrt(6.0 * vol / (math.pi * h_n))
        frac = (d / dc) ** 2
        loss = loss_g * (temp - T_WATER_C) * (1.0 + p.nugget_loss_beta * frac)
        h = np.maximum(0.0, h + (p_w - loss) * dt)
        ind = ind + p.indent_rate * (pressure_mpa / 100.0) * (soft**2 + 1.5 * frac) * (
            np.maximum(0.0, 1.0 - ind / p.indent_max)
        ) * dt
        burst = ~expelled & (d > contain * dc)
        if burst.any():
            expelled |= burst
            ex_index[burst] = k
            lost = np.where(burst, lost + 0.3 * vol, lost)
            ind = np.where(burst, ind + 0.10, ind)
            d = np.where(burst, d * math.sqrt(0.7), d)
            contain = np.where(burst, contain * 1.08, contain)

        out_i[:, k] = current
        out_u[:, k] = u
        out_d[:, k] = d
        out_p[:, k] = p_w
        out_disp[:, k] = (
            2.4e-5 * (temp - T_AMBIENT_C) * thick + 0.03 * frac * thick - ind * thick
        )

    meas_i = out_i * (1.0 + p.sigma_current * noise[0])
    meas_u = out_u * (1.0 + p.sigma_voltage * noise[1]) + p.sigma_voltage_v * noise[2]
    disp = out_disp + 0.002 * noise[2]
    force_curve = force[:, None] * (1.0 + 0.3 * np.maximum(out_disp, 0.0)) + 0.02 * noise[0]
    return Trajectories(
        dt_s=dt,
        t_s=t_axis,
        current_ka=meas_i,
        voltage_v=meas_u,
        nugget_mm=out_d,
        weld_power_w=out_p,
        force_kn=force_curve,
        displacement_mm=disp,
        expulsion_index=ex_index,
        d_min_mm=4.0 * np.sqrt(t_gov),
    )


def run_controller(traj: Trajectories, row: int, controller: Controller) -> int:
    """Stream one weld's samples to ``controller``; the index of the sample it stopped at.

    A controller that never says stop is stopped at the last sample (the maximum time).
    """
    step = controller.step
    ts = traj.t_s.tolist()
    i_row = traj.current_ka[row].tolist()
    u_row = traj.voltage_v[row].tolist()
    for k, (t, i, u) in enumerate(zip(ts, i_row, u_row, strict=True)):
        if step(t, i, u):
            return k
    return len(ts) - 1


def simulate_batch(
    conditions: Sequence[WeldConditions],
    controllers: Sequence[Controller],
    t_max_s: float,
    *,
    rate_hz: float = 1000.0,
    physics: Physics = DEFAULT_PHYSICS,
) -> list[WeldOutcome]:
    """Weld every ``conditions[k]`` under ``controllers[k]``, closed-loop, up to ``t_max_s``."""
    if len(conditions) != len(controllers):
        raise ValueError(
            f"{len(conditions)} welds but {len(controllers)} controllers: one each"
        )
    if not conditions:
        return []
    traj = integrate(conditions, t_max_s, rate_hz=rate_hz, physics=physics)
    return [
        traj.outcome(k, run_controller(traj, k, ctl)) for k, ctl in enumerate(controllers)
    ]


def simulate(
    conditions: WeldConditions,
    controller: Controller,
    t_max_s: float,
    *,
    rate_hz: float = 1000.0,
    physics: Physics = DEFAULT_PHYSICS,
) -> WeldOutcome:
    """One weld, closed-loop (a batch of one)."""
    return simulate_batch([conditions], [controller], t_max_s, rate_hz=rate_hz,
                          physics=physics)[0]



def scattered(
    base: WeldConditions, n: int, *, seed: int = 0, contact_sigma: float = 0.2
) -> list[WeldConditions]:
    """``n`` welds like ``base`` with lognormal scatter of the contact condition (surface
    state, oil, scale: σ = 0.2 in log terms) and a sensor-noise seed each."""
    rng = np.random.default_rng(seed)
    return [
        replace(base, contact_factor=base.contact_factor * float(rng.lognormal(0.0, contact_sigma)),
                seed=seed * 1000 + k)
        for k in range(n)
    ]
