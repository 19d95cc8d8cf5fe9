"""Synthetic pit surveys with analytic volumes, for tests, benchmarks and the demo.

A site is a terrain surface (a gentle plain with a hillside and low hills) and, in the
*after* epoch, changes whose volumes are known in closed form:

* a box cut (rectangular pit, walls battered at ``batter_deg``): volume by the prismatoid
  rule, exact because the cross-section area is quadratic in depth [1]_;
* a cone stockpile: V = pi R^2 h / 3;
* benches cut into the hillside (floors of ``bench_width``, faces ``bench_height`` high,
  battered side walls): the depth profile is piecewise linear along the slope, so the
  volume W*int(d) - int(d^2)/tan(batter) is integrated exactly segment by segment.

Changes are offsets added to the *before* surface, so the volumes hold whatever the
terrain underneath. Points are a jittered grid of ``spacing`` [m] (drone LiDAR strips are
near-regular), with Gaussian noise [m], machines (boxes, no ground under them) and trees
and bushes (canopy over partly visible ground) on top. Everything is drawn from ``seed``.

.. [1] Harris & Stöcker 1998, Handbook of Mathematics and Computational Science, sec. 4.3
   (prismatoid formula V = h/6 (A1 + 4 Am + A2)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Machine:
    """A box: centre (x, y) [m], length, width, height [m], heading [rad]."""

    x: float
    y: float
    length: float
    width: float
    height: float
    heading: float


@dataclass(frozen=True)
class Tree:
    """Canopy: centre [m], crown radius [m], canopy top height above ground [m]."""

    x: float
    y: float
    radius: float
    height: float


@dataclass
class Site:
    """A synthetic pit site; volumes are [m3], lengths [m]. Origin at (x0, y0)."""

    width: float = 300.0
    height: float = 240.0
    x0: float = 500_000.0
    y0: float = 4_000_000.0
    z0: float = 1200.0
    hill_start: float = 140.0
    hill_slope: float = 0.35
    batter_deg: float = 70.0
    box: tuple[float, float, float, float, float] = (30.0, 30.0, 90.0, 80.0, 6.0)
    cone: tuple[float, float, float, float] = (170.0, 70.0, 18.0, 11.0)
    bench_x: tuple[float, float] = (60.0, 240.0)
    bench_top_u: float = 85.0
    bench_width: float = 12.0
    bench_height: float = 8.0
    bench_count: int = 3
    machines_before: list[Machine] = field(default_factory=list)
    machines_after: list[Machine] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)

    # ---- surfaces -------------------------------------------------------------------
    def terrain(self, x: F64, y: F64) -> F64:
        """Before-survey ground elevation [m] at site-local coordinates [m]."""
        z = self.z0 + 0.01 * x + self.hill_slope * np.maximum(y - self.hill_start, 0.0)
        z = z + 2.5 * np.exp(-((x - 250.0) ** 2 + (y - 60.0) ** 2) / (2 * 30.0**2))
        z = z - 1.5 * np.exp(-((x - 120.0) ** 2 + (y - 110.0) ** 2) / (2 * 25.0**2))
        return z

    def change(self, x: F64, y: F64) -> F64:
        """After minus before [m]: cone fill, box cut, bench cut."""
        return self._cone(x, y) - self._box(x, y) - self._benches(x, y)

    def ground(self, x: F64, y: F64, epoch: str) -> F64:
        z = self.terrain(x, y)
        out: F64 = z + self.change(x, y) if epoch == "after" else z
        return out

    def _cone(self, x: F64, y: F64) -> F64:
        cx, cy, r, h = self.cone
        out: F64 = h * np.maximum(0.0, 1.0 - np.hypot(x - cx, y - cy) / r)
        return out

    def _box(self, x: F64, y: F64) -> F64:
        bx0, by0, bx1, by1, depth = self.box
        dist = np.minimum(np.minimum(x - bx0, bx1 - x), np.minimum(y - by0, by1 - y))
        out: F64 = np.clip(dist * np.tan(np.radians(self.batter_deg)), 0.0, depth)
        return out

    def _bench_profile(self) -> tuple[F64, F64]:
        """Breakpoints (u [m] up the slope, depth d [m]) of the bench cut's profile."""
        g, w, hf = self.hill_slope, self.bench_width, self.bench_height
        run = hf / np.tan(np.radians(self.batter_deg))
        top = self.bench_top_u
        us = [top]
        ss = [g * top]
        u, s = top, g * top
        for k in range(self.bench_count):
            u, s = u - run, s - hf
            us.append(u)
            ss.append(s)
            if k < self.bench_count - 1:
                u -= w
                us.append(u)
                ss.append(s)
        us.append(s / g)  # lowest floor daylights where the hillside comes down to it
        ss.append(s)
        uu = np.array(us[::-1])
        dd = g * uu - np.array(ss[::-1])
        return uu, np.maximum(dd, 0.0)

    def _benches(self, x: F64, y: F64) -> F64:
        uu, dd = self._bench_profile()
        u = y - self.hill_start
        d = np.interp(u, uu, dd, left=0.0, right=0.0)
        bx0, bx1 = self.bench_x
        side = np.minimum(x - bx0, bx1 - x) * np.tan(np.radians(self.batter_deg))
        out: F64 = np.clip(np.minimum(d, side), 0.0, None)
        return out

    # ---- analytic volumes -----------------------------------------------------------
    def cone_volume(self) -> float:
        _, _, r, h = self.cone
        return float(np.pi * r * r * h / 3.0)

    def box_volume(self) -> float:
        bx0, by0, bx1, by1, depth = self.box
        a = depth / np.tan(np.radians(self.batter_deg))
        lx, ly = bx1 - bx0, by1 - by0
        top, mid, bot = lx * ly, (lx - a) * (ly - a), (lx - 2 * a) * (ly - 2 * a)
        return float(depth / 6.0 * (top + 4 * mid + bot))

    def bench_volume(self) -> float:
        uu, dd = self._bench_profile()
        k = np.tan(np.radians(self.batter_deg))
        w = self.bench_x[1] - self.bench_x[0]
        du = np.diff(uu)
        d1, d2 = dd[:-1], dd[1:]
        int_d = float(np.sum(du * (d1 + d2) / 2.0))
        int_d2 = float(np.sum(du * (d1 * d1 + d1 * d2 + d2 * d2) / 3.0))
        # across the cut, min(d, k*dist) loses two wedges of d^2/(2k) each
        return float(w * int_d - int_d2 / k)

    def truth(self) -> dict[str, float]:
        """Analytic cut, fill and net [m3] between the before and after surveys."""
        cut = self.box_volume() + self.bench_volume()
        fill = self.cone_volume()
        return {"cut_m3": cut, "fill_m3": fill, "net_m3": fill - cut}


