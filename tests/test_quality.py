"""The paper's synthetic results, as fast checks of sample quality.

Small, deterministic fits (fixed seeds, CPU); the thresholds leave a margin
over what these fits reach and are far from what a broken model gives (a
constant map, a map left in standardised units, a collapsed spread).
"""

import numpy as np
import pytest

from sklearn_gtn import GTNSampler, energy_distance
from sklearn_gtn.datasets import (
    SWISS_ROLL_THETA_RANGE,
    make_swiss_roll_parameter,
    make_uniform_square,
)

PARAMS = dict(
    hidden_layer_sizes=(16, 16),
    lr=1e-2,
    batch_size=64,
    max_epochs=20,
    patience=20,
    batch_norm=False,
    labeling="algorithm1",  # the paper's pairing (not the default)
    fit_inverse=False,
    device="cpu",
    random_state=1,
)
LEVELS = np.linspace(0.05, 0.95, 10)


@pytest.fixture(scope="module")
def square_samples():
    gtn = GTNSampler(**PARAMS).fit(make_uniform_square(2000, random_state=1))
    return gtn.sample(2000, random_state=1)


def test_swiss_roll_parameter_from_1d_normal():
    low, high = SWISS_ROLL_THETA_RANGE
    gtn = GTNSampler(**PARAMS).fit(make_swiss_roll_parameter(2000, random_state=1))
    theta = gtn.sample(4000, random_state=1)[:, 0]
    u = (theta - low) / (high - low)  # uniform on (0, 1) if the model is right
    assert np.mean((u > 0) & (u < 1)) > 0.97
    assert np.abs(np.quantile(u, LEVELS) - LEVELS).max() < 0.08


def test_uniform_square_from_2d_normal(square_samples):
    S = square_samples
    assert np.mean(((S > 0) & (S < 1)).all(axis=1)) > 0.97
    assert np.abs(S.mean(axis=0) - 0.5).max() < 0.05
    assert np.abs(np.quantile(S, LEVELS, axis=0) - LEVELS[:, None]).max() < 0.2
    real = make_uniform_square(2000, random_state=10)
    floor = energy_distance(make_uniform_square(2000, random_state=11), real)
    assert energy_distance(S, real) < 5 * floor


@pytest.mark.xfail(
    strict=True,
    reason="Algorithm 1 as written leaves the centre of the square empty (the "
    "'ring failure' in notes/labeling-quality.md); a better labeling should fix it",
)
def test_uniform_square_fills_the_centre(square_samples):
    S = square_samples
    assert abs(np.mean(((S > 0.3) & (S < 0.7)).all(axis=1)) - 0.16) < 0.04
    real = make_uniform_square(2000, random_state=10)
    floor = energy_distance(make_uniform_square(2000, random_state=11), real)
    assert energy_distance(S, real) < 1.5 * floor


def test_assignment_labeling_fills_the_centre_of_the_square():
    # the same check that Algorithm 1 fails (above), with the optimal
    # assignment labeling: the centre holds its share and the energy distance
    # to real data is near the real-vs-real floor
    X = make_uniform_square(2000, random_state=1)
    S = (
        GTNSampler(**{**PARAMS, "labeling": "assignment"})
        .fit(X)
        .sample(2000, random_state=1)
    )
    assert abs(np.mean(((S > 0.3) & (S < 0.7)).all(axis=1)) - 0.16) < 0.04
    real = make_uniform_square(2000, random_state=10)
    floor = energy_distance(make_uniform_square(2000, random_state=11), real)
    assert energy_distance(S, real) < 2.5 * floor
