"""Ground filter scores: the kappa arithmetic, and SMRF on the ISPRS reference samples."""

from __future__ import annotations

import numpy as np
import pytest

from ironfield.apps.survey.isprs import SMRF_PUBLISHED_MEAN_KAPPA, evaluate, score
from services import require_files, shared_data

ISPRS = shared_data("survey", "isprs")


def test_score_matches_hand_computed_confusion_matrix() -> None:
    # 60 ground kept, 10 ground rejected, 5 objects accepted, 25 objects rejected
    truth = np.array([True] * 70 + [False] * 30)
    pred = np.array([True] * 60 + [False] * 10 + [True] * 5 + [False] * 25)
    s = score(truth, pred)
    assert s.type1 == pytest.approx(100 * 10 / 70)
    assert s.type2 == pytest.approx(100 * 5 / 30)
    assert s.total == pytest.approx(15.0)
    po = 0.85
    pe = (70 * 65 + 30 * 35) / 100**2
    assert s.kappa == pytest.approx(100 * (po - pe) / (1 - pe))


def test_perfect_and_inverted_predictions() -> None:
    t = np.array([True, False, True, False])
    assert score(t, t).kappa == pytest.approx(100.0)
    assert score(t, ~t).kappa == pytest.approx(-100.0)


def test_mean_kappa_beats_published_smrf() -> None:
    files = [ISPRS / "samp11.txt", ISPRS / "samp12.txt"]
    require_files(files, "ISPRS samples")
    scores = [evaluate(f)[0] for f in files]
    assert np.mean([s.kappa for s in scores]) > SMRF_PUBLISHED_MEAN_KAPPA
    for s in scores:
        assert s.total < 10.0
