"""GTNOverSampler: imbalanced-learn's fit_resample contract, without imblearn."""

import numpy as np
import pytest
from _samplers import GaussianSampler

import sklearn_gtn
from sklearn_gtn import GTNOverSampler, GTNSampler

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _data(counts=(60, 20, 10), seed=0):
    rng = np.random.RandomState(seed)
    X = np.concatenate([rng.normal(3 * k, 1.0, (n, 3)) for k, n in enumerate(counts)])
    y = np.repeat(np.arange(len(counts)), counts)
    perm = rng.permutation(len(y))
    return X[perm], y[perm]


def _fast():
    return GaussianSampler()


STRATEGIES = [
    "auto",
    "minority",
    "not majority",
    "not minority",
    "all",
    {1: 30, 2: 60},
    {0: 60},
]


def _reference_counts(strategy, y):
    """imbalanced-learn's own count, or the same rule written out by hand."""
    try:
        from imblearn.utils import check_sampling_strategy
    except ImportError:
        counts = {k: int((y == k).sum()) for k in np.unique(y)}
        top = max(counts, key=counts.get)
        low = min(counts, key=counts.get)
        keep = {
            "auto": lambda k: k != top,
            "not majority": lambda k: k != top,
            "minority": lambda k: k == low,
            "not minority": lambda k: k != low,
            "all": lambda k: True,
        }
        if isinstance(strategy, dict):
            return {k: v - counts[k] for k, v in strategy.items()}
        return {k: counts[top] - v for k, v in counts.items() if keep[strategy](k)}
    return dict(check_sampling_strategy(strategy, y, "over-sampling"))


@pytest.mark.parametrize("strategy", STRATEGIES, ids=str)
def test_counts_per_class_match_imbalanced_learn(strategy):
    X, y = _data()
    over = GTNOverSampler(_fast(), sampling_strategy=strategy, random_state=0)
    X_res, y_res = over.fit_resample(X, y)
    expected = _reference_counts(strategy, y)
    assert over.sampling_strategy_ == expected
    for label in np.unique(y):
        added = expected.get(label, 0)
        assert (y_res == label).sum() == (y == label).sum() + added
    assert X_res.shape == (len(y_res), 3)
    assert set(over.estimators_) == {k for k, v in expected.items() if v > 0}


def test_float_strategy_for_binary_targets():
    X, y = _data((80, 20))
    over = GTNOverSampler(_fast(), sampling_strategy=0.5, random_state=0)
    _, y_res = over.fit_resample(X, y)
    assert over.sampling_strategy_ == {1: 20}  # int(0.5 * 80) - 20
    if _has_imblearn():
        assert over.sampling_strategy_ == _reference_counts(0.5, y)
    assert np.bincount(y_res).tolist() == [80, 40]


def _has_imblearn():
    try:
        import imblearn  # noqa: F401
    except ImportError:
        return False
    return True


