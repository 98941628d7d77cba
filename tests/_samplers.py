"""A test-only stand-in for GTNSampler with the same public contract.

``GaussianSampler`` is the exact linear "GTN" of a Gaussian: ``x = mean + L z``
with ``L`` the Cholesky factor of the covariance and ``z ~ N(0, I)``. It has
``fit``, ``sample(n_samples, random_state)``, ``transform`` (data -> normal
codes), ``inverse_transform`` (codes -> data) and ``interpolate(x_start, x_end,
n_steps)`` shaped like GTNSampler's, so pipeline tests do not depend on it.
"""

import numpy as np
from scipy.linalg import solve_triangular
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data


class GaussianSampler(TransformerMixin, BaseEstimator):
    def __init__(self, reg=1e-6):
        self.reg = reg

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64)
        d = X.shape[1]
        self.mean_ = X.mean(axis=0)
        cov = np.cov(X, rowvar=False).reshape(d, d) + self.reg * np.eye(d)
        self.chol_ = np.linalg.cholesky(cov)
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return solve_triangular(self.chol_, (X - self.mean_).T, lower=True).T

    def inverse_transform(self, X):
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float64)
        return Z @ self.chol_.T + self.mean_

    def sample(self, n_samples=1, random_state=None):
        check_is_fitted(self)
        rng = check_random_state(random_state)
        return self.inverse_transform(rng.standard_normal((n_samples, len(self.mean_))))

    def interpolate(self, x_start, x_end, n_steps=10):
        single = np.ndim(x_start) == 1
        a = self.transform(np.atleast_2d(x_start))
        b = self.transform(np.atleast_2d(x_end))
        t = np.linspace(0.0, 1.0, n_steps)[None, :, None]
        codes = (1 - t) * a[:, None, :] + t * b[:, None, :]
        out = self.inverse_transform(codes.reshape(-1, a.shape[1]))
        out = out.reshape(codes.shape)
        return out[0] if single else out
