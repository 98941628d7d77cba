"""Toy data: the paper's swiss-roll parameter and uniform square, and the
two-dimensional sets of the sample-quality benchmark (moons, eight gaussians,
checkerboard, two spirals, 2-D swiss roll)."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_array, check_random_state

from ._utils import check_positive_int

__all__ = [
    "SWISS_ROLL_THETA_RANGE",
    "make_swiss_roll_parameter",
    "swiss_roll_from_parameter",
    "make_uniform_square",
    "make_eight_gaussians",
    "make_checkerboard",
    "make_two_spirals",
    "make_swiss_roll_2d",
    "make_toy_dataset",
    "TOY_DATASETS",
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


def make_eight_gaussians(n_samples=100, *, radius=4.0, scale=0.5, random_state=None):
    """Eight isotropic gaussians with centres evenly spaced on a circle.

    Parameters
    ----------
    n_samples : int, default=100
        Number of draws (the components are chosen uniformly at random).
    radius : float, default=4.0
        Radius of the circle of centres.
    scale : float, default=0.5
        Standard deviation of each component.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)

    Examples
    --------
    >>> from sklearn_gtn.datasets import make_eight_gaussians
    >>> make_eight_gaussians(5, random_state=0).shape
    (5, 2)
    """
    n_samples = check_positive_int(n_samples, name="n_samples")
    rng = check_random_state(random_state)
    angle = 2 * np.pi * rng.randint(8, size=n_samples) / 8
    centres = radius * np.column_stack([np.cos(angle), np.sin(angle)])
    return centres + scale * rng.standard_normal((n_samples, 2))


def make_checkerboard(n_samples=100, *, random_state=None):
    """Uniform on the dark squares of a 4 x 4 checkerboard on ``[-4, 4]^2``.

    Parameters
    ----------
    n_samples : int, default=100
        Number of draws.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn.datasets import make_checkerboard
    >>> X = make_checkerboard(1000, random_state=0)
    >>> bool((((np.floor(X[:, 0] / 2) + np.floor(X[:, 1] / 2)) % 2) == 0).all())
    True
    """
    n_samples = check_positive_int(n_samples, name="n_samples")
    rng = check_random_state(random_state)
    x = rng.uniform(-4, 4, n_samples)
    # the row of 2 x 2 squares is chosen so that the square has the colour of
    # (0, 0): floor(x / 2) + floor(y / 2) even
    cell = rng.randint(0, 2, n_samples) * 2 + (np.floor(x / 2) % 2)
    y = rng.uniform(0, 2, n_samples) + 2 * (cell - 2)
    return np.column_stack([x, y])


def make_two_spirals(n_samples=100, *, noise=0.1, random_state=None):
    """Two interleaved Archimedean spirals (one turn and a half each).

    Parameters
    ----------
    n_samples : int, default=100
        Number of draws (each spiral is chosen with probability 1/2).
    noise : float, default=0.1
        Standard deviation of gaussian noise added to the points.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)

    Examples
    --------
    >>> from sklearn_gtn.datasets import make_two_spirals
    >>> make_two_spirals(4, random_state=0).shape
    (4, 2)
    """
    n_samples = check_positive_int(n_samples, name="n_samples")
    rng = check_random_state(random_state)
    t = np.sqrt(rng.uniform(size=n_samples)) * 3 * np.pi
    sign = np.where(rng.randint(2, size=n_samples) == 0, 1.0, -1.0)
    X = sign[:, None] * np.column_stack([t * np.cos(t), t * np.sin(t)]) / 3
    return X + noise * rng.standard_normal((n_samples, 2))


def make_swiss_roll_2d(n_samples=100, *, noise=0.1, random_state=None):
    """The 2-D swiss roll: :func:`swiss_roll_from_parameter` of
    :func:`make_swiss_roll_parameter`, scaled by 1/3, plus gaussian noise.

    Parameters
    ----------
    n_samples : int, default=100
        Number of draws.
    noise : float, default=0.1
        Standard deviation of the noise.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)

    Examples
    --------
    >>> from sklearn_gtn.datasets import make_swiss_roll_2d
    >>> make_swiss_roll_2d(4, random_state=0).shape
    (4, 2)
    """
    rng = check_random_state(random_state)
    theta = make_swiss_roll_parameter(n_samples, random_state=rng)
    X = swiss_roll_from_parameter(theta) / 3
    return X + noise * rng.standard_normal(X.shape)


def _moons(n_samples=100, *, random_state=None):
    from sklearn.datasets import make_moons

    n_samples = check_positive_int(n_samples, name="n_samples")
    return make_moons(n_samples, noise=0.05, random_state=random_state)[0]


#: The seven sets of the sample-quality benchmark, by name.
TOY_DATASETS = {
    "swiss_roll_parameter": make_swiss_roll_parameter,
    "uniform_square": make_uniform_square,
    "moons": _moons,
    "eight_gaussians": make_eight_gaussians,
    "checkerboard": make_checkerboard,
    "two_spirals": make_two_spirals,
    "swiss_roll_2d": make_swiss_roll_2d,
}


def make_toy_dataset(name, n_samples=100, *, random_state=None):
    """Draw one of the benchmark's toy sets by name (see ``TOY_DATASETS``).

    Parameters
    ----------
    name : str
        One of ``"swiss_roll_parameter"`` (1-D), ``"uniform_square"``,
        ``"moons"`` (scikit-learn's, noise 0.05), ``"eight_gaussians"``,
        ``"checkerboard"``, ``"two_spirals"``, ``"swiss_roll_2d"``.
    n_samples : int, default=100
        Number of draws.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)

    Examples
    --------
    >>> from sklearn_gtn.datasets import make_toy_dataset
    >>> make_toy_dataset("moons", 10, random_state=0).shape
    (10, 2)
    """
    if name not in TOY_DATASETS:
        raise ValueError(f"name must be one of {sorted(TOY_DATASETS)}, got {name!r}.")
    return TOY_DATASETS[name](n_samples, random_state=random_state)
