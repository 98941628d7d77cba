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
from ._utils import check_positive_int, named_input_errors
from ._versioning import SaveMixin
from .metrics import energy_distance

__all__ = ["GenerativePipeline", "make_generative_pipeline"]

# score(): at most this many rows of X, compared with as many samples drawn
# with this seed (the same convention as GTNSampler.score).
_SCORE_MAX_SAMPLES = 2000
_SCORE_SEED = 0


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
        if shape is None:
            shape = np.shape(X)
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
        """``x`` as a batch of inputs and whether it was a single point."""
        if hasattr(x, "toarray"):
            raise TypeError(f"{name} is a sparse matrix; pass a dense array.")
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
        X_new : ndarray of shape (n_samples, ...)
            Samples in the input space and layout (for a
            :class:`ConvAutoencoder` first step, images shaped like its
            training data).
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
        path : ndarray of shape (n_steps, ...) or (n_pairs, n_steps, ...)
            The path(s) in the input space and layout.
        """
        check_is_fitted(self)
        n_steps = check_positive_int(n_steps, name="n_steps", minimum=2)
        a, single_a = self._as_batch(x_start, "x_start")
        b, single_b = self._as_batch(x_end, "x_end")
        if a.shape != b.shape:
            raise ValueError(
                "x_start and x_end must have the same shape, got "
                f"{np.shape(x_start)} and {np.shape(x_end)}."
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
        out = np.reshape(out, (n_pairs, n_steps, *np.shape(out)[1:]))
        return out[0] if (single_a and single_b) else out

    @available_if(_can_sample)
    def score(self, X, y=None):
        """Sample quality in the input space: minus an energy distance.

        At most 2,000 rows of ``X`` (a fixed random subset) are compared with as
        many samples drawn by :meth:`sample` with a fixed seed, both flattened
        to vectors, so the score is deterministic and comparable between
        pipelines whose earlier steps differ (for example in latent dimension).
        Higher is better; 0 is the best possible value. ``GridSearchCV`` uses it
        when no ``scoring`` is given.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Held-out inputs, in the layout the pipeline was fitted on.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-energy_distance(X, samples)`` with the energy distance of
            :func:`sklearn_gtn.metrics.energy_distance`.
        """
        check_is_fitted(self)
        with named_input_errors("X"):
            X = check_array(X, dtype=np.float64, allow_nd=True, input_name="X")
        X = X.reshape(len(X), -1)
        if len(X) > _SCORE_MAX_SAMPLES:
            rng = np.random.RandomState(_SCORE_SEED)
            X = X[rng.choice(len(X), _SCORE_MAX_SAMPLES, replace=False)]
        samples = np.asarray(self.sample(len(X), random_state=_SCORE_SEED))
        samples = samples.reshape(len(X), -1)
        if samples.shape[1] != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} values per input but the pipeline generates "
                f"{samples.shape[1]}."
            )
        return -energy_distance(X, samples)


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
