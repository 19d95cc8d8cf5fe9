"""Value quality codes.

ironfield stores quality as one byte using the OPC DA quality layout (the top two bits
say good / uncertain / bad, the next four the reason), because it is what PLCs, OPC UA
servers (mapped from StatusCode severity) and most historians already agree on.

.. [1] OPC Foundation, OPC Data Access Custom Interface Standard 3.0, sec. 6.8 "OPC Quality flags".
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt


class Quality(IntEnum):
    BAD = 0x00
    BAD_CONFIG = 0x04
    BAD_NOT_CONNECTED = 0x08
    BAD_DEVICE_FAILURE = 0x0C
    BAD_SENSOR_FAILURE = 0x10
    BAD_LAST_KNOWN = 0x14
    BAD_COMM_FAILURE = 0x18
    BAD_OUT_OF_SERVICE = 0x1C
    UNCERTAIN = 0x40
    UNCERTAIN_LAST_USABLE = 0x44
    UNCERTAIN_SENSOR_NOT_ACCURATE = 0x50
    UNCERTAIN_EU_EXCEEDED = 0x54
    UNCERTAIN_SUB_NORMAL = 0x58
    GOOD = 0xC0
    GOOD_LOCAL_OVERRIDE = 0xD8

    @property
    def is_good(self) -> bool:
        return (self.value & 0xC0) == 0xC0

    @property
    def is_bad(self) -> bool:
        return (self.value & 0xC0) == 0x00


def is_good(q: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Element-wise: is each quality byte in the good range."""
    out: npt.NDArray[np.bool_] = (q & 0xC0) == 0xC0
    return out


def is_bad(q: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Element-wise: is each quality byte in the bad range."""
    out: npt.NDArray[np.bool_] = (q & 0xC0) == 0x00
    return out
