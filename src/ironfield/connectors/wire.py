"""The edge-to-centre wire format: a batch as an Arrow IPC stream with signal *paths*.

Ids are local to each process's registry, so batches cross the wire named by path
(dictionary-encoded: a path costs its bytes once per message). A sequence number lets
the receiver see gaps and order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ironfield.core.batch import Batch
from ironfield.core.errors import MalformedPayloadError
from ironfield.core.signals import SignalRegistry

SCHEMA = pa.schema([
    pa.field("signal", pa.dictionary(pa.int32(), pa.string())),
    pa.field("ts", pa.int64()),
    pa.field("value", pa.float64()),
    pa.field("quality", pa.uint8()),
])


def encode(batch: Batch, registry: SignalRegistry, seq: int, source: str) -> bytes:
    ids, inverse = np.unique(batch.signal, return_inverse=True)
    paths = pa.array([registry.path(int(i)) for i in ids], pa.string())
    return encode_rows(paths, inverse, batch.ts, batch.value, batch.quality, seq=seq, source=source)


def encode_rows(paths: pa.Array, idx: np.ndarray, ts: np.ndarray, values: np.ndarray,
                quality: np.ndarray, *, seq: int = 0, source: str = "") -> bytes:
    """Rows named by ``paths[idx]`` (for a device that knows its paths, not a registry)."""
    sig = pa.DictionaryArray.from_arrays(pa.array(np.asarray(idx, np.int32)), paths)
    table = pa.Table.from_arrays(
        [sig, pa.array(ts, pa.int64()), pa.array(values, pa.float64()), pa.array(quality, pa.uint8())],
        schema=SCHEMA,
    ).replace_schema_metadata({"seq": str(seq), "source": source})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    out: bytes = sink.getvalue().to_pybytes()
    return out


def decode(payload: bytes) -> tuple[list[str], np.ndarray, Batch, int, str]:
    """(paths, index into paths per row, batch with placeholder ids, seq, source)."""
    try:
        table = pa.ipc.open_stream(pa.py_buffer(payload)).read_all()
    except (pa.ArrowInvalid, OSError) as e:
        raise MalformedPayloadError(f"not an ironfield Arrow batch: {e}") from None
    if table.schema.remove_metadata() != SCHEMA:
        raise MalformedPayloadError(f"unexpected batch schema: {table.schema}")
    sig = table.column("signal").combine_chunks()
    paths = [str(p) for p in sig.dictionary.to_pylist()]
    idx = np.asarray(sig.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    meta = table.schema.metadata or {}
    b = Batch(
        idx,
        np.asarray(table.column("ts").to_numpy(), np.int64),
        np.asarray(table.column("value").to_numpy(zero_copy_only=False), np.float64),
        np.asarray(table.column("quality").to_numpy(), np.uint8),
    )
    return paths, idx, b, int(meta.get(b"seq", b"0")), meta.get(b"source", b"").decode()
