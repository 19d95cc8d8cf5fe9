"""Sinks for tests, benchmarks and demos: keep (or just count) what a connector delivers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.plugins import Ack


class CollectingSink:
    """Keeps every batch and event; ``wait_for`` lets a test await a condition."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self.batches: list[Batch] = []
        self.events: list[Event] = []
        self.bad: list[tuple[str, str]] = []
        self.values = 0
        self._changed = asyncio.Event()

    async def submit(self, batch: Batch, ack: Ack | None = None) -> None:
        self.values += len(batch)
        if self.keep:
            self.batches.append(batch)
        if ack is not None:
            ack()
        self._changed.set()

    def malformed(self, source: str, payload: bytes, reason: str) -> None:
        self.bad.append((source, reason))

    async def emit(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def all(self) -> Batch:
        return Batch.concat(self.batches)

    def event_types(self) -> list[str]:
        return [e.type for e in self.events]

    async def wait_for(self, cond: Callable[[], bool], within_s: float = 10.0) -> None:
        """Return once ``cond()`` holds; raise TimeoutError after ``within_s`` [s]."""
        async def loop() -> None:
            while not cond():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), within_s)
