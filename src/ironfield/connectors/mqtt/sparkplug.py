"""Sparkplug B: the protobuf payload and the birth/death state an MQTT host keeps.

The message schema is built at import from the Eclipse Tahu ``sparkplug_b.proto``
(fields used by hosts: timestamp, metrics, seq; metric name, alias, timestamp, datatype,
is_null and the scalar value oneof). Fields not declared here (metadata, property sets,
data sets, templates) are skipped by the protobuf parser, as the specification allows a
host that does not use them.

.. [1] Eclipse Sparkplug Specification 3.0.0, Eclipse Foundation, 2022: sec. 6 (topics,
   NBIRTH/NDATA/NDEATH/DBIRTH/DDATA/DDEATH, bdSeq), sec. 6.4 (payload), Table "datatypes".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from ironfield.core.errors import MalformedPayloadError

_F = descriptor_pb2.FieldDescriptorProto

# Sparkplug B datatypes (spec Table 14)
INT8, INT16, INT32, INT64 = 1, 2, 3, 4
UINT8, UINT16, UINT32, UINT64 = 5, 6, 7, 8
FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME, TEXT = 9, 10, 11, 12, 13, 14
NUMERIC = {INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FLOAT, DOUBLE, BOOLEAN, DATETIME}


def _build() -> Any:
    fd = descriptor_pb2.FileDescriptorProto(
        name="ironfield_sparkplug_b.proto", package="org.eclipse.tahu.protobuf", syntax="proto2"
    )
    payload = fd.message_type.add(name="Payload")

    def add(msg: Any, name: str, number: int, ftype: int, label: int = _F.LABEL_OPTIONAL,
            type_name: str | None = None, oneof: int | None = None) -> None:
        f = msg.field.add(name=name, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = type_name
        if oneof is not None:
            f.oneof_index = oneof

    add(payload, "timestamp", 1, _F.TYPE_UINT64)
    add(payload, "metrics", 2, _F.TYPE_MESSAGE, _F.LABEL_REPEATED,
        ".org.eclipse.tahu.protobuf.Payload.Metric")
    add(payload, "seq", 3, _F.TYPE_UINT64)
    add(payload, "uuid", 4, _F.TYPE_STRING)
    add(payload, "body", 5, _F.TYPE_BYTES)
    metric = payload.nested_type.add(name="Metric")
    metric.oneof_decl.add(name="value")
    add(metric, "name", 1, _F.TYPE_STRING)
    add(metric, "alias", 2, _F.TYPE_UINT64)
    add(metric, "timestamp", 3, _F.TYPE_UINT64)
    add(metric, "datatype", 4, _F.TYPE_UINT32)
    add(metric, "is_historical", 5, _F.TYPE_BOOL)
    add(metric, "is_transient", 6, _F.TYPE_BOOL)
    add(metric, "is_null", 7, _F.TYPE_BOOL)
    add(metric, "int_value", 10, _F.TYPE_UINT32, oneof=0)
    add(metric, "long_value", 11, _F.TYPE_UINT64, oneof=0)
    add(metric, "float_value", 12, _F.TYPE_FLOAT, oneof=0)
    add(metric, "double_value", 13, _F.TYPE_DOUBLE, oneof=0)
    add(metric, "boolean_value", 14, _F.TYPE_BOOL, oneof=0)
    add(metric, "string_value", 15, _F.TYPE_STRING, oneof=0)
    add(metric, "bytes_value", 16, _F.TYPE_BYTES, oneof=0)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("org.eclipse.tahu.protobuf.Payload"))


Payload: Any = _build()


@dataclass(frozen=True, slots=True)
class Metric:
    name: str | None
    alias: int | None
    timestamp_ms: int | None
    datatype: int
    value: float
    is_null: bool


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


def metric_value(m: Any, datatype: int) -> float:
    """The metric's value as float (NaN for null and non-numeric types)."""
    if m.is_null:
        return math.nan
    which = m.WhichOneof("value")
    if which is None:
        return math.nan
    raw = getattr(m, which)
    if which == "int_value":
        # Signed types travel as the 32-bit two's complement in a uint32 (as Tahu encodes them).
        return float(_signed(raw, 32) if datatype in (INT8, INT16, INT32) else raw)
    if which == "long_value":
        return float(_signed(raw, 64) if datatype == INT64 else raw)
    if which == "boolean_value":
        return 1.0 if raw else 0.0
    if which in ("float_value", "double_value"):
        return float(raw)
    return math.nan


def decode(payload: bytes) -> tuple[int | None, int | None, list[Metric]]:
    """(timestamp [ms], seq, metrics) of a Sparkplug B payload."""
    msg = Payload()
    try:
        msg.ParseFromString(payload)
    except Exception as e:  # protobuf raises DecodeError and friends
        raise MalformedPayloadError(f"not a Sparkplug B payload: {e}") from None
    metrics = [
        Metric(
            name=m.name if m.HasField("name") else None,
            alias=m.alias if m.HasField("alias") else None,
            timestamp_ms=m.timestamp if m.HasField("timestamp") else None,
            datatype=m.datatype,
            value=metric_value(m, m.datatype),
            is_null=m.is_null,
        )
        for m in msg.metrics
    ]
    return (
        msg.timestamp if msg.HasField("timestamp") else None,
        msg.seq if msg.HasField("seq") else None,
        metrics,
    )


def encode(
    metrics: list[dict[str, Any]], timestamp_ms: int, seq: int | None = None
) -> bytes:
    """Build a payload (used by tests, the demo's simulated edge nodes and write-back)."""
    msg = Payload()
    msg.timestamp = timestamp_ms
    if seq is not None:
        msg.seq = seq
    for d in metrics:
        m = msg.metrics.add()
        if "name" in d:
            m.name = d["name"]
        if "alias" in d:
            m.alias = d["alias"]
        m.timestamp = d.get("timestamp", timestamp_ms)
        dt = d.get("datatype", DOUBLE)
        m.datatype = dt
        v = d.get("value")
        if v is None:
            m.is_null = True
        elif dt == BOOLEAN:
            m.boolean_value = bool(v)
        elif dt in (FLOAT,):
            m.float_value = float(v)
        elif dt == DOUBLE:
            m.double_value = float(v)
        elif dt in (INT8, INT16, INT32, UINT8, UINT16, UINT32):
            m.int_value = int(v) & 0xFFFFFFFF
        elif dt in (INT64, UINT64, DATETIME):
            m.long_value = int(v) & 0xFFFFFFFFFFFFFFFF
        elif dt in (STRING, TEXT):
            m.string_value = str(v)
    out: bytes = msg.SerializeToString()
    return out


@dataclass
class NodeState:
    """What a host remembers of an edge node (or device) between its birth and death."""

    bd_seq: int | None = None
    alive: bool = False
    aliases: dict[int, str] = field(default_factory=dict)
    last_seq: int | None = None
    metrics: set[str] = field(default_factory=set)


def parse_topic(topic: str) -> tuple[str, str, str, str | None]:
    """(group, message type, edge node, device or None) of a ``spBv1.0/...`` topic."""
    parts = topic.split("/")
    if len(parts) not in (4, 5) or parts[0] != "spBv1.0":
        raise MalformedPayloadError(
            f"not a Sparkplug B topic: {topic!r} (expected spBv1.0/group/TYPE/node[/device])"
        )
    return parts[1], parts[2], parts[3], parts[4] if len(parts) == 5 else None
