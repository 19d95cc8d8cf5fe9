"""OPC UA StatusCode → ironfield quality byte (OPC DA layout).

The two top bits of a StatusCode give its severity (00 good, 01 uncertain, 10/11 bad) [1];
the codes with an OPC DA counterpart keep their reason [2], the rest map by severity.

.. [1] OPC Foundation, OPC 10000-4 (Part 4: Services) 1.04, sec. 7.34 "StatusCode".
.. [2] OPC Foundation, OPC 10000-8 (Part 8: Data Access) 1.04, Annex A.3.2 "Quality"
   (mapping between DA quality and UA StatusCodes).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ironfield.connectors.opcua.uatypes import ua
from ironfield.core.quality import Quality

_S = ua.StatusCodes
SPECIFIC: dict[int, Quality] = {
    _S.BadConfigurationError: Quality.BAD_CONFIG,
    _S.BadNotConnected: Quality.BAD_NOT_CONNECTED,
    _S.BadDeviceFailure: Quality.BAD_DEVICE_FAILURE,
    _S.BadSensorFailure: Quality.BAD_SENSOR_FAILURE,
    _S.BadNoCommunication: Quality.BAD_COMM_FAILURE,
    _S.BadCommunicationError: Quality.BAD_COMM_FAILURE,
    _S.BadOutOfService: Quality.BAD_OUT_OF_SERVICE,
    _S.BadWaitingForInitialData: Quality.BAD_NOT_CONNECTED,
    _S.UncertainLastUsableValue: Quality.UNCERTAIN_LAST_USABLE,
    _S.UncertainSensorNotAccurate: Quality.UNCERTAIN_SENSOR_NOT_ACCURATE,
    _S.UncertainEngineeringUnitsExceeded: Quality.UNCERTAIN_EU_EXCEEDED,
    _S.UncertainSubNormal: Quality.UNCERTAIN_SUB_NORMAL,
    _S.GoodLocalOverride: Quality.GOOD_LOCAL_OVERRIDE,
}


def quality_of(code: int) -> Quality:
    """The quality byte of one StatusCode value (the low 16 info bits are ignored)."""
    q = SPECIFIC.get(code & 0xFFFF0000)
    if q is not None:
        return q
    severity = code >> 30
    if severity == 0:
        return Quality.GOOD
    if severity == 1:
        return Quality.UNCERTAIN
    return Quality.BAD


def qualities(codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint8]:
    """Element-wise :func:`quality_of`; all-good arrays (the usual case) cost one compare."""
    if not codes.any():
        return np.full(len(codes), Quality.GOOD, np.uint8)
    uniq, inv = np.unique(codes, return_inverse=True)
    table = np.array([quality_of(int(c)) for c in uniq], np.uint8)
    out: npt.NDArray[np.uint8] = table[inv]
    return out
