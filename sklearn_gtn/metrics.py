"""Sample-quality measures, a memorisation measure and a scorer for grid searches."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_array, check_random_state

from ._utils import check_positive_int

__all__ = [
    "c2st_accuracy",
    "energy_distance",
    "energy_scorer",
    "memorisation_ratio",
    "precision_recall_coverage",
]

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


def _column_scale(scale, n_features, name):
    """A positive per-column scale (zeros and non-finite values become 1)."""
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    if scale.shape[0] != n_features:
        raise ValueError(f"{name} has {scale.shape[0]} entries, expected {n_features}.")
    scale = scale.copy()
    scale[~np.isfinite(scale) | (scale <= 0)] = 1.0
    return scale


def energy_scorer(estimator, X, y=None):
    """Scorer for grid searches: minus the energy distance to generated samples.

    Usable as ``GridSearchCV(..., scoring=energy_scorer)`` with any fitted
    estimator that has ``sample(n_samples, random_state)`` (a
    :class:`~sklearn_gtn.GTNSampler`, a :class:`~sklearn_gtn.GTNMixture`,
    scikit-learn's ``KernelDensity``...); it is what
    :meth:`sklearn_gtn.GTNSampler.score` computes. At most 2,000 rows of ``X``
    (a fixed random subset) are compared with as many samples drawn with a
    fixed seed, so the score is deterministic.

    The distance is measured in standardised units, so that every column
    counts whatever its units: both ``X`` and the samples are divided by the
    estimator's per-column ``scale_`` when it has one (a fitted
    ``GTNSampler``: the standard deviations of its training data), else by
    the standard deviation of each column of the scored ``X`` (columns of zero
    spread are left as they are). Rescaling a column of the data (and so of
    the model) leaves the score unchanged. Within a grid search every
    candidate is scored on the same folds, so scores of different candidates
    compare; scores on different data do not.

    Other quality measures can be turned into scorers the same way, for
    example the classifier two-sample accuracy (lower is better)::

        def c2st_scorer(estimator, X, y=None):
            return -c2st_accuracy(X, estimator.sample(len(X), random_state=0),
                                  random_state=0)

        GridSearchCV(GTNSampler(), grid, scoring={"energy": energy_scorer,
                                                  "c2st": c2st_scorer},
                     refit="energy")

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
        ``-energy_distance`` in standardised units; higher is better, 0 is
        the best possible value.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.neighbors import KernelDensity
    >>> from sklearn_gtn.metrics import energy_scorer
    >>> X = np.random.RandomState(0).normal(size=(300, 2))
    >>> search = GridSearchCV(KernelDensity(), {"bandwidth": [0.3, 3.0]},
    ...                       scoring=energy_scorer, cv=3).fit(X)
    >>> float(search.best_params_["bandwidth"])
    0.3
    """
    X = check_array(X, dtype=np.float64, input_name="X")
    if X.shape[0] > _SCORE_MAX_SAMPLES:
        rng = np.random.RandomState(_SCORE_SEED)
        X = X[rng.choice(X.shape[0], _SCORE_MAX_SAMPLES, replace=False)]
    samples = check_array(
        estimator.sample(X.shape[0], random_state=_SCORE_SEED),
        dtype=np.float64,
        input_name="samples",
    )
    scale = getattr(estimator, "scale_", None)
    if scale is None or np.ndim(scale) != 1 or len(scale) != X.shape[1]:
        scale = X.std(axis=0)
    scale = _column_scale(scale, X.shape[1], "scale_")
    return -energy_distance(X / scale, samples / scale)


def memorisation_ratio(X_train, X_samples, X_heldout):
    """How much closer samples lie to the training rows than new real rows do.

    The median distance of the samples to their nearest training row, divided
    by the median distance of held-out real rows to their nearest training
    row, all in the training data's standardised units (each column divided by
    its standard deviation over ``X_train``; columns of zero spread are left
    as they are). A model that generates new rows from the data's
    distribution gives about 1 (slightly above for a smooth model); a model
    that copies training rows gives values towards 0. Values well above 1
    mean samples fall far from the data (see the two-sample test and
    precision for that).

    Parameters
    ----------
    X_train : array-like of shape (n_train, n_features)
        The rows the model was fitted on.
    X_samples : array-like of shape (n_samples, n_features)
        Generated rows.
    X_heldout : array-like of shape (n_heldout, n_features)
        Real rows the model did not see, from the same distribution.

    Returns
    -------
    ratio : float
        ``median_i min_j |s_i - t_j| / median_k min_j |h_k - t_j|``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn.metrics import memorisation_ratio
    >>> rng = np.random.RandomState(0)
    >>> train, heldout = rng.normal(size=(500, 3)), rng.normal(size=(500, 3))
    >>> fresh = rng.normal(size=(500, 3))
    >>> copies = train[rng.randint(500, size=500)] + 0.01
    >>> bool(memorisation_ratio(train, fresh, heldout) > 0.9)
    True
    >>> bool(memorisation_ratio(train, copies, heldout) < 0.1)
    True
    """
    T = check_array(X_train, dtype=np.float64, input_name="X_train")
    S = check_array(X_samples, dtype=np.float64, input_name="X_samples")
    H = check_array(X_heldout, dtype=np.float64, input_name="X_heldout")
    for name, A in (("X_samples", S), ("X_heldout", H)):
        if A.shape[1] != T.shape[1]:
            raise ValueError(
                f"{name} has {A.shape[1]} features, but X_train has {T.shape[1]}."
            )
    mean = T.mean(axis=0)
    scale = _column_scale(T.std(axis=0), T.shape[1], "scale")
    Tt = torch.from_numpy((T - mean) / scale)
    heldout = np.median(_nearest_distance((H - mean) / scale, Tt))
    if heldout == 0.0:
        raise ValueError(
            "the held-out rows all coincide with training rows (median nearest "
            "distance 0): the ratio is undefined."
        )
    return float(np.median(_nearest_distance((S - mean) / scale, Tt)) / heldout)


def _nearest_distance(A, Bt, block=1024):
    """Distance of each row of ``A`` to its nearest row of the tensor ``Bt``."""
    out = np.empty(len(A))
    for start in range(0, len(A), block):
        chunk = torch.from_numpy(np.ascontiguousarray(A[start : start + block]))
        out[start : start + block] = torch.cdist(chunk, Bt).min(dim=1).values.numpy()
    return out


def _paired_subsamples(X_real, X_fake, max_samples, random_state):
    """Validate two samples and subsample both to one common size."""
    A = check_array(X_real, dtype=np.float64, input_name="X_real")
    B = check_array(X_fake, dtype=np.float64, input_name="X_fake")
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            "X_real and X_fake must have the same number of features, got "
            f"{A.shape[1]} and {B.shape[1]}."
        )
    max_samples = check_positive_int(max_samples, name="max_samples", minimum=2)
    rng = check_random_state(random_state)
    n = min(len(A), len(B), max_samples)
    if n < 2:
        raise ValueError(f"need at least 2 rows in each sample, got {n}.")
    A = A[rng.choice(len(A), n, replace=False)]
    B = B[rng.choice(len(B), n, replace=False)]
    return A, B, rng


def c2st_accuracy(X_real, X_fake, *, cv=5, max_samples=5000, random_state=None):
    """Classifier two-sample test: how well can real and generated rows be told apart?

    A gradient-boosted classifier (scikit-learn's
    ``HistGradientBoostingClassifier``) learns to separate real rows from
    generated ones; the cross-validated accuracy is returned. ``0.5`` means
    the classifier cannot tell them apart, ``1.0`` that it always can.

    Parameters
    ----------
    X_real : array-like of shape (n_real, n_features)
        Real rows, ideally held out from training.
    X_fake : array-like of shape (n_fake, n_features)
        Generated rows.
    cv : int, default=5
        Number of stratified, shuffled folds.
    max_samples : int, default=5000
        Both samples are subsampled to the same size, at most this many rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsampling, the folds and the classifier.

    Returns
    -------
    accuracy : float
        Mean cross-validated accuracy, in ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn.metrics import c2st_accuracy
    >>> rng = np.random.RandomState(0)
    >>> same = c2st_accuracy(rng.normal(size=(400, 2)), rng.normal(size=(400, 2)),
    ...                      random_state=0)
    >>> apart = c2st_accuracy(rng.normal(size=(400, 2)),
    ...                       rng.normal(3.0, size=(400, 2)), random_state=0)
    >>> bool(same < 0.6 < 0.95 < apart)
    True
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    cv = check_positive_int(cv, name="cv", minimum=2)
    A, B, rng = _paired_subsamples(X_real, X_fake, max_samples, random_state)
    Z = np.concatenate([A, B])
    target = np.r_[np.zeros(len(A)), np.ones(len(B))]
    clf = HistGradientBoostingClassifier(random_state=rng.randint(2**31 - 1))
    folds = StratifiedKFold(cv, shuffle=True, random_state=rng.randint(2**31 - 1))
    return float(cross_val_score(clf, Z, target, cv=folds).mean())


