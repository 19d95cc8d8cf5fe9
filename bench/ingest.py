"""End-to-end ingest: MQTT (real Mosquitto) -> connector -> pipeline -> historian.

(a) columnar JSON batches of 1,000 values; baseline in the same run: the raw backend
    insert of the same rows (DuckDB through Arrow; PostgreSQL binary COPY).
(b) single-value JSON messages; baseline in the same run: a bare paho client that only
    receives (QoS 1) and counts.

The broker is preloaded: the consumer's persistent session is created, the consumer goes
away, every message is published, then the consumer comes back and drains the backlog.
So the figure is the consumer's capacity (receive, decode, store), not the publisher's
pace; each rate runs from the first value received to the last one stored. Usage:

    .venv/bin/python bench/ingest.py [--messages-a 1500] [--messages-b 60000] [--backends duckdb,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ironfield.core.batch import Batch
from ironfield.core.plant import PlantSpec
from ironfield.runtime.platform import Platform

HOST, PORT = "127.0.0.1", 1883  # PORT is replaced by a private broker's in main()
PG = "postgresql://127.0.0.1:5432/test"
SIGNALS_A = 100  # a 1,000-value message holds 10 timestamps x 100 signals
SIGNALS_B = 1000
FLUSH_ROWS = int(os.environ.get("IRONFIELD_BENCH_FLUSH_ROWS", "50000"))


def payloads_a(n: int, t0_ms: int) -> list[bytes]:
    out = []
    names = [f"s{i:03d}" for i in range(SIGNALS_A)]
    for m in range(n):
        ts = [t0_ms + m * 10 + k for k in range(10)]
        out.append(json.dumps({"ts": ts, "values": {nm: [float(m + k + i) for k in range(10)]
                                                    for i, nm in enumerate(names)}}).encode())
    return out


def publish(topics: list[str], payloads: list[bytes], go: Any) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(2000)
    c.max_queued_messages_set(0)
    c.connect(HOST, PORT)
    c.loop_start()
    go.wait()
    infos = [c.publish(t, p, qos=1) for t, p in zip(topics, payloads, strict=True)]
    for i in infos:
        i.wait_for_publish(60)
    c.loop_stop()
    c.disconnect()


def start_publishers(topics: list[str], payloads: list[bytes], procs: int = 1) -> tuple[list[Any], Any]:
    ctx = mp.get_context("fork")
    go = ctx.Event()
    ps = []
    for k in range(procs):
        p = ctx.Process(target=publish, args=(topics[k::procs], payloads[k::procs], go))
        p.start()
        ps.append(p)
    time.sleep(1.0)  # connected
    return ps, go


def plant(prefix: str, fmt: str, backend: str, schema: str) -> PlantSpec:
    n = SIGNALS_A if fmt == "columnar" else SIGNALS_B
    hist: dict[str, Any] = {"backend": backend, "path": "bench.duckdb", "flush_rows": FLUSH_ROWS,
                            "flush_interval": os.environ.get("IRONFIELD_BENCH_FLUSH_INTERVAL", "100ms")}
    if backend == "postgres":
        hist |= {"dsn": PG, "schema": schema}
    topic = ({"topic": f"{prefix}/a/eq/batch", "format": "columnar", "signal": f"{prefix}/a/eq/{{key}}"}
             if fmt == "columnar" else {"topic": f"{prefix}/a/eq/{{sig}}", "format": "value"})
    return PlantSpec.model_validate({
        "plant": "bench",
        "sites": [{"id": prefix, "areas": [{"id": "a", "equipment": [
            {"id": "eq", "signals": [{"name": f"s{i:03d}"} for i in range(n)]}]}]}],
        "historian": hist,
        "connectors": [{"id": "m", "type": "mqtt", "url": f"mqtt://{HOST}:{PORT}",
                        "client_id": f"bench-{prefix}", "session_expiry_s": 600, "topics": [topic]}],
    })


async def run_platform(spec: PlantSpec, data_dir: Path, expect: int, topics: list[str],
                       payloads: list[bytes], procs: int) -> float:
    # 1. create the persistent session and its subscription, then go away
    p = Platform(plant=spec, data_dir=data_dir)
    p.open()
    await p.start()
    await asyncio.sleep(1.0)
    await p.stop()
    # 2. preload the broker
    pubs, go = start_publishers(topics, payloads, procs)
    go.set()
    for pr in pubs:
        pr.join()
    # 3. come back and drain
    p = Platform(plant=spec, data_dir=data_dir)
    p.open()
    assert p.pipeline is not None
    st = p.pipeline.stats
    base_in = st.values_in
    await p.start()
    t_first = None
    while True:
        await asyncio.sleep(0.005)
        if t_first is None and st.values_in > base_in:
            t_first = time.perf_counter()
        written = st.values_written + st.values_duplicate
        if written >= expect and p.pipeline.queue_depth == 0:
            break
    t_last = time.perf_counter()
    await p.stop()
    assert t_first is not None
    metrics = 0  # platform self-metrics are written too; they are few and not counted
    del metrics
    return expect / (t_last - t_first)


def bare_receive(topics: list[str], payloads: list[bytes], procs: int) -> float:
    prefix = topics[0].split("/")[0]
    done = threading.Event()
    n = len(payloads)
    state = {"count": 0, "first": 0.0, "last": 0.0}

    def on_message(c: Any, u: Any, m: Any) -> None:
        if state["count"] == 0:
            state["first"] = time.perf_counter()
        state["count"] += 1
        if state["count"] == n:
            state["last"] = time.perf_counter()
            done.set()

    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    cid = f"bare-{uuid.uuid4().hex[:6]}"

    def client() -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 600
        props.ReceiveMaximum = 65535
        c.connect(HOST, PORT, clean_start=False, properties=props)
        return c

    c = client()
    c.loop_start()
    c.subscribe(f"{prefix}/#", qos=1)
    time.sleep(0.5)
    c.disconnect()
    c.loop_stop()
    pubs, go = start_publishers(topics, payloads, procs)
    go.set()
    for pr in pubs:
        pr.join()
    c = client()
    c.on_message = on_message
    c.loop_start()
    done.wait(300)
    c.loop_stop()
    c.disconnect()
    return n / (state["last"] - state["first"])


def raw_duckdb(rows: Batch, chunk: int) -> float:
    import duckdb

    path = Path(tempfile.mkdtemp()) / "raw.duckdb"  # a file, as the historian's is
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE raw (signal_id INTEGER, ts BIGINT, value DOUBLE, quality UTINYINT)")
    t = time.perf_counter()
    for i in range(0, len(rows), chunk):
        tab = rows.take(np.arange(i, min(i + chunk, len(rows)))).to_arrow()  # noqa: F841
        con.execute("INSERT INTO raw SELECT * FROM tab")
    dt = time.perf_counter() - t
    con.close()
    return len(rows) / dt


def raw_pg_copy(rows: Batch, chunk: int, keyed: bool = False) -> float:
    """Binary COPY of the rows; ``keyed`` adds the (signal_id, ts) primary key that makes
    the historian's writes idempotent across ingest workers."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        key = ", PRIMARY KEY (signal_id, ts)" if keyed else ""
        con.execute(f"CREATE TABLE {schema}.raw (signal_id int, ts bigint, value double precision, quality smallint{key})")
        t = time.perf_counter()
        for i in range(0, len(rows), chunk):
            sl = slice(i, i + chunk)
            with con.transaction(), con.cursor().copy(
                f"COPY {schema}.raw FROM STDIN (FORMAT BINARY)"
            ) as cp:
                cp.set_types(["int4", "int8", "float8", "int2"])
                for r in zip(rows.signal[sl].tolist(), rows.ts[sl].tolist(), rows.value[sl].tolist(),
                             rows.quality[sl].tolist(), strict=True):
                    cp.write_row(r)
        dt = time.perf_counter() - t
        con.execute(f"DROP SCHEMA {schema} CASCADE")
    return len(rows) / dt


