"""Lower-stage dispatch decisions on small, hand-checkable snapshots."""

from __future__ import annotations

import pytest

from ironfield.apps.haulage.assign import (
    ChargerState,
    Dispatcher,
    DumpState,
    Inbound,
    LoaderState,
    NoDestinationError,
    Rule,
    SiteState,
    TruckView,
    Weights,
    project_site,
)
from ironfield.apps.haulage.lp import FlowPlan

TRAVEL = {("D", "A"): 10.0, ("D", "B"): 10.0, ("D", "C"): 4.0, ("A", "D"): 10.0,
          ("B", "D"): 10.0, ("A", "X"): 12.0, ("X", "A"): 12.0, ("X", "B"): 12.0,
          ("D", "CH1"): 2.0, ("D", "CH2"): 6.0, ("CH1", "A"): 10.0, ("CH2", "A"): 10.0,
          ("CH1", "B"): 10.0, ("CH2", "B"): 10.0}


def travel(a: str, b: str, loaded: bool) -> float:
    return TRAVEL[(a, b)]


def _site(sid: str, busy_until: float, queue: list[float] | None = None,
          rate: float = 10.0) -> SiteState:
    return SiteState(sid, [LoaderState(sid, rate, busy_until, queue or [])])


def test_goes_where_it_is_loaded_soonest() -> None:
    d = Dispatcher(travel, weights=Weights(eta_spread_min=0.0))
    # A is busy for 30 min; B is free: same travel, so B
    dec = d.choose_loader(0.0, TruckView("t", 100.0), "D", [_site("A", 30.0), _site("B", 0.0)],
                          [])
    assert dec.dest == "B" and dec.kind == "load"
    assert dec.expected_start == pytest.approx(10.0)
    assert dec.expected_finish == pytest.approx(20.0)


def test_projected_queue_counts_trucks_already_sent() -> None:
    d = Dispatcher(travel, weights=Weights(eta_spread_min=0.0))
    sites = [_site("A", 0.0), _site("B", 0.0)]
    inbound = [Inbound("B", 9.0, 100.0), Inbound("B", 9.5, 100.0)]  # two trucks before us
    dec = d.choose_loader(0.0, TruckView("t", 100.0), "D", sites, inbound)
    assert dec.dest == "A"


def test_first_idle_rule_projection() -> None:
    """A site that hands an arriving truck its first idle loader (OpenMines' rule): a truck
    arriving while the fast loader is busy gets the slow one."""
    fast = LoaderState("fast", 20.0, busy_until=12.0)
    slow = LoaderState("slow", 2.0, busy_until=0.0)
    site = SiteState("S", [fast, slow], Rule.FIRST_IDLE)
    ld, start, finish, _ = project_site(site, [], 10.0, 60.0, 0.0)
    assert ld.id == "slow" and finish == pytest.approx(40.0)
    ld, start, finish, _ = project_site(site, [], 12.5, 60.0, 0.0)
    assert ld.id == "fast" and finish == pytest.approx(15.5)
    # with EARLIEST the truck waits 2 min for the fast loader instead
    site.rule = Rule.EARLIEST
    ld, start, finish, _ = project_site(site, [], 10.0, 60.0, 0.0)
    assert ld.id == "fast" and start == pytest.approx(12.0)


def test_later_truck_does_not_strand_an_earlier_one() -> None:
    """Truck 1 is on its way to the only fast loader at S. A truck that would overtake it
    pushes it onto the slow loader; counting that damage keeps the new truck away."""
    site = SiteState("A", [LoaderState("fast", 20.0, 0.0), LoaderState("slow", 1.0, 0.0)],
                     Rule.FIRST_IDLE)
    other = _site("B", 13.0, rate=10.0)
    inbound = [Inbound("A", 11.0, 60.0)]
    selfish = Dispatcher(travel, weights=Weights(w_others=0.0, eta_spread_min=0.0, w_need=0.0))
    polite = Dispatcher(travel, weights=Weights(w_others=1.0, eta_spread_min=0.0, w_need=0.0))
    truck = TruckView("t", 60.0)
    assert selfish.choose_loader(0.0, truck, "D", [site, other], inbound).dest == "A"
    assert polite.choose_loader(0.0, truck, "D", [site, other], inbound).dest == "B"


def test_needy_path_follows_the_lp() -> None:
    plan = FlowPlan({("A", "D"): 600.0, ("B", "D"): 600.0}, True)
    d = Dispatcher(travel, weights=Weights(eta_spread_min=0.0, w_need=1.0))
    sites = [_site("A", 32.0), _site("B", 0.0)]  # at t=20, B is free sooner than A
    truck = TruckView("t", 100.0)
    assert d.choose_loader(20.0, truck, "D", sites, []).dest == "B"  # no plan: soonest
    d.set_plan(plan, 0.0)
    d.sent_load["B"] = 200.0  # B is on schedule (10 t/min x 20 min), A is 20 min behind
    dec = d.choose_loader(20.0, truck, "D", sites, [])
    assert dec.dest == "A", dec.reason
    d.record("D", dec, 400.0)  # A is now 20 min ahead: B is the needy one
    assert d.choose_loader(20.0, truck, "D", sites, []).dest == "B"


def test_low_battery_goes_to_the_cheapest_charger() -> None:
    d = Dispatcher(travel)
    truck = TruckView("t", 100.0, soc_kwh=90.0, reserve_kwh=80.0, battery_kwh=400.0)
    chargers = [ChargerState("CH1", [50.0], 500.0), ChargerState("CH2", [0.0], 500.0)]
    dec = d.choose_loader(0.0, truck, "D", [_site("A", 0.0)], [], chargers,
                          cycle_kwh=lambda site: 30.0)
    # CH1 is nearer but busy for 50 min; CH2 costs 4 min more travel and no wait
    assert dec.kind == "charge" and dec.dest == "CH2"
    assert "state of charge" in dec.reason
    enough = TruckView("t", 100.0, soc_kwh=200.0, reserve_kwh=80.0, battery_kwh=400.0)
    assert d.choose_loader(0.0, enough, "D", [_site("A", 0.0)], [], chargers,
                           cycle_kwh=lambda site: 30.0).kind == "load"


def test_dump_choice_and_unavailable_destinations() -> None:
    d = Dispatcher(travel)
    dumps = [DumpState("D", [0.0], 0, 1.0), DumpState("X", [0.0], 0, 1.0)]
    assert d.choose_dump(0.0, TruckView("t", 100.0), "A", dumps, []).dest == "D"
    dumps[0].available = False
    assert d.choose_dump(0.0, TruckView("t", 100.0), "A", dumps, []).dest == "X"
    dumps[1].available = False
    with pytest.raises(NoDestinationError, match="no dump can take it"):
        d.choose_dump(0.0, TruckView("t", 100.0), "A", dumps, [])
    site = _site("A", 0.0)
    site.loaders[0].available = False
    with pytest.raises(NoDestinationError, match="no loader can take it"):
        d.choose_loader(0.0, TruckView("t", 100.0), "D", [site], [])


def test_latency_is_recorded() -> None:
    d = Dispatcher(travel)
    for _ in range(50):
        d.choose_loader(0.0, TruckView("t", 100.0), "D", [_site("A", 5.0), _site("B", 0.0)], [])
    assert len(d.latency_ns) == 50 and d.latency_p99_ms() > 0
    assert d.latency_p99_ms(cpu=True) > 0