def precision_recall_coverage(
    X_real, X_fake, *, n_neighbors=5, max_samples=5000, random_state=None
):
    """k-NN precision, recall and coverage of generated rows.

    Each row gets a ball reaching its ``n_neighbors``-th nearest neighbour in
    its own sample. *Precision* is the fraction of generated rows inside some
    real row's ball (are samples realistic?), *recall* the fraction of real
    rows inside some generated row's ball (is the data's variety produced?)
    (Kynkaanniemi et al., 2019), and *coverage* the fraction of real rows
    whose own ball holds a generated row (Naeem et al., 2020).

    Parameters
    ----------
    X_real : array-like of shape (n_real, n_features)
        Real rows, ideally held out from training.
    X_fake : array-like of shape (n_fake, n_features)
        Generated rows.
    n_neighbors : int, default=5
        The ``k`` of the k-NN balls.
    max_samples : int, default=5000
        Both samples are subsampled to the same size, at most this many rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsampling.

    Returns
    -------
    scores : dict
        ``{"precision": float, "recall": float, "coverage": float}``, each in
        ``[0, 1]``; higher is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn.metrics import precision_recall_coverage
    >>> rng = np.random.RandomState(0)
    >>> real = rng.normal(size=(500, 2))
    >>> narrow = rng.normal(scale=0.3, size=(500, 2))  # realistic, not varied
    >>> s = precision_recall_coverage(real, narrow, random_state=0)
    >>> bool(s["precision"] > 0.9 and s["recall"] < 0.6)
    True
    """
    from sklearn.neighbors import NearestNeighbors

    k = check_positive_int(n_neighbors, name="n_neighbors")
    A, B, _ = _paired_subsamples(X_real, X_fake, max_samples, random_state)
    if len(A) <= k:
        raise ValueError(
            f"n_neighbors={k} needs more than {k} rows in each sample, got {len(A)}."
        )
    # radius of each row's ball: distance to its k-th neighbour (itself excluded)
    radius_real = NearestNeighbors(n_neighbors=k + 1).fit(A).kneighbors(A)[0][:, -1]
    radius_fake = NearestNeighbors(n_neighbors=k + 1).fit(B).kneighbors(B)[0][:, -1]
    inside_real = np.zeros(len(B), dtype=bool)  # fake row j in some real ball
    covered = np.zeros(len(A), dtype=bool)  # real ball i holds a fake row
    recalled = np.zeros(len(A), dtype=bool)  # real row i in some fake ball
    Bt = torch.from_numpy(B)
    for start in range(0, len(A), 1024):
        D = torch.cdist(torch.from_numpy(A[start : start + 1024]), Bt).numpy()
        in_ball = D <= radius_real[start : start + 1024, None]
        inside_real |= in_ball.any(axis=0)
        covered[start : start + 1024] = in_ball.any(axis=1)
        recalled[start : start + 1024] = (D <= radius_fake[None, :]).any(axis=1)
    return {
        "precision": float(inside_real.mean()),
        "recall": float(recalled.mean()),
        "coverage": float(covered.mean()),
    }
