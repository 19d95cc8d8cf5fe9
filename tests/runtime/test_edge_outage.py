"""Store-and-forward: the central broker is down for 60 s during a steady stream; when it
returns every value arrives exactly once, in order.

Site machines publish to the site broker (the CI Mosquitto on 1883); ``ironfield edge``
collects them and forwards to a central broker (a second, real Mosquitto started here so
it can be stopped); the central ``ironfield serve`` stores what arrives.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pyarrow as pa
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ironfield.core.plant import HistorianSpec
from ironfield.historian import open_historian

OUTAGE_S = float(os.environ.get("IRONFIELD_OUTAGE_S", "60"))
SIGNALS = 4
RATE_HZ = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def central_broker(port: int, d: Path) -> subprocess.Popen[bytes]:
    conf = d / "central-mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {d}/\nmax_queued_messages 0\n"
    )
    p = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    raise AssertionError("central mosquitto did not start")


def ironfield(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "ironfield.cli", *args], stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_log(log: Path, needle: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while needle not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not in {log.name}:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)


def signals_yaml(prefix: str) -> str:
    sigs = ", ".join(f"{{name: s{i}}}" for i in range(SIGNALS))
    return f"""sites:
  - id: {prefix}
    areas:
      - id: a
        equipment:
          - id: eq
            signals: [{sigs}]
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_central_outage_of_60_s_loses_and_duplicates_nothing(
    mosquitto: tuple[str, int], unique: str, tmp_path: Path
) -> None:
    prefix = f"e{unique}"
    cport = free_port()
    broker = central_broker(cport, tmp_path)
    (tmp_path / "edge.yaml").write_text(f"""plant: edge{unique}
{signals_yaml(prefix)}
connectors:
  - id: site
    type: mqtt
    url: mqtt://127.0.0.1:1883
    client_id: edge-{unique}
    topics:
      - {{topic: "{prefix}/a/eq/{{sig}}", format: value}}
edge:
  uplink: mqtt://127.0.0.1:{cport}
  topic: ironfield/edge/{{plant}}
  client_id: edge-up-{unique}
""")
    (tmp_path / "central.yaml").write_text(f"""plant: central
{signals_yaml(prefix)}
historian: {{backend: duckdb, path: c.duckdb, flush_interval: 100ms}}
connectors:
  - id: uplink
    type: mqtt
    url: mqtt://127.0.0.1:{cport}
    client_id: central-{unique}
    topics:
      - {{topic: "ironfield/edge/{{plant}}/batch", format: arrow}}
      - {{topic: "ironfield/edge/{{plant}}/event", format: event}}
""")
    seqs: list[int] = []
    order = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"order-{unique}", protocol=mqtt.MQTTv5)

    def on_msg(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
        if m.topic.endswith("/batch"):
            meta = pa.ipc.open_stream(pa.py_buffer(bytes(m.payload))).schema.metadata or {}
            seqs.append(int(meta[b"seq"]))

    order.on_message = on_msg
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    order.connect("127.0.0.1", cport, clean_start=False, properties=props)
    order.loop_start()
    order.subscribe("ironfield/edge/+/batch", qos=1)

    edge_log, central_log = tmp_path / "edge.log", tmp_path / "central.log"
    central = ironfield(["serve", "--no-ui", "--plant", str(tmp_path / "central.yaml"), "--data-dir", str(tmp_path / "central")], central_log)
    edge = ironfield(["edge", "--plant", str(tmp_path / "edge.yaml"), "--data-dir", str(tmp_path / "edge")], edge_log)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sent = 0
    try:
        wait_log(central_log, "ironfield plant")
        wait_log(edge_log, "ironfield edge")
        time.sleep(1.5)
        pub.connect("127.0.0.1", 1883)
        pub.loop_start()
        stop = threading.Event()
        t0 = time.time_ns() // 1_000_000 - 3_600_000  # [ms] within retention

        def stream() -> None:
            nonlocal sent
            k = 0
            while not stop.is_set():
                for i in range(SIGNALS):
                    pub.publish(f"{prefix}/a/eq/s{i}", json.dumps({"v": k * 10 + i, "ts": t0 + k}), qos=1)
                k += 1
                sent = k
                time.sleep(1 / RATE_HZ)

        th = threading.Thread(target=stream)
        th.start()
        time.sleep(5)
        broker.send_signal(signal.SIGTERM)  # the central side goes away
        broker.wait(10)
        time.sleep(OUTAGE_S)
        broker = central_broker(cport, tmp_path)  # and comes back with its sessions
        time.sleep(5)
        stop.set()
        th.join()
        # the backlog drains: wait until the centre has seen no new batch for 5 s
        deadline, last_n, quiet_since = time.monotonic() + 120, -1, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if len(seqs) != last_n:
                last_n, quiet_since = len(seqs), time.monotonic()
            elif time.monotonic() - quiet_since > 5:
                break
        time.sleep(1.0)  # the central writer flushes every 100 ms
    finally:
        pub.loop_stop()
        order.loop_stop()
        for p in (edge, central):
            p.send_signal(signal.SIGINT)
        for p in (edge, central):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        broker.terminate()
        broker.wait(10)
    h = open_historian(HistorianSpec(backend="duckdb", path="c.duckdb"), tmp_path / "central")
    try:
        ids = h.load_signal_ids()
        sids = [ids[f"{prefix}/a/eq/s{i}"] for i in range(SIGNALS)]
        b = h.raw(sids, 0, 2**62)
        total = sent * SIGNALS
        assert len(b) == total, f"stored {len(b)} of {total} values"
        assert len(set(zip(b.signal.tolist(), b.ts.tolist(), strict=True))) == total
        col = {s: i for i, s in enumerate(sids)}
        for s, t, v, _ in b.rows():
            assert v == (t // 1_000_000 - t0) * 10 + col[s]
    finally:
        h.close()
    # the batches reached the centre in the order the edge collected them
    first_seen = list(dict.fromkeys(seqs))
    assert first_seen == sorted(first_seen) and first_seen[0] == 1
    assert first_seen == list(range(1, len(first_seen) + 1))

