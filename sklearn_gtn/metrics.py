"""Sample-quality measures and a scorer for grid searches."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_array, check_random_state

from ._utils import check_positive_int

__all__ = ["energy_distance", "energy_scorer"]

# energy_scorer: at most this many rows of X (and as many samples, drawn with a
# fixed seed) enter the energy distance, whose cost is quadratic in the rows
_SCORE_MAX_SAMPLES = 2000
_SCORE_SEED = 0


def _mean_pairwise_distance(A: torch.Tensor, B: torch.Tensor, block: int = 2048):
    """Mean Euclidean distance over all pairs of rows of ``A`` and ``B``."""
    total = 0.0
    for start in range(0, A.shape[0], block):
        total += float(torch.cdist(A[start : start + block], B).sum())
    return total / (A.shape[0] * B.shape[0])


def energy_distance(X, Y, *, max_samples=None, random_state=None):
    """Energy distance between two samples (multivariate).

    ``sqrt(2 E|X - Y| - E|X - X'| - E|Y - Y'|)`` with the expectations taken
    over all pairs of rows (V-statistics), ``|.|`` the Euclidean norm. In one
    dimension this is :func:`scipy.stats.energy_distance`. It is 0 exactly
    when the two empirical distributions are equal, and lower is better when
    comparing generated samples with real data.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        First sample.
    Y : array-like of shape (n_samples_Y, n_features)
        Second sample.
    max_samples : int, default=None
        If given, each sample larger than this is replaced by a random subset
        of ``max_samples`` rows (the cost is quadratic in the sample sizes).
    random_state : int, RandomState instance or None, default=None
        Chooses the subsets when ``max_samples`` is used.

    Returns
    -------
    distance : float
        The energy distance.

    Examples
    --------
    >>> from sklearn_gtn.metrics import energy_distance
    >>> round(energy_distance([[0.0], [1.0]], [[0.0], [1.0]]), 6)
    0.0
    >>> round(energy_distance([[0.0]], [[4.0]]), 6)
    2.828427
    """
    X = check_array(X, dtype=np.float64, input_name="X")
    Y = check_array(Y, dtype=np.float64, input_name="Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y must have the same number of features, got {X.shape[1]} "
            f"and {Y.shape[1]}."
        )
    if max_samples is not None:
        max_samples = check_positive_int(max_samples, name="max_samples")
        rng = check_random_state(random_state)
        if X.shape[0] > max_samples:
            X = X[rng.choice(X.shape[0], max_samples, replace=False)]
        if Y.shape[0] > max_samples:
            Y = Y[rng.choice(Y.shape[0], max_samples, replace=False)]
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    value = (
        2.0 * _mean_pairwise_distance(Xt, Yt)
        - _mean_pairwise_distance(Xt, Xt)
        - _mean_pairwise_distance(Yt, Yt)
    )
    return float(np.sqrt(max(value, 0.0)))


def energy_scorer(estimator, X, y=None):
    """Scorer for grid searches: minus the energy distance to generated samples.

    Usable as ``GridSearchCV(..., scoring=energy_scorer)`` with any fitted
    estimator that has ``sample(n_samples, random_state)``; it is what
    :meth:`sklearn_gtn.GTNSampler.score` computes (at most 2,000 rows of ``X``,
    as many samples drawn with a fixed seed).

    Parameters
    ----------
    estimator : estimator with a ``sample`` method
        The fitted generative model.
    X : array-like of shape (n_samples, n_features)
        Held-out data.
    y : None
        Ignored.

    Returns
    -------
    score : float
        ``-energy_distance``; higher is better.
    """
    X = check_array(X, dtype=np.float64, input_name="X")
    if X.shape[0] > _SCORE_MAX_SAMPLES:
        rng = np.random.RandomState(_SCORE_SEED)
        X = X[rng.choice(X.shape[0], _SCORE_MAX_SAMPLES, replace=False)]
    samples = estimator.sample(X.shape[0], random_state=_SCORE_SEED)
    return -energy_distance(X, samples)
