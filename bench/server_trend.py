"""Trend page: time to serve a one-year 1 Hz trend at 1,500 points vs serving it raw.

    .venv/bin/python bench/server_trend.py [--days 365] [--raw-days 7]

Builds a year of 1 Hz data for one signal (31.5 M rows) once with ``historian.write`` in
one-week batches, then times, through the real ASGI app (httpx over ASGI, bearer token,
JSON answer fully received):

- ``/api/history/plot?points=1500`` over the whole year (what the trend page asks for),
- ``/api/history/raw`` over ``--raw-days`` (serving a whole year raw as JSON would be
  ~1.3 GB and minutes of encoding; the per-row cost is measured on a week and the year is
  extrapolated linearly from it, and said so in the output).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from ironfield.core.batch import Batch
from ironfield.core.plant import parse_plant
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_S
from ironfield.runtime.platform import Platform
from ironfield.server.app import create_app
from ironfield.server.auth import Auth

PLANT = """
plant: trend
sites:
  - id: s
    areas:
      - id: a
        equipment:
          - id: e
            signals: [{name: v, unit: "1"}]
historian: {backend: duckdb, path: trend.duckdb}
"""
SIGNAL = "s/a/e/v"
T0 = 1_672_531_200 * NS_PER_S  # 2023-01-01 00:00 UTC


async def timed(c: httpx.AsyncClient, path: str, params: dict[str, str | int], n: int) -> tuple[float, int, int]:
    times, size, rows = [], 0, 0
    for _ in range(n):
        t = time.perf_counter()
        r = await c.get(path, params=params)
        r.raise_for_status()
        body = r.json()
        times.append(time.perf_counter() - t)
        size = len(r.content)
        rows = sum(len(s["ts"]) for s in body["series"])
    return statistics.median(times), size, rows


async def run(days: int, raw_days: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Platform(plant=parse_plant(PLANT), data_dir=Path(d))
        p.open()
        h = p.historian
        assert h is not None
        sid = p.registry.id(SIGNAL)
        rng = np.random.default_rng(0)
        t = time.perf_counter()
        week = 7 * 86400
        level = 50.0
        for k in range(0, days * 86400, week):
            n = min(week, days * 86400 - k)
            ts = T0 + (k + np.arange(n, dtype=np.int64)) * NS_PER_S
            v = level + np.cumsum(rng.normal(0, 0.05, n)) + 5 * np.sin(np.arange(k, k + n) / 86400 * 2 * np.pi)
            level = float(v[-1]) - 5 * np.sin((k + n) / 86400 * 2 * np.pi)
            h.write(Batch.build(sid, ts, v))
        build_s = time.perf_counter() - t
        rows = days * 86400
        print(f"built {rows:,} rows ({days} days at 1 Hz) in {build_s:.1f} s")
        auth = Auth.in_data_dir(d)
        auth.users.set_user("bench", "bench-password", "viewer")
        token = auth.users.create_token("bench")[0]
        app = create_app(p, auth=auth)
        end = T0 + days * NS_PER_DAY
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b",
                                     headers={"Authorization": f"Bearer {token}"}, timeout=600) as c:
            plot_s, plot_b, plot_n = await timed(
                c, "/api/history/plot", {"signal": SIGNAL, "start": T0, "end": end, "points": 1500},
                repeat)
            lttb_s, _, lttb_n = await timed(
                c, "/api/history/plot",
                {"signal": SIGNAL, "start": T0, "end": end, "points": 1500, "method": "lttb"}, repeat)
            zoom_s, _, zoom_n = await timed(
                c, "/api/history/plot",
                {"signal": SIGNAL, "start": end - NS_PER_DAY, "end": end, "points": 1500}, repeat)
            raw_end = T0 + raw_days * NS_PER_DAY
            raw_s, raw_b, raw_n = await timed(
                c, "/api/history/raw", {"signal": SIGNAL, "start": T0, "end": raw_end,
                                        "limit": 50_000_000}, max(1, repeat // 2))
        dts = []
        for _ in range(3):
            t = time.perf_counter()
            h.downsample(sid, T0, end, 1500)
            dts.append(time.perf_counter() - t)
        inraw_s = statistics.median(dts)
        year_raw_s = raw_s * rows / raw_n
        year_raw_b = raw_b * rows / raw_n
        print(f"plot, whole span, minmax 1500: {plot_s * 1000:.0f} ms, {plot_n} rows, "
              f"{plot_b / 1e3:.0f} kB (median of {repeat})")
        print(f"  (the same plot by min/max over raw rows in the database, no HTTP: "
              f"{inraw_s * 1000:.0f} ms; the server reads the 1 h rollups instead)")
        print(f"plot, whole span, LTTB 1500:   {lttb_s * 1000:.0f} ms, {lttb_n} rows")
        print(f"plot, last day (a zoom), 1500: {zoom_s * 1000:.0f} ms, {zoom_n} rows")
        print(f"raw, {raw_days} days: {raw_s:.2f} s, {raw_n:,} rows, {raw_b / 1e6:.1f} MB "
              f"({raw_s / raw_n * 1e6:.2f} us/row)")
        print(f"raw, whole {days} days (extrapolated from {raw_days} days): "
              f"{year_raw_s:.0f} s, {year_raw_b / 1e9:.2f} GB")
        print(f"ratio raw / plot for the whole span: {year_raw_s / plot_s:,.0f}x "
              f"(measured week raw / whole-span plot: {raw_s / plot_s:,.0f}x)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--raw-days", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    asyncio.run(run(a.days, a.raw_days, a.repeat))


if __name__ == "__main__":
    main()
