"""Modbus register decoding and encoding, vectorized over many points at once.

A register is 16 bits sent high byte first [1]; wider values span consecutive registers
whose order is not standardised, so each point states its ``word_order`` ("big": first
register is most significant, ABCD; "little": CDAB) and ``byte_order`` inside a
register ("big": AB; "little": BA, e.g. BADC / DCBA layouts).

.. [1] Modbus Organization 2012, "MODBUS Application Protocol Specification V1.1b3",
   sec. 4.2 "Data Encoding" (big-endian addresses and data items).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

RegType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64", "string"]
Order = Literal["big", "little"]

WORDS: dict[str, int] = {
    "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4,
}
_DTYPE: dict[str, str] = {
    "int16": ">i2", "uint16": ">u2", "int32": ">i4", "uint32": ">u4",
    "float32": ">f4", "float64": ">f8",
}
_INT_RANGE: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
}

U16 = npt.NDArray[np.uint16]
F64 = npt.NDArray[np.float64]


def _swap_bytes(w: U16) -> U16:
    out: U16 = ((w >> 8) | (w << 8)).astype(np.uint16)
    return out


def decode(
    regs: U16, starts: npt.NDArray[np.intp], type: str, word_order: Order = "big",
    byte_order: Order = "big",
) -> F64:
    """Raw numbers of ``type`` starting at each index of ``starts`` into ``regs``."""
    n = WORDS[type]
    w = regs[starts[:, None] + np.arange(n)]
    if byte_order == "little":
        w = _swap_bytes(w)
    if word_order == "little":
        w = w[:, ::-1]
    raw = np.ascontiguousarray(w).astype(">u2").view(_DTYPE[type]).reshape(-1)
    out: F64 = raw.astype(np.float64)
    return out


def encode(raw: float, type: str, word_order: Order = "big", byte_order: Order = "big") -> list[int]:
    """Registers holding the raw number ``raw`` as ``type`` (integers are rounded).

    Raises ValueError when ``raw`` does not fit the type.
    """
    if type in _INT_RANGE:
        lo, hi = _INT_RANGE[type]
        r = round(raw)
        if not lo <= r <= hi:
            raise ValueError(f"raw value {raw} does not fit {type} ({lo}..{hi})")
        arr = np.array([r], dtype=_DTYPE[type])
    else:
        arr = np.array([raw], dtype=_DTYPE[type])
    w = arr.view(">u2").astype(np.uint16)
    if word_order == "little":
        w = w[::-1]
    if byte_order == "little":
        w = _swap_bytes(w)
    return [int(x) for x in w]


def decode_string(regs: U16, start: int, size: int, byte_order: Order = "big") -> str:
    """Text in ``size`` registers (two bytes each, NUL padded)."""
    w = regs[start:start + size]
    if byte_order == "little":
        w = _swap_bytes(w)
    return np.ascontiguousarray(w).astype(">u2").tobytes().rstrip(b"\x00 ").decode("latin-1")


def encode_string(text: str, size: int, byte_order: Order = "big") -> list[int]:
    b = text.encode("latin-1")[: 2 * size].ljust(2 * size, b"\x00")
    w = np.frombuffer(b, dtype=">u2").astype(np.uint16)
    if byte_order == "little":
        w = _swap_bytes(w)
    return [int(x) for x in w]
