"""Snapshot types of the mine for dispatch, and queue projection at loaders and dumps.

A snapshot is what the dispatcher knows when a truck becomes free: each loading site with
its loaders (busy until when, who waits), dumps, chargers, and the trucks already sent
somewhere with their ETAs. The projection replays those trucks, in arrival order, through a
site's loader-selection rule, which is how queues are *projected* in DISPATCH (White &
Olson 1986) rather than read off the present.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ironfield.core.errors import IronfieldError


class Rule(StrEnum):
    FIRST_IDLE = "first_idle"  # first idle loader in list order, else the shortest queue
    EARLIEST = "earliest"  # the loader that finishes the truck soonest


@dataclass(slots=True)
class LoaderState:
    """rate_tpm : digging rate [t/min]; busy_until : when the truck under it is done [min];
    queue_t : payloads [t] of trucks waiting for it, in order; fixed_min : spot time [min]."""

    id: str
    rate_tpm: float
    busy_until: float
    queue_t: list[float] = field(default_factory=list)
    fixed_min: float = 0.0
    available: bool = True

    def service_min(self, payload_t: float) -> float:
        return self.fixed_min + payload_t / self.rate_tpm


@dataclass(slots=True)
class SiteState:
    """A loading site: one or more loaders and how an arriving truck is given one."""

    id: str
    loaders: list[LoaderState]
    rule: Rule = Rule.EARLIEST


@dataclass(slots=True)
class DumpState:
    """A dump or crusher: ``spots`` places each busy until a time [min]; ``queue`` trucks
    waiting; ``service_min`` per truck [min]."""

    id: str
    busy_until: list[float]
    queue: int
    service_min: float
    available: bool = True


@dataclass(slots=True)
class ChargerState:
    """bays busy until [min]; ``queue_min`` charging minutes of trucks already waiting."""

    id: str
    busy_until: list[float]
    power_kw: float
    queue_min: float = 0.0


@dataclass(frozen=True, slots=True)
class Inbound:
    """A truck already sent to ``dest`` arriving at ``eta`` [min] with ``payload_t`` [t]."""

    dest: str
    eta: float
    payload_t: float


@dataclass(frozen=True, slots=True)
class TruckView:
    """payload_t : rated payload [t]; soc_kwh, battery_kwh, reserve_kwh : energy [kWh]
    (``soc_kwh`` is ``None`` when the truck has no battery telemetry)."""

    id: str
    payload_t: float
    soc_kwh: float | None = None
    reserve_kwh: float = 0.0
    battery_kwh: float = 0.0
    delay_min: float = 0.0  # known hold-up before it can leave (repair, refuel) [min]


@dataclass(frozen=True, slots=True)
class Decision:
    truck: str
    kind: str  # "load" | "dump" | "charge"
    dest: str
    eta: float
    expected_start: float
    expected_finish: float
    lost_t: float
    reason: str


class NoDestinationError(IronfieldError):
    """No loader, dump or charger can take the truck (all unavailable or unreachable)."""


def _replay(site: SiteState, arrivals: Sequence[tuple[float, float]], now: float
            ) -> list[tuple[int, float, float, float]]:
    """Arrivals (eta, payload_t), sorted by eta, given loaders by the site's rule.

    Returns per arrival (loader index among available loaders, start, finish, idle gap).
    """
    live = [ld for ld in site.loaders if ld.available]
    if not live:
        raise NoDestinationError(f"site {site.id!r} has no available loader")
    free: list[float] = []
    starts: list[list[float]] = []
    for ld in live:
        t = max(ld.busy_until, now)
        st: list[float] = []
        for p in ld.queue_t:
            st.append(t)
            t += ld.service_min(p)
        free.append(t)
        starts.append(st)
    out: list[tuple[int, float, float, float]] = []
    n = len(live)
    for a, p in arrivals:
        k = 0
        if site.rule == Rule.EARLIEST:
            best = math.inf
            for j in range(n):
                f = max(free[j], a) + live[j].service_min(p)
                if f < best:
                    best, k = f, j
        else:
            for j in range(n):
                if free[j] <= a:
                    k = j
                    break
            else:  # none idle: the shortest waiting line; starts are ascending per loader
                best_q = math.inf
                for j in range(n):
                    q = len(starts[j]) - bisect.bisect_right(starts[j], a)
                    if q < best_q:
                        best_q, k = q, j
        start = max(a, free[k])
        finish = start + live[k].service_min(p)
        out.append((k, start, finish, max(0.0, a - free[k])))
        starts[k].append(start)
        free[k] = finish
    return out


def project_site(site: SiteState, inbound: Sequence[Inbound], eta: float, payload_t: float,
                 now: float) -> tuple[LoaderState, float, float, float]:
    """Replay ``inbound`` trucks (arriving before ``eta``) into the site, then ours.

    Returns (loader, start, finish, idle_gap) [min] for a truck arriving at ``eta``.
    """
    arrivals = sorted((i.eta, i.payload_t) for i in inbound if i.dest == site.id and i.eta <= eta)
    arrivals.append((eta, payload_t))
    k, start, finish, gap = _replay(site, arrivals, now)[-1]
    return [ld for ld in site.loaders if ld.available][k], start, finish, gap


def marginal_site(site: SiteState, inbound: Sequence[Inbound], eta: float, payload_t: float,
                  now: float) -> tuple[LoaderState, float, float, float, float]:
    """Like :func:`project_site`, plus the delay [t*min] our truck inflicts on the others.

    Every truck already sent to the site is replayed with and without ours; the extra
    minutes until each is loaded, weighted by its payload, is the delay. A truck that
    arrives first takes the loader that an earlier-sent truck was counting on: greedy
    dispatch that ignores this sends the later truck and strands the earlier one.
    """
    others = sorted((i.eta, i.payload_t) for i in inbound if i.dest == site.id)
    base = _replay(site, others, now)
    pos = sum(1 for a, _ in others if a <= eta)
    mine = [*others[:pos], (eta, payload_t), *others[pos:]]
    withus = _replay(site, mine, now)
    k, start, finish, gap = withus[pos]
    extra = sum(p * (w[2] - b[2]) for (_, p), b, w in
                zip(others, base, withus[:pos] + withus[pos + 1:], strict=True))
    return [ld for ld in site.loaders if ld.available][k], start, finish, gap, extra


def project_dump(dump: DumpState, inbound: Sequence[Inbound], eta: float, now: float) -> float:
    """Projected start of tipping [min] for a truck arriving at ``eta``."""
    free = sorted(max(b, now) for b in dump.busy_until) or [now]
    for _ in range(dump.queue):
        free[0] += dump.service_min
        free.sort()
    for a in sorted(i.eta for i in inbound if i.dest == dump.id and i.eta <= eta):
        free[0] = max(free[0], a) + dump.service_min
        free.sort()
    return max(free[0], eta)
