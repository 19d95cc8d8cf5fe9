"""Ground-filter accuracy on the ISPRS WG III/3 reference samples [1]_.

Sample files hold ``x y z label`` rows, label 0 = bare earth, 1 = object. The scores are
those of [1]_ sec. 4: Type I (ground rejected as object), Type II (object accepted as
ground), total error, and Cohen's kappa [2]_ as used by Pingel et al. 2013 [3]_.

.. [1] Sithole & Vosselman 2004, Experimental comparison of filter algorithms for bare-Earth
   extraction from airborne laser scanning point clouds, ISPRS J. Photogramm. 59:85-101.
.. [2] Cohen 1960, A coefficient of agreement for nominal scales, Educ. Psychol. Meas. 20:37-46.
.. [3] Pingel, Clarke & McBride 2013, ISPRS J. Photogramm. Remote Sens. 77:21-30, table 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ironfield.apps.survey.errors import CloudReadError
from ironfield.apps.survey.ground import SmrfParams, smrf_arrays

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: SMRF's published mean kappa over the 15 ISPRS samples with one parameter set [%], [3]_
SMRF_PUBLISHED_MEAN_KAPPA = 85.4


@dataclass(frozen=True)
class FilterScore:
    """Confusion-matrix scores of a ground filter [%], [1]_ sec. 4."""

    n_points: int
    type1: float
    type2: float
    total: float
    kappa: float


def load_sample(path: Path | str) -> tuple[F64, F64, F64, B]:
    """(x, y, z [m], is_ground) of an ISPRS sample file."""
    try:
        data = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise CloudReadError(f"{path}: not an ISPRS sample ({exc})") from exc
    if data.shape[1] < 4:
        raise CloudReadError(f"{path}: expected 'x y z label' columns, got {data.shape[1]}")
    return data[:, 0], data[:, 1], data[:, 2], data[:, 3] == 0


def score(truth_ground: B, pred_ground: B) -> FilterScore:
    """Type I, Type II, total error and Cohen's kappa [%] of a ground prediction."""
    t = np.asarray(truth_ground, dtype=bool)
    p = np.asarray(pred_ground, dtype=bool)
    n = t.size
    a = float(np.sum(t & p))  # ground kept
    b = float(np.sum(t & ~p))  # ground rejected (type I)
    c = float(np.sum(~t & p))  # object accepted (type II)
    d = float(np.sum(~t & ~p))
    type1 = 100.0 * b / max(a + b, 1.0)
    type2 = 100.0 * c / max(c + d, 1.0)
    total = 100.0 * (b + c) / max(n, 1)
    po = (a + d) / n
    pe = ((a + b) * (a + c) + (c + d) * (b + d)) / (n * n)
    kappa = 100.0 * (po - pe) / (1.0 - pe) if pe < 1 else 100.0
    return FilterScore(n, type1, type2, total, kappa)


def evaluate(path: Path | str, params: SmrfParams | None = None) -> tuple[FilterScore, SmrfParams]:
    """Run SMRF (automatic parameters unless given) on a sample and score it."""
    x, y, z, truth = load_sample(path)
    pred, model = smrf_arrays(x, y, z, params)
    return score(truth, pred), model.params
