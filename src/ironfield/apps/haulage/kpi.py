"""Production KPIs of a haul fleet, as plain functions over cycles and state times.

Definitions follow common mining practice: availability = (calendar - down) / calendar;
utilisation = productive / available; queue time is a truck waiting at a loader or dump,
hang time a loader waiting for a truck [1]_. Match factor after Douglas [2]_ and, for mixed
fleets, Burt & Caccetta [3]_.

.. [1] Hustrulid, Kuchta & Martin 2013, Open Pit Mine Planning and Design, 3rd ed., ch. 6.
.. [2] Douglas 1964, "Prediction of shovel-truck production: a reconciliation of computer
   and conventional estimates", Stanford University Technical Report 37.
.. [3] Burt & Caccetta 2007, "Match factor for heterogeneous truck and loader fleets",
   Int. J. Mining, Reclamation and Environment 21(4):262-270; corrigendum to its sections
   4 and 4.1 (heterogeneous loaders) in 22(1):84-85, 2008, eqs. (15)-(16).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import reduce

import numpy as np
from numpy.typing import ArrayLike

from ironfield.apps.haulage.tracking import Cycle, Phase


def tonnes_per_hour(tonnes: float, hours: float, plan_tph: float | None = None
                    ) -> tuple[float, float | None]:
    """Rate [t/h] and its ratio to plan [-] (``None`` without a plan)."""
    if hours <= 0:
        raise ValueError("hours must be positive")
    tph = tonnes / hours
    return tph, (tph / plan_tph if plan_tph else None)


def cycle_breakdown(cycles: Iterable[Cycle]) -> dict[str, float]:
    """Mean minutes per cycle spent in each phase [min]."""
    cs = list(cycles)
    if not cs:
        return {}
    out: dict[str, float] = {p.value: 0.0 for p in Phase}
    for c in cs:
        for k, v in c.durations_s.items():
            out[k] = out.get(k, 0.0) + v / 60.0
    return {k: v / len(cs) for k, v in out.items() if v > 0}


def match_factor(n_trucks: float, n_loaders: float, load_min: float, cycle_min: float) -> float:
    """Douglas match factor [2]_: MF = (N_T t_L) / (N_L t_C).

    load_min : time to load one truck [min]; cycle_min : truck cycle time excluding
    waiting [min]. MF < 1: loaders wait (over-loadered); MF > 1: trucks queue.
    """
    return n_trucks * load_min / (n_loaders * cycle_min)


def match_factor_mixed(truck_counts: ArrayLike, truck_cycle_min: ArrayLike,
                       loader_counts: ArrayLike, load_min: ArrayLike) -> float:
    """Match factor of a mixed fleet [3]_ as truck arrival rate over loader service rate.

    truck_counts x_i and truck_cycle_min t_Ci per truck type i; loader_counts y_j per
    loader type j; load_min t_Lij [min] to load truck type i with loader type j (shape
    (types_i, types_j), or (types_j,) when it does not depend on the truck). Trucks arrive
    at sum_i x_i/t_Ci; loader j serves at 1/t̄_Lj with t̄_Lj the arrival-weighted loading
    time. With loading times independent of the truck this is the corrected eq. (16) of
    [3]_, MF = (sum_i x_i / t_Ci) / (sum_j y_j / t_Lj); it reduces to :func:`match_factor`
    for one truck and one loader type.
    """
    x = np.atleast_1d(np.asarray(truck_counts, dtype=np.float64))
    tc = np.atleast_1d(np.asarray(truck_cycle_min, dtype=np.float64))
    y = np.atleast_1d(np.asarray(loader_counts, dtype=np.float64))
    tl = np.asarray(load_min, dtype=np.float64)
    if tl.ndim == 1:
        tl = np.broadcast_to(tl, (len(x), len(y)))
    arrivals = x / tc
    w = arrivals / arrivals.sum()
    tl_bar = w @ tl
    return float(arrivals.sum() / np.sum(y / tl_bar))


def match_factor_lcm(n_trucks: int, cycle_min: float, loader_counts: Sequence[int],
                     load_min: Sequence[int]) -> float:
    """Burt & Caccetta's heterogeneous-loader form [3]_ with the lowest common multiple:

        MF = N_T lcm(t_L) / (t_C sum_j y_j lcm(t_L) / t_Lj)

    (the lcm cancels: this is the corrected eq. (15), N_T / (t_C sum_j y_j / t_Lj); OpenMines
    computes its match factor this way). load_min must be whole numbers [min].
    """
    lcm = reduce(math.lcm, (int(t) for t in load_min))
    return n_trucks * lcm / (cycle_min * sum(y * lcm / t for y, t in zip(loader_counts, load_min,
                                                                            strict=True)))


def availability(calendar_h: float, down_h: float) -> float:
    """Mechanical availability [-] = (calendar - down) / calendar."""
    return (calendar_h - down_h) / calendar_h


def utilisation(available_h: float, productive_h: float) -> float:
    """Use of availability [-] = productive / available."""
    return productive_h / available_h if available_h > 0 else 0.0


def queue_and_hang(cycles: Iterable[Cycle], loader_idle_min: Mapping[str, float]
                   ) -> dict[str, float]:
    """Mean truck queue time per cycle [min] and total loader hang time [min]."""
    cs = list(cycles)
    q = [(c.durations_s.get(Phase.QUEUE_LOAD.value, 0.0)
          + c.durations_s.get(Phase.QUEUE_DUMP.value, 0.0)) / 60.0 for c in cs]
    return {"queue_min_per_cycle": float(np.mean(q)) if q else 0.0,
            "hang_min": float(sum(loader_idle_min.values()))}


def energy_kpis(cycles: Iterable[Cycle]) -> dict[str, float]:
    """kWh per tonne (net of regeneration) and regen share of traction energy [-].

    regen share = energy regenerated / gross energy drawn for driving (drawn = net + regen).
    """
    cs = list(cycles)
    tonnes = sum(c.tonnes for c in cs)
    net = sum(c.net_kwh for c in cs)
    regen = sum(c.regen_kwh for c in cs)
    drawn = net + regen
    return {"kwh_per_t": net / tonnes if tonnes > 0 else math.nan,
            "regen_share": regen / drawn if drawn > 0 else math.nan,
            "net_kwh": net, "regen_kwh": regen}


def trucks_by_state(phases: Mapping[str, Phase | str]) -> dict[str, int]:
    """How many trucks are in each phase now."""
    out: dict[str, int] = {}
    for p in phases.values():
        k = p.value if isinstance(p, Phase) else str(p)
        out[k] = out.get(k, 0) + 1
    return out
