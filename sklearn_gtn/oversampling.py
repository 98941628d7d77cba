"""Oversampling with a GTN: synthetic rows for the minority classes.

:class:`GTNOverSampler` follows imbalanced-learn's sampler contract
(``fit_resample``, ``sampling_strategy``, ``sampling_strategy_``) without
importing imbalanced-learn, so it is a step of ``imblearn.pipeline.Pipeline``
when imbalanced-learn is installed and usable on its own when it is not.
"""

from __future__ import annotations

import math
import numbers
import time

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_array, check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._utils import is_dataframe

__all__ = ["GTNOverSampler"]

_STRATEGIES = ("minority", "not minority", "not majority", "all", "auto")
# the default per-class model: a small GTN trained for about this many
# gradient steps (at least 60 epochs, at most 400), so that a class of 30
# rows is trained as long as one of 3,000; two layers of 64, the narrowest
# width of GTNSampler's "auto" rule (with 32, a logistic regression scored
# below SMOTE on a 32-row class in 30 dimensions; with 64, above over five
# seedings: benchmarks/results/oversampling-2026-12-04.md)
_DEFAULT_HIDDEN = (64, 64)
_DEFAULT_BATCH_SIZE = 64
_DEFAULT_STEPS = 1500
_DEFAULT_EPOCHS = (60, 400)
# columns with at most this many distinct values in a class are discrete
_DISCRETE_LEVELS = 10


def _count(y):
    unique, counts = np.unique(y, return_counts=True)
    return dict(zip(unique.tolist(), counts.tolist(), strict=True))


def _majority(stats):
    return max(stats, key=stats.get)


def _minority(stats):
    return min(stats, key=stats.get)


def _from_string(strategy, stats):
    n_major = max(stats.values())
    if strategy in ("auto", "not majority"):
        skip = _majority(stats)
        return {k: n_major - v for k, v in stats.items() if k != skip}
    if strategy == "not minority":
        skip = _minority(stats)
        return {k: n_major - v for k, v in stats.items() if k != skip}
    if strategy == "minority":
        keep = _minority(stats)
        return {k: n_major - v for k, v in stats.items() if k == keep}
    return {k: n_major - v for k, v in stats.items()}  # "all"


def _from_dict(strategy, stats):
    unknown = set(strategy) - set(stats)
    if unknown:
        raise ValueError(f"The {unknown} target class is/are not present in the data.")
    if any(n < 0 for n in strategy.values()):
        raise ValueError(
            "The number of samples in a class cannot be negative."
            f"'sampling_strategy' contains some negative value: {strategy}"
        )
    out = {}
    for label, n in strategy.items():
        if n < stats[label]:
            raise ValueError(
                "With over-sampling methods, the number"
                " of samples in a class should be greater"
                " or equal to the original number of samples."
                f" Originally, there is {stats[label]} "
                f"samples and {n} samples are asked."
            )
        out[label] = n - stats[label]
    return out


def _sampling_targets(strategy, y):
    """Rows to generate per class, as imbalanced-learn's over-samplers count.

    The counts and error messages are those of
    ``imblearn.utils.check_sampling_strategy(..., "over-sampling")``
    (compared in ``tests/test_oversampling.py``).
    """
    stats = _count(y)
    if len(stats) <= 1:
        raise ValueError(
            "The target 'y' needs to have more than 1 class. "
            f"Got {len(stats)} class instead"
        )
    if isinstance(strategy, str):
        if strategy == "majority":
            raise ValueError(
                "'sampling_strategy'='majority' cannot be used with over-sampler."
            )
        if strategy not in _STRATEGIES:
            raise ValueError(
                "When 'sampling_strategy' is a string, it needs to be one of "
                f"{_STRATEGIES}. Got '{strategy}' instead."
            )
        targets = _from_string(strategy, stats)
    elif isinstance(strategy, dict):
        targets = _from_dict(strategy, stats)
    elif isinstance(strategy, numbers.Real) and not isinstance(strategy, bool):
        if not (0 < strategy <= 1):
            raise ValueError(
                "When 'sampling_strategy' is a float, it should be "
                f"in the range (0, 1]. Got {strategy} instead."
            )
        if type_of_target(y) != "binary":
            raise ValueError(
                '"sampling_strategy" can be a float only when the type '
                "of target is binary. For multi-class, use a dict."
            )
        n_major, major = max(stats.values()), _majority(stats)
        targets = {
            k: int(n_major * strategy - v) for k, v in stats.items() if k != major
        }
        if any(n <= 0 for n in targets.values()):
            raise ValueError(
                "The specified ratio required to remove samples "
                "from the minority class while trying to "
                "generate new samples. Please increase the "
                "ratio."
            )
    elif callable(strategy):
        targets = _from_dict(strategy(y), stats)
    else:
        raise TypeError(
            "sampling_strategy must be a str among "
            f"{_STRATEGIES}, a float in (0, 1], a dict or a callable, got "
            f"{strategy!r}."
        )
    return dict(sorted(targets.items()))


