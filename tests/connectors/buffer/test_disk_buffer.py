from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ironfield.connectors import wire
from ironfield.connectors.buffer import BufferFullError, DiskBuffer
from ironfield.core.batch import Batch
from ironfield.core.errors import MalformedPayloadError
from ironfield.core.signals import SignalRegistry


def drain(b: DiskBuffer) -> list[bytes]:
    out: list[bytes] = []
    while True:
        recs, pos = b.peek(7)
        if not recs:
            return out
        out += recs
        b.commit(pos)


def test_order_survives_segments_and_reopen(tmp_path: Path) -> None:
    b = DiskBuffer(tmp_path, segment_bytes=200, fsync=False)
    for i in range(100):
        b.append(f"rec-{i}".encode())
    recs, pos = b.peek(10)
    b.commit(pos)
    b.close()
    again = DiskBuffer(tmp_path, segment_bytes=200, fsync=False)
    assert drain(again) == [f"rec-{i}".encode() for i in range(10, 100)]
    assert len(list(tmp_path.glob("seg-*.log"))) == 1  # delivered segments are deleted
    assert not again.pending()
    again.close()


def test_peek_without_commit_redelivers(tmp_path: Path) -> None:
    b = DiskBuffer(tmp_path, fsync=False)
    b.append(b"a")
    b.append(b"b")
    first, _ = b.peek()
    b.close()
    b2 = DiskBuffer(tmp_path, fsync=False)
    assert b2.peek()[0] == first == [b"a", b"b"]
    b2.close()


def test_torn_tail_record_is_cut_off(tmp_path: Path) -> None:
    b = DiskBuffer(tmp_path, fsync=False)
    b.append(b"good-1")
    b.append(b"good-2")
    b.close()
    seg = next(tmp_path.glob("seg-*.log"))
    with seg.open("ab") as f:
        f.write(b"\x10\x00\x00\x00garbage")  # a record header with no body: power loss
    b2 = DiskBuffer(tmp_path, fsync=False)
    assert drain(b2) == [b"good-1", b"good-2"]
    b2.append(b"after")
    assert drain(b2) == [b"after"]
    b2.close()


def test_block_policy_waits_then_refuses(tmp_path: Path) -> None:
    b = DiskBuffer(tmp_path, max_bytes=100, segment_bytes=50, policy="block", fsync=False)
    b.append(b"x" * 40)
    b.append(b"y" * 40)
    with pytest.raises(BufferFullError, match="full"):
        b.append(b"z" * 40, timeout=0.1)
    done = threading.Event()

    def producer() -> None:
        b.append(b"z" * 40, timeout=5)
        done.set()

    t = threading.Thread(target=producer)
    t.start()
    time.sleep(0.1)
    assert not done.is_set()
    recs, pos = b.peek(1)
    b.commit(pos)  # room again: the waiting producer goes on
    t.join(5)
    assert done.is_set()
    assert drain(b) == [b"y" * 40, b"z" * 40]
    b.close()


def test_drop_oldest_counts_what_it_dropped(tmp_path: Path) -> None:
    b = DiskBuffer(tmp_path, max_bytes=300, segment_bytes=100, policy="drop_oldest", fsync=False)
    for i in range(20):
        b.append(f"{i:02d}".encode() * 10)
    kept = drain(b)
    assert b.dropped_records > 0
    assert len(kept) + b.dropped_records == 20
    assert kept == [f"{i:02d}".encode() * 10 for i in range(20 - len(kept), 20)]  # newest kept, in order
    b.close()


def test_wire_roundtrip_names_signals_by_path() -> None:
    reg = SignalRegistry()
    for p in ("e/a/x/one", "e/a/x/two"):
        reg.register(p)
    batch = Batch.build([1, 0, 1], [3, 2, 1], [1.5, 2.5, 3.5], [192, 0, 64])
    paths, idx, b, seq, source = wire.decode(wire.encode(batch, reg, 42, "edge-1"))
    assert [paths[i] for i in idx] == ["e/a/x/two", "e/a/x/one", "e/a/x/two"]
    assert b.ts.tolist() == [3, 2, 1] and b.value.tolist() == [1.5, 2.5, 3.5]
    assert b.quality.tolist() == [192, 0, 64] and seq == 42 and source == "edge-1"
    with pytest.raises(MalformedPayloadError, match="not an ironfield Arrow batch"):
        wire.decode(b"nonsense")
    assert np.array_equal(idx, [1, 0, 1])
