"""GTNMixture: one GTN per class or cluster (Appendix C)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gtn import GTNMixture, GTNSampler
from sklearn_gtn.datasets import make_eight_gaussians
from sklearn_gtn.metrics import energy_distance

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BASE = GTNSampler(
    hidden_layer_sizes=(16, 16),
    lr=1e-2,
    batch_size=64,
    max_epochs=15,
    patience=15,
    batch_norm=False,
    labeling="assignment",
    fit_inverse=False,
    device="cpu",
)
TINY = GTNSampler(hidden_layer_sizes=(4,), max_epochs=1, device="cpu")


@parametrize_with_checks([GTNMixture(TINY, n_components=1, random_state=0)])
def test_scikit_learn_common_checks(estimator, check):
    check(estimator)


def _two_blobs(n=400, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(size=(n, 2)) * 0.5 + np.where(y[:, None] == 0, -4.0, 4.0)
    return X, y


def test_one_map_per_class_and_class_conditional_sampling():
    X, y = _two_blobs()
    mix = GTNMixture(BASE, random_state=0).fit(X, np.where(y == 0, "a", "b"))
    np.testing.assert_array_equal(mix.classes_, ["a", "b"])
    np.testing.assert_allclose(mix.weights_, [0.5, 0.5])
    assert len(mix.components_) == 2
    a = mix.sample(300, random_state=0, y="a")
    b = mix.sample(300, random_state=0, y="b")
    assert (a[:, 0] < 0).mean() > 0.95 and (b[:, 0] > 0).mean() > 0.95
    both = mix.sample(400, random_state=1, y=np.repeat(["a", "b"], 200))
    assert (both[:200, 0] < 0).mean() > 0.95 and (both[200:, 0] > 0).mean() > 0.95


def test_sampling_in_training_proportions_and_reproducible():
    X, y = _two_blobs()
    X, y = X[50:], y[50:]  # 150 of class 0, 200 of class 1
    mix = GTNMixture(BASE, random_state=0).fit(X, y)
    S = mix.sample(4000, random_state=3)
    assert abs((S[:, 0] < 0).mean() - 150 / 350) < 0.03
    np.testing.assert_array_equal(S, mix.sample(4000, random_state=3))
    assert not np.array_equal(mix.sample(10), mix.sample(10))


def test_clusters_put_no_mass_in_the_gaps():
    # a single GTN must cross the gaps between the eight gaussians; one map per
    # cluster does not, and its samples are closer to held-out data
    X = make_eight_gaussians(2400, random_state=0)
    test = make_eight_gaussians(1000, random_state=1)
    single = clone(BASE).set_params(random_state=0).fit(X).sample(1000, random_state=2)
    mix = GTNMixture(BASE, n_components=8, random_state=0).fit(X)
    pieces = mix.sample(1000, random_state=2)

    def in_gaps(S):  # farther than 3 std from every centre
        angle = 2 * np.pi * np.arange(8) / 8
        centres = 4.0 * np.c_[np.cos(angle), np.sin(angle)]
        dist = np.linalg.norm(S[:, None, :] - centres[None], axis=2).min(axis=1)
        return (dist > 1.5).mean()

    assert in_gaps(pieces) < 0.03 < in_gaps(single)
    assert energy_distance(pieces, test) < energy_distance(single, test)
    assert set(np.unique(mix.predict(test))) == set(range(8))


def test_pieces_share_the_estimator_api():
    X, y = _two_blobs()
    base = clone(BASE).set_params(fit_inverse=True)
    mix = GTNMixture(base, random_state=0).fit(X, y)
    piece = mix.components_[1]
    codes = piece.transform(X[y == 1][:5])
    assert codes.shape == (5, 2)
    assert piece.interpolate(X[y == 1][0], X[y == 1][1], n_steps=4).shape == (4, 2)


# a cheap piece model for the fits that choose the number of clusters
SMALL = GTNSampler(
    hidden_layer_sizes=(16,),
    lr=1e-2,
    batch_size=64,
    max_epochs=5,
    fit_inverse=False,
    device="cpu",
)


@pytest.mark.parametrize("n_rows, pieces", [(500, 1), (1300, 2), (4799, 7), (6000, 8)])
def test_auto_takes_one_piece_per_600_rows_up_to_eight(n_rows, pieces):
    X = make_eight_gaussians(n_rows, random_state=0)
    mix = GTNMixture(TINY, random_state=0).fit(X)  # n_components="auto"
    assert mix.n_components_ == len(mix.components_) == pieces
    assert mix.candidate_scores_ is None
    assert np.isclose(mix.weights_.sum(), 1.0)


def test_candidates_split_eight_separated_gaussians_into_at_least_eight_pieces():
    X = make_eight_gaussians(800, random_state=0)
    mix = GTNMixture(SMALL, n_components=[1, 4, 8], random_state=0).fit(X)
    assert sorted(mix.candidate_scores_) == [1, 4, 8]
    assert mix.n_components_ >= 8
    # the kept pieces do not straddle a gap: each holds the rows of one
    # gaussian (but for stray points far out in a tail)
    angle = 2 * np.pi * np.arange(8) / 8
    centres = 4.0 * np.c_[np.cos(angle), np.sin(angle)]
    nearest = np.linalg.norm(X[:, None] - centres[None], axis=2).argmin(axis=1)
    pieces = mix.predict(X)
    for k in range(mix.n_components_):
        assert np.bincount(nearest[pieces == k]).max() >= 0.98 * (pieces == k).sum()
    assert mix.candidate_scores_[mix.n_components_] < mix.candidate_scores_[1]


def test_a_list_of_candidates_and_an_int():
    X = make_eight_gaussians(800, random_state=0)
    mix = GTNMixture(SMALL, n_components=[8, 1], random_state=0).fit(X)
    assert sorted(mix.candidate_scores_) == [1, 8]
    assert mix.n_components_ == 8  # one map must cross the gaps
    fixed = GTNMixture(SMALL, n_components=3, random_state=0).fit(X)
    assert fixed.n_components_ == 3 and fixed.candidate_scores_ is None
    X, y = _two_blobs()
    by_class = GTNMixture(SMALL, n_components=5, random_state=0).fit(X, y)
    assert by_class.n_components_ == 2 and by_class.candidate_scores_ is None


@pytest.mark.parametrize(
    "kwargs, fit_y, exc, match",
    [
        ({"n_components": 0}, None, ValueError, "n_components must be >= 1"),
        ({"n_components": 2.5}, None, TypeError, "n_components must be an integer"),
        ({"n_components": 10_000}, None, ValueError, "more than the number of rows"),
        (
            {"n_components": "many"},
            None,
            ValueError,
            "list of positive ints or 'auto', got 'many'",
        ),
        ({"n_components": []}, None, ValueError, "must not be an empty list"),
        ({"n_components": [2, 0]}, None, ValueError, "n_components must be >= 1"),
        ({}, np.zeros(3), ValueError, "y has 3 labels but X has 400 rows"),
        ({"estimator": object()}, None, TypeError, "must have a sample method"),
    ],
)
def test_bad_parameters(kwargs, fit_y, exc, match):
    X, _ = _two_blobs()
    with pytest.raises(exc, match=match):
        GTNMixture(**{"estimator": TINY, **kwargs}).fit(X, fit_y)


def test_bad_sample_arguments():
    X, y = _two_blobs()
    mix = GTNMixture(TINY, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="labels not seen in fit"):
        mix.sample(3, y=7)
    with pytest.raises(ValueError, match="one label or 3 labels"):
        mix.sample(3, y=[0, 1])
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        mix.sample(0)
    assert not hasattr(mix, "predict")  # fitted with classes: no clusterer
