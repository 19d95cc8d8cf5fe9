"""StatusCode → quality byte, against the code values published in OPC 10000-4/-8."""

from __future__ import annotations

import numpy as np

from ironfield.connectors.opcua.status import qualities, quality_of
from ironfield.core.quality import Quality


def test_severity_bits_decide_when_there_is_no_specific_mapping() -> None:
    assert quality_of(0x00000000) == Quality.GOOD  # Good
    assert quality_of(0x00A20000) == Quality.GOOD  # GoodClamped
    assert quality_of(0x40000000) == Quality.UNCERTAIN  # Uncertain
    assert quality_of(0x80000000) == Quality.BAD  # Bad
    assert quality_of(0x80340000) == Quality.BAD  # BadNodeIdUnknown


def test_da_reasons_survive() -> None:
    assert quality_of(0x808C0000) == Quality.BAD_SENSOR_FAILURE  # BadSensorFailure
    assert quality_of(0x808B0000) == Quality.BAD_DEVICE_FAILURE  # BadDeviceFailure
    assert quality_of(0x808A0000) == Quality.BAD_NOT_CONNECTED  # BadNotConnected
    assert quality_of(0x40900000) == Quality.UNCERTAIN_LAST_USABLE  # UncertainLastUsableValue
    assert quality_of(0x00960000) == Quality.GOOD_LOCAL_OVERRIDE  # GoodLocalOverride
    # the low 16 bits (info type, overflow, limits) do not change the meaning
    assert quality_of(0x808C0000 | 0x0400) == Quality.BAD_SENSOR_FAILURE


def test_vectorized_matches_scalar() -> None:
    codes = np.array([0, 0x808C0000, 0x40000000, 0, 0x80000000, 0x00960000], np.uint32)
    assert qualities(codes).tolist() == [int(quality_of(int(c))) for c in codes]
    assert qualities(np.zeros(5, np.uint32)).tolist() == [Quality.GOOD] * 5