def make_site(seed: int = 0, width: float = 300.0, height: float = 240.0) -> Site:
    """The default pit with machines and vegetation placed from ``seed``."""
    rng = np.random.default_rng(seed)
    site = Site(width=width, height=height)
    bx0, by0, bx1, by1, _ = site.box
    # machines: an excavator on the box-cut floor and trucks on flat ground (after);
    # different trucks elsewhere in the before survey
    site.machines_after = [
        Machine((bx0 + bx1) / 2, (by0 + by1) / 2, 9.0, 4.5, 4.0, 0.3),
        Machine(120.0, 30.0, 11.0, 6.0, 5.5, 1.2),
        Machine(260.0, 120.0, 8.0, 4.0, 4.2, -0.4),
    ]
    site.machines_before = [
        Machine(100.0, 60.0, 11.0, 6.0, 5.5, 0.1),
        Machine(240.0, 20.0, 8.0, 4.0, 4.2, 2.0),
    ]
    trees: list[Tree] = []
    while len(trees) < 40:
        tx, ty = rng.uniform(5, width - 5), rng.uniform(5, height - 5)
        if _near_feature(site, tx, ty):
            continue
        if rng.random() < 0.5:
            trees.append(Tree(tx, ty, rng.uniform(2.0, 4.0), rng.uniform(6.0, 12.0)))
        else:
            trees.append(Tree(tx, ty, rng.uniform(0.8, 1.5), rng.uniform(0.8, 1.5)))
    site.trees = trees
    return site


