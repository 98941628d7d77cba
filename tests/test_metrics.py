"""Quality measures: the memorisation ratio and the standardised scorer."""

import numpy as np
import pytest

from sklearn_gtn import GTNSampler
from sklearn_gtn.metrics import energy_distance, energy_scorer, memorisation_ratio


def _brute_force_ratio(T, S, H):
    mean, scale = T.mean(axis=0), T.std(axis=0)
    scale[scale == 0] = 1.0
    T, S, H = ((A - mean) / scale for A in (T, S, H))

    def nearest(A):
        return [min(np.sqrt(((a - t) ** 2).sum()) for t in T) for a in A]

    return np.median(nearest(S)) / np.median(nearest(H))


def test_memorisation_ratio_matches_brute_force():
    rng = np.random.RandomState(0)
    T = rng.normal(size=(60, 3)) * [1.0, 10.0, 0.1]
    S = rng.normal(size=(41, 3)) * [1.0, 10.0, 0.1] * 0.8
    H = rng.normal(size=(33, 3)) * [1.0, 10.0, 0.1]
    T[:, 1] = T[:, 1].round()  # ties in one column
    expected = _brute_force_ratio(T, S, H)
    assert memorisation_ratio(T, S, H) == pytest.approx(expected, rel=1e-10)


def test_memorisation_ratio_constant_column_and_units():
    rng = np.random.RandomState(1)
    T, S, H = (
        rng.normal(size=(50, 2)),
        rng.normal(size=(50, 2)),
        rng.normal(size=(40, 2)),
    )
    T[:, 1] = S[:, 1] = H[:, 1] = 3.0  # zero spread: left as it is
    value = memorisation_ratio(T, S, H)
    assert value == pytest.approx(_brute_force_ratio(T, S, H), rel=1e-10)
    # units of a column do not matter
    T2, S2, H2 = (A * [1e6, 1.0] for A in (T, S, H))
    assert memorisation_ratio(T2, S2, H2) == pytest.approx(value, rel=1e-9)


def test_memorisation_ratio_detects_copies():
    rng = np.random.RandomState(2)
    T, H = rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
    copies = T[rng.randint(300, size=300)]
    fresh = rng.normal(size=(300, 4))
    assert memorisation_ratio(T, copies, H) == 0.0
    assert 0.85 < memorisation_ratio(T, fresh, H) < 1.15


def test_memorisation_ratio_bad_input():
    rng = np.random.RandomState(3)
    T = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="X_samples has 3 features"):
        memorisation_ratio(T, rng.normal(size=(5, 3)), T)
    with pytest.raises(ValueError, match="undefined"):
        memorisation_ratio(T, T, T)


class _Replay:
    """A stand-in sampler returning fixed rows (optionally with ``scale_``)."""

    def __init__(self, rows, scale=None):
        self.rows = rows
        if scale is not None:
            self.scale_ = scale

    def sample(self, n_samples, random_state=None):
        return self.rows[:n_samples]


def test_energy_scorer_is_in_standardised_units():
    rng = np.random.RandomState(4)
    X = rng.normal(size=(200, 3))
    fake = rng.normal(0.3, 1.2, size=(200, 3))
    base = energy_scorer(_Replay(fake), X)
    # the std of the scored X divides both sides
    scale = X.std(axis=0)
    assert base == pytest.approx(-energy_distance(X / scale, fake / scale))
    factor = np.array([1.0, 1e6, 1.0])
    assert energy_scorer(_Replay(fake * factor), X * factor) == pytest.approx(
        base, rel=1e-9
    )
    # an estimator's scale_ is used when it has one
    own = np.array([2.0, 1.0, 0.5])
    expected = -energy_distance(X / own, fake / own)
    assert energy_scorer(_Replay(fake, scale=own), X) == pytest.approx(expected)


def test_gtn_score_unchanged_by_scaling_one_column():
    rng = np.random.RandomState(5)
    X = rng.normal(size=(300, 2))
    X_test = rng.normal(size=(100, 2))
    params = dict(
        hidden_layer_sizes=(16,),
        max_epochs=3,
        selection=None,
        fit_inverse=False,
        device="cpu",
        random_state=0,
    )
    factor = np.array([1.0, 1e6])
    a = GTNSampler(**params).fit(X).score(X_test)
    b = GTNSampler(**params).fit(X * factor).score(X_test * factor)
    assert a < 0
    assert b == pytest.approx(a, rel=1e-4)