def rows_a(n_msgs: int) -> Batch:
    ts = (np.arange(n_msgs * 10, dtype=np.int64) + 1_750_000_000_000) * 1_000_000
    sig = np.tile(np.arange(SIGNALS_A, dtype=np.int32), len(ts))
    return Batch.build(sig, np.repeat(ts, SIGNALS_A), np.random.default_rng(1).random(len(sig)))


def private_mosquitto() -> tuple[Any, int]:
    """A real Mosquitto with unbounded queues, so a consumer slower than the publishers
    is measured by its drain rate instead of having the broker drop messages (Mosquitto's
    default max_queued_messages of 1000 does that, for QoS 1 too)."""
    import socket
    import subprocess

    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    conf = Path(tempfile.mkdtemp()) / "mosquitto.conf"
    conf.write_text(f"listener {port} {HOST}\nallow_anonymous true\nmax_queued_messages 0\n"
                    "max_inflight_messages 0\nmax_queued_bytes 0\npersistence false\n")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, port


def main() -> None:
    global PORT
    broker, PORT = private_mosquitto()
    try:
        _main()
    finally:
        broker.terminate()


def _main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages-a", type=int, default=1500)
    ap.add_argument("--messages-b", type=int, default=60_000)
    ap.add_argument("--backends", default="duckdb,postgres")
    ap.add_argument("--publishers", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds of (a); the median is reported")
    a = ap.parse_args()
    results: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="ironfield-bench-"))
    for backend in a.backends.split(","):
        ratios, e2es, bases = [], [], []
        for _ in range(a.repeats):
            prefix = f"b{uuid.uuid4().hex[:8]}"
            pays = payloads_a(a.messages_a, 1_750_000_000_000)
            topics = [f"{prefix}/a/eq/batch"] * len(pays)
            expect = a.messages_a * 1000
            e2e = asyncio.run(run_platform(plant(prefix, "columnar", backend, prefix), tmp / prefix, expect,
                                           topics, pays, a.publishers))
            rows = rows_a(a.messages_a)
            base = raw_duckdb(rows, 50_000) if backend == "duckdb" else raw_pg_copy(rows, 50_000)
            if backend == "postgres":
                import psycopg

                keyed = raw_pg_copy(rows, 50_000, keyed=True)
                print(f"    (COPY into a table with the (signal_id, ts) primary key: {keyed:,.0f}/s, "
                      f"end to end / that: {e2e / keyed:.2f})", flush=True)
                with psycopg.connect(PG, autocommit=True) as con:
                    con.execute(f"DROP SCHEMA IF EXISTS {prefix} CASCADE")
            ratios.append(e2e / base)
            e2es.append(e2e)
            bases.append(base)
            print(f"    round: end-to-end {e2e:,.0f}/s, raw {base:,.0f}/s, ratio {e2e / base:.2f}", flush=True)
        med = sorted(range(len(ratios)), key=lambda i: ratios[i])[len(ratios) // 2]
        results.append(f"(a) columnar 1,000-value messages -> {backend}: end-to-end {e2es[med]:,.0f} values/s; "
                       f"raw {backend} insert {bases[med]:,.0f} values/s; median ratio of {a.repeats} rounds "
                       f"{ratios[med]:.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")
        print(results[-1], flush=True)
    rb: list[tuple[float, float]] = []
    for _ in range(a.repeats):
        prefix = f"b{uuid.uuid4().hex[:8]}"
        topics = [f"{prefix}/a/eq/s{i % SIGNALS_B:03d}" for i in range(a.messages_b)]
        pays = [f"{i % 1000}.5".encode() for i in range(a.messages_b)]
        bare = bare_receive(topics, pays, a.publishers)
        e2e_b = asyncio.run(run_platform(plant(prefix, "value", "duckdb", prefix), tmp / prefix, a.messages_b,
                                         topics, pays, a.publishers))
        rb.append((e2e_b, bare))
        print(f"    round: end-to-end {e2e_b:,.0f}/s, bare {bare:,.0f} msg/s, ratio {e2e_b / bare:.2f}", flush=True)
    rb.sort(key=lambda r: r[0] / r[1])
    e2e_b, bare = rb[len(rb) // 2]
    results.append(f"(b) single-value JSON messages -> duckdb: end-to-end {e2e_b:,.0f} values/s; "
                   f"bare paho receive {bare:,.0f} msg/s; median ratio of {a.repeats} rounds {e2e_b / bare:.2f} "
                   f"(range {min(r[0] / r[1] for r in rb):.2f}-{max(r[0] / r[1] for r in rb):.2f})")
    print(results[-1], flush=True)
    print(f"cpu cores: {os.cpu_count()}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
