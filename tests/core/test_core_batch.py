from __future__ import annotations

import numpy as np
import pytest

from ironfield.core.batch import Batch
from ironfield.core.errors import BatchError
from ironfield.core.quality import Quality, is_bad, is_good


def test_build_broadcasts_and_roundtrips_arrow() -> None:
    b = Batch.build(7, [1, 2, 3], [0.5, 1.5, 2.5])
    assert b.signal.dtype == np.int32 and b.ts.dtype == np.int64 and b.quality.dtype == np.uint8
    assert b.signal.tolist() == [7, 7, 7] and b.quality.tolist() == [Quality.GOOD] * 3
    back = Batch.from_arrow(b.to_arrow())
    assert list(back.rows()) == list(b.rows())


def test_columns_must_agree() -> None:
    with pytest.raises(BatchError, match="differ in length"):
        Batch(np.zeros(2, np.int32), np.zeros(3, np.int64), np.zeros(2), np.zeros(2, np.uint8))


def test_latest_per_signal_takes_greatest_ts_and_last_on_ties() -> None:
    b = Batch.build([1, 2, 1, 1, 2], [5, 1, 9, 9, 0], [10, 20, 30, 31, 40])
    latest = {s: v for s, _, v, _ in b.latest_per_signal().rows()}
    assert latest == {1: 31.0, 2: 20.0}


def test_concat_sorted_take() -> None:
    a = Batch.build([2, 1], [2, 1], [1, 2])
    b = Batch.build([1], [0], [3])
    c = Batch.concat([a, b]).sorted()
    assert list(zip(c.signal.tolist(), c.ts.tolist(), strict=True)) == [(1, 0), (1, 1), (2, 2)]
    assert len(Batch.concat([])) == 0


def test_quality_classes() -> None:
    q = np.array([Quality.GOOD, Quality.UNCERTAIN_EU_EXCEEDED, Quality.BAD_COMM_FAILURE], np.uint8)
    assert is_good(q).tolist() == [True, False, False]
    assert is_bad(q).tolist() == [False, False, True]
    assert Quality.GOOD_LOCAL_OVERRIDE.is_good and Quality.BAD_CONFIG.is_bad
