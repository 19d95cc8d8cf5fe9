"""Register codec against Python's struct (an independent encoder) and known layouts."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ironfield.connectors.modbus import codec


def _words(fmt: str, v: float) -> list[int]:
    b = struct.pack(">" + fmt, v)
    return [int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2)]


def test_float32_layouts_match_the_four_common_orders() -> None:
    # 1.5 as IEEE 754 single is 0x3FC00000: ABCD, CDAB, BADC, DCBA layouts
    assert codec.encode(1.5, "float32", "big", "big") == [0x3FC0, 0x0000]
    assert codec.encode(1.5, "float32", "little", "big") == [0x0000, 0x3FC0]
    assert codec.encode(1.5, "float32", "big", "little") == [0xC03F, 0x0000]
    assert codec.encode(1.5, "float32", "little", "little") == [0x0000, 0xC03F]


@given(st.integers(-(2**31), 2**31 - 1), st.sampled_from(["big", "little"]),
       st.sampled_from(["big", "little"]))
def test_int32_round_trip(v: int, wo: codec.Order, bo: codec.Order) -> None:
    regs = np.array(codec.encode(v, "int32", wo, bo), np.uint16)
    assert codec.decode(regs, np.array([0], np.intp), "int32", wo, bo)[0] == v


def test_decode_agrees_with_struct_for_every_type() -> None:
    cases = [("int16", "h", -1234), ("uint16", "H", 54321), ("int32", "i", -7_000_000),
             ("uint32", "I", 4_000_000_000), ("float32", "f", -2.5), ("float64", "d", 1e100 / 3)]
    for t, fmt, v in cases:
        regs = np.array([0xAAAA, *_words(fmt, v)], np.uint16)  # offset 1: starts are honoured
        got = codec.decode(regs, np.array([1], np.intp), t)[0]
        want = struct.unpack(">" + fmt, struct.pack(">" + fmt, v))[0]
        assert got == want, t


def test_many_points_decode_in_one_call() -> None:
    vals = [1.0, -2.0, 3.25]
    regs = np.array([w for v in vals for w in _words("f", v)], np.uint16)
    out = codec.decode(regs, np.array([0, 2, 4], np.intp), "float32")
    assert out.tolist() == vals


def test_out_of_range_integer_is_refused() -> None:
    try:
        codec.encode(70000, "uint16")
    except ValueError as e:
        assert "uint16" in str(e)
    else:
        raise AssertionError("70000 fitted a uint16")


def test_string_round_trip_and_padding() -> None:
    regs = np.array(codec.encode_string("SIM-01", 8), np.uint16)
    assert len(regs) == 8
    assert regs[0] == (ord("S") << 8) | ord("I")
    assert codec.decode_string(regs, 0, 8) == "SIM-01"
    swapped = np.array(codec.encode_string("AB", 1, "little"), np.uint16)
    assert swapped[0] == (ord("B") << 8) | ord("A")
