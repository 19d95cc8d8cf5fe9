"""The live feed: ``/api/live`` over WebSocket.

Protocol (JSON text frames):

client -> server
  ``{"op": "subscribe", "signals": [paths], "assets": [paths], "max_hz": 4, "since": ns}``
      replaces the current subscription. ``assets`` take every signal at or below each
      asset. ``since`` (optional, the last ts the client saw) asks for a replay of what
      was stored after it, so a reconnecting view has no gap. ``max_hz`` caps updates.
  ``{"op": "ping"}``

server -> client
  ``{"type": "hello", "user": ..., "role": ...}``
  ``{"type": "subscribed", "signals": [paths], "max_hz": f}``
  ``{"type": "batch", "replay": bool, "signal": [...], "ts": [...], "value": [...],
  "quality": [...]}`` (one row per value; ``value`` null for NaN)
  ``{"type": "live"}`` after a replay: what follows comes from the bus
  ``{"type": "pong"}``

Clients get at most ``max_hz`` updates a second holding the latest value of each signal that
changed, through a bus subscription with the ``coalesce`` policy; clients with identical
subscriptions share the subscription and the encoding (:mod:`.fanout`) but each has its
own outbox, merged while its socket is busy: a slow browser costs ingest and the other
clients nothing. The subscription
is opened before the replay is read, and the pipeline is flushed first, so nothing falls
between the two; the overlap is harmless because clients drop rows not newer than what
they hold.

Anything malformed closes that socket with a reason: 1003 for binary frames, 1008 for bad
JSON, unknown fields, unknown signals or oversized subscriptions. Unauthenticated sockets
are closed with 1008 too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import MutableMapping
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ironfield.core.batch import Batch
from ironfield.core.signals import SignalRegistry, in_subtree
from ironfield.core.timeutil import now_ns
from ironfield.server.deps import ServerContext, ctx_of, principal_of
from ironfield.server.durable import settle
from ironfield.server.fanout import Group, Hub, Member, Names, encode

log = logging.getLogger("ironfield.server.live")

MAX_SIGNALS = 20_000
MAX_MESSAGE = 256 * 1024
REPLAY_LIMIT = 200_000
REPLAY_CHUNK = 20_000
REPLAY_POINTS = 1000


class LiveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op: Literal["subscribe", "ping"]
    signals: list[str] = Field(default_factory=list, max_length=MAX_SIGNALS)
    assets: list[str] = Field(default_factory=list, max_length=100)
    max_hz: float = Field(4.0, gt=0, le=50)
    since: int | None = Field(None, ge=0, lt=2**63)


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:120]  # a close reason must fit in 123 bytes


def hub_of(ctx: ServerContext) -> Hub:
    hub = ctx.settings.get("live_hub")
    if not isinstance(hub, Hub):
        hub = ctx.settings["live_hub"] = Hub(ctx.platform.bus, ctx.platform.registry)
    return hub


def resolve(reg: SignalRegistry, req: LiveRequest) -> set[int]:
    ids: set[int] = set()
    for p in req.signals:
        sid = reg.get_id(p)
        if sid is None:
            raise Refused(1008, f"unknown signal {p}")
        ids.add(sid)
    if req.assets:
        roots = list(req.assets)
        for p, sid in reg.mapping().items():
            if any(in_subtree(p, r) for r in roots):
                ids.add(sid)
    if len(ids) > MAX_SIGNALS:
        raise Refused(1008, f"too many signals ({len(ids)} > {MAX_SIGNALS})")
    return ids


class LiveClient:
    def __init__(self, ws: WebSocket, ctx: ServerContext) -> None:
        self.ws = ws
        self.ctx = ctx
        self.hub = hub_of(ctx)
        self.joined: tuple[Group, Member] | None = None
        self._lock = asyncio.Lock()
        self.sent = 0

    async def send(self, text: str) -> None:
        async with self._lock:
            await self.ws.send_text(text)
            self.sent += 1

    async def _replay(self, names: Names, ids: list[int], since: int) -> None:
        p = self.ctx.platform
        await settle(p)
        h = p.historian
        if h is None or not ids:
            return
        end = now_ns() + 1
        b: Batch = await asyncio.to_thread(h.raw, ids, since + 1, end, REPLAY_LIMIT)
        if len(b) >= REPLAY_LIMIT:
            # Too much to send row by row: a plot-ready version of the gap instead.
            b = await asyncio.to_thread(
                lambda: Batch.concat([h.downsample(i, since + 1, end, REPLAY_POINTS) for i in ids]))
        for a in range(0, len(b), REPLAY_CHUNK):
            part = b.take(np.arange(a, min(a + REPLAY_CHUNK, len(b))))
            await self.send(encode(names, part, replay=True))

    async def subscribe(self, req: LiveRequest) -> None:
        reg = self.ctx.platform.registry
        ids = frozenset(resolve(reg, req))
        self.stop()
        # Join (and so subscribe to the bus) before reading the replay, so nothing
        # published meanwhile is lost; the member buffers until it is started.
        hz = min(req.max_hz, self.ctx.live_max_hz)  # the server's cap wins
        group, member = self.hub.join(ids, hz, self.send)
        self.joined = (group, member)
        await self.send(json.dumps({"type": "subscribed", "signals": sorted(reg.path(i) for i in ids),
                                    "max_hz": hz}))
        if req.since is not None:
            await self._replay(group.names, sorted(ids), req.since)
            await self.send('{"type":"live"}')
        member.start()

    @property
    def sender(self) -> asyncio.Task[None] | None:
        return self.joined[1].task if self.joined is not None else None

    def stop(self) -> None:
        if self.joined is not None:
            self.hub.leave(*self.joined)
            self.joined = None

    async def handle(self, msg: MutableMapping[str, Any]) -> None:
        if msg.get("bytes") is not None:
            raise Refused(1003, "binary frames are not supported; send JSON text")
        text = msg.get("text")
        if text is None:
            raise Refused(1003, "expected a JSON text frame")
        if len(text) > MAX_MESSAGE:
            raise Refused(1009, "message too big")
        try:
            data = json.loads(text)
        except ValueError:
            raise Refused(1008, "malformed JSON") from None
        try:
            req = LiveRequest.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise Refused(1008, f"bad request: {where}: {first['msg']}") from None
        if req.op == "ping":
            await self.send('{"type":"pong"}')
        else:
            await self.subscribe(req)


async def live_endpoint(ws: WebSocket) -> None:
    ctx = ctx_of(ws)
    await ws.accept()
    who = principal_of(ws)
    if who is None:
        await ws.close(1008, "not logged in")
        return
    origin = ws.headers.get("origin")
    if who.via == "session" and origin and urlsplit(origin).netloc != ws.headers.get("host"):
        # A page of another site must not ride on the operator's session cookie.
        await ws.close(1008, "cross-origin socket refused")
        return
    client = LiveClient(ws, ctx)
    ctx.settings["live_clients"] = int(ctx.settings.get("live_clients", 0)) + 1
    try:
        await client.send(json.dumps({"type": "hello", "user": who.name, "role": who.role}))
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                break
            await client.handle(msg)
            if client.sender is not None and client.sender.done():
                # The outbox died (the socket broke while sending): this client is over.
                if not client.sender.cancelled() and client.sender.exception() is not None:
                    log.debug("live sender ended: %r", client.sender.exception())
                break
    except Refused as r:
        with contextlib.suppress(Exception):
            await ws.close(r.code, r.reason)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        client.stop()
        ctx.settings["live_clients"] = int(ctx.settings.get("live_clients", 1)) - 1
        if ws.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close(1000)


__all__ = ["LiveRequest", "live_endpoint"]
