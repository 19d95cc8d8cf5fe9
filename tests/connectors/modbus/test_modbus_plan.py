"""Coalescing of reads: adjacent points share a request up to the protocol limits."""

from __future__ import annotations

import numpy as np

from ironfield.connectors.modbus import codec
from ironfield.connectors.modbus.config import RegisterSpec
from ironfield.connectors.modbus.plan import Block, Point, coalesce, one_per_point


def _p(i: int, address: int, function: str = "holding", type: str = "uint16",
       **kw: object) -> Point:
    spec = RegisterSpec.model_validate(
        {"signal": f"s/a/e/x{i}", "address": address, "function": function, "type": type, **kw})
    return Point(spec, f"s/a/e/x{i}", i, ())


def test_adjacent_registers_become_one_read() -> None:
    pts = [_p(0, 10), _p(1, 11, type="float32"), _p(2, 13), _p(3, 20)]
    blocks = coalesce(pts)
    assert [(b.start, b.count) for b in blocks] == [(10, 4), (20, 1)]
    assert [(b.start, b.count) for b in coalesce(pts, max_gap=6)] == [(10, 11)]


def test_reads_respect_the_protocol_limits() -> None:
    regs = [_p(i, i) for i in range(1000)]
    blocks = coalesce(regs)
    assert len(blocks) == 8  # ceil(1000 / 125)
    assert max(b.count for b in blocks) == 125
    bits = [_p(i, i, function="coil") for i in range(4500)]
    assert [b.count for b in coalesce(bits)] == [2000, 2000, 500]
    # a 2-register point is never split across requests
    wide = [_p(i, 2 * i, type="float32") for i in range(100)]
    assert all(b.count % 2 == 0 and b.count <= 125 for b in coalesce(wide))


def test_functions_never_share_a_read() -> None:
    blocks = coalesce([_p(0, 5), _p(1, 6, function="input"), _p(2, 7)])
    assert sorted((b.function, b.start, b.count) for b in blocks) == [
        ("holding", 5, 1), ("holding", 7, 1), ("input", 6, 1)]


def test_block_decodes_mixed_types_scale_and_offset() -> None:
    pts = [_p(0, 0, type="int16", scale=0.1), _p(1, 1, type="float32", word_order="little"),
           _p(2, 3, type="uint32", offset=-100.0)]
    regs = np.array(codec.encode(-123, "int16") + codec.encode(2.5, "float32", "little")
                    + codec.encode(70_000, "uint32"), np.uint16)
    (b,) = coalesce(pts)
    sids, vals = b.decode(regs)
    got = dict(zip(sids.tolist(), vals.tolist(), strict=True))
    assert abs(got[0] - (-12.3)) < 1e-9
    assert got[1] == 2.5
    assert got[2] == 69_900.0


def test_one_per_point_is_the_uncoalesced_baseline() -> None:
    pts = [_p(i, i) for i in range(10)]
    assert len(one_per_point(pts)) == 10
    assert isinstance(one_per_point(pts)[0], Block)
