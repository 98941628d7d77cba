"""One GTN per piece of the data (Appendix C of the paper).

A continuous map from one connected Gaussian cannot put mass on several
separated pieces without also putting some in the gaps between them.
:class:`GTNMixture` splits the data, by class labels or by clustering, fits one
:class:`~sklearn_gtn.GTNSampler` per piece, and samples the pieces in their
proportions.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import VersionedPickle, in_training_columns
from ._fitting import restore_on_failure
from ._registry import register
from ._runtime import check_output_size
from ._utils import (
    check_positive_int,
    is_auto,
    named_input_errors,
    standardization,
)
from ._versioning import SaveMixin
from .metrics import c2st_accuracy, energy_scorer
from .sampler import GTNSampler

__all__ = ["GTNMixture"]

# n_components="auto": one piece per this many rows, at most this many pieces
# (benchmarks/quality.py; figures in docs/benchmarks.rst, "Sample quality")
_AUTO_ROWS_PER_PIECE = 600
_AUTO_MAX_PIECES = 8
# a list of n_components: a fraction of the rows held out to compare the
# candidates (classifier two-sample test accuracy, on at most this many rows
# of each side)
_SELECTION_FRACTION = 0.2
_SELECTION_MAX_ROWS = 2000


def _clustered(mixture):
    return getattr(mixture, "clusterer_", None) is not None


@register("sklearn_gtn.GTNMixture")
class GTNMixture(VersionedPickle, SaveMixin, BaseEstimator):
    """One GTN per class or cluster, sampled in proportion (Appendix C).

    ``fit(X, y)`` with class labels fits one copy of ``estimator`` per class;
    ``fit(X)`` splits the data into clusters (k-means on the standardised
    data) and fits one copy per cluster, ``n_components`` of them or a
    number chosen among candidates by held-out sample quality. ``sample`` draws the
    pieces in their training proportions, or from the classes asked for.
    Each fitted piece is a full estimator in ``components_``, with its own
    ``transform``, ``inverse_transform`` and ``interpolate`` (codes of
    different pieces live in different source spaces, so the mixture itself
    has no ``transform``).

    Parameters
    ----------
    estimator : estimator with ``sample(n_samples, random_state)``, default=None
        The model cloned for every piece; ``None`` means ``GTNSampler()``.
    n_components : int, list of int or "auto", default="auto"
        Number of clusters when ``fit`` gets no labels. ``"auto"``: one per
        600 rows, at least 1 and at most 8 (8 from 4,800 rows on). A list
        gives candidates to choose from: each is fitted on 80% of the rows
        (same seed), and the one whose samples a classifier tells apart least
        well from the other 20% (:func:`sklearn_gtn.metrics.c2st_accuracy`;
        ties to fewer pieces) is kept, as fitted on those 80%. Ignored when
        ``fit`` gets ``y``.
    rows_per_component : int or None, default=None
        Without ``y``: at most one cluster per this many rows (at least one
        cluster), whatever ``n_components`` asks, so that small data gets
        fewer, larger pieces rather than pieces too small to fit (a piece
        needs 2 rows). ``None``: no limit. :func:`make_tabular_sampler` uses
        3 pieces of at least 50 rows on average.
    random_state : int, RandomState instance or None, default=None
        Seeds the clustering and each piece's fit (pieces whose
        ``random_state`` is a parameter get their own seed from it).

    Attributes
    ----------
    components_ : list of estimators
        The fitted piece models, in the order of ``classes_``.
    classes_ : ndarray of shape (n_pieces,)
        The class labels (with ``y``) or ``0 .. n_components_ - 1``.
    weights_ : ndarray of shape (n_pieces,)
        Fraction of the training rows in each piece.
    clusterer_ : KMeans or None
        The fitted k-means, on data standardised with ``cluster_mean_`` and
        ``cluster_scale_`` (``None`` when fitted with ``y`` or with one
        cluster).
    cluster_mean_, cluster_scale_ : ndarray of shape (n_features_in_,) or None
        The standardisation before k-means (``None`` without ``clusterer_``).
    n_components_ : int
        Number of pieces: the number of classes, or of clusters (the one
        chosen when ``n_components`` gives several).
    candidate_scores_ : dict or None
        When several cluster counts were compared: the held-out classifier
        two-sample accuracy of each (lower is better, 0.5 is
        indistinguishable); otherwise ``None``.
    n_features_in_ : int
        Number of features seen during ``fit``.

    Notes
    -----
    Pieces help twice: a continuous map cannot bridge the gaps between
    separated pieces without putting samples in them, and a piece of a curved
    set (a spiral, a swiss roll) is closer to convex, where the assignment
    labeling gives a smooth map. They cost seams: each map blurs the edges of
    its piece. In the quality benchmark (``benchmarks/quality.py``), the
    default pieces beat one map on average, and one map stays better on
    convex connected sets (:doc:`/benchmarks`, "Sample quality"; see
    :doc:`/disconnected`). With a list of candidates ``fit`` costs one fit per
    candidate, and the kept model saw only 80% of the rows; the held-out
    classifier accuracy is a noisy judge on small data (a few hundred
    held-out rows).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn import GTNMixture, GTNSampler
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(-5, 1, (200, 2)), rng.normal(5, 1, (200, 2))]
    >>> base = GTNSampler(hidden_layer_sizes=(8,), max_epochs=2, device="cpu")
    >>> mix = GTNMixture(base, n_components=2, random_state=0).fit(X)
    >>> mix.weights_
    array([0.5, 0.5])
    >>> mix.sample(4, random_state=0).shape
    (4, 2)
    >>> X_new, y_new = mix.sample(4, return_y=True, random_state=0)
    >>> y_new.shape
    (4,)

    With class labels, ``sample`` draws from the classes asked for:

    >>> y = np.repeat(["a", "b"], 200)
    >>> by_class = GTNMixture(base, random_state=0).fit(X, y)
    >>> X_new, y_new = by_class.sample(y={"a": 2, "b": 3}, return_y=True,
    ...                                random_state=0)
    >>> y_new.tolist()
    ['a', 'a', 'b', 'b', 'b']
    """

    def __init__(
        self,
        estimator=None,
        *,
        n_components="auto",
        rows_per_component=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.n_components = n_components
        self.rows_per_component = rows_per_component
        self.random_state = random_state

    @restore_on_failure
    def fit(self, X, y=None):
        """Split ``X`` into pieces and fit one model per piece.

        ``fit`` completes or leaves the estimator as it was: if a piece fails
        or the fit is interrupted, the previous model (or none) is kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Class labels (no NaN); one model per class. ``None``: clusters,
            as many as ``n_components`` says.

        Returns
        -------
        self : GTNMixture
        """
        with named_input_errors("X"):
            X = validate_data(self, X, reset=True, dtype=np.float64)
        base = GTNSampler() if self.estimator is None else self.estimator
        if not hasattr(base, "sample"):
            raise TypeError(
                f"estimator must have a sample method, got {type(base).__name__}."
            )
        if self.rows_per_component is not None:
            check_positive_int(self.rows_per_component, name="rows_per_component")
        labels = None if y is None else self._check_labels(y, len(X))
        candidates = None if y is not None else self._candidates(len(X))
        rng = check_random_state(self.random_state)
        self.candidate_scores_ = None
        if y is not None:
            classes, labels = np.unique(labels, return_inverse=True)
            self._fit_pieces(base, X, classes, labels, None, rng)
            self.n_components_ = len(classes)
        elif len(candidates) == 1:
            self._fit_clusters(base, X, candidates[0], rng)
        else:
            self._select(base, X, candidates, rng)
        return self

    @staticmethod
    def _check_labels(y, n_rows):
        """Class labels as a 1-D array; NaN refused (it has no class)."""
        with named_input_errors("y"):
            y = column_or_1d(y)
        if len(y) != n_rows:
            raise ValueError(f"y has {len(y)} labels but X has {n_rows} rows.")
        if y.dtype.kind == "f":
            missing = np.isnan(y)
        elif y.dtype.kind == "O":
            missing = np.array([v is None or v != v for v in y], dtype=bool)
        else:
            missing = np.zeros(len(y), dtype=bool)
        if missing.any():
            raise ValueError(
                f"y holds {int(missing.sum())} missing labels (NaN or None), the "
                f"first at row {int(np.flatnonzero(missing)[0])}; every row needs "
                "a class to sample it from."
            )
        return y

    def _candidates(self, n_rows):
        """The numbers of clusters to fit (one, or several to choose from)."""
        value = self.n_components
        expected = "a positive int, a list of positive ints"
        limit = self.rows_per_component
        if limit is not None:  # checked by fit
            limit = max(1, n_rows // limit)
        if is_auto(value, name="n_components", expected=expected):
            ks = [min(_AUTO_MAX_PIECES, max(1, n_rows // _AUTO_ROWS_PER_PIECE))]
        elif isinstance(value, (list, tuple, np.ndarray)):
            if len(value) == 0:
                raise ValueError("n_components must not be an empty list.")
            ks = [check_positive_int(k, name="n_components") for k in value]
            ks = sorted(set(ks))
        else:
            ks = [check_positive_int(value, name="n_components")]
        if limit is not None:
            ks = sorted({min(k, limit) for k in ks})
        if ks[-1] > n_rows:
            raise ValueError(
                f"n_components={ks[-1]} is more than the number of rows ({n_rows})."
            )
        return ks

    def _select(self, base, X, candidates, rng):
        """Fit every candidate on part of ``X``; keep the best on the rest."""
        n_held = max(1, round(_SELECTION_FRACTION * len(X)))
        perm = rng.permutation(len(X))
        X_held, X_fit = X[perm[:n_held]], X[perm[n_held:]]
        seed = rng.randint(2**31 - 1)
        scores, best = {}, None
        for k in candidates:
            if k > len(X_fit):
                continue
            try:
                # the same seed for every candidate: only k differs
                self._fit_clusters(base, X_fit, k, np.random.RandomState(seed))
            except ValueError:
                if k == candidates[0]:
                    raise
                continue  # a cluster too small to fit: not a candidate
            samples = self._sample(len(X_held), None, check_random_state(seed))[0]
            # how well a classifier tells the samples from held-out rows:
            # it sees gaps bridged by one map and seams between pieces alike
            scores[k] = c2st_accuracy(
                X_held, samples, max_samples=_SELECTION_MAX_ROWS, random_state=seed
            )
            if best is None or scores[k] < scores[best[0]]:
                best = (k, self.__dict__.copy())
        self.__dict__.update(best[1])
        self.candidate_scores_ = scores

    def _fit_clusters(self, base, X, k, rng):
        """Fit ``k`` k-means clusters of ``X`` (one piece if ``k == 1``)."""
        self.cluster_mean_ = self.cluster_scale_ = None
        if k == 1:
            labels, clusterer = np.zeros(len(X), dtype=np.int64), None
        else:
            mean, scale = standardization(X)
            clusterer = KMeans(k, n_init=10, random_state=rng.randint(2**31 - 1))
            labels = clusterer.fit_predict((X - mean) / scale)
            self.cluster_mean_, self.cluster_scale_ = mean, scale
        self._fit_pieces(base, X, np.arange(k), labels, clusterer, rng)
        self.n_components_ = k

    def _fit_pieces(self, base, X, classes, labels, clusterer, rng):
        components = []
        for k in range(len(classes)):
            model = clone(base)
            if "random_state" in model.get_params():
                model.set_params(random_state=rng.randint(2**31 - 1))
            rows = X[labels == k]
            try:
                model.fit(rows)
            except ValueError as exc:
                piece = classes[k].tolist()
                raise ValueError(
                    f"fitting the piece {piece!r} ({len(rows)} rows) failed: {exc}"
                ) from exc
            components.append(model)
        self.components_ = components
        self.classes_ = classes
        self.weights_ = np.bincount(labels, minlength=len(classes)) / len(X)
        self.clusterer_ = clusterer

    def sample(self, n_samples=1, *, y=None, return_y=False, random_state=None):
        """Generate samples from the pieces.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (with a dict ``y``: their total, or left at 1).
        y : label, array-like of shape (n_samples,) or dict, default=None
            Where to sample from: one class for every row, one class per row,
            or ``{label: count}`` (rows grouped by label, in the dict's
            order). ``None`` draws the pieces in their training proportions,
            in random order. Labels are those of ``classes_`` (cluster
            indices after a fit without ``y``).
        return_y : bool, default=False
            Also return the label (or cluster index) of each generated row,
            as :meth:`sklearn.mixture.GaussianMixture.sample` does.
        random_state : int, RandomState instance or None, default=None
            An int gives the same samples on every call, ``None`` fresh ones.

        Returns
        -------
        X_new : ndarray or DataFrame of shape (n_samples, n_features_in_)
            The samples (a DataFrame with the training columns when ``fit``
            got a DataFrame with string column names).
        y_new : ndarray of shape (n_samples,)
            The label of each row of ``X_new`` (only with ``return_y=True``).
        """
        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, name="n_samples")
        if not isinstance(return_y, (bool, np.bool_)):
            raise TypeError(f"return_y must be a bool, got {return_y!r}.")
        out, labels = self._sample(n_samples, y, check_random_state(random_state))
        out = in_training_columns(self, out)
        return (out, labels) if return_y else out

    def _sample(self, n_samples, y, rng):
        """Samples (ndarray) and their labels."""
        if y is None:
            check_output_size(n_samples, self.n_features_in_, name="n_samples")
            counts = rng.multinomial(n_samples, self.weights_)
            pieces = np.repeat(np.arange(len(self.classes_)), counts)
            pieces = pieces[rng.permutation(n_samples)]
        elif isinstance(y, dict):
            pieces = self._pieces_of_counts(y, n_samples)
        else:
            pieces = self._pieces_of_labels(y, n_samples)
        out = np.empty((len(pieces), self.n_features_in_))
        for k, model in enumerate(self.components_):
            rows = np.flatnonzero(pieces == k)
            if len(rows):
                seed = rng.randint(2**31 - 1)
                out[rows] = np.asarray(model.sample(len(rows), random_state=seed))
        return out, self.classes_[pieces]

    def _piece_index(self, labels):
        """Indices in ``classes_`` of ``labels``; unknown labels refused."""
        labels = np.asarray(labels)
        try:
            unknown = ~np.isin(labels, self.classes_)
        except TypeError:  # labels of incomparable types
            unknown = np.ones(labels.shape, dtype=bool)
        if unknown.any():
            raise ValueError(
                f"y holds labels not seen in fit: {labels[unknown][:5].tolist()!r}; "
                f"known: {self.classes_.tolist()!r}."
            )
        return np.searchsorted(self.classes_, labels)

    def _pieces_of_labels(self, y, n_samples):
        y = np.asarray(y)
        if y.ndim == 0:
            y = np.full(n_samples, y.item())
        if y.shape != (n_samples,):
            raise ValueError(
                f"y must be one label, {n_samples} labels or a dict "
                f"{{label: count}}, got shape {y.shape}."
            )
        return self._piece_index(y)

    def _pieces_of_counts(self, y, n_samples):
        if not y:
            raise ValueError("y must not be an empty dict.")
        counts = []
        for label, count in y.items():
            if isinstance(count, bool) or not isinstance(count, numbers.Integral):
                raise TypeError(
                    f"y[{label!r}] must be an integer count, got {count!r}."
                )
            if count < 0:
                raise ValueError(f"y[{label!r}] must be >= 0, got {count}.")
            counts.append(int(count))
        total = sum(counts)
        if total < 1:
            raise ValueError(f"the counts in y must add up to >= 1, got {y!r}.")
        if n_samples not in (1, total):
            raise ValueError(
                f"n_samples={n_samples} does not match the counts in y "
                f"(total {total}); pass only y, or n_samples={total}."
            )
        check_output_size(total, self.n_features_in_, name="y", value=y)
        index = self._piece_index(list(y))
        return np.repeat(index, counts)

    @available_if(_clustered)
    def predict(self, X):
        """The cluster (piece) of each row; only after ``fit`` without ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        with named_input_errors("X"):
            X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.clusterer_.predict((X - self.cluster_mean_) / self.cluster_scale_)

    def score(self, X, y=None):
        """Minus the energy distance to as many samples (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Held-out data.
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        with named_input_errors("X"):
            X = validate_data(self, X, reset=False, dtype=np.float64)
        score = energy_scorer(self, X)
        if not np.isfinite(score):
            raise ValueError(
                "X holds values too large to score (the energy distance "
                f"overflows; largest magnitude {np.max(np.abs(X)):.3g}); rescale X."
            )
        return score
