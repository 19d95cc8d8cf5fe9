"""The in-process bus: batches and events fanned out to subscribers, never blocking ingest.

Every subscriber has a bounded queue and picks what happens when it falls behind:

- ``"coalesce"``: pending batches are merged down to the latest value per signal (a live
  display wants now, not history);
- ``"lag"``: the oldest items are dropped and the subscriber receives a :class:`Lagged`
  marker saying how many it missed (a consumer that must know about gaps, e.g. to re-read
  them from the historian).

``publish`` is synchronous and O(subscribers): a slow subscriber costs ingest nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ironfield.core.batch import Batch
from ironfield.core.events import Event

Policy = Literal["coalesce", "lag"]


@dataclass(frozen=True, slots=True)
class Lagged:
    """The subscriber missed this many items (batches or events) since its last read."""

    dropped: int


Item = Batch | Event | Lagged


class Subscription:
    def __init__(
        self,
        bus: Bus,
        *,
        maxsize: int,
        policy: Policy,
        signals: set[int] | None,
        batches: bool,
        events: bool,
        event_filter: Callable[[Event], bool] | None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._bus = bus
        self.maxsize = maxsize
        self.policy: Policy = policy
        self._signals = None if signals is None else np.fromiter(signals, dtype=np.int32)
        self.wants_batches = batches
        self.wants_events = events
        self._event_filter = event_filter
        self._items: deque[Batch | Event] = deque()
        self._dropped = 0
        self._ready = asyncio.Event()
        self.closed = False
        self.coalesced = 0  # batches merged away, for health figures

    def set_signals(self, signals: set[int] | None) -> None:
        self._signals = None if signals is None else np.fromiter(signals, dtype=np.int32)

    def _offer_batch(self, batch: Batch) -> None:
        if self._signals is not None:
            batch = batch.take(np.isin(batch.signal, self._signals))
        if len(batch) == 0:
            return
        self._items.append(batch)
        if len(self._items) > self.maxsize:
            if self.policy == "coalesce":
                self._coalesce()
            else:
                self._items.popleft()
                self._dropped += 1
        self._ready.set()

    def _coalesce(self) -> None:
        pending = list(self._items)
        batches = [b for b in pending if isinstance(b, Batch)]
        events = [e for e in pending if isinstance(e, Event)]
        merged = Batch.concat(batches).latest_per_signal()
        self.coalesced += len(batches) - 1
        self._items.clear()
        # Events keep their order among themselves; the merged batch goes last because it
        # holds the newest values.
        keep = events[-(self.maxsize - 1):] if self.maxsize > 1 else []
        self._dropped += len(events) - len(keep)
        self._items.extend(keep)
        self._items.append(merged)

    def _offer_event(self, event: Event) -> None:
        if self._event_filter is not None and not self._event_filter(event):
            return
        self._items.append(event)
        if len(self._items) > self.maxsize:
            # Events cannot be merged; the oldest item goes and the reader is told.
            self._items.popleft()
            self._dropped += 1
        self._ready.set()

    def pending(self) -> int:
        return len(self._items)

    def get_nowait(self) -> Item | None:
        if self._dropped:
            n, self._dropped = self._dropped, 0
            return Lagged(n)
        if self._items:
            return self._items.popleft()
        self._ready.clear()
        return None

    async def get(self) -> Item:
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            if self.closed:
                raise asyncio.CancelledError("subscription closed")
            await self._ready.wait()

    def close(self) -> None:
        self.closed = True
        self._ready.set()
        self._bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus:
    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self.batches_published = 0
        self.events_published = 0

    def subscribe(
        self,
        *,
        maxsize: int = 64,
        policy: Policy = "coalesce",
        signals: set[int] | None = None,
        batches: bool = True,
        events: bool = False,
        event_filter: Callable[[Event], bool] | None = None,
    ) -> Subscription:
        sub = Subscription(
            self, maxsize=maxsize, policy=policy, signals=signals, batches=batches,
            events=events, event_filter=event_filter,
        )
        self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, item: Batch | Event) -> None:
        if isinstance(item, Batch):
            if len(item) == 0:
                return
            self.batches_published += 1
            for s in self._subs:
                if s.wants_batches:
                    s._offer_batch(item)
        else:
            self.events_published += 1
            for s in self._subs:
                if s.wants_events:
                    s._offer_event(item)
