"""OPC UA: values/s delivered into a sink with 10,000 monitored items changing at 1 Hz,
against a bare asyncua subscription client that only counts, in the same run.

The simulated PLC runs in a child process (so its cost does not land on either client);
the bare client (one session, one subscription, asyncua's handler API, counting in
``datachange_notification``) and the connector (its default spread over sessions and
subscriptions, columnar batches into a counting sink) take turns against it.

    .venv/bin/python bench/opcua_subscription.py [--tags 10000] [--seconds 20] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

from ironfield.connectors.opcua.connector import create
from ironfield.connectors.opcua.uatypes import Client
from ironfield.connectors.sim.opcua_plc import SimPlc, node_id
from ironfield.connectors.sim.ports import free_port
from ironfield.connectors.sim.sink import CollectingSink
from ironfield.core.plant import ConnectorSpec, PlantSpec
from ironfield.core.plugins import ConnectorContext
from ironfield.core.signals import SignalRegistry


def _serve(port: int, tags: int, ready: Any) -> None:
    async def run() -> None:
        plc = SimPlc(bulk=tags, port=port, update_s=1.0)
        await plc.start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(run())


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.n += 1


async def _window(count: Any, warm_s: float, seconds: float) -> tuple[float, float]:
    """Values/s over the window, and this process's CPU time per value [us]."""
    await asyncio.sleep(warm_s)
    n0, t0, c0 = count(), time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    n = count() - n0
    cpu = time.process_time() - c0
    return float(n) / (time.perf_counter() - t0), 1e6 * cpu / max(n, 1)


async def bare(endpoint: str, tags: int, warm_s: float, seconds: float) -> tuple[float, float]:
    client = Client(endpoint, timeout=120, watchdog_intervall=60)
    await client.connect()
    try:
        counter = _Counter()
        sub = await client.create_subscription(500, counter)
        nodes = [client.get_node(node_id(f"Bulk.{i:05d}")) for i in range(tags)]
        for i in range(0, tags, 1000):
            await sub.subscribe_data_change(nodes[i:i + 1000])
        return await _window(lambda: counter.n, warm_s, seconds)
    finally:
        await client.disconnect()


async def connector(endpoint: str, tags: int, warm_s: float,
                    seconds: float) -> tuple[float, float]:
    spec = ConnectorSpec.model_validate({
        "id": "bench", "type": "opcua", "endpoint": endpoint, "asset": "b/m/plc",
        "timeout": "120s", "watchdog": "60s", "subscriptions": [{"publishing_interval": "500ms", "nodes": [
            {"signal": f"t{i:05d}", "node": node_id(f"Bulk.{i:05d}")} for i in range(tags)]}]})
    ctx = ConnectorContext(SignalRegistry(), PlantSpec(plant="b", sites=[]), Path("."))
    conn = create(spec, ctx)
    sink = CollectingSink(keep=False)
    task = asyncio.create_task(conn.run(sink))
    try:
        await sink.wait_for(lambda: conn.up, within_s=300)
        return await _window(lambda: sink.values, warm_s, seconds)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def main(endpoint: str, tags: int, seconds: float, rounds: int) -> None:
    warm = 5.0
    rb, rc = [], []
    for _ in range(rounds):
        rb.append(await bare(endpoint, tags, warm, seconds))
        rc.append(await connector(endpoint, tags, warm, seconds))
    b, bcpu = (sum(x) / len(rb) for x in zip(*rb, strict=True))
    c, ccpu = (sum(x) / len(rc) for x in zip(*rc, strict=True))
    print(f"OPC UA, {tags} monitored items changing at 1 Hz, {seconds:.0f} s windows, "
          f"{rounds} round(s)")
    print(f"  bare asyncua client (1 session, 1 subscription, counting): {b:9.0f} values/s"
          f"  {bcpu:6.1f} us CPU/value")
    print(f"  ironfield connector (columnar batches into a sink)       : {c:9.0f} values/s"
          f"  {ccpu:6.1f} us CPU/value")
    print(f"  ratio connector / bare: {100 * c / b:.0f} %  (target >= 80 %); "
          f"client CPU per value bare / connector: {bcpu / ccpu:.1f}x")
    if max(b, c) < 0.9 * tags:
        print(f"  note: both below {tags}/s: the simulated server is the bottleneck here")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tags", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    port = free_port()
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_serve, args=(port, a.tags, ready), daemon=True)
    proc.start()
    try:
        if not ready.wait(600):
            raise SystemExit("simulated PLC did not start")
        asyncio.run(main(f"opc.tcp://127.0.0.1:{port}/ironfield/plc", a.tags, a.seconds, a.rounds))
    finally:
        proc.terminate()
        proc.join(10)
