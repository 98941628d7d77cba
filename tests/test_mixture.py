"""GTNMixture: one GTN per class or cluster (Appendix C)."""

import numpy as np
import pytest
from sklearn.base import clone

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
    "n_components, n_rows, pieces",
    [(3, 400, 3), (3, 149, 2), (3, 99, 1), ([1, 3, 5], 120, [1, 2]), ("auto", 40, 1)],
)
def test_rows_per_component_caps_the_clusters_of_small_data(
    n_components, n_rows, pieces
):
    X = make_eight_gaussians(n_rows, random_state=0)
    mix = GTNMixture(
        TINY, n_components=n_components, rows_per_component=50, random_state=0
    ).fit(X)
    if isinstance(pieces, list):  # the candidates left to choose from
        assert sorted(mix.candidate_scores_) == pieces
    else:
        assert mix.n_components_ == len(mix.components_) == pieces
    # with labels, one piece per class whatever the number of rows
    y = np.arange(n_rows) % 4
    by_class = GTNMixture(TINY, rows_per_component=50, random_state=0).fit(X, y)
    assert by_class.n_components_ == 4


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
        ({"rows_per_component": 0}, None, ValueError, "rows_per_component must be"),
        ({"rows_per_component": 2.5}, np.zeros(400), TypeError, "rows_per_comp"),
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
    with pytest.raises(ValueError, match="one label, 3 labels or a dict"):
        mix.sample(3, y=[0, 1])
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        mix.sample(0)
    assert not hasattr(mix, "predict")  # fitted with classes: no clusterer


@pytest.fixture(scope="module")
def by_class():
    X, y = _two_blobs()
    return GTNMixture(BASE, random_state=0).fit(X, np.where(y == 0, "a", "b"))


