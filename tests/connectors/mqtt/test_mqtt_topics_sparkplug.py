from __future__ import annotations

import math

import pytest

from ironfield.connectors.mqtt import sparkplug as spb
from ironfield.connectors.mqtt.config import MqttConnectorSpec, TopicSpec
from ironfield.connectors.mqtt.topics import TopicTemplate, fill
from ironfield.core.errors import MalformedPayloadError


def test_template_subscription_and_match() -> None:
    t = TopicTemplate("luobei/pit/{equipment}/{signal}")
    assert t.subscription() == "luobei/pit/+/+"
    assert t.match("luobei/pit/truck-07/payload_t") == {"equipment": "truck-07", "signal": "payload_t"}
    assert t.match("luobei/pit/truck-07") is None
    assert t.match("luobei/crusher/x/y") is None
    assert fill("{a}/{b}", {"a": "1", "b": "2"}) == "1/2"
    with pytest.raises(KeyError, match=r"\{c\}"):
        fill("{a}/{c}", {"a": "1"})


@pytest.mark.parametrize("bad", ["a/#/b", "a/x{v}/b", "/a", "a/b+/c"])
def test_bad_templates(bad: str) -> None:
    with pytest.raises(ValueError, match="topic template|bad topic"):
        TopicTemplate(bad)


def test_spec_defaults_signal_from_topic() -> None:
    assert TopicSpec(topic="a/{x}/v").signal == "a/{x}/v"
    assert TopicSpec(topic="a/{x}/obj", format="object").signal == "a/{x}/obj/{key}"
    with pytest.raises(ValueError, match="give 'signal'"):
        TopicSpec(topic="a/+/v")
    with pytest.raises(ValueError, match="mqtt://host:port"):
        MqttConnectorSpec(id="m", url="http://x")


def test_sparkplug_roundtrip_with_signed_and_null() -> None:
    body = spb.encode([
        {"name": "temp", "alias": 1, "datatype": spb.DOUBLE, "value": 21.5},
        {"name": "delta", "alias": 2, "datatype": spb.INT16, "value": -3},
        {"name": "big", "alias": 3, "datatype": spb.INT64, "value": -(2**40)},
        {"name": "on", "alias": 4, "datatype": spb.BOOLEAN, "value": True},
        {"name": "gone", "alias": 5, "datatype": spb.FLOAT, "value": None},
    ], timestamp_ms=1_700_000_000_000, seq=7)
    ts, seq, metrics = spb.decode(body)
    assert ts == 1_700_000_000_000 and seq == 7
    vals = {m.name: m.value for m in metrics}
    assert vals["temp"] == 21.5 and vals["delta"] == -3 and vals["big"] == -(2**40) and vals["on"] == 1.0
    assert math.isnan(vals["gone"])


def test_sparkplug_garbage_and_topics() -> None:
    with pytest.raises(MalformedPayloadError, match="Sparkplug"):
        spb.decode(b"\xff\xff\xff\xff")
    assert spb.parse_topic("spBv1.0/g/DDATA/n/d") == ("g", "DDATA", "n", "d")
    with pytest.raises(MalformedPayloadError, match="not a Sparkplug B topic"):
        spb.parse_topic("spBv1.0/g")


def test_overlapping_filters_are_subscribed_once() -> None:
    from ironfield.connectors.mqtt.topics import covers, minimal_filters, specificity

    assert covers("a/+/+", "a/+/obj") and not covers("a/+/obj", "a/+/+")
    assert covers("a/#", "a/b/c") and not covers("a/b", "a/b/c")
    assert minimal_filters(["a/+/obj", "a/+/+", "b/x", "a/+/+"]) == ["a/+/+", "b/x"]
    assert sorted(["a/{x}/{y}", "a/{x}/obj"], key=specificity) == ["a/{x}/obj", "a/{x}/{y}"]