def _default_model(part, seed):
    """A small GTN behind a TabularEncoder, for the rows of one class.

    Columns with at most ``_DISCRETE_LEVELS`` distinct values in the class
    (dummies, counts, codes) are categorical for the encoder: generated rows
    hold only values that class has, in its frequencies, as real rows do (a
    forest would otherwise split on the in-between values that only synthetic
    rows have). The other columns go through the quantile transform, so each
    keeps its marginal and its range. The GTN has two hidden layers of 64, no
    inverse network and GTNSampler's "auto" learning rate and recalibration;
    the quantile transform, the recalibration and the width of 64 each gave
    the higher balanced accuracy of a logistic regression on a 32-row class
    in 30 dimensions (``benchmarks/results/oversampling-2026-12-04.md``).
    """
    from .pipeline import GenerativePipeline
    from .sampler import GTNSampler
    from .tabular import TabularEncoder

    values = part.to_numpy() if is_dataframe(part) else np.asarray(part)
    # distinct observed values (a set counts every NaN as its own value)
    discrete = [
        len({v for v in values[:, j].tolist() if v == v and v is not None})
        <= _DISCRETE_LEVELS
        for j in range(values.shape[1])
    ]
    batches = math.ceil(len(values) / _DEFAULT_BATCH_SIZE)
    low, high = _DEFAULT_EPOCHS
    epochs = min(high, max(low, math.ceil(_DEFAULT_STEPS / batches)))
    gtn = GTNSampler(
        hidden_layer_sizes=_DEFAULT_HIDDEN,
        batch_size=_DEFAULT_BATCH_SIZE,
        max_epochs=epochs,
        # the configuration measured against SMOTE (relabeling and the noise
        # term came later and were not measured on oversampling)
        n_relabelings=0,
        noise_scale=0.0,
        fit_inverse=False,
        device="cpu",
        random_state=seed,
    )
    encoder = TabularEncoder(
        categorical_features=discrete,
        categorical_encoding="uniform",  # one column per variable: small GTNs
        random_state=seed,
    )
    return GenerativePipeline([("tabularencoder", encoder), ("gtnsampler", gtn)])


