"""kill -9 the ingest process mid-stream; every value is in the historian exactly once.

Why it holds: the MQTT connector acknowledges a message (QoS 1, persistent session) only
after the batch holding it has committed in the historian; whatever was received but not
yet durable when the process died is redelivered by the broker, and the historian's
idempotent write on (signal, ts) drops what had in fact been stored.

Payloads are columnar batches of 100 values, as an edge gateway sends them: the broker
(Mosquitto's default max_queued_messages is 1000) must hold what arrives while the
ingest process is down, so the message count during the outage stays well under that.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ironfield.core.plant import HistorianSpec
from ironfield.historian import open_historian
from services import POSTGRES, require_service

SIGNALS = 4
PER_MSG = 25  # timestamps per message per signal -> 100 values a message
MESSAGES = 400
# an hour ago [ms]: recent enough that the platform's retention (90 d raw) keeps it
T0 = time.time_ns() // 1_000_000 - 3_600_000


def plant_yaml(unique: str, backend: str) -> str:
    hist = (
        "historian: {backend: duckdb, path: h.duckdb, flush_rows: 2000, flush_interval: 100ms}"
        if backend == "duckdb"
        else f"historian: {{backend: postgres, dsn: 'postgresql://127.0.0.1:5432/test', schema: k{unique}, flush_rows: 2000, flush_interval: 100ms}}"
    )
    sigs = ", ".join(f"{{name: s{i}}}" for i in range(SIGNALS))
    return f"""
plant: kill9
sites:
  - id: k{unique}
    areas:
      - id: a
        equipment:
          - id: eq
            signals: [{sigs}]
{hist}
connectors:
  - id: m
    type: mqtt
    url: mqtt://127.0.0.1:1883
    client_id: kill9-{unique}
    session_expiry_s: 600
    topics:
      - {{topic: "k{unique}/a/eq/batch", format: columnar, signal: "k{unique}/a/eq/{{key}}"}}
"""


def start(plant: Path, data: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "ironfield.cli", "serve", "--no-ui", "--plant", str(plant), "--data-dir", str(data)],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def wait_log(log: Path, needle: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while needle not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not in log:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_kill_9_mid_stream_loses_nothing_and_duplicates_nothing(
    backend: str, mosquitto: tuple[str, int], unique: str, tmp_path: Path
) -> None:
    if backend == "postgres":
        require_service(*POSTGRES, "PostgreSQL")
    plant = tmp_path / "plant.yaml"
    plant.write_text(plant_yaml(unique, backend))
    data, log = tmp_path / "data", tmp_path / "serve.log"
    proc = start(plant, data, log)
    try:
        wait_log(log, "ironfield plant")
        time.sleep(1.0)  # subscribed with a persistent session
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect("127.0.0.1", 1883)
        pub.loop_start()
        sent = threading.Event()

        def publish() -> None:
            for m in range(MESSAGES):
                ts = [T0 + m * PER_MSG + k for k in range(PER_MSG)]
                body = {"ts": ts, "values": {f"s{i}": [t * 10 + i for t in ts] for i in range(SIGNALS)}}
                pub.publish(f"k{unique}/a/eq/batch", json.dumps(body), qos=1).wait_for_publish(5)
                time.sleep(0.01)
            sent.set()

        th = threading.Thread(target=publish)
        th.start()
        time.sleep(1.5)
        proc.send_signal(signal.SIGKILL)  # mid-stream, no chance to flush or acknowledge
        proc.wait(10)
        proc = start(plant, data, log)
        th.join(60)
        assert sent.is_set()
        pub.loop_stop()
        time.sleep(3.0)  # let the redelivered and the late messages land
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    text = log.read_text(errors="replace")
    assert text.count("ironfield plant") == 2, text[-2000:]
    spec = (HistorianSpec(backend="duckdb", path="h.duckdb") if backend == "duckdb"
            else HistorianSpec(backend="postgres", dsn="postgresql://127.0.0.1:5432/test", schema_=f"k{unique}"))
    h = open_historian(spec, data)
    try:
        ids = h.load_signal_ids()
        sids = [ids[f"k{unique}/a/eq/s{i}"] for i in range(SIGNALS)]
        b = h.raw(sids, 0, 2**62)
        total = MESSAGES * PER_MSG * SIGNALS
        assert len(b) == total, f"stored {len(b)} of {total}"
        pairs = set(zip(b.signal.tolist(), b.ts.tolist(), strict=True))
        assert len(pairs) == total  # exactly once
        by_id = {sid: i for i, sid in enumerate(sids)}
        expect = [(t // 1_000_000) * 10 + by_id[s] for s, t in zip(b.signal.tolist(), b.ts.tolist(), strict=True)]
        assert b.value.tolist() == [float(x) for x in expect]
    finally:
        if backend == "postgres":
            import psycopg

            with psycopg.connect("postgresql://127.0.0.1:5432/test", autocommit=True) as c:
                c.execute(f"DROP SCHEMA IF EXISTS k{unique} CASCADE")
        h.close()
