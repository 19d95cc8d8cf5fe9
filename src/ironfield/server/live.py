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

Each client has its own bus subscription with the ``coalesce`` policy, and its sender sends
at most ``max_hz`` times a second the latest value of each signal that changed: a slow
browser costs ingest nothing (its queue merges down instead of growing). The subscription
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
import time
from collections.abc import MutableMapping
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ironfield.core.batch import Batch
from ironfield.core.bus import Lagged, Subscription
from ironfield.core.signals import SignalRegistry, in_subtree
from ironfield.core.timeutil import now_ns
from ironfield.server.convert import floats
from ironfield.server.deps import ServerContext, ctx_of, principal_of

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


def batch_message(reg: SignalRegistry, b: Batch, *, replay: bool = False) -> str:
    uniq, inv = np.unique(b.signal, return_inverse=True)
    names = [reg.path(int(s)) for s in uniq.tolist()]
    paths = [names[i] for i in inv.tolist()]
    return json.dumps({"type": "batch", "replay": replay, "signal": paths, "ts": b.ts.tolist(),
                       "value": floats(b.value), "quality": b.quality.tolist()},
                      separators=(",", ":"))


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
        self.sub: Subscription | None = None
        self.sender: asyncio.Task[None] | None = None
        self.sent = 0

    async def send(self, text: str) -> None:
        await self.ws.send_text(text)
        self.sent += 1

    async def _replay(self, ids: list[int], since: int) -> None:
        p = self.ctx.platform
        if p.pipeline is not None:
            with contextlib.suppress(Exception):
                await p.pipeline.flush()
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
            await self.send(batch_message(p.registry, b.take(np.arange(a, min(a + REPLAY_CHUNK, len(b)))),
                                          replay=True))

    async def _pump(self, sub: Subscription, max_hz: float) -> None:
        interval = 1.0 / max_hz
        next_ok = 0.0
        reg = self.ctx.platform.registry
        while True:
            item = await sub.get()
            wait = next_ok - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            parts = [item] if isinstance(item, Batch) else []
            while (more := sub.get_nowait()) is not None:
                if isinstance(more, Batch):
                    parts.append(more)
            if not parts:
                continue
            merged = Batch.concat(parts).latest_per_signal()
            next_ok = time.monotonic() + interval
            await self.send(batch_message(reg, merged))

    async def subscribe(self, req: LiveRequest) -> None:
        reg = self.ctx.platform.registry
        ids = resolve(reg, req)
        await self.stop()
        # Subscribe before reading the replay, so nothing published meanwhile is lost.
        sub = self.ctx.platform.bus.subscribe(maxsize=32, policy="coalesce", signals=ids)
        self.sub = sub
        await self.send(json.dumps({"type": "subscribed", "signals": sorted(reg.path(i) for i in ids),
                                    "max_hz": req.max_hz}))
        if req.since is not None:
            await self._replay(sorted(ids), req.since)
            await self.send('{"type":"live"}')
        self.sender = asyncio.create_task(self._pump(sub, req.max_hz), name="live-sender")

    async def stop(self) -> None:
        if self.sender is not None:
            self.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.sender
            self.sender = None
        if self.sub is not None:
            self.sub.close()
            self.sub = None

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
                exc = client.sender.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect):
                    raise exc
    except Refused as r:
        with contextlib.suppress(Exception):
            await ws.close(r.code, r.reason)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        await client.stop()
        ctx.settings["live_clients"] = int(ctx.settings.get("live_clients", 1)) - 1
        if ws.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close(1000)


__all__ = ["Lagged", "LiveRequest", "live_endpoint"]
