from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ironfield.connectors.mqtt.codecs import (
    Accumulator,
    KeySets,
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
    unknown = decode_columnar(json.dumps(doc).encode(), KeySets({"a": 10, "b": 11}.get), MS, acc)
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
        decode_columnar(json.dumps(doc).encode(), KeySets({"a": 1}.get), MS, acc)
    assert len(acc) == 0


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"ts": [1, 2], "values": {"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]}}, r"values\['b'\] must be an array of 2"),
        ({"ts": [1, 2], "values": {"a": [1.0, 2.0], "b": 7}}, r"values\['b'\] must be an array of 2 .* got int"),
        ({"ts": [1, 2], "values": {"a": [1.0, [2.0]]}}, r"values\['a'\] must hold only numbers"),
        ({"ts": [1, 2], "values": {"a": [1.0, "2.0"]}}, r"values\['a'\] must hold only numbers"),
        ({"ts": [1, 2], "values": {"a": [1.0, {"v": 2}]}}, r"values\['a'\] must hold only numbers"),
        ({"ts": [True, False], "values": {"a": [1.0, 2.0]}}, "'ts' must hold only numbers"),
        ({"ts": [1, 2], "values": {"a": [1, 2]}, "quality": {"zz": [192, 192]}}, r"quality\['zz'\] has no matching"),
        # a nanosecond timestamp sent on a millisecond topic: out of range, not a wrapped int64
        ({"ts": [1_750_000_000_000_000_000], "values": {"a": [1.0]}}, "out of range"),
        ({"ts": [1e300], "values": {"a": [1.0]}}, "out of range"),
    ],
)
def test_columnar_names_the_bad_column(doc: dict[str, object], needle: str) -> None:
    acc = Accumulator()
    with pytest.raises(MalformedPayloadError, match=needle):
        decode_columnar(json.dumps(doc).encode(), KeySets({"a": 1, "b": 2}.get), MS, acc)
    assert len(acc) == 0


def test_columnar_null_bool_and_int_values() -> None:
    acc = Accumulator()
    doc = {"ts": [1, 2.5], "values": {"a": [None, 3], "b": [True, False]}}
    assert decode_columnar(json.dumps(doc).encode(), KeySets({"a": 1, "b": 2}.get), MS, acc) == []
    b = acc.to_batch()
    assert b.signal.tolist() == [1, 1, 2, 2]
    assert b.ts.tolist() == [MS, 2_500_000] * 2
    assert math.isnan(b.value[0]) and b.value[1:].tolist() == [3.0, 1.0, 0.0]


def test_keysets_resolve_each_key_set_once() -> None:
    calls: list[str] = []
    ids = {"a": 10, "b": 11}

    def resolve(key: str) -> int | None:
        calls.append(key)
        return ids.get(key)

    ks = KeySets(resolve)
    acc = Accumulator()
    for m in range(3):
        doc = {"ts": [m + 1, m + 2], "values": {"a": [m, m], "b": [-m, -m]}}
        assert decode_columnar(json.dumps(doc).encode(), ks, MS, acc) == []
    assert calls == ["a", "b"]
    # the same keys in another order are another key set, mapped by name, not by position
    doc = {"ts": [9], "values": {"b": [2.0], "a": [1.0]}}
    decode_columnar(json.dumps(doc).encode(), ks, MS, acc)
    assert calls == ["a", "b", "b", "a"]
    last = acc.batches[-1]
    assert dict(zip(last.signal.tolist(), last.value.tolist(), strict=True)) == {11: 2.0, 10: 1.0}
    assert len(acc) == 3 * 4 + 2


def test_keysets_do_not_remember_an_unknown_key() -> None:
    ids: dict[str, int] = {"a": 1}
    ks = KeySets(ids.get)
    acc = Accumulator()
    payload = json.dumps({"ts": [1], "values": {"a": [1.0], "new": [2.0]}}).encode()
    assert decode_columnar(payload, ks, MS, acc) == ["new"]
    assert len(acc) == 0  # whole or nothing
    ids["new"] = 2  # the signal is registered later: the same message is now taken
    assert decode_columnar(payload, ks, MS, acc) == []
    assert sorted(acc.to_batch().signal.tolist()) == [1, 2]


def test_keysets_shared_columns_are_read_only_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KeySets, "MAX_KEY_SETS", 4)
    ks = KeySets(lambda k: int(k[1:]))
    acc = Accumulator()
    for i in range(10):
        decode_columnar(json.dumps({"ts": [1, 2], "values": {f"k{i}": [0, 1]}}).encode(), ks, MS, acc)
    assert len(ks._seen) <= 4
    b = acc.batches[0]
    with pytest.raises(ValueError, match="read-only"):
        b.signal[0] = 99
    assert acc.to_batch().signal.tolist() == [i for i in range(10) for _ in range(2)]