def _near_feature(site: Site, x: float, y: float, margin: float = 8.0) -> bool:
    bx0, by0, bx1, by1, _ = site.box
    if bx0 - margin < x < bx1 + margin and by0 - margin < y < by1 + margin:
        return True
    cx, cy, r, _ = site.cone
    if np.hypot(x - cx, y - cy) < r + margin:
        return True
    uu, _ = site._bench_profile()
    ex0, ex1 = site.bench_x
    u = y - site.hill_start
    return bool(ex0 - margin < x < ex1 + margin and uu[0] - margin < u < uu[-1] + margin)


def sample(
    site: Site,
    epoch: str,
    spacing: float = 0.35,
    noise: float = 0.03,
    seed: int = 1,
    rows: tuple[int, int] | None = None,
    objects: bool = True,
) -> tuple[F64, F64, F64, U8]:
    """Points of one survey: (x, y, z [m], LAS class: 2 ground, 1 object).

    ``rows`` = (first, stop) selects scan rows of the jittered grid, so a large survey can be
    generated strip by strip in bounded memory; each row has its own random stream.
    """
    nx = int(site.width / spacing)
    ny = int(site.height / spacing)
    r0, r1 = rows if rows is not None else (0, ny)
    r1 = min(r1, ny)
    xs_l, ys_l = [], []
    rng = np.random.default_rng([seed, r0, 0 if epoch == "before" else 1])
    iy = np.arange(r0, r1, dtype=np.float64)
    ix = np.arange(nx, dtype=np.float64)
    gx, gy = np.meshgrid(ix, iy)
    x = (gx.ravel() + rng.random(gx.size)) * spacing
    y = (gy.ravel() + rng.random(gy.size)) * spacing
    xs_l.append(x)
    ys_l.append(y)
    x = np.concatenate(xs_l)
    y = np.concatenate(ys_l)
    z = site.ground(x, y, epoch) + rng.normal(0.0, noise, x.size)
    cls = np.full(x.size, 2, dtype=np.uint8)
    if objects:
        machines = site.machines_after if epoch == "after" else site.machines_before
        for m in machines:
            c, s = np.cos(m.heading), np.sin(m.heading)
            lx = (x - m.x) * c + (y - m.y) * s
            ly = -(x - m.x) * s + (y - m.y) * c
            inside = (np.abs(lx) <= m.length / 2) & (np.abs(ly) <= m.width / 2)
            base = float(site.ground(np.array([m.x]), np.array([m.y]), epoch)[0])
            # a cab/deck profile: the roof is not flat, so it is not mistaken for a bench
            roof = base + m.height * (0.75 + 0.25 * (lx > 0))
            z = np.where(inside, roof + rng.normal(0.0, noise, x.size), z)
            cls[inside] = 1
        if site.trees:
            tree_xy = np.array([[t.x, t.y] for t in site.trees])
            radii = np.array([t.radius for t in site.trees])
            tops = np.array([t.height for t in site.trees])
            dist, k = cKDTree(tree_xy).query(np.column_stack([x, y]))
            under = dist < radii[k]
            hit = under & (rng.random(x.size) < 0.6)
            frac = np.sqrt(np.clip(1.0 - (dist / radii[k]) ** 2, 0.0, 1.0))
            canopy = tops[k] * (0.55 + 0.45 * frac) * rng.uniform(0.85, 1.0, x.size)
            z = np.where(hit, z + canopy, z)
            cls[hit] = 1
    return x + site.x0, y + site.y0, z, cls


