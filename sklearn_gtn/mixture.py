"""One GTN per piece of the data (Appendix C of the paper).

A continuous map from one connected Gaussian cannot put mass on several
separated pieces without also putting some in the gaps between them.
:class:`GTNMixture` splits the data, by class labels or by clustering, fits one
:class:`~sklearn_gtn.GTNSampler` per piece, and samples the pieces in their
proportions.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._utils import check_positive_int
from .metrics import energy_scorer
from .sampler import GTNSampler

__all__ = ["GTNMixture"]


def _clustered(mixture):
    return getattr(mixture, "clusterer_", None) is not None


class GTNMixture(BaseEstimator):
    """One GTN per class or cluster, sampled in proportion (Appendix C).

    ``fit(X, y)`` with class labels fits one copy of ``estimator`` per class;
    ``fit(X)`` splits the data into ``n_components`` clusters (k-means on the
    standardised data) and fits one copy per cluster. ``sample`` draws the
    pieces in their training proportions, or from the classes asked for.
    Each fitted piece is a full estimator in ``components_``, with its own
    ``transform``, ``inverse_transform`` and ``interpolate`` (codes of
    different pieces live in different source spaces, so the mixture itself
    has no ``transform``).

    Parameters
    ----------
    estimator : estimator with ``sample(n_samples, random_state)``, default=None
        The model cloned for every piece; ``None`` means ``GTNSampler()``.
    n_components : int, default=1
        Number of clusters when ``fit`` gets no labels.
    random_state : int, RandomState instance or None, default=None
        Seeds the clustering and each piece's fit (pieces whose
        ``random_state`` is a parameter get their own seed from it).

    Attributes
    ----------
    components_ : list of estimators
        The fitted piece models, in the order of ``classes_``.
    classes_ : ndarray of shape (n_pieces,)
        The class labels (with ``y``) or ``0 .. n_components - 1``.
    weights_ : ndarray of shape (n_pieces,)
        Fraction of the training rows in each piece.
    clusterer_ : Pipeline or None
        The fitted standardisation and k-means (``None`` when fitted with
        ``y``).
    n_features_in_ : int
        Number of features seen during ``fit``.

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
    """

    def __init__(self, estimator=None, *, n_components=1, random_state=None):
        self.estimator = estimator
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        """Split ``X`` into pieces and fit one model per piece.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Class labels; one model per class. ``None``: ``n_components``
            clusters.

        Returns
        -------
        self : GTNMixture
        """
        X = validate_data(self, X, reset=True, dtype=np.float64)
        rng = check_random_state(self.random_state)
        if y is not None:
            y = column_or_1d(y)
            if len(y) != len(X):
                raise ValueError(f"y has {len(y)} labels but X has {len(X)} rows.")
            classes, labels = np.unique(y, return_inverse=True)
            clusterer = None
        else:
            k = check_positive_int(self.n_components, name="n_components")
            if k > len(X):
                raise ValueError(
                    f"n_components={k} is more than the number of rows ({len(X)})."
                )
            classes = np.arange(k)
            if k == 1:
                labels, clusterer = np.zeros(len(X), dtype=np.int64), None
            else:
                clusterer = make_pipeline(
                    StandardScaler(),
                    KMeans(k, n_init=10, random_state=rng.randint(2**31 - 1)),
                )
                labels = clusterer.fit_predict(X)
        base = GTNSampler() if self.estimator is None else self.estimator
        if not hasattr(base, "sample"):
            raise TypeError(
                f"estimator must have a sample method, got {type(base).__name__}."
            )
        components = []
        for k in range(len(classes)):
            model = clone(base)
            if "random_state" in model.get_params():
                model.set_params(random_state=rng.randint(2**31 - 1))
            rows = X[labels == k]
            try:
                model.fit(rows)
            except ValueError as exc:
                raise ValueError(
                    f"fitting the piece {classes[k]!r} ({len(rows)} rows) failed: {exc}"
                ) from exc
            components.append(model)
        self.components_ = components
        self.classes_ = classes
        self.weights_ = np.bincount(labels, minlength=len(classes)) / len(X)
        self.clusterer_ = clusterer
        return self

    def sample(self, n_samples=1, random_state=None, *, y=None):
        """Generate samples from the pieces.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            An int gives the same samples on every call, ``None`` fresh ones.
        y : label or array-like of shape (n_samples,), default=None
            The class (or one class per row) to sample from. ``None`` draws
            the pieces in their training proportions, in random order.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, name="n_samples")
        rng = check_random_state(random_state)
        if y is None:
            counts = rng.multinomial(n_samples, self.weights_)
            pieces = np.repeat(np.arange(len(self.classes_)), counts)
            pieces = pieces[rng.permutation(n_samples)]
        else:
            y = np.asarray(y)
            if y.ndim == 0:
                y = np.full(n_samples, y.item())
            if y.shape != (n_samples,):
                raise ValueError(
                    f"y must be one label or {n_samples} labels, got shape {y.shape}."
                )
            unknown = ~np.isin(y, self.classes_)
            if unknown.any():
                raise ValueError(
                    f"y holds labels not seen in fit: {np.unique(y[unknown])!r}; "
                    f"known: {self.classes_!r}."
                )
            pieces = np.searchsorted(self.classes_, y)
        out = np.empty((n_samples, self.n_features_in_))
        for k, model in enumerate(self.components_):
            rows = np.flatnonzero(pieces == k)
            if len(rows):
                seed = rng.randint(2**31 - 1)
                out[rows] = model.sample(len(rows), random_state=seed)
        return out

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
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.clusterer_.predict(X)

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
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return energy_scorer(self, X)