def test_originals_first_then_generated_rows_of_each_class():
    X, y = _data()
    X_res, y_res = GTNOverSampler(_fast(), random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    new_y = y_res[len(y) :]
    assert new_y.tolist() == [1] * 40 + [2] * 50  # class by class, sorted
    # each class's rows come from its own model: near that class's mean
    for label in (1, 2):
        new = X_res[len(y) :][new_y == label]
        np.testing.assert_allclose(
            new.mean(axis=0), X[y == label].mean(axis=0), atol=1.0
        )


def test_reproducible_with_random_state():
    X, y = _data()
    a = GTNOverSampler(_fast(), random_state=1).fit_resample(X, y)[0]
    b = GTNOverSampler(_fast(), random_state=1).fit_resample(X, y)[0]
    c = GTNOverSampler(_fast(), random_state=2).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_default_model_keeps_discrete_columns_discrete():
    X, y = _data((60, 12))
    rng = np.random.RandomState(0)
    X[:, 0] = rng.randint(0, 2, len(X))  # a dummy column
    X[:, 1] = rng.choice([-1.5, 0.25, 3.0], len(X))  # a standardised code
    over = GTNOverSampler(random_state=0)
    X_res, y_res = over.fit_resample(X, y)
    model = over.estimators_[1]
    gtn = model[-1]
    assert isinstance(gtn, GTNSampler) and not gtn.fit_inverse
    assert gtn.hidden_layer_sizes_ == (64, 64)
    assert gtn.n_relabelings_ == 0  # the configuration measured against SMOTE
    assert model[0].numeric_transform == "quantile"
    assert model[0].kinds_ == ["categorical", "categorical", "float"]
    assert X_res.dtype == np.float64 and np.isfinite(X_res).all()
    new = X_res[len(X) :]
    minority = X[y == 1]
    assert set(new[:, 0]) <= set(minority[:, 0])
    assert set(new[:, 1]) <= set(minority[:, 1])
    # continuous columns stay within the class's range (quantile transform)
    assert minority[:, 2].min() <= new[:, 2].min() <= new[:, 2].max()
    assert new[:, 2].max() <= minority[:, 2].max()
    assert np.bincount(y_res).tolist() == [60, 60]


def test_strings_labels_and_pandas_in_and_out():
    pd = pytest.importorskip("pandas")
    X, y = _data((40, 10))
    labels = np.array(["common", "rare"])[y]
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    X_res, y_res = GTNOverSampler(_fast(), random_state=0).fit_resample(
        frame, pd.Series(labels, name="kind")
    )
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == ["a", "b", "c"]
    assert isinstance(y_res, pd.Series) and y_res.name == "kind"
    assert y_res.value_counts().to_dict() == {"common": 40, "rare": 40}


def test_errors_follow_imbalanced_learn():
    X, y = _data()
    cases = [
        ("majority", "cannot be used with over-sampler"),
        ("most", "When 'sampling_strategy' is a string, it needs to be one of"),
        ({5: 10}, "target class is/are not present"),
        ({1: 5}, "should be greater or equal to the original number"),
        ({1: -5}, "cannot be negative"),
        (0.5, "can be a float only when the type of target is binary"),
    ]
    for strategy, message in cases:
        with pytest.raises(ValueError, match=message):
            GTNOverSampler(_fast(), sampling_strategy=strategy).fit_resample(X, y)
    X2, y2 = _data((80, 20))
    for ratio in (0.1, 1.5, 0.0):
        with pytest.raises(ValueError, match="ratio|range"):
            GTNOverSampler(_fast(), sampling_strategy=ratio).fit_resample(X2, y2)
    with pytest.raises(TypeError, match="sampling_strategy must be"):
        GTNOverSampler(_fast(), sampling_strategy=[1]).fit_resample(X, y)
    with pytest.raises(ValueError, match="more than 1 class"):
        GTNOverSampler(_fast()).fit_resample(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        GTNOverSampler(_fast()).fit_resample(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="rows but y has"):
        GTNOverSampler(_fast()).fit_resample(X, y[:-1])
    with pytest.raises(TypeError, match="sampler must have fit and sample"):
        GTNOverSampler(object()).fit_resample(X, y)


def test_a_failing_class_model_is_named():
    X, y = _data((30, 1))
    with pytest.raises(ValueError, match="class 1 \\(1 rows\\)"):
        GTNOverSampler(GTNSampler(max_epochs=1), random_state=0).fit_resample(X, y)


def test_as_a_step_of_an_imbalanced_learn_pipeline():
    pytest.importorskip("imblearn")
    from imblearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    X, y = _data((80, 20))
    pipe = make_pipeline(GTNOverSampler(_fast(), random_state=0), LogisticRegression())
    pipe.fit(X, y)
    assert pipe[0].sampling_strategy_ == {1: 60}
    assert pipe.predict(X).shape == (100,)  # no resampling at predict time
    scores = cross_val_score(pipe, X, y, cv=3, scoring="balanced_accuracy")
    assert scores.mean() > 0.9


def test_exported():
    assert "GTNOverSampler" in sklearn_gtn.__all__


def test_default_model_takes_a_mixed_dataframe():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=70),
            "colour": rng.choice(["red", "blue"], size=70),
            "n": rng.poisson(20, size=70),
        }
    )
    y = np.r_[np.zeros(50, int), np.ones(20, int)]
    X_res, y_res = GTNOverSampler(random_state=0).fit_resample(frame, y)
    assert X_res.dtypes.to_dict() == frame.dtypes.to_dict()
    new = X_res.iloc[len(frame) :]
    assert len(new) == 30 and set(new["colour"]) <= set(frame["colour"][y == 1])
    assert new["n"].between(frame["n"][y == 1].min(), frame["n"][y == 1].max()).all()


def test_a_dummy_column_with_missing_values_stays_discrete():
    # NaN != NaN: counting levels with a set made every missing value a new
    # level, so the column looked continuous and came back as fractions
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    n = 200
    dummy = rng.randint(0, 2, size=n).astype(float)
    dummy[rng.rand(n) < 0.3] = np.nan  # about 18 NaN among the 60 minority rows
    X = pd.DataFrame({"x": rng.normal(size=n), "dummy": dummy})
    y = np.r_[np.zeros(140, dtype=int), np.ones(60, dtype=int)]
    X_res, _ = GTNOverSampler(random_state=0).fit_resample(X, y)
    new = X_res["dummy"].iloc[n:].dropna()
    assert len(new) and set(new.unique()) <= {0.0, 1.0}
