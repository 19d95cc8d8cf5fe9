from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ironfield.connectors.mqtt.codecs import (
    Accumulator,
    decode_columnar,
    decode_object,
    decode_value,
)
from ironfield.core.errors import MalformedPayloadError
from ironfield.core.quality import Quality

MS = 1_000_000


def test_value_plain_number_and_object() -> None:
    acc = Accumulator()
    decode_value(b"12.5", 3, 1_000, MS, acc)
    decode_value(b'{"v": true, "ts": 1700000000000, "q": 64}', 4, 1_000, MS, acc)
    b = acc.to_batch()
    assert b.signal.tolist() == [3, 4]
    assert b.value.tolist() == [12.5, 1.0]
    assert b.ts.tolist() == [1_000, 1_700_000_000_000 * MS]
    assert b.quality.tolist() == [Quality.GOOD, 64]


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b"hello", "not JSON"),
        (b'{"x": 1}', "no 'v'"),
        (b'{"v": "high"}', "expected a number"),
        (b'{"v": 1, "ts": "yesterday"}', "timestamp must be a number"),
        (b'{"v": 1, "q": 300}', "quality must be an integer"),
        (b'{"v": 1, "ts": -5}', "out of range"),
    ],
)
def test_value_malformed_says_why(payload: bytes, needle: str) -> None:
    acc = Accumulator()
    with pytest.raises(MalformedPayloadError, match=needle):
        decode_value(payload, 1, 1, MS, acc)
    assert len(acc) == 0


def test_object_maps_keys_and_reports_unknown() -> None:
    ids = {"a": 1, "b": 2}
    acc = Accumulator()
    unknown = decode_object(b'{"ts": 5, "a": 1.5, "b": null, "zz": 3}', ids.get, 0, MS, acc)
    assert unknown == ["zz"]
    b = acc.to_batch()
    assert b.signal.tolist() == [1, 2]
    assert b.value[0] == 1.5 and math.isnan(b.value[1])
    assert set(b.ts.tolist()) == {5 * MS}


def test_object_is_all_or_nothing() -> None:
    acc = Accumulator()
    with pytest.raises(MalformedPayloadError, match="b: expected a number"):
        decode_object(b'{"a": 1, "b": "x"}', {"a": 1, "b": 2}.get, 0, MS, acc)
    assert len(acc) == 0


def test_columnar_batch() -> None:
    doc = {"ts": [1, 2, 3], "values": {"a": [1.0, 2.0, 3.0], "b": [4, None, 6]},
           "quality": {"b": [192, 0, 192]}}
    acc = Accumulator()
    unknown = decode_columnar(json.dumps(doc).encode(), {"a": 10, "b": 11}.get, MS, acc)
    assert unknown == []
    b = acc.to_batch().sorted()
    assert b.signal.tolist() == [10, 10, 10, 11, 11, 11]
    assert b.ts.tolist() == [MS, 2 * MS, 3 * MS] * 2
    assert np.isnan(b.value[4])
    assert b.quality.tolist() == [192, 192, 192, 192, 0, 192]


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"ts": [1, 2], "values": {"a": [1.0]}}, "must be an array of 2"),
        ({"ts": [1, "x"], "values": {"a": [1.0, 2.0]}}, "'ts' must hold only numbers"),
        ({"values": {"a": [1.0]}}, "needs 'ts'"),
        ({"ts": [1], "values": {"a": ["x"]}}, "only numbers or null"),
        ({"ts": [1], "values": {"a": [1]}, "quality": {"a": [999]}}, "0-255"),
    ],
)
def test_columnar_malformed(doc: dict[str, object], needle: str) -> None:
    acc = Accumulator()
    with pytest.raises(MalformedPayloadError, match=needle):
        decode_columnar(json.dumps(doc).encode(), {"a": 1}.get, MS, acc)
    assert len(acc) == 0
