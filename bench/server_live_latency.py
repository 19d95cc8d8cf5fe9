"""Live latency: publish-to-WebSocket-client p50/p99 at a given ingest rate and client count.

    .venv/bin/python bench/server_live_latency.py [--rate 100000] [--clients 20] [--seconds 15]

The server process runs a real Platform (DuckDB historian in a temp dir, every value
written), uvicorn, and a generator that submits synthetic batches to the pipeline every
10 ms, stamping each value with the wall clock just before ``pipeline.submit`` (the
publish). A second process runs the WebSocket clients (so their JSON decoding does not
share the server's GIL); each subscribes to every signal at ``--max-hz`` updates a second
and measures, for each value it receives, receive time minus the value's ts. The baseline,
in the same run, is an in-process bus subscriber (coalesce policy) in the server's loop:
the floor the WebSocket path adds to.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ironfield.core.batch import Batch
from ironfield.core.plant import parse_plant
from ironfield.runtime.platform import Platform
from ironfield.server.auth import Auth
from ironfield.server.run import make_server

SIGNALS = 1000


def plant_yaml(n: int) -> str:
    return f"""
plant: bench
sites:
  - id: bench
    areas:
      - id: line
        equipment:
          - ids: "eq-{{0001..{n // 10:04d}}}"
            signals:
{chr(10).join(f'              - {{name: v{i}, unit: "1"}}' for i in range(10))}
historian: {{backend: duckdb, path: bench.duckdb, flush_interval: 200ms}}
"""


def pct(a: np.ndarray, q: float) -> float:
    return float(np.percentile(a, q)) / 1e6 if len(a) else float("nan")


# -- clients (child process) ---------------------------------------------------------------

async def client_main(url: str, token: str, clients: int, seconds: float, warmup: float,
                      max_hz: float, slice_eq: int, first: int) -> None:
    from websockets.asyncio.client import connect

    lat: list[np.ndarray] = []
    msgs = [0]
    start = time.monotonic()

    async def one(k: int) -> None:
        if slice_eq:
            # Client k watches its own few pieces of equipment, as an operator's screen does.
            eqs = [(k * slice_eq + j) % (SIGNALS // 10) + 1 for j in range(slice_eq)]
            what: dict[str, Any] = {"assets": [f"bench/line/eq-{e:04d}" for e in eqs]}
        else:
            what = {"assets": ["bench"]}
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                           max_size=2**24) as ws:
            await ws.recv()
            await ws.send(json.dumps({"op": "subscribe", **what, "max_hz": max_hz}))
            await ws.recv()
            while time.monotonic() - start < warmup + seconds:
                raw = await ws.recv()
                now = time.time_ns()
                m = json.loads(raw)
                if m.get("type") != "batch" or time.monotonic() - start < warmup:
                    continue
                lat.append(now - np.asarray(m["ts"], dtype=np.int64))
                msgs[0] += 1

    await asyncio.gather(*(one(first + i) for i in range(clients)))
    a = np.concatenate(lat) if lat else np.empty(0, np.int64)
    out = Path(os.environ["LATENCY_OUT"])
    np.save(out, a)
    print(json.dumps({"messages": msgs[0]}))


# -- server side (this process) ------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=100_000, help="values/s submitted")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--max-hz", type=float, default=10.0, help="per-client update cap")
    ap.add_argument("--slice", type=int, default=0,
                    help="each client watches this many pieces of equipment (10 signals each); 0: all")
    ap.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--client-procs", type=int, default=4, help="processes to spread clients over")
    ap.add_argument("--client-process", nargs=2, metavar=("URL", "TOKEN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client_process:
        asyncio.run(client_main(args.client_process[0], args.client_process[1], args.clients,
                                args.seconds, args.warmup, args.max_hz, args.slice, args.first))
        return

    tick_s = 0.01
    per_tick = int(args.rate * tick_s)
    with tempfile.TemporaryDirectory() as d:
        platform = Platform(plant=parse_plant(plant_yaml(SIGNALS)), data_dir=Path(d))
        platform.open()
        auth = Auth.in_data_dir(d)
        auth.users.set_user("bench", "bench-password", "viewer")
        token = auth.users.create_token("bench")[0]
        ids = np.array(sorted(platform.registry.id(p) for p in platform.registry
                              if p.startswith("bench/line/")), dtype=np.int32)
        server = make_server(platform, port=0 or _port(), auth=auth, manage_platform=True)
        port = server.config.port
        loop = asyncio.new_event_loop()
        base: list[np.ndarray] = []
        stats: dict[str, Any] = {}

        async def generator() -> None:
            assert platform.pipeline is not None
            pipe = platform.pipeline
            rng = np.random.default_rng(1)
            reps = int(np.ceil(per_tick / len(ids)))
            sig = np.tile(ids, reps)[:per_tick]
            sent = 0
            t_next = time.monotonic()
            t0 = time.monotonic()
            while True:
                ts = time.time_ns()
                # Distinct ts per value of the same signal within a tick.
                b = Batch(sig, ts + np.repeat(np.arange(reps, dtype=np.int64), len(ids))[:per_tick],
                          rng.normal(size=per_tick), np.full(per_tick, 0xC0, np.uint8))
                await pipe.submit(b)
                sent += per_tick
                stats["sent"] = sent
                stats["rate"] = sent / max(1e-9, time.monotonic() - t0)
                t_next += tick_s
                await asyncio.sleep(max(0.0, t_next - time.monotonic()))

        async def baseline(warmup: float, seconds: float) -> None:
            sub = platform.bus.subscribe(policy="coalesce", maxsize=32)
            start = time.monotonic()
            while time.monotonic() - start < warmup + seconds:
                item = await sub.get()
                now = time.time_ns()
                if isinstance(item, Batch) and time.monotonic() - start >= warmup:
                    base.append(now - item.latest_per_signal().ts)
            sub.close()

        def run() -> None:
            asyncio.set_event_loop(loop)

            async def go() -> None:
                srv = asyncio.create_task(server.serve())
                while not server.started:
                    await asyncio.sleep(0.05)
                gen = asyncio.create_task(generator())
                stats["ready"] = True
                await srv
                gen.cancel()

            loop.run_until_complete(go())

        th = threading.Thread(target=run, daemon=True)
        th.start()
        while not stats.get("ready"):
            time.sleep(0.05)
        fut = asyncio.run_coroutine_threadsafe(baseline(args.warmup, args.seconds), loop)
        # Browsers are separate machines: spread the clients over a few processes so their
        # JSON decoding is not one process's bottleneck.
        procs = []
        per = [len(c) for c in np.array_split(np.arange(args.clients), args.client_procs) if len(c)]
        firsts = np.cumsum([0, *per])
        for k, n in enumerate(per):
            env = {**os.environ, "LATENCY_OUT": str(Path(d) / f"lat{k}.npy")}
            procs.append(subprocess.Popen(
                [sys.executable, __file__, "--clients", str(n), "--seconds", str(args.seconds),
                 "--warmup", str(args.warmup), "--max-hz", str(args.max_hz),
                 "--slice", str(args.slice), "--first", str(int(firsts[k])),
                 "--client-process", f"ws://127.0.0.1:{port}/api/live", token],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
        messages = 0
        for pr in procs:
            o, e = pr.communicate(timeout=args.seconds + args.warmup + 120)
            if pr.returncode != 0:
                print(e, file=sys.stderr)
                raise SystemExit("client process failed")
            messages += json.loads(o.strip().splitlines()[-1])["messages"]
        fut.result(60)
        h = platform.health()
        server.should_exit = True
        th.join(30)
        a = np.concatenate([np.load(Path(d) / f"lat{k}.npy") for k in range(len(per))])
        ws = {"values": int(len(a)), "messages": messages, "p50_ms": pct(a, 50),
              "p99_ms": pct(a, 99), "max_ms": float(a.max()) / 1e6 if len(a) else float("nan")}
        b = np.concatenate(base) if base else np.empty(0, np.int64)
        pipe = h["pipeline"] or {}
        print(f"ingest: asked {args.rate:,} values/s, achieved {stats['rate']:,.0f} values/s "
              f"({SIGNALS} signals, batches of {per_tick} every {tick_s * 1000:.0f} ms); "
              f"historian wrote {pipe.get('values_written', 0):,} values, "
              f"max write lag {pipe.get('max_write_lag_ms', 0):.0f} ms")
        print(f"baseline in-process bus subscriber: p50 {pct(b, 50):.1f} ms, p99 {pct(b, 99):.1f} ms")
        watch = f"{args.slice * 10} signals each" if args.slice else f"all {SIGNALS} signals each"
        print(f"WebSocket, {args.clients} clients ({watch}) at <= {args.max_hz:g} Hz: {ws['values']:,} values "
              f"in {ws['messages']:,} messages; p50 {ws['p50_ms']:.1f} ms, p99 {ws['p99_ms']:.1f} ms, "
              f"max {ws['max_ms']:.1f} ms (target p99 < 250 ms: "
              f"{'met' if ws['p99_ms'] < 250 else 'NOT met'})")
        if len(b):
            print(f"ratio WebSocket p99 / in-process p99: {ws['p99_ms'] / max(pct(b, 99), 1e-3):.1f}x")


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        p: int = s.getsockname()[1]
    return p


if __name__ == "__main__":
    main()
