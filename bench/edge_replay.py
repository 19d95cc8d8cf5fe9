"""Store-and-forward replay rate: values/s an edge drains from its disk buffer after an
outage, against a bare paho client publishing the same records (QoS 1) in the same run.

    .venv/bin/python bench/edge_replay.py [--batches 400] [--rows 1000]

The central broker is the local Mosquitto (127.0.0.1:1883); nothing subscribes, so the
figure is the edge side's read-from-disk + publish + wait-for-PUBACK + commit loop.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ironfield.core.batch import Batch
from ironfield.core.plant import EdgeSpec
from ironfield.core.signals import SignalRegistry
from ironfield.runtime.edge import Forwarder


async def fill(fw: Forwarder, batches: int, rows: int, sigs: int) -> None:
    rng = np.random.default_rng(1)
    for k in range(batches):
        ts = 1_750_000_000_000_000_000 + (k * rows + np.arange(rows)) * 1_000_000
        await fw.submit(Batch.build(np.arange(rows) % sigs, ts, rng.random(rows)))


async def drain(fw: Forwarder) -> float:
    task = asyncio.create_task(fw.run_uplink())
    t0 = time.perf_counter()
    while fw.buffer.pending() or fw.stats.records_sent == 0:
        await asyncio.sleep(0.01)
    dt = time.perf_counter() - t0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return dt


def bare(records: list[bytes], topic: str) -> float:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(256)
    c.connect("127.0.0.1", 1883)
    c.loop_start()
    t0 = time.perf_counter()
    for i in range(0, len(records), 64):  # the same 64-record windows, acknowledged per window
        infos = [c.publish(topic, r, qos=1) for r in records[i:i + 64]]
        for info in infos:
            info.wait_for_publish(30)
    dt = time.perf_counter() - t0
    c.loop_stop()
    c.disconnect()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=400)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--signals", type=int, default=100)
    a = ap.parse_args()
    reg = SignalRegistry()
    for i in range(a.signals):
        reg.register(f"bench/a/eq/s{i:03d}")
    d = Path(tempfile.mkdtemp())
    tag = uuid.uuid4().hex[:8]
    fw = Forwarder(EdgeSpec(uplink="mqtt://127.0.0.1:1883", topic=f"bench-{tag}/{{plant}}",
                            client_id=f"bench-edge-{tag}"), "replay", reg, d)
    t0 = time.perf_counter()
    asyncio.run(fill(fw, a.batches, a.rows, a.signals))
    fill_s = time.perf_counter() - t0
    records, _ = fw.buffer.peek(10**9)
    values = a.batches * a.rows
    edge_s = asyncio.run(drain(fw))
    bare_s = bare([r[1:] for r in records], f"bench-{tag}/bare")
    fw.buffer.close()
    print(f"buffered {values:,} values in {a.batches} records ({sum(len(r) for r in records):,} bytes) "
          f"at {values / fill_s:,.0f} values/s (fsync per record)")
    print(f"replay: {values / edge_s:,.0f} values/s; bare paho publish of the same records: "
          f"{values / bare_s:,.0f} values/s; ratio {bare_s / edge_s:.2f}")


if __name__ == "__main__":
    main()
