"""The toy datasets and the optional figures."""

import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_gtn.datasets import (
    SWISS_ROLL_THETA_RANGE,
    make_swiss_roll_parameter,
    make_uniform_square,
    swiss_roll_from_parameter,
)


def test_swiss_roll_parameter_range_and_reproducibility():
    theta = make_swiss_roll_parameter(5000, random_state=0)
    low, high = SWISS_ROLL_THETA_RANGE
    assert theta.shape == (5000, 1)
    assert low < theta.min() and theta.max() < high
    assert_allclose([low, high], [1.5 * np.pi, 4.5 * np.pi])
    # uniform: the quartiles sit a quarter of the way apart
    assert_allclose(
        np.quantile(theta, [0.25, 0.5, 0.75]),
        low + (high - low) * np.array([0.25, 0.5, 0.75]),
        atol=0.2,
    )
    assert_array_equal(theta, make_swiss_roll_parameter(5000, random_state=0))
    assert not np.array_equal(theta, make_swiss_roll_parameter(5000, random_state=1))


def test_swiss_roll_points_have_radius_theta():
    theta = make_swiss_roll_parameter(50, random_state=0)
    for t in (theta, theta[:, 0]):
        P = swiss_roll_from_parameter(t)
        assert P.shape == (50, 2)
        assert_allclose(np.hypot(P[:, 0], P[:, 1]), theta[:, 0])
        assert_allclose(
            np.arctan2(P[:, 1], P[:, 0]) % (2 * np.pi),
            theta[:, 0] % (2 * np.pi),
            atol=1e-9,
        )
    with pytest.raises(ValueError, match="theta must have shape"):
        swiss_roll_from_parameter(np.ones((3, 2)))


def test_uniform_square():
    X = make_uniform_square(4000, random_state=0)
    assert X.shape == (4000, 2)
    assert ((X > 0) & (X < 1)).all()
    assert_allclose(X.mean(axis=0), 0.5, atol=0.02)
    assert_array_equal(X, make_uniform_square(4000, random_state=0))


@pytest.mark.parametrize("make", [make_swiss_roll_parameter, make_uniform_square])
@pytest.mark.parametrize("n, error", [(0, ValueError), (2.5, TypeError)])
def test_datasets_reject_bad_n_samples(make, n, error):
    with pytest.raises(error, match="n_samples"):
        make(n)


def test_plot_source_to_samples():
    pytest.importorskip("matplotlib")
    from sklearn_gtn.plotting import plot_source_to_samples

    y = np.random.RandomState(0).standard_normal((200, 1))
    fig = plot_source_to_samples(y, y + 10, to_points=swiss_roll_from_parameter)
    left, right = fig.axes
    # same points, same colours: the right panel holds the mapped points
    points = swiss_roll_from_parameter(y + 10)
    assert_allclose(right.collections[0].get_offsets(), points)
    assert_allclose(left.collections[0].get_offsets()[:, 0], y[:, 0])
    assert_allclose(left.collections[0].get_array(), right.collections[0].get_array())
    with pytest.raises(ValueError, match="codes must have 1 or 2 columns"):
        plot_source_to_samples(np.ones((5, 3)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="one row per code"):
        plot_source_to_samples(np.ones((5, 2)), np.ones((4, 2)))


def test_plotting_without_matplotlib_names_the_extra(monkeypatch):
    from sklearn_gtn import plotting

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"sklearn-gtn\[plot\]"):
        plotting.plot_source_to_samples(np.ones((3, 2)), np.ones((3, 2)))
