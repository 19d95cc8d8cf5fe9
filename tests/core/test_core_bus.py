from __future__ import annotations

import asyncio

from ironfield.core.batch import Batch
from ironfield.core.bus import Bus, Lagged
from ironfield.core.events import Event


async def test_coalescing_subscriber_keeps_latest_per_signal() -> None:
    bus = Bus()
    sub = bus.subscribe(maxsize=2, policy="coalesce")
    for i in range(10):
        bus.publish(Batch.build([1, 2], i, [i, 100 + i]))
    assert sub.pending() <= 2
    got: list[tuple[int, int, float, int]] = []
    while (item := sub.get_nowait()) is not None:
        assert isinstance(item, Batch)
        got.extend(item.rows())
    latest = {s: v for s, _, v, _ in got}
    assert latest == {1: 9.0, 2: 109.0}
    assert sub.coalesced > 0


async def test_lagging_subscriber_is_told_how_much_it_missed() -> None:
    bus = Bus()
    sub = bus.subscribe(maxsize=3, policy="lag")
    for i in range(10):
        bus.publish(Batch.build(1, i, i))
    first = await sub.get()
    assert first == Lagged(7)
    rest = [await sub.get() for _ in range(3)]
    assert [int(b.ts[0]) for b in rest if isinstance(b, Batch)] == [7, 8, 9]


async def test_slow_subscriber_never_blocks_publish_and_filters_apply() -> None:
    bus = Bus()
    slow = bus.subscribe(maxsize=1, policy="coalesce", signals={2})
    events = bus.subscribe(batches=False, events=True, event_filter=lambda e: e.type == "test.note")
    for i in range(2_000):  # publish is synchronous and must never wait on a reader
        bus.publish(Batch.build([1, 2], i, [i, i]))
    bus.publish(Event.make("test.note", "a/b", {"x": 1}))
    bus.publish(Event.make("other", "a/b", {}))
    item = slow.get_nowait()
    assert isinstance(item, Batch) and item.signal.tolist() == [2] and item.value.tolist() == [1999.0]
    ev = await asyncio.wait_for(events.get(), 1)
    assert isinstance(ev, Event) and ev.type == "test.note"
    assert events.get_nowait() is None
    slow.close()
    assert bus.subscribers == 1


async def test_get_waits_for_publish() -> None:
    bus = Bus()
    sub = bus.subscribe()

    async def later() -> None:
        await asyncio.sleep(0.01)
        bus.publish(Batch.build(3, 1, 1.0))

    t = asyncio.create_task(later())
    item = await asyncio.wait_for(sub.get(), 1)
    await t
    assert isinstance(item, Batch) and item.signal.tolist() == [3]
