"""Generation through a scikit-learn Pipeline: reducers first, a sampler last.

The paper generates images as ``decoder(h_hat(y))``: a GTN is trained on the
codes of an autoencoder. In scikit-learn that is a Pipeline whose earlier steps
reduce the data (an autoencoder, PCA, a scaler) and whose last step samples.
:class:`GenerativePipeline` adds ``sample`` and ``interpolate`` that run the
earlier steps backwards, and a ``score`` measured in the input space.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils import check_array
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._fitting import restore_on_failure
from ._registry import register
from ._utils import (
    check_n_steps,
    check_positive_int,
    is_dataframe,
    named_input_errors,
)
from ._versioning import SaveMixin
from .metrics import energy_scorer

__all__ = ["GenerativePipeline", "make_generative_pipeline"]


def _is_series(X):
    return type(X).__name__ == "Series" and hasattr(X, "iloc")


def _is_passthrough(est):
    return est is None or (isinstance(est, str) and est == "passthrough")


def _earlier_steps_invertible(pipe):
    for name, est in pipe.steps[:-1]:
        if not _is_passthrough(est) and not hasattr(est, "inverse_transform"):
            raise AttributeError(
                f"step {name!r} ({type(est).__name__}) has no inverse_transform; "
                "every step before the last must be invertible to map generated "
                "points back to the input space."
            )
    return True


def _can_sample(pipe):
    if not hasattr(pipe._final_estimator, "sample"):
        raise AttributeError(
            f"the last step ({type(pipe._final_estimator).__name__}) has no sample "
            "method."
        )
    return _earlier_steps_invertible(pipe)


@register("sklearn_gtn.GenerativePipeline")
class GenerativePipeline(SaveMixin, Pipeline):
    """A Pipeline whose last step generates: sample and interpolate in input space.

    Everything is :class:`sklearn.pipeline.Pipeline`'s (fit, transform,
    inverse_transform, parameters, slicing, grid search over ``step__param``)
    except three methods:

    - :meth:`sample` draws from the last step (``sample(n_samples,
      random_state)``, as :class:`GTNSampler` and
      :class:`~sklearn.neighbors.KernelDensity` have) and maps the draws back
      through the ``inverse_transform`` of the earlier steps, in reverse order;
    - :meth:`interpolate` moves between two real inputs: they are transformed by
      the earlier steps, interpolated in the last step's code space, and mapped
      back;
    - :meth:`score` compares held-out inputs with generated ones in the *input*
      space, so pipelines with different latent dimensions are comparable (a
      score in the latent space simply prefers the smallest dimension).

    ``sample``, ``inverse_transform`` and ``interpolate`` return what the first
    step's ``inverse_transform`` returns: images for a
    :class:`ConvAutoencoder`, a DataFrame with the training columns and
    dtypes for a :class:`TabularEncoder` fitted on a DataFrame (see
    :func:`make_tabular_sampler`).

    Parameters
    ----------
    steps : list of tuples
        ``(name, estimator)`` pairs as for :class:`~sklearn.pipeline.Pipeline`;
        every step but the last needs ``transform`` and ``inverse_transform``.
    transform_input : list of str, default=None
        See :class:`~sklearn.pipeline.Pipeline`.
    memory : str or object with the joblib.Memory interface, default=None
        See :class:`~sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        See :class:`~sklearn.pipeline.Pipeline`.

    See Also
    --------
    make_generative_pipeline : build one with step names derived from types.
    sklearn_gtn.ConvAutoencoder : an image reducer with an inverse.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.neighbors import KernelDensity
    >>> from sklearn_gtn import make_generative_pipeline
    >>> X = load_digits().data
    >>> pipe = make_generative_pipeline(PCA(10), KernelDensity(bandwidth=2.0))
    >>> pipe.fit(X).sample(3, random_state=0).shape
    (3, 64)
    >>> pipe.interpolate(X[0], X[1], n_steps=5).shape
    (5, 64)
    """

    @restore_on_failure
    def fit(self, X, y=None, **params):
        """Fit all steps, as :meth:`sklearn.pipeline.Pipeline.fit`.

        If a step fails or fitting is interrupted, the pipeline and every
        step keep the attributes they had before the call. Also records the
        shape of one input row, which :meth:`interpolate` uses to tell a
        single point from a batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data, in the layout the first step accepts.
        y : None
            Ignored by generative steps; passed on as by Pipeline.
        **params : dict
            Routed to the steps as by :meth:`sklearn.pipeline.Pipeline.fit`.

        Returns
        -------
        self : GenerativePipeline
            The fitted pipeline.
        """
        super().fit(X, y, **params)
        shape = getattr(X, "shape", None)
        if shape is None:  # a list, or another object numpy converts
            shape = np.asarray(X).shape
        self._input_shape = tuple(shape[1:])
        return self

    # ---------------------------------------------------------------- helpers
    def _transform_earlier(self, X):
        for _, est in self.steps[:-1]:
            if not _is_passthrough(est):
                X = est.transform(X)
        return X

    def _inverse_earlier(self, Z):
        for _, est in reversed(self.steps[:-1]):
            if not _is_passthrough(est):
                Z = est.inverse_transform(Z)
        return Z

    def _as_batch(self, x, name):
        """``x`` as a batch of inputs and whether it was a single point.

        A DataFrame is a batch of rows, a Series one row (as a one-row
        DataFrame); anything else goes through NumPy.
        """
        if hasattr(x, "toarray"):
            raise TypeError(f"{name} is a sparse matrix; pass a dense array.")
        if is_dataframe(x):
            if len(x) == 0:
                raise ValueError(f"{name} is an empty DataFrame.")
            return x, False
        if _is_series(x):
            return x.to_frame().T.infer_objects(), True
        x = np.asarray(x)
        shape = getattr(self, "_input_shape", None)
        if shape is None:  # fitted through fit_transform: fall back on ndim
            return (x[None], True) if x.ndim == 1 else (x, False)
        if x.shape == shape:
            return x[None], True
        if x.ndim == len(shape) + 1 and x.shape[1:] == shape and len(x) > 0:
            return x, False
        raise ValueError(
            f"{name} must be one input of shape {shape} or a batch of shape "
            f"(n_pairs, {', '.join(map(str, shape))}); got shape {x.shape}."
        )

    # ---------------------------------------------------------------- methods
    @available_if(_can_sample)
    def sample(self, n_samples=1, random_state=None):
        """Generate new inputs: the last step samples, earlier steps invert.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Passed to the last step's ``sample``: an int gives the same samples
            on every call, ``None`` fresh ones.

        Returns
        -------
        X_new : ndarray of shape (n_samples, ...) or DataFrame
            Samples in the input space and layout: what the first step's
            ``inverse_transform`` returns (for a :class:`ConvAutoencoder`
            first step, images shaped like its training data; for a
            :class:`TabularEncoder` fitted on a DataFrame, a DataFrame with
            the training columns and dtypes).
        """
        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, name="n_samples")
        codes = self._final_estimator.sample(n_samples, random_state=random_state)
        return self._inverse_earlier(codes)

    @available_if(_earlier_steps_invertible)
    def interpolate(self, x_start, x_end, n_steps=10):
        """Interpolate between real inputs through the last step's code space.

        ``x_start`` and ``x_end`` are transformed by the earlier steps; the last
        step interpolates between them (its own ``interpolate``, as
        :meth:`GTNSampler.interpolate` does through its normal codes; otherwise
        a straight line between its ``transform`` codes mapped back by its
        ``inverse_transform``; otherwise a straight line in its input space);
        the path is mapped back by the earlier steps' ``inverse_transform``.
        The endpoints are the pipeline's reconstructions of the inputs.

        Parameters
        ----------
        x_start, x_end : array-like
            One input each (shaped like one row of the training data), or
            batches of ``n_pairs`` inputs.
        n_steps : int, default=10
            Number of points on each path, endpoints included (at least 2).

        Returns
        -------
        path : ndarray of shape (n_steps, ...) or (n_pairs, n_steps, ...), \
or DataFrame
            The path(s) in the input space and layout. When the first step's
            ``inverse_transform`` returns a DataFrame (a
            :class:`TabularEncoder`), a DataFrame of ``n_steps`` rows, or of
            ``n_pairs * n_steps`` rows indexed by ``(pair, step)`` for
            batches (``x_start`` and ``x_end`` as DataFrames; a Series is one
            row).
        """
        check_is_fitted(self)
        n_steps = check_n_steps(n_steps)
        a, single_a = self._as_batch(x_start, "x_start")
        b, single_b = self._as_batch(x_end, "x_end")
        if is_dataframe(a) != is_dataframe(b) or np.shape(a) != np.shape(b):
            raise ValueError(
                "x_start and x_end must have the same shape and kind, got "
                f"{type(x_start).__name__} {np.shape(x_start)} and "
                f"{type(x_end).__name__} {np.shape(x_end)}."
            )
        n_pairs = len(a)
        with named_input_errors("x_start"):
            za = self._transform_earlier(a)
        with named_input_errors("x_end"):
            zb = self._transform_earlier(b)
        final = self._final_estimator
        t = np.linspace(0.0, 1.0, n_steps)[None, :, None]
        if hasattr(final, "interpolate"):
            path = np.asarray(final.interpolate(za, zb, n_steps=n_steps))
        elif hasattr(final, "transform") and hasattr(final, "inverse_transform"):
            ca, cb = final.transform(za), final.transform(zb)
            codes = (1.0 - t) * ca[:, None, :] + t * cb[:, None, :]
            path = final.inverse_transform(codes.reshape(n_pairs * n_steps, -1))
        else:
            za, zb = np.asarray(za), np.asarray(zb)
            path = (1.0 - t) * za[:, None, :] + t * zb[:, None, :]
        out = self._inverse_earlier(np.reshape(path, (n_pairs * n_steps, -1)))
        if is_dataframe(out):
            # a table: rows of the path(s); several paths get a (pair, step) index
            import pandas as pd

            if single_a and single_b:
                return out.reset_index(drop=True)
            out.index = pd.MultiIndex.from_product(
                [range(n_pairs), range(n_steps)], names=["pair", "step"]
            )
            return out
        out = np.reshape(out, (n_pairs, n_steps, *np.shape(out)[1:]))
        return out[0] if (single_a and single_b) else out

    @available_if(_can_sample)
    def score(self, X, y=None):
        """Sample quality in the input space: :func:`sklearn_gtn.metrics.energy_scorer`.

        Held-out inputs are compared with as many samples drawn by
        :meth:`sample` with a fixed seed (at most 2,000 rows), both flattened
        to vectors, so the score is deterministic and comparable between
        pipelines whose earlier steps differ (for example in latent
        dimension). Higher is better; 0 is the best possible value.
        ``GridSearchCV`` uses it when no ``scoring`` is given. A table with
        non-numeric columns (a :class:`TabularEncoder` first step) is compared
        after the first step's ``transform``, where every column is numeric.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or DataFrame
            Held-out inputs, in the layout the pipeline was fitted on.
        y : None
            Ignored.

        Returns
        -------
        score : float
            What :func:`sklearn_gtn.metrics.energy_scorer` returns for this
            pipeline and ``X``.
        """
        check_is_fitted(self)
        encode = None
        if is_dataframe(X) and not all(
            dtype.kind in "biuf" for dtype in getattr(X, "dtypes", [])
        ):
            first = self.steps[0][1]
            if _is_passthrough(first) or not hasattr(first, "transform"):
                raise ValueError(
                    "X has non-numeric columns and the first step cannot "
                    "transform them."
                )
            encode = first.transform
        if encode is None:
            with named_input_errors("X"):
                X = check_array(X, dtype=np.float64, allow_nd=True, input_name="X")
            expected = getattr(self, "n_features_in_", None)
            if X.ndim == 2 and expected is not None and X.shape[1] != expected:
                raise ValueError(
                    f"X has {X.shape[1]} features, but GenerativePipeline is "
                    f"expecting {expected} features as input."
                )
            X = X.reshape(len(X), -1)
        else:
            with named_input_errors("X"):
                X = np.asarray(encode(X), dtype=np.float64)
        width = X.shape[1]

        def sample(n_samples, random_state=None):
            out = self.sample(n_samples, random_state=random_state)
            out = encode(out) if encode is not None else np.asarray(out)
            out = np.reshape(out, (n_samples, -1))
            if out.shape[1] != width:
                raise ValueError(
                    f"X has {width} values per input but the pipeline generates "
                    f"{out.shape[1]}."
                )
            return out

        return energy_scorer(_FlatSampler(sample), X)


class _FlatSampler:
    """What ``energy_scorer`` needs of a model: ``sample`` as flat rows."""

    def __init__(self, sample):
        self.sample = sample


def make_generative_pipeline(*steps, memory=None, verbose=False):
    """Build a :class:`GenerativePipeline` from estimators, naming the steps.

    Like :func:`sklearn.pipeline.make_pipeline`: each step is named after its
    lower-cased class name (``"convautoencoder"``, ``"gtnsampler"``), so grid
    searches use ``convautoencoder__latent_dim``.

    Parameters
    ----------
    *steps : list of estimators
        Reducers with ``inverse_transform``, then a sampler.
    memory : str or object with the joblib.Memory interface, default=None
        See :class:`~sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        See :class:`~sklearn.pipeline.Pipeline`.

    Returns
    -------
    pipe : GenerativePipeline
        The unfitted pipeline.

    Examples
    --------
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.neighbors import KernelDensity
    >>> from sklearn_gtn import make_generative_pipeline
    >>> make_generative_pipeline(PCA(3), KernelDensity()).named_steps.keys()
    dict_keys(['pca', 'kerneldensity'])
    """
    named = make_pipeline(*steps, memory=memory, verbose=verbose).steps
    return GenerativePipeline(named, memory=memory, verbose=verbose)