def scan_rows(site: Site, spacing: float) -> int:
    """Number of jittered-grid rows of a survey at ``spacing`` [m]."""
    return int(site.height / spacing)


@dataclass
class StockpileYard(Site):
    """Two cone stockpiles with known volumes, in both epochs: pile A on flat ground at
    ``z0`` (truth for the ``lowest`` and ``elevation`` bases), pile B on a plane tilted
    ``tilt`` (truth for ``plane`` and ``triangulated``). Piles are vertical offsets, so each
    holds pi R^2 h / 3 above its base whatever the tilt."""

    width: float = 160.0
    height: float = 80.0
    pile_a: tuple[float, float, float, float] = (40.0, 40.0, 15.0, 9.0)
    pile_b: tuple[float, float, float, float] = (120.0, 40.0, 15.0, 9.0)
    tilt: tuple[float, float] = (0.06, 0.04)

    def terrain(self, x: F64, y: F64) -> F64:
        plane = self.z0 + self.tilt[0] * (x - 80.0) + self.tilt[1] * (y - 40.0)
        return np.where(x < 80.0, self.z0, np.maximum(plane, self.z0))

    def change(self, x: F64, y: F64) -> F64:
        return np.zeros_like(x)

    def ground(self, x: F64, y: F64, epoch: str) -> F64:
        z = self.terrain(x, y)
        for cx, cy, r, h in (self.pile_a, self.pile_b):
            z = z + h * np.maximum(0.0, 1.0 - np.hypot(x - cx, y - cy) / r)
        return z

    def pile_volume(self, which: str) -> float:
        _, _, r, h = self.pile_a if which == "a" else self.pile_b
        return float(np.pi * r * r * h / 3.0)

    def pile_polygon(self, which: str, margin: float = 3.0, n: int = 24) -> F64:
        """A polygon [m, survey frame] around a pile, ``margin`` [m] outside its toe."""
        cx, cy, r, _ = self.pile_a if which == "a" else self.pile_b
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        rr = r + margin
        return np.column_stack([self.x0 + cx + rr * np.cos(t), self.y0 + cy + rr * np.sin(t)])


def make_yard(seed: int = 0) -> StockpileYard:
    """A stockpile yard with a loader beside each pile and a few trees away from them."""
    rng = np.random.default_rng(seed)
    yard = StockpileYard()
    yard.machines_before = yard.machines_after = [
        Machine(40.0, 68.0, 8.0, 3.5, 3.8, 0.2),
        Machine(120.0, 10.0, 8.0, 3.5, 3.8, -0.3),
    ]
    trees: list[Tree] = []
    while len(trees) < 6:
        tx, ty = rng.uniform(3, yard.width - 3), rng.uniform(3, yard.height - 3)
        if min(np.hypot(tx - 40, ty - 40), np.hypot(tx - 120, ty - 40)) > 24:
            trees.append(Tree(tx, ty, rng.uniform(1.5, 3.0), rng.uniform(4.0, 8.0)))
    yard.trees = trees
    return yard


def circle(cx: float, cy: float, r: float, n: int = 32) -> F64:
    """An n-gon ring [m] around (cx, cy)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)])


def polygon_geojson(ring: F64, epsg: int | None = None) -> dict[str, object]:
    """A GeoJSON Feature for ``ring``, with a legacy ``crs`` member when ``epsg`` is given."""
    coords = [[float(a), float(b)] for a, b in ring] + [[float(ring[0, 0]), float(ring[0, 1])]]
    obj: dict[str, object] = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [coords]},
    }
    if epsg is not None:
        obj["crs"] = {"type": "name", "properties": {"name": f"EPSG:{epsg}"}}
    return obj
