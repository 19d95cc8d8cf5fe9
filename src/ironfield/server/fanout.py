"""Fan-out of live values to WebSocket clients, grouped by identical subscriptions.

A control room has many screens showing the same thing. Clients that ask for the same
signals at the same rate share one :class:`Group`: one bus subscription (``coalesce``
policy), one merge to the latest value per signal at most ``max_hz`` times a second, and
one JSON encoding, which is the dominant cost (float formatting). Each member still has
its own outbox: a member whose socket is slow does not hold the group up; what it could
not send yet is merged with what comes next (latest value per signal wins), so a slow
browser gets fewer, fresher updates and never slows ingest or the other clients.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import numpy as np
import numpy.typing as npt

from ironfield.core.batch import Batch
from ironfield.core.bus import Bus
from ironfield.core.signals import SignalRegistry
from ironfield.server.convert import floats

Key = tuple[frozenset[int], float]


class Names:
    """Signal id -> path, as an object array so a whole column maps in one take."""

    def __init__(self, reg: SignalRegistry, ids: frozenset[int]) -> None:
        top = max(ids) + 1 if ids else 0
        arr = np.empty(top, dtype=object)
        for i in ids:
            arr[i] = reg.path(i)
        self._arr: npt.NDArray[np.object_] = arr

    def of(self, sig: npt.NDArray[np.int32]) -> list[str]:
        out: list[str] = self._arr[sig].tolist()
        return out


def encode(names: Names, b: Batch, *, replay: bool = False) -> str:
    return json.dumps({"type": "batch", "replay": replay, "signal": names.of(b.signal),
                       "ts": b.ts.tolist(), "value": floats(b.value),
                       "quality": b.quality.tolist()}, separators=(",", ":"))


class Member:
    """One socket's outbox: at most one message pending, merged while the socket is busy."""

    def __init__(self, send: Callable[[str], Awaitable[None]], names: Names) -> None:
        self._send = send
        self._names = names
        self._batch: Batch | None = None
        self._text: str | None = None
        self._ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.merged = 0

    def offer(self, batch: Batch, text: str) -> None:
        if self._batch is None:
            self._batch, self._text = batch, text
        else:
            self._batch = Batch.concat([self._batch, batch]).latest_per_signal()
            self._text = None  # no longer the group's message: encode our own when sent
            self.merged += 1
        self._ready.set()

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="live-member")

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            b, text = self._batch, self._text
            self._batch, self._text = None, None
            if b is None:
                continue
            await self._send(text if text is not None else encode(self._names, b))

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None


class Group:
    def __init__(self, hub: Hub, key: Key, names: Names) -> None:
        self.hub = hub
        self.key = key
        self.names = names
        self.members: list[Member] = []
        ids, self.max_hz = key
        self.sub = hub.bus.subscribe(maxsize=64, policy="coalesce", signals=set(ids))
        self.task = asyncio.create_task(self._pump(), name="live-group")

    async def _pump(self) -> None:
        interval = 1.0 / self.max_hz
        next_ok = 0.0
        while True:
            item = await self.sub.get()
            wait = next_ok - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            parts = [item] if isinstance(item, Batch) else []
            while (more := self.sub.get_nowait()) is not None:
                if isinstance(more, Batch):
                    parts.append(more)
            if not parts:
                continue
            merged = Batch.concat(parts).latest_per_signal()
            next_ok = time.monotonic() + interval
            text = encode(self.names, merged)
            for m in self.members:
                m.offer(merged, text)


class Hub:
    """The groups of one server; lives in the server's event loop."""

    def __init__(self, bus: Bus, registry: SignalRegistry) -> None:
        self.bus = bus
        self.registry = registry
        self.groups: dict[Key, Group] = {}

    def join(self, ids: frozenset[int], max_hz: float,
             send: Callable[[str], Awaitable[None]]) -> tuple[Group, Member]:
        """Join (or open) the group; the member buffers from now on but sends only once
        ``member.start()`` is called (after a replay, say)."""
        key = (ids, float(max_hz))
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = Group(self, key, Names(self.registry, ids))
        m = Member(send, g.names)
        g.members.append(m)
        return g, m

    def leave(self, g: Group, m: Member) -> None:
        """Synchronous on purpose: it runs in ``finally`` blocks of handlers that may be
        being cancelled, and must not stop half-way (a leaked bus subscription)."""
        m.stop()
        if m in g.members:
            g.members.remove(m)
        if not g.members and self.groups.get(g.key) is g:
            del self.groups[g.key]
            g.task.cancel()
            g.sub.close()

    @property
    def clients(self) -> int:
        return sum(len(g.members) for g in self.groups.values())