def test_sample_with_a_dict_of_counts(by_class):
    S, labels = by_class.sample(y={"a": 5, "b": 3}, return_y=True, random_state=0)
    assert S.shape == (8, 2)
    assert labels.tolist() == ["a"] * 5 + ["b"] * 3
    assert (S[:5, 0] < 0).all() and (S[5:, 0] > 0).all()
    # n_samples may repeat the total; zero counts are allowed
    same = by_class.sample(8, y={"a": 5, "b": 3}, random_state=0)
    np.testing.assert_array_equal(same, S)
    only_b = by_class.sample(y={"a": 0, "b": 4}, random_state=1)
    assert only_b.shape == (4, 2) and (only_b[:, 0] > 0).all()


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(y={"a": 5, "b": 3}, n_samples=4), ValueError, "n_samples=4 does not"),
        (dict(y={"c": 2}), ValueError, "labels not seen in fit: \\['c'\\]"),
        (dict(y={"a": -1}), ValueError, "y\\['a'\\] must be >= 0"),
        (dict(y={"a": 1.5}), TypeError, "y\\['a'\\] must be an integer count"),
        (dict(y={"a": 0}), ValueError, "add up to >= 1"),
        (dict(y={}), ValueError, "empty dict"),
        (dict(return_y="yes"), TypeError, "return_y must be a bool"),
    ],
)
def test_bad_dict_and_return_y_are_refused(by_class, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        by_class.sample(**kwargs)


def test_return_y_gives_the_piece_of_every_row(by_class):
    S, labels = by_class.sample(500, return_y=True, random_state=2)
    assert set(labels) == {"a", "b"}
    # each row comes from its labelled piece: class a on the left
    assert ((S[:, 0] < 0) == (labels == "a")).mean() > 0.97
    np.testing.assert_array_equal(S, by_class.sample(500, random_state=2))


def test_return_y_after_clustering_gives_cluster_indices():
    X, _ = _two_blobs()
    mix = GTNMixture(TINY, n_components=2, random_state=0).fit(X)
    S, labels = mix.sample(50, return_y=True, random_state=0)
    assert labels.dtype.kind == "i" and set(labels) <= {0, 1}
    # the piece of each sample is where k-means puts the rows of that piece
    assert mix.predict(S[labels == 0]).tolist().count(0) > 0


@pytest.mark.parametrize(
    "y",
    [
        np.r_[np.zeros(399), np.nan],
        np.array(["a"] * 399 + [None], dtype=object),
        np.array(["a"] * 399 + [float("nan")], dtype=object),
    ],
    ids=["float NaN", "None", "object NaN"],
)
def test_nan_labels_are_refused_at_fit(y):
    X, _ = _two_blobs()
    with pytest.raises(ValueError, match="y holds 1 missing labels.*row 399"):
        GTNMixture(TINY, random_state=0).fit(X, y)


def test_failed_refit_keeps_the_previous_model():
    X, y = _two_blobs()
    mix = GTNMixture(TINY, random_state=0).fit(X, y)
    before = mix.sample(20, random_state=0)
    components = mix.components_
    # a piece of one row cannot be fitted: the refit fails half way
    y_bad = y.copy()
    y_bad[0] = 7
    with pytest.raises(ValueError, match="fitting the piece 7"):
        mix.fit(X, y_bad)
    assert len(mix.components_) == 2 and mix.classes_.tolist() == [0, 1]
    assert all(a is b for a, b in zip(mix.components_, components, strict=True))
    np.testing.assert_array_equal(mix.sample(20, random_state=0), before)


def test_interrupted_fit_leaves_it_unfitted(monkeypatch):
    X, y = _two_blobs()
    calls = []

    def interrupt(self, X, y=None):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, X, y)

    original = GTNSampler.fit
    monkeypatch.setattr(GTNSampler, "fit", interrupt)
    mix = GTNMixture(TINY, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        mix.fit(X, y)
    assert not hasattr(mix, "components_")


def test_pickle_without_rows_per_component_takes_the_default(by_class):
    from sklearn.base import clone

    state = by_class.__getstate__()
    del state["rows_per_component"]  # a pickle from before the parameter
    old = GTNMixture.__new__(GTNMixture)
    old.__setstate__(state)
    assert old.get_params()["rows_per_component"] is None
    assert clone(old).rows_per_component is None
    np.testing.assert_array_equal(
        old.sample(5, random_state=0), by_class.sample(5, random_state=0)
    )


def test_pickle_is_stamped_with_the_version(by_class):
    import pickle
    import warnings

    import sklearn_gtn

    state = by_class.__getstate__()
    assert state["_sklearn_gtn_version"] == sklearn_gtn.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version: no warning
        again = pickle.loads(pickle.dumps(by_class))
    np.testing.assert_array_equal(
        again.sample(5, random_state=0), by_class.sample(5, random_state=0)
    )
    state["_sklearn_gtn_version"] = "0.0.1"
    twin = GTNMixture.__new__(GTNMixture)
    with pytest.warns(sklearn_gtn.GTNVersionWarning, match="0.0.1"):
        twin.__setstate__(state)


def test_fitted_attributes_are_plain():
    # what the persistence format can hold: numbers, strings, arrays, lists
    # and dicts of those, fitted GTNSamplers and KMeans
    from sklearn.cluster import KMeans

    X, _ = _two_blobs()
    mix = GTNMixture(TINY, n_components=[1, 2], random_state=0).fit(X)

    def plain(value):
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        if isinstance(value, dict):
            return all(plain(k) and plain(v) for k, v in value.items())
        return value is None or isinstance(
            value, (int, float, str, np.ndarray, np.number, GTNSampler, KMeans)
        )

    fitted = {k: v for k, v in vars(mix).items() if k.endswith("_")}
    assert "clusterer_" in fitted
    assert all(plain(v) for v in fitted.values()), fitted


def test_sample_refuses_an_impossible_request(by_class):
    with pytest.raises(ValueError, match="n_samples=9223372036854775808"):
        by_class.sample(2**63)


def test_interrupted_refit_among_candidates_keeps_the_previous_model(monkeypatch):
    # D-3: the first candidate's pieces are fitted (and were already set on
    # the mixture) when the second is interrupted
    X, y = _two_blobs()
    mix = GTNMixture(TINY, random_state=0).fit(X, np.where(y == 0, "a", "b"))
    before = mix.sample(20, random_state=0)
    calls = []
    original = GTNSampler.fit

    def interrupt(self, X, y=None):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, X, y)

    monkeypatch.setattr(GTNSampler, "fit", interrupt)
    with pytest.raises(KeyboardInterrupt):
        mix.set_params(n_components=[1, 2]).fit(X)
    assert mix.classes_.tolist() == ["a", "b"] and mix.candidate_scores_ is None
    np.testing.assert_array_equal(mix.sample(20, random_state=0), before)


def test_fitted_on_a_dataframe_samples_dataframes():
    pd = pytest.importorskip("pandas")
    X, y = _two_blobs()
    frame = pd.DataFrame(X, columns=["left", "right"])
    mix = GTNMixture(TINY, random_state=0).fit(frame, y)
    S, labels = mix.sample(6, return_y=True, random_state=0)
    assert list(S.columns) == ["left", "right"] and (S.dtypes == np.float64).all()
    assert labels.shape == (6,)
    arrays = GTNMixture(TINY, random_state=0).fit(X, y)
    np.testing.assert_array_equal(S.to_numpy(), arrays.sample(6, random_state=0))


def test_clusters_ignore_a_column_constant_up_to_rounding():
    # the same standardisation as GTNSampler: a spread of rounding noise
    # (below 10 eps times the mean) is not blown up to unit variance
    rng = np.random.RandomState(0)
    X = np.c_[rng.normal(size=200), 1e6 + rng.choice([0.0, 1e-10], size=200)]
    mix = GTNMixture(
        GTNSampler(hidden_layer_sizes=(4,), max_epochs=1),
        n_components=2,
        random_state=0,
    ).fit(X)
    assert mix.cluster_scale_[1] == 1.0
    assert mix.cluster_scale_[0] == pytest.approx(X[:, 0].std())
