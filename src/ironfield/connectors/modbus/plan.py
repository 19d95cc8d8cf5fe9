"""Read planning: coalesce a group's points into as few requests as the protocol allows,
and decode each request's registers into (signal id, value) columns in one numpy pass."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ironfield.connectors.modbus import codec
from ironfield.connectors.modbus.config import BIT_FUNCTIONS, Function, RegisterSpec


@dataclass(frozen=True)
class Point:
    spec: RegisterSpec
    path: str
    sid: int
    where: tuple[str | int, ...]  # keys to the point in the plant file (for messages)


@dataclass
class _Numeric:
    type: str
    word_order: codec.Order
    byte_order: codec.Order
    starts: npt.NDArray[np.intp]
    sids: npt.NDArray[np.int32]
    scale: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]


@dataclass
class Block:
    """One read request and how to decode its answer."""

    function: Function
    start: int
    count: int
    points: list[Point]
    numeric: list[_Numeric] = field(default_factory=list)
    strings: list[tuple[Point, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        keys: dict[tuple[str, str, str], list[Point]] = {}
        for p in self.points:
            s = p.spec
            if s.type == "string" and s.function not in BIT_FUNCTIONS:
                self.strings.append((p, s.address - self.start))
                continue
            t: str = "uint16" if s.function in BIT_FUNCTIONS else s.type
            keys.setdefault((t, s.word_order, s.byte_order), []).append(p)
        for (t, wo, bo), pts in keys.items():
            self.numeric.append(_Numeric(
                t, wo, bo,  # type: ignore[arg-type]
                np.array([p.spec.address - self.start for p in pts], dtype=np.intp),
                np.array([p.sid for p in pts], dtype=np.int32),
                np.array([p.spec.scale for p in pts], dtype=np.float64),
                np.array([p.spec.offset for p in pts], dtype=np.float64),
            ))

    @property
    def sids(self) -> npt.NDArray[np.int32]:
        if not self.numeric:
            return np.empty(0, np.int32)
        return np.concatenate([n.sids for n in self.numeric])

    def decode(self, regs: npt.NDArray[np.uint16]) -> tuple[npt.NDArray[np.int32],
                                                           npt.NDArray[np.float64]]:
        """Signal ids and engineering values (raw * scale + offset) of the numeric points."""
        if not self.numeric:
            return np.empty(0, np.int32), np.empty(0, np.float64)
        vals = [codec.decode(regs, n.starts, n.type, n.word_order, n.byte_order) * n.scale
                + n.offset for n in self.numeric]
        return self.sids, np.concatenate(vals)

    def texts(self, regs: npt.NDArray[np.uint16]) -> list[tuple[Point, str]]:
        return [(p, codec.decode_string(regs, off, p.spec.size, p.spec.byte_order))
                for p, off in self.strings]


def coalesce(points: list[Point], *, max_registers: int = 125, max_bits: int = 2000,
             max_gap: int = 0) -> list[Block]:
    """Blocks covering ``points``: neighbours (at most ``max_gap`` unused addresses apart)
    share one request up to the protocol limit of 125 registers or 2000 bits [1].

    .. [1] Modbus Organization 2012, "MODBUS Application Protocol Specification V1.1b3",
       sec. 6.1-6.4 (quantity limits of function codes 1-4).
    """
    blocks: list[Block] = []
    by_fn: dict[str, list[Point]] = {}
    for p in points:
        by_fn.setdefault(p.spec.function, []).append(p)
    for fn, pts in by_fn.items():
        limit = max_bits if fn in BIT_FUNCTIONS else max_registers
        pts.sort(key=lambda p: p.spec.address)
        cur: list[Point] = []
        start = end = 0  # end: one past the last address covered
        for p in pts:
            a, e = p.spec.address, p.spec.address + p.spec.size
            if cur and a <= end + max_gap and max(end, e) - start <= limit:
                cur.append(p)
                end = max(end, e)
                continue
            if cur:
                blocks.append(Block(fn, start, end - start, cur))  # type: ignore[arg-type]
            cur, start, end = [p], a, e
        if cur:
            blocks.append(Block(fn, start, end - start, cur))  # type: ignore[arg-type]
    return blocks


def one_per_point(points: list[Point]) -> list[Block]:
    """One request per point: the baseline coalescing is measured against."""
    return [Block(p.spec.function, p.spec.address, p.spec.size, [p]) for p in points]