class GTNOverSampler(BaseEstimator):
    """Oversample minority classes with one generative model per class.

    ``fit_resample(X, y)`` returns the original rows first, then, class by
    class (in sorted order), rows sampled from a model fitted on that class
    alone, as many as ``sampling_strategy`` asks: imbalanced-learn's
    contract, so it is a step of ``imblearn.pipeline.Pipeline`` (the
    resampling runs in ``fit`` only; imbalanced-learn is not needed
    otherwise).

    Parameters
    ----------
    sampler : estimator with ``fit`` and ``sample(n_samples, random_state)``, \
default=None
        Cloned and fitted once per class that needs new rows (a
        :class:`GTNSampler`, a :class:`GTNMixture`, a pipeline from
        :func:`make_tabular_sampler` for DataFrames with categorical
        columns, ...). ``None``: per class, a :class:`TabularEncoder` (columns
        with at most 10 distinct values in the class are categorical, so
        generated rows hold only the values that class has; the others go
        through the quantile transform, within the class's range) in front of
        a small :class:`GTNSampler` (two hidden layers of 64, no inverse
        network, batches of 64, about 1,500 gradient steps: ``max_epochs``
        between 60 and 400 by class size).
    sampling_strategy : float, str, dict or callable, default="auto"
        As in imbalanced-learn's over-samplers. ``"auto"`` (=
        ``"not majority"``), ``"minority"``, ``"not minority"``, ``"all"``:
        which classes are brought up to the majority class's count; a float
        (binary targets only): the minority count after resampling as a
        fraction of the majority count; a dict ``{class: count}``: the count
        of each listed class after resampling; a callable ``f(y)`` returning
        such a dict.
    random_state : int, RandomState instance or None, default=None
        Seeds each class model's fit (models whose ``random_state`` is a
        parameter get their own seed from it) and its sampling.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of rows generated for each class, by class (sorted).
    estimators_ : dict
        The fitted model of each class that got new rows (with the default
        sampler, a :class:`GenerativePipeline`).
    n_features_in_ : int
        Number of columns of ``X``.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` is a DataFrame with string names.
    fit_time_ : float
        Seconds the last ``fit_resample`` took.

    See Also
    --------
    GTNMixture : one GTN per class, sampled with ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn import GTNOverSampler, GTNSampler
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (90, 2)), rng.normal(3, 1, (10, 2))]
    >>> y = np.r_[np.zeros(90, int), np.ones(10, int)]
    >>> over = GTNOverSampler(GTNSampler(hidden_layer_sizes=(8,), max_epochs=3),
    ...                       random_state=0)
    >>> X_res, y_res = over.fit_resample(X, y)
    >>> np.bincount(y_res), over.sampling_strategy_
    (array([90, 90]), {1: 80})
    >>> bool(np.array_equal(X_res[:100], X))  # the originals come first
    True

    In an imbalanced-learn pipeline (resampling during ``fit`` only):

    >>> from imblearn.pipeline import make_pipeline  # doctest: +SKIP
    >>> from sklearn.linear_model import LogisticRegression
    >>> clf = make_pipeline(GTNOverSampler(random_state=0),
    ...                     LogisticRegression())  # doctest: +SKIP
    >>> clf.fit(X, y).predict(X[:3])  # doctest: +SKIP
    array([0, 0, 0])
    """

    def __init__(self, sampler=None, *, sampling_strategy="auto", random_state=None):
        self.sampler = sampler
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    def _check_X_y(self, X, y):
        if y is None:
            raise ValueError("y is required: fit_resample needs class labels.")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        if len(y) != n:
            raise ValueError(f"X has {n} rows but y has {len(y)} labels.")
        if is_dataframe(X):
            self.n_features_in_ = X.shape[1]
            names = np.asarray(X.columns, dtype=object)
            if all(isinstance(c, str) for c in names):
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return X, y
        numeric = np.asarray(X).dtype.kind in "biuf" if not issparse(X) else True
        # numbers: 2-D, finite and non-empty as scikit-learn checks them (sparse
        # input refused in its words); other arrays hold categories, where
        # missing values follow the encoder's policy
        X = check_array(
            X,
            dtype="numeric" if numeric else None,
            ensure_all_finite=True if numeric else "allow-nan",
            input_name="X",
        )
        self.n_features_in_ = X.shape[1]
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return X, y

    def _base(self, part, seed):
        """An unfitted model for the rows ``part`` of one class, seeded."""
        if self.sampler is not None:
            if not (hasattr(self.sampler, "fit") and hasattr(self.sampler, "sample")):
                raise TypeError(
                    "sampler must have fit and sample methods, got "
                    f"{type(self.sampler).__name__}."
                )
            model = clone(self.sampler)
            if "random_state" in model.get_params(deep=False):
                model.set_params(random_state=seed)
            return model
        return _default_model(part, seed)

    def fit(self, X, y):
        """Check the inputs and count the rows to generate per class.

        Use :meth:`fit_resample`; ``fit`` alone fits no model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : GTNOverSampler
        """
        X, y = self._check_X_y(X, y)
        self.sampling_strategy_ = _sampling_targets(self.sampling_strategy, y)
        return self

    def fit_resample(self, X, y):
        """Fit one model per class to oversample and return the resampled data.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training rows (numeric for the default sampler).
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        X_resampled : ndarray or DataFrame of shape (n_samples_new, n_features)
            ``X`` followed by the generated rows of each class in turn.
        y_resampled : ndarray or Series of shape (n_samples_new,)
            ``y`` followed by the generated rows' labels.
        """
        tic = time.perf_counter()
        y_in = y
        X, y = self._check_X_y(X, y)
        targets = _sampling_targets(self.sampling_strategy, y)
        rng = check_random_state(self.random_state)
        frame = is_dataframe(X)
        parts_X, parts_y, estimators = [], [], {}
        for label, n_new in targets.items():
            if n_new <= 0:
                continue
            rows = np.flatnonzero(y == label)
            part = X.iloc[rows] if frame else X[rows]
            model = self._base(part, rng.randint(np.iinfo(np.int32).max))
            try:
                model.fit(part)
            except (ValueError, TypeError) as exc:
                raise type(exc)(
                    f"fitting the model of class {label!r} ({len(rows)} rows) "
                    f"failed: {exc}"
                ) from exc
            new = model.sample(n_new, random_state=rng.randint(np.iinfo(np.int32).max))
            parts_X.append(new)
            parts_y.append(np.full(n_new, label, dtype=y.dtype))
            estimators[label] = model
        self.sampling_strategy_ = targets
        self.estimators_ = estimators
        X_res = self._stack(X, parts_X, frame)
        y_res = np.concatenate([y, *parts_y])
        if type(y_in).__name__ == "Series":
            import pandas as pd

            y_res = pd.Series(y_res, name=y_in.name, dtype=y_in.dtype)
        self.fit_time_ = time.perf_counter() - tic
        return X_res, y_res

    @staticmethod
    def _stack(X, parts, frame):
        if not frame:
            if not parts:
                return X.copy()
            if X.dtype.kind in "biuf":  # numeric in, numeric out
                dtype = np.result_type(X.dtype, np.float64)
                return np.concatenate([X, *(np.asarray(p, dtype=dtype) for p in parts)])
            return np.concatenate([X, *(np.asarray(p) for p in parts)])
        import pandas as pd

        new = []
        for p in parts:
            if not is_dataframe(p):
                p = pd.DataFrame(np.asarray(p), columns=X.columns)
                p = p.astype(X.dtypes.to_dict(), errors="ignore")
            new.append(p)
        return pd.concat([X, *new], ignore_index=True)
