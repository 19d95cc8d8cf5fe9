"""The haul road graph: directed legs, shortest routes, and what is wrong with a layout."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ironfield.apps.haulage.config import DESTINATIONS, NodeConfig, NodeKind, SegmentConfig
from ironfield.core.errors import IronfieldError


class NoRouteError(IronfieldError):
    """No drivable route between two nodes."""


@dataclass(frozen=True, slots=True)
class Leg:
    """One segment driven in one direction.

    grade : float — rise over run in the driving direction [-] (0.1 = 10 % uphill).
    """

    segment: str
    start: str
    end: str
    length_m: float
    grade: float
    rolling_resistance: float
    speed_loaded_mps: float
    speed_empty_mps: float

    def speed_mps(self, loaded: bool) -> float:
        return self.speed_loaded_mps if loaded else self.speed_empty_mps

    def time_s(self, loaded: bool) -> float:
        return self.length_m / self.speed_mps(loaded)


@dataclass(frozen=True, slots=True)
class Route:
    start: str
    end: str
    legs: tuple[Leg, ...]

    @property
    def length_m(self) -> float:
        return sum(leg.length_m for leg in self.legs)

    def time_s(self, loaded: bool) -> float:
        return sum(leg.time_s(loaded) for leg in self.legs)

    @property
    def rise_m(self) -> float:
        """Net elevation change along the route [m], positive uphill."""
        return sum(leg.length_m * leg.grade / math.hypot(1.0, leg.grade) for leg in self.legs)


class RoadNetwork:
    """Directed view of the declared segments (two-way segments become two legs)."""

    def __init__(self, nodes: Sequence[NodeConfig], segments: Sequence[SegmentConfig]) -> None:
        self.nodes: dict[str, NodeConfig] = {n.id: n for n in nodes}
        self.segments = list(segments)
        self.out: dict[str, list[Leg]] = {n: [] for n in self.nodes}
        for s in segments:
            if s.a not in self.nodes or s.b not in self.nodes:
                continue
            fwd = Leg(s.name, s.a, s.b, s.length_m, s.grade_pct / 100.0, s.rolling_resistance,
                      s.speed_loaded_kmh / 3.6, s.speed_empty_kmh / 3.6)
            self.out[s.a].append(fwd)
            if s.two_way:
                self.out[s.b].append(Leg(s.name, s.b, s.a, s.length_m, -s.grade_pct / 100.0,
                                         s.rolling_resistance, s.speed_loaded_kmh / 3.6,
                                         s.speed_empty_kmh / 3.6))
        self._cache: dict[tuple[str, str, bool], Route | None] = {}

    # --- queries -----------------------------------------------------------------------
    def of_kind(self, *kinds: NodeKind) -> list[str]:
        return [n.id for n in self.nodes.values() if n.kind in kinds]

    @property
    def loaders(self) -> list[str]:
        return self.of_kind(NodeKind.LOADER)

    @property
    def destinations(self) -> list[str]:
        return [n.id for n in self.nodes.values() if n.kind in DESTINATIONS]

    @property
    def chargers(self) -> list[str]:
        return self.of_kind(NodeKind.CHARGER)

    def route(self, start: str, end: str, loaded: bool) -> Route:
        """Fastest route [2]_ for a loaded or empty truck; raises :class:`NoRouteError`.

        .. [2] Dijkstra 1959, "A note on two problems in connexion with graphs".
        """
        key = (start, end, loaded)
        if key not in self._cache:
            self._cache[key] = self._dijkstra(start, end, loaded)
        r = self._cache[key]
        if r is None:
            raise NoRouteError(f"no {'loaded' if loaded else 'empty'} route from {start!r} "
                               f"to {end!r}")
        return r

    def has_route(self, start: str, end: str, loaded: bool) -> bool:
        try:
            self.route(start, end, loaded)
        except NoRouteError:
            return False
        return True

    def _dijkstra(self, start: str, end: str, loaded: bool) -> Route | None:
        if start not in self.nodes or end not in self.nodes:
            return None
        if start == end:
            return Route(start, end, ())
        best: dict[str, float] = {start: 0.0}
        prev: dict[str, Leg] = {}
        heap: list[tuple[float, str]] = [(0.0, start)]
        while heap:
            t, n = heapq.heappop(heap)
            if n == end:
                break
            if t > best.get(n, math.inf):
                continue
            for leg in self.out[n]:
                nt = t + leg.time_s(loaded)
                if nt < best.get(leg.end, math.inf):
                    best[leg.end] = nt
                    prev[leg.end] = leg
                    heapq.heappush(heap, (nt, leg.end))
        if end not in prev:
            return None
        legs: list[Leg] = []
        n = end
        while n != start:
            leg = prev[n]
            legs.append(leg)
            n = leg.start
        return Route(start, end, tuple(reversed(legs)))

    # --- validation --------------------------------------------------------------------
    def components(self) -> list[set[str]]:
        """Connected components of the undirected graph."""
        adj: dict[str, set[str]] = {n: set() for n in self.nodes}
        for legs in self.out.values():
            for leg in legs:
                adj[leg.start].add(leg.end)
                adj[leg.end].add(leg.start)
        seen: set[str] = set()
        comps: list[set[str]] = []
        for n in self.nodes:
            if n in seen:
                continue
            comp = {n}
            stack = [n]
            while stack:
                for m in adj[stack.pop()]:
                    if m not in comp:
                        comp.add(m)
                        stack.append(m)
            seen |= comp
            comps.append(comp)
        return comps

    def problems(self) -> list[str]:
        """What keeps this layout from being hauled on, one message per fault."""
        out: list[str] = []
        comps = self.components()
        if len(comps) > 1:
            main = max(comps, key=len)
            cut = sorted(n for c in comps if c is not main for n in c)
            out.append(f"road network is disconnected: {', '.join(cut)} not connected to "
                       f"{sorted(main)[0]!r} and {len(main) - 1} other node(s)")
        dests = self.destinations
        for ld in self.loaders:
            if not any(self.has_route(ld, d, loaded=True) for d in dests):
                out.append(f"loader {ld!r} has no route to any dump or crusher")
            elif not any(self.has_route(d, ld, loaded=False) for d in dests):
                out.append(f"loader {ld!r} cannot be reached empty from any dump or crusher")
        for c in self.chargers:
            if not any(self.has_route(ld, c, loaded=False) and self.has_route(c, ld, False)
                       for ld in self.loaders):
                out.append(f"charger {c!r} is not on a round trip with any loader")
        return out

    def bounds(self, margin_m: float = 500.0) -> tuple[float, float, float, float]:
        xs = [n.x_m for n in self.nodes.values()]
        ys = [n.y_m for n in self.nodes.values()]
        return min(xs) - margin_m, min(ys) - margin_m, max(xs) + margin_m, max(ys) + margin_m

    def nearest_node(self, x_m: float, y_m: float,
                     kinds: Iterable[NodeKind] | None = None) -> tuple[str, float]:
        ks = set(kinds) if kinds is not None else None
        best = ("", math.inf)
        for n in self.nodes.values():
            if ks is not None and n.kind not in ks:
                continue
            d = math.hypot(n.x_m - x_m, n.y_m - y_m)
            if d < best[1]:
                best = (n.id, d)
        return best
