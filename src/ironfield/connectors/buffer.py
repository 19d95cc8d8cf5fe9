"""Store-and-forward: an on-disk, bounded, ordered buffer of batches for the edge.

Every batch an edge collects is appended here first (fsync'd), so the collector can be
told "durable" at once; a forwarder reads from the head in order, sends, and only on
the central side's acknowledgement moves the head. A link outage simply lets the buffer
grow; when the link returns the backlog drains in the order it was written.

Layout: a directory of segment files ``seg-<n>.log`` holding records
``[u32 length][u32 crc32][payload]`` and a ``head`` file ``<segment> <offset>`` replaced
atomically. A torn last record (power loss mid-write) fails its CRC and is cut off at
start-up; nothing before it is lost.

When full (``max_bytes``) the policy decides: ``block`` (the default) makes producers wait,
so the edge stops acknowledging its own sources and they keep their data; ``drop_oldest``
deletes whole oldest segments and reports how many records were dropped.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ironfield.core.errors import IronfieldError

_HDR = struct.Struct("<II")
Policy = Literal["block", "drop_oldest"]


class BufferFullError(IronfieldError):
    """The buffer is at its size limit and its policy is to refuse."""


@dataclass(frozen=True, slots=True)
class Position:
    segment: int
    offset: int


class DiskBuffer:
    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = 1 << 30,
        segment_bytes: int = 16 << 20,
        policy: Policy = "block",
        fsync: bool = True,
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.policy: Policy = policy
        self.fsync = fsync
        self.dropped_records = 0
        self._lock = threading.Condition()
        self._head = self._read_head()
        segs = self._segments()
        if not segs:
            segs = [self._head.segment]
            self._path(self._head.segment).touch()
        self._tail_seg = segs[-1]
        self._repair(self._tail_seg)
        self._tail = open(self._path(self._tail_seg), "ab")  # noqa: SIM115 - kept open for appends
        self._read_pos = self._head

    # -- files ------------------------------------------------------------------------

    def _path(self, seg: int) -> Path:
        return self.dir / f"seg-{seg:08d}.log"

    def _segments(self) -> list[int]:
        return sorted(int(p.stem[4:]) for p in self.dir.glob("seg-*.log"))

    def _read_head(self) -> Position:
        p = self.dir / "head"
        if not p.exists():
            segs = self._segments()
            return Position(segs[0] if segs else 1, 0)
        seg, off = p.read_text().split()
        return Position(int(seg), int(off))

    def _write_head(self, pos: Position) -> None:
        tmp = self.dir / "head.tmp"
        with open(tmp, "w") as f:
            f.write(f"{pos.segment} {pos.offset}")
            if self.fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, self.dir / "head")

    def _repair(self, seg: int) -> None:
        """Cut a torn record off the end of the tail segment."""
        path = self._path(seg)
        good = 0
        with open(path, "rb") as f:
            data = f.read()
        while good + _HDR.size <= len(data):
            n, crc = _HDR.unpack_from(data, good)
            end = good + _HDR.size + n
            if end > len(data) or zlib.crc32(data[good + _HDR.size:end]) != crc:
                break
            good = end
        if good != len(data):
            with open(path, "r+b") as f:
                f.truncate(good)

    # -- size -------------------------------------------------------------------------

    def size_bytes(self) -> int:
        total = sum(self._path(s).stat().st_size for s in self._segments())
        return total - self._head.offset

    def pending(self) -> bool:
        with self._lock:
            return self._has_data(self._read_pos)

    def _has_data(self, pos: Position) -> bool:
        if pos.segment < self._tail_seg:
            return True
        return self._path(pos.segment).stat().st_size > pos.offset if self._path(pos.segment).exists() else False

    # -- producer -----------------------------------------------------------------------

    def append(self, payload: bytes, timeout: float | None = None) -> None:
        """Durably append one record; may wait (block policy) or drop old data."""
        rec = _HDR.pack(len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            while self.size_bytes() + len(rec) > self.max_bytes:
                if self.policy == "drop_oldest" and self._drop_oldest_segment():
                    continue
                if self.policy == "block":
                    if not self._lock.wait(timeout):
                        raise BufferFullError(
                            f"store-and-forward buffer {self.dir} is full ({self.max_bytes} bytes)"
                        )
                    continue
                raise BufferFullError(f"store-and-forward buffer {self.dir} is full")
            if self._tail.tell() >= self.segment_bytes:
                self._tail.close()
                self._tail_seg += 1
                self._tail = open(self._path(self._tail_seg), "ab")  # noqa: SIM115
            self._tail.write(rec)
            self._tail.flush()
            if self.fsync:
                os.fsync(self._tail.fileno())
            self._lock.notify_all()

    def _drop_oldest_segment(self) -> bool:
        segs = self._segments()
        if len(segs) < 2:
            return False
        oldest = segs[0]
        self.dropped_records += self._count(oldest, self._head.offset if self._head.segment == oldest else 0)
        self._path(oldest).unlink()
        self._head = Position(segs[1], 0)
        if self._read_pos.segment <= oldest:
            self._read_pos = self._head
        self._write_head(self._head)
        return True

    def _count(self, seg: int, start: int) -> int:
        n, pos = 0, start
        with open(self._path(seg), "rb") as f:
            f.seek(start)
            while hdr := f.read(_HDR.size):
                if len(hdr) < _HDR.size:
                    break
                size, _ = _HDR.unpack(hdr)
                f.seek(size, os.SEEK_CUR)
                pos += _HDR.size + size
                n += 1
        return n

    # -- consumer -----------------------------------------------------------------------

    def peek(self, max_records: int = 64) -> tuple[list[bytes], Position]:
        """Up to ``max_records`` records from the read position, and where they end.
        Nothing moves until :meth:`commit` is called with that position."""
        with self._lock:
            out: list[bytes] = []
            pos = self._read_pos
            while len(out) < max_records and self._has_data(pos):
                path = self._path(pos.segment)
                with open(path, "rb") as f:
                    f.seek(pos.offset)
                    hdr = f.read(_HDR.size)
                    if len(hdr) < _HDR.size:
                        if pos.segment < self._tail_seg:
                            pos = Position(pos.segment + 1, 0)
                            continue
                        break
                    n, crc = _HDR.unpack(hdr)
                    body = f.read(n)
                if len(body) < n or zlib.crc32(body) != crc:
                    raise IronfieldError(f"corrupt record in {path} at byte {pos.offset}")
                out.append(body)
                pos = Position(pos.segment, pos.offset + _HDR.size + n)
                if pos.segment < self._tail_seg and pos.offset >= path.stat().st_size:
                    pos = Position(pos.segment + 1, 0)
            return out, pos

    def commit(self, pos: Position) -> None:
        """The records before ``pos`` were delivered: forget them."""
        with self._lock:
            for seg in self._segments():
                if seg < pos.segment:
                    self._path(seg).unlink()
            self._head = pos
            self._read_pos = pos
            self._write_head(pos)
            self._lock.notify_all()

    def close(self) -> None:
        with self._lock:
            self._tail.close()
