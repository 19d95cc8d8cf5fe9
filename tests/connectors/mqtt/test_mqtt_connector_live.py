"""The MQTT connector against the real Mosquitto broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ironfield.connectors.mqtt import sparkplug as spb
from ironfield.connectors.mqtt.config import MqttConnectorSpec, TopicSpec
from ironfield.connectors.mqtt.connector import MqttConnector
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plugins import Ack, Command
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalDef, SignalRegistry


class RecordingSink:
    def __init__(self, ack_now: bool = True) -> None:
        self.batches: list[Batch] = []
        self.bad: list[tuple[str, bytes, str]] = []
        self.events: list[Event] = []
        self.acks: list[Ack] = []
        self.ack_now = ack_now

    async def submit(self, batch: Batch, ack: Ack | None = None) -> None:
        self.batches.append(batch)
        if ack is not None:
            if self.ack_now:
                ack()
            else:
                self.acks.append(ack)

    def malformed(self, source: str, payload: bytes, reason: str) -> None:
        self.bad.append((source, payload, reason))

    async def emit(self, event: Event) -> None:
        self.events.append(event)

    @property
    def values(self) -> int:
        return sum(len(b) for b in self.batches)


def publisher(host: str, port: int) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.connect(host, port)
    c.loop_start()
    return c


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(conn: MqttConnector, sink: RecordingSink) -> AsyncIterator[None]:
    task = asyncio.create_task(conn.run(sink))
    try:
        await asyncio.to_thread(conn.connected.wait, 10)
        await asyncio.sleep(0.3)  # subscriptions granted
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def registry(prefix: str, names: list[str]) -> SignalRegistry:
    r = SignalRegistry()
    for n in names:
        r.register(SignalDef(f"{prefix}/{n}", writable=n.endswith("_sp"), low=0, high=100))
    return r


async def test_value_object_columnar_and_malformed(mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    p = f"t{unique}/pit"
    reg = registry(p, ["truck-1/speed", "truck-1/load", "robot-1/i", "robot-1/u", "crusher/a", "crusher/b"])
    spec = MqttConnectorSpec(id="m", url=f"mqtt://{host}:{port}", client_id=f"c{unique}", session_expiry_s=0,
                             topics=[TopicSpec(topic=f"{p}/{{eq}}/{{sig}}", format="value"),
                                     TopicSpec(topic=f"{p}/{{eq}}/obj", format="object", signal=f"{p}/{{eq}}/{{key}}"),
                                     TopicSpec(topic=f"{p}/{{eq}}/col", format="columnar", signal=f"{p}/{{eq}}/{{key}}")])
    conn = MqttConnector(spec, reg)
    sink = RecordingSink()
    async with running(conn, sink):
        pub = publisher(host, port)
        pub.publish(f"{p}/truck-1/speed", "12.5", qos=1)
        pub.publish(f"{p}/truck-1/load", json.dumps({"v": 88, "ts": 1_700_000_000_000, "q": 64}), qos=1)
        pub.publish(f"{p}/robot-1/obj", json.dumps({"ts": 1_700_000_000_001, "i": 9.1, "u": 1.2}), qos=1)
        pub.publish(f"{p}/crusher/col", json.dumps({"ts": [1, 2, 3], "values": {"a": [1, 2, 3], "b": [4, 5, 6]}}), qos=1)
        pub.publish(f"{p}/truck-1/speed", "fast!", qos=1)
        pub.publish(f"{p}/truck-1/nosuch", "1", qos=1)
        # one unknown key: the whole message is set aside, its known values too
        pub.publish(f"{p}/crusher/col", json.dumps({"ts": [4], "values": {"a": [7], "zz": [8]}}), qos=1)
        await wait_for(lambda: sink.values >= 10 and len(sink.bad) >= 3)
        pub.loop_stop()
    rows = {(reg.path(s), v) for b in sink.batches for s, _, v, _ in b.rows()}
    assert (f"{p}/truck-1/speed", 12.5) in rows
    assert (f"{p}/truck-1/load", 88.0) in rows
    assert (f"{p}/robot-1/i", 9.1) in rows
    assert {v for path, v in rows if path == f"{p}/crusher/b"} == {4.0, 5.0, 6.0}
    assert {v for path, v in rows if path == f"{p}/crusher/a"} == {1.0, 2.0, 3.0}
    reasons = " | ".join(r for _, _, r in sink.bad)
    assert "not JSON" in reasons and f"unknown signal '{p}/truck-1/nosuch'" in reasons
    assert f"unknown signal(s) ['{p}/crusher/zz']" in reasons
    load = [b for b in sink.batches for s, t, v, q in b.rows() if v == 88.0]
    assert load and int(load[0].quality[list(load[0].value).index(88.0)]) == 64


async def test_unacked_messages_are_redelivered(mosquitto: tuple[str, int], unique: str) -> None:
    """What the connector has not acknowledged (not yet durable) the broker sends again."""
    host, port = mosquitto
    p = f"t{unique}/r"
    reg = registry(p, ["a/x"])
    spec = MqttConnectorSpec(id="m", url=f"mqtt://{host}:{port}", client_id=f"c{unique}",
                             session_expiry_s=300, topics=[TopicSpec(topic=f"{p}/{{e}}/{{s}}")])
    first = RecordingSink(ack_now=False)
    conn = MqttConnector(spec, reg)
    async with running(conn, first):
        pub = publisher(host, port)
        for i in range(50):
            pub.publish(f"{p}/a/x", json.dumps({"v": i, "ts": 1_700_000_000_000 + i}), qos=1)
        await wait_for(lambda: first.values >= 50)
    # never acknowledged: a new connection with the same session gets all 50 again
    second = RecordingSink(ack_now=True)
    async with running(MqttConnector(spec, reg), second):
        await wait_for(lambda: second.values >= 50)
    got = sorted(v for b in second.batches for v in b.value.tolist())
    assert got == [float(i) for i in range(50)]
    # acknowledged now: a third connection gets nothing
    third = RecordingSink()
    async with running(MqttConnector(spec, reg), third):
        await asyncio.sleep(1.0)
    assert third.values == 0
    pub.loop_stop()


async def test_sparkplug_birth_data_death(mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    group = f"g{unique}"
    reg = SignalRegistry()
    spec = MqttConnectorSpec(id="m", url=f"mqtt://{host}:{port}", client_id=f"c{unique}", session_expiry_s=0,
                             unknown_signals="register",
                             topics=[TopicSpec(topic=f"spBv1.0/{group}/#", format="sparkplug")])
    sink = RecordingSink()
    async with running(MqttConnector(spec, reg), sink):
        pub = publisher(host, port)
        now = int(time.time() * 1000)
        # data before birth is refused (and a rebirth requested)
        pub.publish(f"spBv1.0/{group}/DDATA/edge1/plc1",
                    spb.encode([{"alias": 1, "datatype": spb.DOUBLE, "value": 1.0}], now, seq=0), qos=1)
        pub.publish(f"spBv1.0/{group}/NBIRTH/edge1",
                    spb.encode([{"name": "bdSeq", "datatype": spb.INT64, "value": 3}], now, seq=0), qos=1)
        pub.publish(f"spBv1.0/{group}/DBIRTH/edge1/plc1",
                    spb.encode([{"name": "Inputs/Temp", "alias": 1, "datatype": spb.DOUBLE, "value": 20.0}], now, seq=1), qos=1)
        pub.publish(f"spBv1.0/{group}/DDATA/edge1/plc1",
                    spb.encode([{"alias": 1, "datatype": spb.DOUBLE, "value": 21.5}], now + 1, seq=2), qos=1)
        await wait_for(lambda: sink.values >= 2 and len(sink.bad) >= 1)
        pub.publish(f"spBv1.0/{group}/NDEATH/edge1",
                    spb.encode([{"name": "bdSeq", "datatype": spb.INT64, "value": 3}], now + 2), qos=1)
        await wait_for(lambda: any(e.type == "sparkplug_death" for e in sink.events))
        await wait_for(lambda: sink.values >= 3)
        pub.loop_stop()
    path = f"{group}/edge1/plc1/Inputs/Temp"
    rows = [(t, v, q) for b in sink.batches for s, t, v, q in b.rows() if reg.path(s) == path]
    assert [v for _, v, _ in rows[:2]] == [20.0, 21.5]
    assert rows[-1][2] == Quality.BAD_COMM_FAILURE
    assert "before its birth" in sink.bad[0][2]


def set_listener(host: str, port: int, topic: str) -> tuple[mqtt.Client, list[bytes]]:
    """The device's side of write-back: the payloads published on ``topic``."""
    got: list[bytes] = []
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = lambda c, u, m: got.append(bytes(m.payload))
    sub.connect(host, port)
    sub.loop_start()
    sub.subscribe(topic, qos=1)
    return sub, got


