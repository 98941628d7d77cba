"""The paper's toy data: the swiss-roll parameter and the uniform square."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_array, check_random_state

from ._utils import check_positive_int

__all__ = [
    "SWISS_ROLL_THETA_RANGE",
    "make_swiss_roll_parameter",
    "swiss_roll_from_parameter",
    "make_uniform_square",
]

#: Support of the swiss-roll parameter ``theta ~ U(1.5 pi, 4.5 pi)``.
SWISS_ROLL_THETA_RANGE = (1.5 * np.pi, 4.5 * np.pi)


def make_swiss_roll_parameter(n_samples=100, *, random_state=None):
    """Draw the swiss-roll parameter ``theta ~ U(1.5 pi, 4.5 pi)``.

    The swiss roll is a 1-D manifold: a GTN learns it from a 1-D normal
    through this parameter; :func:`swiss_roll_from_parameter` gives the 2-D
    points.

    Parameters
    ----------
    n_samples : int, default=100
        Number of draws.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Returns
    -------
    theta : ndarray of shape (n_samples, 1)
        The parameter, as a one-column data matrix.

    Examples
    --------
    >>> from sklearn_gtn.datasets import make_swiss_roll_parameter
    >>> make_swiss_roll_parameter(3, random_state=0).shape
    (3, 1)
    """
    n_samples = check_positive_int(n_samples, name="n_samples")
    rng = check_random_state(random_state)
    low, high = SWISS_ROLL_THETA_RANGE
    return rng.uniform(low, high, size=(n_samples, 1))


def swiss_roll_from_parameter(theta):
    """Points ``(theta cos theta, theta sin theta)`` of the 2-D swiss roll.

    Parameters
    ----------
    theta : array-like of shape (n_samples,) or (n_samples, 1)
        The parameter.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The points.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn.datasets import swiss_roll_from_parameter
    >>> swiss_roll_from_parameter([np.pi]).round(6)
    array([[-3.141593,  0.      ]])
    """
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim == 2 and theta.shape[1] == 1:
        theta = theta[:, 0]
    theta = check_array(theta, ensure_2d=False, input_name="theta")
    if theta.ndim != 1:
        raise ValueError(
            f"theta must have shape (n_samples,) or (n_samples, 1), got {theta.shape}."
        )
    return np.column_stack([theta * np.cos(theta), theta * np.sin(theta)]) + 0.0


def make_uniform_square(n_samples=100, *, random_state=None):
    """Draw from the uniform distribution on the unit square ``(0, 1)^2``.

    Parameters
    ----------
    n_samples : int, default=100
        Number of draws.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The points.

    Examples
    --------
    >>> from sklearn_gtn.datasets import make_uniform_square
    >>> X = make_uniform_square(1000, random_state=0)
    >>> X.shape, bool(((X > 0) & (X < 1)).all())
    ((1000, 2), True)
    """
    n_samples = check_positive_int(n_samples, name="n_samples")
    rng = check_random_state(random_state)
    return rng.uniform(size=(n_samples, 2))
