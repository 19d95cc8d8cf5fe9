"""``ironfield edge``: run connectors near the machines and forward to the centre.

Everything the local connectors deliver is appended to the on-disk store-and-forward
buffer first (so they are acknowledged as soon as it is on disk here), then an uplink
task sends the buffer's records in order over MQTT (QoS 1) to the central broker and
forgets them only on the broker's acknowledgement. When the centre is unreachable the
buffer grows (bounded, see :mod:`ironfield.connectors.buffer`) and drains in order when
the link returns; the central historian drops the few records sent twice around a
reconnect, because it is idempotent on (signal, ts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ironfield.connectors import wire
from ironfield.connectors.buffer import DiskBuffer
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plant import EdgeSpec, PlantSpec, load_plant
from ironfield.core.plugins import Ack, Connector, ConnectorContext
from ironfield.core.signals import SignalRegistry
from ironfield.runtime.plugins import load_entry_point

log = logging.getLogger(__name__)

BATCH, EVENT = b"B", b"E"


@dataclass
class EdgeStats:
    batches_buffered: int = 0
    values_buffered: int = 0
    records_sent: int = 0
    malformed: int = 0
    reconnects: int = 0
    uplink_up: bool = False
    replay_values: int = 0


class Forwarder:
    """A :class:`~ironfield.core.plugins.Sink` that stores, then forwards, in order."""

    def __init__(self, spec: EdgeSpec, plant: str, registry: SignalRegistry, data_dir: Path) -> None:
        self.spec = spec
        self.plant = plant
        self.registry = registry
        bdir = Path(spec.buffer_dir)
        self.buffer = DiskBuffer(
            bdir if bdir.is_absolute() else data_dir / bdir,
            max_bytes=spec.buffer_max_bytes, policy=spec.buffer_policy,
        )
        self.topic = spec.topic.replace("{plant}", plant)
        self.stats = EdgeStats()
        self._seq = 0
        self._more = asyncio.Event()
        self._dead = (data_dir / "edge-dead-letters.jsonl")

    # -- Sink ---------------------------------------------------------------------------

    async def submit(self, batch: Batch, ack: Ack | None = None) -> None:
        if len(batch):
            for i in range(0, len(batch), self.spec.max_batch_rows):
                part = batch if len(batch) <= self.spec.max_batch_rows else batch.take(
                    slice(i, i + self.spec.max_batch_rows))
                self._seq += 1
                body = BATCH + wire.encode(part, self.registry, self._seq, self.plant)
                await asyncio.to_thread(self.buffer.append, body)
            self.stats.batches_buffered += 1
            self.stats.values_buffered += len(batch)
            self._more.set()
        if ack is not None:
            ack()

    def malformed(self, source: str, payload: bytes, reason: str) -> None:
        self.stats.malformed += 1
        with self._dead.open("a") as f:
            f.write(json.dumps({"source": source, "reason": reason,
                                "payload": payload[:4096].decode("latin-1")}) + "\n")

    async def emit(self, event: Event) -> None:
        await asyncio.to_thread(self.buffer.append, EVENT + json.dumps(event.to_dict()).encode())
        self._more.set()

    # -- uplink -------------------------------------------------------------------------

    async def run_uplink(self) -> None:
        u = urlparse(self.spec.uplink)
        connected = threading.Event()
        acked: dict[int, threading.Event] = {}

        def on_connect(c: Any, ud: Any, flags: Any, rc: Any, props: Any = None) -> None:
            if not getattr(rc, "is_failure", False):
                self.stats.reconnects += 1
                self.stats.uplink_up = True
                connected.set()

        def on_disconnect(c: Any, ud: Any, flags: Any, rc: Any, props: Any = None) -> None:
            self.stats.uplink_up = False
            connected.clear()
            for ev in list(acked.values()):
                ev.set()  # wake waiters; they see the link is down and retry

        def on_publish(c: Any, ud: Any, mid: int, rc: Any = None, props: Any = None) -> None:
            ev = acked.get(mid)
            if ev is not None:
                ev.set()

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.spec.client_id or f"ironfield-edge-{self.plant}",
                             protocol=mqtt.MQTTv5)
        client.on_connect, client.on_disconnect, client.on_publish = on_connect, on_disconnect, on_publish
        client.reconnect_delay_set(1, 10)
        client.max_inflight_messages_set(256)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        client.connect_async(u.hostname or "127.0.0.1", u.port or 1883, clean_start=False, properties=props)
        client.loop_start()
        try:
            while True:
                if not connected.is_set():
                    await asyncio.to_thread(connected.wait, 1.0)
                    continue
                records, end = await asyncio.to_thread(self.buffer.peek, 64)
                if not records:
                    self._more.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._more.wait(), 0.2)
                    continue
                waits: list[threading.Event] = []
                for rec in records:
                    kind, body = rec[:1], rec[1:]
                    topic = f"{self.topic}/batch" if kind == BATCH else f"{self.topic}/event"
                    ev = threading.Event()
                    info = client.publish(topic, body, qos=1)
                    acked[info.mid] = ev
                    waits.append(ev)
                    if info.rc != mqtt.MQTT_ERR_SUCCESS:
                        ev.set()
                ok = await asyncio.to_thread(_wait_all, waits, 10.0)
                for mid in [m for m, e in acked.items() if e in waits]:
                    acked.pop(mid, None)
                if ok and connected.is_set():
                    await asyncio.to_thread(self.buffer.commit, end)
                    self.stats.records_sent += len(records)
                else:
                    await asyncio.sleep(0.5)  # the same records go again after reconnect
        finally:
            client.disconnect()
            client.loop_stop()


def _wait_all(events: list[threading.Event], timeout: float) -> bool:
    return all(e.wait(timeout) for e in events)


@dataclass
class Edge:
    plant: PlantSpec
    plant_file: str
    data_dir: Path
    registry: SignalRegistry = field(default_factory=SignalRegistry)
    connectors: dict[str, Connector] = field(default_factory=dict)
    forwarder: Forwarder | None = None

    @classmethod
    def from_file(cls, path: str | Path, data_dir: Path | None = None) -> Edge:
        plant = load_plant(path)
        return cls(plant, str(path), data_dir or Path(plant.data_dir))

    def open(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.registry.register_many(self.plant.signal_defs())
        spec = self.plant.edge or EdgeSpec()
        self.forwarder = Forwarder(spec, self.plant.plant, self.registry, self.data_dir)
        ctx = ConnectorContext(self.registry, self.plant, self.data_dir, self.plant_file)
        for c in self.plant.connectors:
            self.connectors[c.id] = load_entry_point("ironfield.connectors", c.type)(c, ctx)

    async def run(self) -> None:
        if self.forwarder is None:
            self.open()
        assert self.forwarder is not None
        fw = self.forwarder
        tasks = [asyncio.create_task(fw.run_uplink(), name="uplink")]
        tasks += [asyncio.create_task(c.run(fw), name=f"connector/{cid}") for cid, c in self.connectors.items()]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            fw.buffer.close()