async def test_write_back_publishes_and_enforces_limits(mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    p = f"t{unique}/w"
    reg = registry(p, ["crusher/feed_sp", "crusher/temp"])
    spec = MqttConnectorSpec(id="m", url=f"mqtt://{host}:{port}", client_id=f"c{unique}", session_expiry_s=0,
                             topics=[TopicSpec(topic=f"{p}/{{e}}/{{s}}")])
    sub, got = set_listener(host, port, f"{p}/crusher/feed_sp/set")
    conn = MqttConnector(spec, reg)
    async with running(conn, RecordingSink()):
        ok = await conn.write(Command(signal=f"{p}/crusher/feed_sp", value=42.0, user="op1"))
        too_high = await conn.write(Command(signal=f"{p}/crusher/feed_sp", value=420.0))
        read_only = await conn.write(Command(signal=f"{p}/crusher/temp", value=1.0))
        await wait_for(lambda: len(got) >= 1)
    sub.loop_stop()
    assert ok.status == "confirmed"
    assert json.loads(got[0])["v"] == 42.0 and json.loads(got[0])["user"] == "op1"
    assert too_high.status == "rejected" and "above its high limit" in too_high.message
    assert read_only.status == "rejected" and "read-only" in read_only.message
    assert len(got) == 1


async def test_write_back_body_stays_json_whatever_the_user_name(mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    p = f"t{unique}/wq"
    reg = registry(p, ["crusher/feed_sp"])
    spec = MqttConnectorSpec(id="m", url=f"mqtt://{host}:{port}", client_id=f"c{unique}", session_expiry_s=0,
                             topics=[TopicSpec(topic=f"{p}/{{e}}/{{s}}")])
    sub, got = set_listener(host, port, f"{p}/crusher/feed_sp/set")
    conn = MqttConnector(spec, reg)
    async with running(conn, RecordingSink()):
        ok = await conn.write(Command(signal=f"{p}/crusher/feed_sp", value=7.5, user='o"brien\\x'))
        await wait_for(lambda: len(got) >= 1)
    sub.loop_stop()
    assert ok.status == "confirmed"
    body = json.loads(got[0])
    assert body["v"] == 7.5 and body["user"] == 'o"brien\\x'


@pytest.mark.parametrize("n", [3])
async def test_broker_restart_reconnects(mosquitto: tuple[str, int], unique: str, n: int) -> None:
    """Dropping the connection (as a broker restart does) is followed by reconnect and resubscribe."""
    host, port = mosquitto
    p = f"t{unique}/rc"
    reg = registry(p, ["a/x"])
    spec = MqttConnectorSpec(id="m", url=f"mqtt://{host}:{port}", client_id=f"c{unique}", session_expiry_s=60,
                             topics=[TopicSpec(topic=f"{p}/{{e}}/{{s}}")])
    conn = MqttConnector(spec, reg)
    sink = RecordingSink()
    async with running(conn, sink):
        # a second client with the same id makes the broker drop the first: a real disconnect
        thief = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"c{unique}", protocol=mqtt.MQTTv5)
        thief.connect(host, port)
        thief.disconnect()
        await wait_for(lambda: conn.connects >= 2, timeout=15)
        pub = publisher(host, port)
        for i in range(n):
            pub.publish(f"{p}/a/x", str(i), qos=1)
        await wait_for(lambda: sink.values >= n)
        pub.loop_stop()
    assert any(e.type == "comm_fault" for e in sink.events)
