"""The MQTT connector: topics in, batches out; commands down as publishes.

paho's network thread decodes each message straight into a shared accumulator (no
per-message hand-off to asyncio: that would cost more than the decoding); the asyncio
side drains it into one batch per round. With QoS 1 the connector acknowledges messages
manually, and only after the pipeline reports the batch holding them durable; with a
persistent session (clean_start false, session expiry) the broker redelivers anything
not yet acknowledged after a crash. The historian's idempotent write on (signal, ts)
absorbs those redeliveries, so each value is stored exactly once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ironfield.connectors import wire
from ironfield.connectors.fieldcommon import refuse_reason, validate_spec
from ironfield.connectors.mqtt import sparkplug as spb
from ironfield.connectors.mqtt.codecs import (
    TS_FACTOR,
    Accumulator,
    KeySets,
    decode_columnar,
    decode_object,
    decode_value,
)
from ironfield.connectors.mqtt.config import MqttConnectorSpec, TopicSpec
from ironfield.connectors.mqtt.topics import TopicTemplate, fill, minimal_filters, specificity
from ironfield.core.batch import Batch
from ironfield.core.errors import MalformedPayloadError
from ironfield.core.events import Event
from ironfield.core.plant import ConnectorSpec
from ironfield.core.plugins import Command, CommandResult, ConnectorContext, Sink
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalDef, SignalRegistry

log = logging.getLogger(__name__)


@dataclass
class _Route:
    spec: TopicSpec
    template: TopicTemplate
    factor: int


class MqttConnector:
    def __init__(self, spec: MqttConnectorSpec, registry: SignalRegistry, *, plant_file: str = "<plant>") -> None:
        self.spec = spec
        self.id = spec.id
        self.registry = registry
        self.plant_file = plant_file
        ordered = sorted(spec.topics, key=lambda t: specificity(t.topic))
        self._routes = [_Route(t, TopicTemplate(t.topic), TS_FACTOR[t.ts_unit]) for t in ordered]
        self._value_sid: dict[str, int] = {}
        self._keysets: dict[str, KeySets] = {}
        self._topic_route: dict[str, _Route | None] = {}
        self._lock = threading.Lock()
        self._acc = Accumulator()
        self._mids: list[int] = []
        self._bad: list[tuple[str, bytes, str]] = []
        self._events: list[Event] = []
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._nodes: dict[tuple[str, str, str | None], spb.NodeState] = {}
        self._pub_waiters: dict[int, threading.Event] = {}
        self.connected = threading.Event()
        self.messages = 0
        self.connects = 0

    # -- resolution -------------------------------------------------------------------

    def _resolve(self, path: str) -> int | None:
        sid = self.registry.get_id(path)
        if sid is None and self.spec.unknown_signals == "register":
            try:
                sid = self.registry.register(SignalDef(path))
            except ValueError:
                return None
        return sid

    def _route_for(self, topic: str) -> _Route | None:
        try:
            return self._topic_route[topic]
        except KeyError:
            pass
        for r in self._routes:
            if r.template.match(topic) is not None:
                self._topic_route[topic] = r
                return r
        self._topic_route[topic] = None
        return None

    # -- network thread ---------------------------------------------------------------

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        recv = time.time_ns()
        topic = msg.topic
        payload = bytes(msg.payload)
        try:
            self._decode(topic, payload, recv)
        except (MalformedPayloadError, KeyError) as e:
            reason = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
            with self._lock:
                self._bad.append((topic, payload, reason))
        with self._lock:
            self.messages += 1
            if msg.qos > 0:
                self._mids.append(msg.mid)
            first = len(self._mids) == 1 or msg.qos == 0
        if first and self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _decode(self, topic: str, payload: bytes, recv: int) -> None:
        route = self._route_for(topic)
        if route is None:
            raise MalformedPayloadError(f"topic {topic!r} matches no configured topic template")
        fmt = route.spec.format
        if fmt == "value":
            sid = self._value_sid.get(topic)
            if sid is None:
                vars_ = route.template.match(topic) or {}
                path = fill(route.spec.signal or topic, vars_)
                sid = self._resolve(path)
                if sid is None:
                    raise MalformedPayloadError(f"unknown signal {path!r} (topic {topic!r})")
                self._value_sid[topic] = sid
            with self._lock:
                decode_value(payload, sid, recv, route.factor, self._acc)
            return
        if fmt == "sparkplug":
            self._sparkplug(route, topic, payload, recv)
            return
        if fmt == "arrow":
            self._arrow(payload)
            return
        if fmt == "event":
            self._event(payload)
            return
        tmp = Accumulator()
        if fmt == "object":
            unknown = decode_object(payload, self._keysets_for(topic, route).resolve, recv, route.factor, tmp)
        else:
            unknown = decode_columnar(payload, self._keysets_for(topic, route), route.factor, tmp)
        if unknown:
            vars_ = route.template.match(topic) or {}
            paths = [fill(route.spec.signal or "", {**vars_, "key": k}) for k in unknown]
            raise MalformedPayloadError(f"unknown signal(s) {paths[:5]} (topic {topic!r})")
        with self._lock:
            self._acc.extend(tmp)

    def _keysets_for(self, topic: str, route: _Route) -> KeySets:
        """The key resolver of one topic, made on its first message: the topic's template
        variables are matched once, not per message."""
        keysets = self._keysets.get(topic)
        if keysets is None:
            vars_ = route.template.match(topic) or {}
            signal_tpl = route.spec.signal or ""
            known: dict[str, int] = {}

            def key_sid(key: str) -> int | None:
                sid = known.get(key)
                if sid is None:
                    sid = self._resolve(fill(signal_tpl, {**vars_, "key": key}))
                    if sid is not None:
                        known[key] = sid
                return sid

            keysets = self._keysets[topic] = KeySets(key_sid)
        return keysets

    def _sparkplug(self, route: _Route, topic: str, payload: bytes, recv: int) -> None:
        group, mtype, node, device = spb.parse_topic(topic)
        if mtype in ("NCMD", "DCMD", "STATE"):
            return
        ts_ms, _seq, metrics = spb.decode(payload)
        key = (group, node, device)
        asset = f"{group}/{node}" + (f"/{device}" if device else "")
        tpl = route.spec.signal or "{group}/{node}/{device}/{metric}"

        def path(metric: str) -> str:
            clean = metric.replace(" ", "_").strip("/")
            return fill(tpl, {"group": group, "node": node, "device": device or "_node", "metric": clean})

        if mtype in ("NBIRTH", "DBIRTH"):
            st = spb.NodeState(alive=True)
            for m in metrics:
                if m.name == "bdSeq":
                    st.bd_seq = int(m.value) if not math.isnan(m.value) else None
                if m.name and m.alias is not None:
                    st.aliases[m.alias] = m.name
                if m.name:
                    st.metrics.add(m.name)
            self._nodes[key] = st
            with self._lock:
                self._events.append(Event.make("sparkplug_birth", asset, {"type": mtype, "metrics": len(metrics)}, ts=recv))
        elif mtype in ("NDEATH", "DDEATH"):
            known = self._nodes.get(key)
            if known is None:
                return
            if mtype == "NDEATH":
                bd = next((int(m.value) for m in metrics if m.name == "bdSeq"), None)
                if bd is not None and known.bd_seq is not None and bd != known.bd_seq:
                    return  # a stale death from an earlier session (spec: bdSeq must match)
                dead = [k for k in self._nodes if k[0] == group and k[1] == node]
            else:
                dead = [key]
            sids: list[int] = []
            for k in dead:
                s = self._nodes[k]
                s.alive = False
                for metric_name in s.metrics:
                    p = fill(tpl, {"group": k[0], "node": k[1], "device": k[2] or "_node",
                                   "metric": metric_name.replace(" ", "_").strip("/")})
                    sid = self.registry.get_id(p)
                    if sid is not None:
                        sids.append(sid)
            t = ts_ms * 1_000_000 if ts_ms else recv
            with self._lock:
                if sids:
                    self._acc.batches.append(
                        Batch.build(np.asarray(sids, np.int32), t, np.full(len(sids), np.nan),
                                    Quality.BAD_COMM_FAILURE)
                    )
                self._events.append(Event.make("sparkplug_death", asset, {"type": mtype}, ts=recv))
            return
        state = self._nodes.get(key)
        if state is None or not state.alive:
            self._request_rebirth(group, node)
            raise MalformedPayloadError(f"{mtype} from {asset} before its birth certificate; rebirth requested")
        rows: list[tuple[int, int, float, int]] = []
        for m in metrics:
            name: str | None = m.name if m.name else state.aliases.get(m.alias or -1)
            if name is None:
                raise MalformedPayloadError(f"{mtype} from {asset}: metric alias {m.alias} not in its birth")
            if name == "bdSeq" or (m.datatype not in spb.NUMERIC and m.datatype != 0):
                continue
            sid = self._resolve(path(name))
            if sid is None:
                raise MalformedPayloadError(f"unknown signal {path(name)!r} (Sparkplug metric {name!r} of {asset})")
            t = (m.timestamp_ms or ts_ms or 0) * 1_000_000 or recv
            rows.append((sid, t, m.value, int(Quality.GOOD if not m.is_null else Quality.BAD)))
        with self._lock:
            for sid, t, v, q in rows:
                self._acc.sid.append(sid)
                self._acc.ts.append(t)
                self._acc.val.append(v)
                self._acc.q.append(q)

    def _arrow(self, payload: bytes) -> None:
        paths, idx, b, _seq, source = wire.decode(payload)
        sids = np.empty(len(paths), np.int32)
        for i, p in enumerate(paths):
            sid = self._resolve(p)
            if sid is None:
                raise MalformedPayloadError(f"unknown signal {p!r} in a batch from edge {source!r}")
            sids[i] = sid
        batch = Batch(sids[idx], b.ts, b.value, b.quality)
        with self._lock:
            self._acc.batches.append(batch)

    def _event(self, payload: bytes) -> None:
        try:
            d = json.loads(payload)
            ev = Event(type=str(d["type"]), asset=str(d["asset"]), ts=int(d["ts"]),
                       payload=dict(d.get("payload") or {}), id=str(d["id"]))
        except (ValueError, KeyError, TypeError) as e:
            raise MalformedPayloadError(f"not an ironfield event: {e}") from None
        with self._lock:
            self._events.append(ev)

    def _request_rebirth(self, group: str, node: str) -> None:
        c = self._client
        if c is None:
            return
        body = spb.encode([{"name": "Node Control/Rebirth", "datatype": spb.BOOLEAN, "value": True}],
                          int(time.time() * 1000))
        c.publish(f"spBv1.0/{group}/NCMD/{node}", body, qos=0)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if getattr(rc, "is_failure", False):
            log.warning("MQTT %s: connect refused: %s", self.id, rc)
            return
        self.connects += 1
        subs: list[tuple[str, int]] = []
        for f in minimal_filters([r.template.subscription() for r in self._routes]):
            if self.spec.shared_group:
                f = f"$share/{self.spec.shared_group}/{f}"
            subs.append((f, self.spec.qos))
        if subs:
            client.subscribe(subs)
        self.connected.set()
        with self._lock:
            self._events.append(Event.make("comm_ok", f"mqtt/{self.id}", {"broker": self.spec.url, "session_present": bool(getattr(flags, "session_present", False))}))
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        self.connected.clear()
        with self._lock:
            self._events.append(Event.make("comm_fault", f"mqtt/{self.id}", {"broker": self.spec.url, "reason": str(rc)}))
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, rc: Any = None, props: Any = None) -> None:
        w = self._pub_waiters.pop(mid, None)
        if w is not None:
            w.set()

    # -- asyncio side -----------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        cid = self.spec.client_id or f"ironfield-{self.id}"
        v5 = self.spec.protocol == "5"
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=cid,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            # MQTT 3.1.1 has no session expiry: a persistent session is clean_session=False.
            clean_session=None if v5 else False,
            manual_ack=self.spec.qos > 0,
        )
        if self.spec.username:
            c.username_pw_set(self.spec.username, self.spec.password)
        if self.spec.tls:
            c.tls_set()
        c.reconnect_delay_set(1, 30)
        c.max_queued_messages_set(0)
        c.on_message = self._on_message
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        return c

    def _connect_props(self) -> Properties:
        p = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        p.SessionExpiryInterval = self.spec.session_expiry_s
        p.ReceiveMaximum = self.spec.receive_maximum
        return p

    def _swap(self) -> tuple[Accumulator, list[int], list[tuple[str, bytes, str]], list[Event]]:
        with self._lock:
            acc, mids, bad, events = self._acc, self._mids, self._bad, self._events
            self._acc, self._mids, self._bad, self._events = Accumulator(), [], [], []
        return acc, mids, bad, events

    def _acker(self, mids: list[int]) -> Callable[[], None]:
        client = self._client

        def ack() -> None:
            if client is None:
                return
            for mid in mids:
                client.ack(mid, 1)

        return ack

    async def run(self, sink: Sink) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        client = self._client = self._make_client()
        if self.spec.protocol == "5":
            client.connect_async(
                self.spec.host, self.spec.port, keepalive=self.spec.keepalive_s,
                clean_start=False, properties=self._connect_props(),
            )
        else:
            client.connect_async(self.spec.host, self.spec.port, keepalive=self.spec.keepalive_s)
        client.loop_start()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                # Let a burst gather into one batch: the pipeline prefers few big batches.
                await asyncio.sleep(0.005)
                acc, mids, bad, events = self._swap()
                for topic, payload, reason in bad:
                    sink.malformed(f"mqtt/{self.id}/{topic}", payload, reason)
                for ev in events:
                    await sink.emit(ev)
                if len(acc) or mids:
                    await sink.submit(acc.to_batch(), self._acker(mids) if mids else None)
        finally:
            client.disconnect()
            client.loop_stop()
            self._client = None

    def owns(self, signal: str) -> bool:
        """Commands go out as publishes; this connector takes signals whose topics it maps."""
        for r in self._routes:
            if r.spec.format == "sparkplug":
                continue
            if r.spec.signal and TopicTemplate(r.spec.signal.replace("{key}", "{_key}")).match(signal):
                return True
        return False

    async def write(self, command: Command) -> CommandResult:
        reason = refuse_reason(self.registry, command)
        if reason is not None:
            return CommandResult("rejected", message=reason)
        client = self._client
        if client is None or not self.connected.is_set():
            return CommandResult("failed", message=f"MQTT connector {self.id} is not connected")
        topic = fill(self.spec.command_topic, {"signal": command.signal})
        # orjson, not an f-string: a text value or a user name with a quote stays valid JSON
        body = orjson.dumps({"v": command.value, "ts": command.ts // 1_000_000, "user": command.user})
        waiter = threading.Event()
        info = client.publish(topic, body, qos=1)
        self._pub_waiters[info.mid] = waiter
        if info.is_published():
            waiter.set()
        ok = await asyncio.to_thread(waiter.wait, command.timeout_s)
        if not ok:
            self._pub_waiters.pop(info.mid, None)
            return CommandResult("timeout", new_value=None,
                                 message=f"broker did not acknowledge within {command.timeout_s} s")
        value = command.value if isinstance(command.value, float | str) else None
        return CommandResult("confirmed", new_value=value, message=f"published to {topic} (PUBACK)")


def create(spec: ConnectorSpec, ctx: ConnectorContext) -> MqttConnector:
    """Entry point ``ironfield.connectors: mqtt``."""
    s = validate_spec(MqttConnectorSpec, spec, ctx.plant_file)
    return MqttConnector(s, ctx.registry, plant_file=ctx.plant_file)

