"""Behaviour of GTNSampler: fit, sample, transform, interpolate, score, pickling."""

import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import sklearn_gtn._base as base_module
import sklearn_gtn._runtime as runtime_module
import sklearn_gtn._versioning as versioning_module
import sklearn_gtn.sampler as sampler_module
from sklearn_gtn import GTNSampler, GTNVersionWarning
from sklearn_gtn._modules import MLP
from sklearn_gtn.metrics import energy_distance, energy_scorer

FAST = dict(
    hidden_layer_sizes=(16, 16), max_epochs=10, lr=1e-2, batch_size=64, device="cpu"
)


def _square(n, seed=0):
    return np.random.RandomState(seed).uniform(size=(n, 2)) * [2.0, 1.0] + [5.0, -1.0]


@pytest.fixture(scope="module")
def data():
    return _square(800, seed=0), _square(400, seed=1)


@pytest.fixture(scope="module")
def fitted(data):
    X, _ = data
    return GTNSampler(**FAST, patience=5, random_state=0).fit(X)


# ------------------------------------------------------------------- sample
def test_sample_reproducible_with_random_state(fitted):
    a = fitted.sample(50, random_state=3)
    assert_array_equal(a, fitted.sample(50, random_state=3))
    assert not np.array_equal(a, fitted.sample(50, random_state=4))


def test_sample_fresh_draws_without_random_state(fitted):
    assert not np.array_equal(fitted.sample(20), fitted.sample(20))


def test_sample_random_state_instance_advances(fitted):
    rng = np.random.RandomState(0)
    a, b = fitted.sample(10, random_state=rng), fitted.sample(10, random_state=rng)
    assert not np.array_equal(a, b)
    rng = np.random.RandomState(0)
    assert_array_equal(a, fitted.sample(10, random_state=rng))


@pytest.mark.parametrize("n_samples", [1, 7, 300])
def test_sample_shape_and_dtype(fitted, n_samples):
    out = fitted.sample(n_samples, random_state=0)
    assert out.shape == (n_samples, 2)
    assert out.dtype == np.float64
    assert np.isfinite(out).all()


def test_sample_in_data_units(fitted, data):
    X, _ = data
    S = fitted.sample(2000, random_state=0)
    # the data live in [5, 7] x [-1, 0]; standardisation must be undone
    assert_allclose(S.mean(axis=0), X.mean(axis=0), atol=0.15)
    inside = ((S > [4.9, -1.1]) & (S < [7.1, 0.1])).all(axis=1)
    # the assignment labeling fills the square up to its edges, so a short
    # fit spills a little over them (about 8% here)
    assert inside.mean() > 0.9
    # a short fit shrinks the spread (regression to the mean), but not to a point
    assert (S.std(axis=0) > 0.3 * X.std(axis=0)).all()
    assert (S.std(axis=0) < 1.2 * X.std(axis=0)).all()


def test_chunked_inference_gives_the_same_results(fitted, data, monkeypatch):
    X, _ = data
    codes = np.random.RandomState(0).standard_normal((50, 2))
    before = [
        fitted.inverse_transform(codes),
        fitted.transform(X[:50]),
        fitted.sample(23, random_state=0),
    ]
    monkeypatch.setattr(base_module, "chunk_rows", lambda *args, **kwargs: 7)
    after = [
        fitted.inverse_transform(codes),
        fitted.transform(X[:50]),
        fitted.sample(23, random_state=0),
    ]
    for a, b in zip(before, after, strict=True):
        assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_chunks_on_several_threads_agree_with_one_thread(
    fitted, data, monkeypatch, precision
):
    # small networks: chunks run concurrently, one per thread, each on one
    # torch thread; every chunk holds the same rows whatever the thread count
    X, _ = data
    gtn = clone(fitted).set_params(precision=precision)
    gtn.__dict__.update({k: v for k, v in vars(fitted).items() if k.endswith("_")})
    monkeypatch.setattr(base_module, "chunk_rows", lambda *args, **kwargs: 7)
    calls = []
    forward = MLP.forward

    def recording(self, x):
        calls.append((len(x), torch.get_num_threads()))
        return forward(self, x)

    monkeypatch.setattr(MLP, "forward", recording)

    def run():
        return [gtn.sample(60, random_state=0), gtn.transform(X[:40])]

    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        serial = run()
        n_serial = len(calls)
        torch.set_num_threads(3)
        pooled = run()
        assert torch.get_num_threads() == 3  # restored after the pool
    finally:
        torch.set_num_threads(previous)
    # 60 sampled rows: 9 chunks of 7 rows (the last 4), then 40 rows: 6 chunks
    sizes = sorted(n for n, _ in calls[:n_serial])
    assert sizes == sorted([7] * 8 + [4] + [7] * 5 + [5])
    assert sorted(n for n, _ in calls[n_serial:]) == sizes
    assert {threads for _, threads in calls} == {1}  # each chunk on one thread
    tol = 1e-2 if precision == "bfloat16" else 1e-5
    for a, b in zip(serial, pooled, strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=1e-6)


def test_cpu_chunking_depends_only_on_the_network(fitted, monkeypatch):
    # never on the thread count (nor on free memory, which the CPU ignores)
    module = fitted.net_.module_
    previous = torch.get_num_threads()
    try:
        rows = []
        for n in (1, 2):
            torch.set_num_threads(n)
            rows.append(runtime_module.chunk_rows(module, "cpu"))
    finally:
        torch.set_num_threads(previous)
    assert rows[0] == rows[1]


def test_chunk_rows_fit_the_cache_on_cpu(fitted):
    rows = runtime_module.chunk_rows(fitted.net_.module_, "cpu")  # widest: 16
    budget = runtime_module._CHUNK_BYTES_CPU
    # the largest power of two whose float32 activations fit the budget
    assert rows & (rows - 1) == 0
    assert rows * 4 * 16 <= budget < 2 * rows * 4 * 16


@pytest.mark.parametrize(
    "n_samples, error, match",
    [
        (0, ValueError, "n_samples must be >= 1, got 0"),
        (-3, ValueError, "n_samples must be >= 1"),
        (2.5, TypeError, "n_samples must be an integer"),
        ("4", TypeError, "n_samples must be an integer"),
    ],
)
def test_sample_rejects_bad_n_samples(fitted, n_samples, error, match):
    with pytest.raises(error, match=match):
        fitted.sample(n_samples)


# ---------------------------------------------------------------------- fit
def test_fit_reproducible_with_random_state(data):
    X, _ = data
    X = X[:400]
    params = dict(hidden_layer_sizes=(8,), max_epochs=3, device="cpu")
    a = GTNSampler(**params, random_state=7).fit(X)
    b = GTNSampler(**params, random_state=7).fit(X)
    c = GTNSampler(**params, random_state=8).fit(X)
    assert_array_equal(a.sample(100, random_state=0), b.sample(100, random_state=0))
    assert_array_equal(a.transform(X[:50]), b.transform(X[:50]))
    assert not np.array_equal(
        a.sample(100, random_state=0), c.sample(100, random_state=0)
    )


def test_fit_leaves_global_generators_untouched(data):
    X, _ = data
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    torch_state = torch.random.get_rng_state().clone()
    GTNSampler(hidden_layer_sizes=(4,), max_epochs=2, device="cpu", random_state=0).fit(
        X[:200]
    )
    assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_fitted_attributes(fitted, data):
    X, _ = data
    assert fitted.n_features_in_ == 2
    assert_allclose(fitted.mean_, X.mean(axis=0))
    assert_allclose(fitted.scale_, X.std(axis=0))
    assert 1 <= fitted.best_epoch_ <= fitted.n_epochs_ <= 10
    losses = fitted.net_.history[:, "valid_loss"]
    assert fitted.best_validation_loss_ == losses[fitted.best_epoch_ - 1]
    assert fitted.best_validation_loss_ <= min(losses) * (1 + 1e-4)
    assert fitted.labeling_time_ > 0 and fitted.training_time_ > 0
    assert fitted.device_ == "cpu"
    # the fitted nets keep no reference to the validation data
    assert fitted.net_.train_split is None


def test_early_stopping_stops_and_restores_best_weights(data, capsys):
    X, _ = data
    gtn = GTNSampler(
        hidden_layer_sizes=(8,),
        max_epochs=200,
        patience=1,
        lr=0.05,
        device="cpu",
        random_state=0,
        fit_inverse=False,
        verbose=1,
    ).fit(X[:300])
    assert gtn.n_epochs_ < 200
    losses = gtn.net_.history[:, "valid_loss"]
    assert gtn.best_validation_loss_ == losses[gtn.best_epoch_ - 1]
    assert gtn.best_validation_loss_ <= min(losses) * (1 + 1e-4)
    assert gtn.n_epochs_ - gtn.best_epoch_ == 1
    # skorch's EarlyStopping(load_best=True) put the best epoch's weights back
    out = capsys.readouterr().out
    assert f"Restoring best model from epoch {gtn.best_epoch_}" in out


def test_no_validation_runs_max_epochs(data):
    X, _ = data
    gtn = GTNSampler(
        hidden_layer_sizes=(4,),
        max_epochs=4,
        validation_fraction=0.0,
        device="cpu",
        random_state=0,
    ).fit(X[:100])
    assert gtn.n_epochs_ == 4
    assert gtn.best_validation_loss_ is None


def test_standardize_false_keeps_units(data):
    X, _ = data
    gtn = GTNSampler(
        hidden_layer_sizes=(4,),
        max_epochs=2,
        standardize=False,
        device="cpu",
        random_state=0,
    ).fit(X[:100])
    assert_array_equal(gtn.mean_, np.zeros(2))
    assert_array_equal(gtn.scale_, np.ones(2))


def test_verbose_prints_epochs(data, capsys):
    X, _ = data
    GTNSampler(
        hidden_layer_sizes=(4,),
        max_epochs=2,
        labeling="algorithm1",  # the labeling engine shows a progress bar
        device="cpu",
        random_state=0,
        verbose=1,
    ).fit(X[:100])
    out = capsys.readouterr()
    assert "valid_loss" in out.out
    assert "labeling" in out.err
    # each table says which network it belongs to, in that order
    forward, inverse = out.out.index("forward network:"), out.out.index("inverse")
    assert forward < inverse
    assert out.out.count("valid_loss") == 2
    # captured output is no terminal: no colour codes
    assert "\x1b[" not in out.out


def test_verbose_tables_are_coloured_only_on_a_terminal(data, capsys, monkeypatch):
    import sklearn_gtn._base as base_module

    X, _ = data
    params = dict(hidden_layer_sizes=(4,), max_epochs=3, device="cpu", verbose=1)
    monkeypatch.setattr(base_module, "_stdout_is_terminal", lambda: True)
    GTNSampler(**params, random_state=0, fit_inverse=False).fit(X[:100])
    assert "\x1b[" in capsys.readouterr().out  # best losses highlighted


# --------------------------------------------------------------- bad input
def _raise_if_called(*args, **kwargs):
    raise AssertionError("labeling ran before the input was checked")


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.array([[0.0, 1.0], [np.nan, 1.0], [2.0, 3.0]]), ValueError, "NaN"),
        (np.array([[0.0, 1.0], [np.inf, 1.0], [2.0, 3.0]]), ValueError, "infinity"),
        (np.arange(10.0), ValueError, "Expected 2D array"),
        (np.ones((1, 2)), ValueError, "at least 2 samples.*n_samples=1"),
        (np.array([["a", "b"], ["c", "d"], ["e", "f"]]), ValueError, "string"),
    ],
)
def test_fit_rejects_bad_X_before_labeling(X, error, match, monkeypatch):
    monkeypatch.setattr(sampler_module, "label_pairs", _raise_if_called)
    with pytest.raises(error, match=match):
        GTNSampler(device="cpu").fit(X)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"hidden_layer_sizes": (8, 0)}, ValueError, r"hidden_layer_sizes.*\(8, 0\)"),
        ({"hidden_layer_sizes": "wide"}, ValueError, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": None}, TypeError, "hidden_layer_sizes"),
        ({"lr": 0.0}, ValueError, "lr must be finite and > 0, got 0.0"),
        ({"lr": "fast"}, TypeError, "lr must be a real number"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
        ({"max_epochs": 1.5}, TypeError, "max_epochs must be an integer"),
        ({"patience": 0}, ValueError, "patience must be >= 1"),
        ({"validation_fraction": 1.0}, ValueError, r"validation_fraction.*\[0, 1\)"),
        ({"validation_fraction": -0.1}, ValueError, "validation_fraction"),
        ({"negative_slope": float("nan")}, ValueError, "negative_slope must be finite"),
        ({"negative_slope": 0.0}, ValueError, "negative_slope must be > 0"),
        (
            {"batch_size": 1, "batch_norm": True},
            ValueError,
            "batch_size must be >= 2 with batch_norm",
        ),
        (
            {"batch_size": 1, "labeling": "algorithm1"},  # batch_norm="auto": True
            ValueError,
            "batch_size must be >= 2 with batch_norm",
        ),
        ({"batch_norm": "yes"}, ValueError, "batch_norm must be a bool, an int or"),
        ({"patience": "auto-ish"}, ValueError, "patience must be a positive int, None"),
        ({"validation_fraction": "half"}, ValueError, "validation_fraction must be a"),
        (
            {"validation_fraction": True},
            TypeError,
            "validation_fraction must be a real",
        ),
        ({"patience": 0}, ValueError, "patience must be >= 1"),
        ({"labeling": "hungarian"}, ValueError, "labeling must be one of"),
        ({"standardize": "yes"}, TypeError, "standardize must be a bool"),
        ({"fit_inverse": 1}, TypeError, "fit_inverse must be a bool"),
        ({"device": "tpu"}, ValueError, "device='tpu'"),
        ({"verbose": -1}, ValueError, "verbose must be >= 0"),
    ],
)
def test_fit_rejects_bad_params_before_labeling(params, error, match, monkeypatch):
    monkeypatch.setattr(sampler_module, "label_pairs", _raise_if_called)
    with pytest.raises(error, match=match):
        GTNSampler(**params).fit(np.ones((20, 2)))


@pytest.mark.parametrize(
    "method",
    [
        "sample",
        "transform",
        "inverse_transform",
        "score",
        "interpolate",
        "interpolate_codes",
    ],
)
def test_not_fitted_error(method):
    gtn = GTNSampler()
    args = {
        "sample": (),
        "transform": (np.ones((2, 2)),),
        "inverse_transform": (np.ones((2, 2)),),
        "score": (np.ones((2, 2)),),
        "interpolate": (np.ones(2), np.zeros(2)),
        "interpolate_codes": (np.ones(2), np.zeros(2)),
    }[method]
    with pytest.raises(NotFittedError):
        getattr(gtn, method)(*args)


@pytest.mark.parametrize("method", ["transform", "inverse_transform", "score"])
def test_wrong_number_of_features(fitted, method):
    with pytest.raises(ValueError, match="3 features.*expecting 2 features"):
        getattr(fitted, method)(np.ones((4, 3)))


def test_inverse_transform_rejects_nan(fitted):
    with pytest.raises(ValueError, match="NaN"):
        fitted.inverse_transform(np.array([[0.0, np.nan]]))


# ---------------------------------------------- transform / inverse round trip
def test_transform_then_inverse_is_close(fitted, data):
    X, X_test = data
    codes = fitted.transform(X_test)
    assert codes.shape == X_test.shape and codes.dtype == np.float64
    # the codes of the data are centred and spread (the inverse map of a short
    # fit shrinks them, like the forward map shrinks samples)
    assert_allclose(codes.mean(axis=0), 0.0, atol=0.35)
    assert ((codes.std(axis=0) > 0.3) & (codes.std(axis=0) < 1.3)).all()
    # round trip, relative to the spread of the data (0.58 and 0.29 here);
    # Algorithm 1's pairs are not a smooth function, so both maps average and
    # the round trip is coarse (0.25-0.5 std in this small fit; a random
    # pairing of points would give about 1.15 std)
    train_err = np.abs(fitted.inverse_transform(fitted.transform(X)) - X).mean(0)
    test_err = np.abs(fitted.inverse_transform(codes) - X_test).mean(0)
    assert (train_err < 0.6 * X.std(axis=0)).all()
    assert (test_err < 0.6 * X.std(axis=0)).all()
    # a point far from its own reconstruction would be farther than a random one
    other = fitted.inverse_transform(codes[::-1])
    assert test_err.sum() < 0.5 * np.abs(other - X_test).mean(0).sum()


def test_transform_unavailable_without_inverse(data):
    X, _ = data
    gtn = GTNSampler(
        hidden_layer_sizes=(4,),
        max_epochs=2,
        fit_inverse=False,
        device="cpu",
        random_state=0,
    )
    assert not hasattr(gtn, "transform")
    gtn.fit(X[:100])
    assert gtn.inverse_net_ is None
    assert not hasattr(gtn, "transform")
    assert not hasattr(gtn, "interpolate")
    assert gtn.interpolate_codes(np.zeros(2), np.ones(2), n_steps=3).shape == (3, 2)


# -------------------------------------------------------------- interpolate
def test_interpolate_one_pair(fitted, data):
    X, _ = data
    path = fitted.interpolate(X[0], X[1], n_steps=6)
    assert path.shape == (6, 2)
    ends = fitted.inverse_transform(fitted.transform(X[:2]))
    assert_allclose(path[0], ends[0], rtol=1e-6)
    assert_allclose(path[-1], ends[1], rtol=1e-6)


def test_interpolate_many_pairs(fitted, data):
    X, _ = data
    paths = fitted.interpolate(X[:4], X[4:8], n_steps=5)
    assert paths.shape == (4, 5, 2)
    assert_allclose(paths[2], fitted.interpolate(X[2], X[6], n_steps=5), rtol=1e-6)


def test_interpolate_codes_is_the_map_on_the_segment(fitted):
    za, zb = np.array([-1.0, 0.5]), np.array([1.0, -0.5])
    path = fitted.interpolate_codes(za, zb, n_steps=5)
    t = np.linspace(0, 1, 5)[:, None]
    assert_allclose(
        path, fitted.inverse_transform((1 - t) * za + t * zb), rtol=1e-6, atol=1e-9
    )


def test_interpolation_path_is_continuous(fitted, data):
    X, _ = data
    coarse = fitted.interpolate(X[0], X[1], n_steps=3)
    fine = fitted.interpolate(X[0], X[1], n_steps=201)
    # refining the grid shrinks the steps (a jump would not shrink)
    coarse_step = np.linalg.norm(np.diff(coarse, axis=0), axis=1).max()
    fine_step = np.linalg.norm(np.diff(fine, axis=0), axis=1).max()
    assert fine_step < coarse_step / 20
    assert_allclose(fine[[0, 100, 200]], coarse, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((np.zeros(2), np.ones(2)), {"n_steps": 1}, "n_steps must be >= 2"),
        ((np.zeros((2, 2)), np.ones((3, 2))), {}, "same shape"),
        ((np.zeros(3), np.ones(3)), {}, "3 features"),
    ],
)
def test_interpolate_errors(fitted, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fitted.interpolate(*args, **kwargs)


# -------------------------------------------------------------------- score
def test_score_prefers_the_data_distribution(fitted, data):
    _, X_test = data
    s = fitted.score(X_test)
    assert s == fitted.score(X_test)  # deterministic
    assert s <= 0
    assert s > fitted.score(X_test + [0.5, 0.0])
    assert s > fitted.score(X_test * [1.0, 2.0])
    assert energy_scorer(fitted, X_test) == s


def test_energy_distance_matches_scipy_in_1d():
    from scipy.stats import energy_distance as scipy_energy

    rng = np.random.RandomState(0)
    a, b = rng.normal(size=40), rng.normal(0.5, 2.0, size=55)
    assert energy_distance(a[:, None], b[:, None]) == pytest.approx(
        scipy_energy(a, b), rel=1e-10
    )
    assert energy_distance(a[:, None], a[:, None]) == 0.0


def test_energy_distance_max_samples():
    rng = np.random.RandomState(0)
    a, b = rng.normal(size=(500, 2)), rng.normal(size=(400, 2)) + 3.0
    full = energy_distance(a, b)
    sub = energy_distance(a, b, max_samples=100, random_state=0)
    assert sub == energy_distance(a, b, max_samples=100, random_state=0)
    assert sub == pytest.approx(full, rel=0.2)
    with pytest.raises(ValueError, match="same number of features"):
        energy_distance(a, b[:, :1])


# ------------------------------------------------------------------- pickle
def test_pickle_round_trip_in_fresh_process(fitted, tmp_path):
    path = tmp_path / "gtn.joblib"
    joblib.dump(fitted, path)
    out = tmp_path / "samples.npy"
    code = (
        "import joblib, numpy as np, warnings, sklearn_gtn\n"
        "warnings.simplefilter('error', sklearn_gtn.GTNVersionWarning)\n"
        f"gtn = joblib.load({str(path)!r})\n"
        f"np.save({str(out)!r}, np.vstack([gtn.sample(64, random_state=5),"
        " gtn.transform(np.ones((3, 2)))]))\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=str(tmp_path.parent),
        env=_env_with_package(),
    )
    expected = np.vstack(
        [fitted.sample(64, random_state=5), fitted.transform(np.ones((3, 2)))]
    )
    assert_array_equal(np.load(out), expected)


def _env_with_package():
    import os

    import sklearn_gtn

    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(sklearn_gtn.__file__))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_unpickling_other_version_warns(fitted, monkeypatch):
    blob = pickle.dumps(fitted)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = pickle.loads(blob)  # same version: silent
    assert_array_equal(same.sample(5, random_state=0), fitted.sample(5, random_state=0))
    monkeypatch.setattr(versioning_module, "__version__", "0.0.1")
    with pytest.warns(GTNVersionWarning, match=r"pickled with sklearn-gtn .* 0\.0\.1"):
        pickle.loads(blob)


def test_pickle_without_a_newer_parameter_takes_its_default(fitted):
    # a pickle written before noise_scale existed: the parameter is missing
    state = fitted.__getstate__()
    del state["noise_scale"]
    old = GTNSampler.__new__(GTNSampler)
    old.__setstate__(state)
    assert old.get_params()["noise_scale"] == "auto"
    assert "GTNSampler(" in repr(old) and clone(old).noise_scale == "auto"
    # the fitted attributes still decide the samples
    assert_array_equal(old.sample(5, random_state=0), fitted.sample(5, random_state=0))


# ----------------------------------------------------- scikit-learn tooling
def test_clone_gives_unfitted_copy(fitted):
    c = clone(fitted)
    assert c.get_params() == fitted.get_params()
    assert not hasattr(c, "net_")
    with pytest.raises(NotFittedError):
        c.sample()


def test_pipeline_samples_through_inverse_transform(data):
    X, _ = data
    # a 3-D dataset on a plane: PCA reduces to the intrinsic dimension 2
    rng = np.random.RandomState(0)
    X3 = np.column_stack([X, X @ [1.0, -2.0]]) + 1e-6 * rng.standard_normal((len(X), 3))
    pipe = Pipeline(
        [("pca", PCA(n_components=2)), ("gtn", GTNSampler(**FAST, random_state=0))]
    ).fit(X3)
    codes = pipe.transform(X3[:100])
    assert codes.shape == (100, 2)
    Z = rng.standard_normal((500, 2))
    generated = pipe.inverse_transform(Z)
    assert generated.shape == (500, 3)
    # the samples lie on the data's plane
    assert_allclose(generated[:, 2], generated[:, :2] @ [1.0, -2.0], atol=1e-6)
    # codes keep the names of the features they stand for
    assert pipe.get_feature_names_out().tolist() == ["pca0", "pca1"]


def test_grid_search_over_network_parameter(data):
    X, _ = data
    grid = GridSearchCV(
        GTNSampler(max_epochs=3, device="cpu", random_state=0),
        {"hidden_layer_sizes": [(2,), (16, 16)]},
        cv=2,
    ).fit(X[:300])
    scores = grid.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and (scores <= 0).all()
    assert grid.best_params_["hidden_layer_sizes"] in [(2,), (16, 16)]
    assert grid.best_estimator_.sample(3, random_state=0).shape == (3, 2)


def test_net_to_cpu_copy_is_equivalent(fitted):
    # the helper that __getstate__ applies to nets on a GPU, exercised on the CPU
    twin = runtime_module._net_to_cpu(fitted.net_)
    assert twin is not fitted.net_ and twin.device == "cpu"
    codes = torch.randn(20, 2)
    with torch.inference_mode():
        assert torch.equal(twin.module_.eval()(codes), fitted.net_.module_(codes))
    for state in twin.optimizer_.state.values():
        assert all(v.device.type == "cpu" for v in state.values() if torch.is_tensor(v))


def test_energy_scorer_in_cross_validation(data):
    from sklearn.model_selection import cross_val_score

    X, _ = data
    est = GTNSampler(
        hidden_layer_sizes=(4,), max_epochs=2, device="cpu", random_state=0
    )
    with_scorer = cross_val_score(est, X[:300], cv=2, scoring=energy_scorer)
    default = cross_val_score(est, X[:300], cv=2)
    # the scorer is what score() computes
    assert_allclose(with_scorer, default)
    assert (with_scorer < 0).all()


@pytest.mark.cuda
def test_cuda_fit_unpickles_on_cpu_only_machine(data, tmp_path):
    X, _ = data
    gtn = GTNSampler(**{**FAST, "device": "cuda"}, random_state=0).fit(X)
    path = tmp_path / "gtn.pkl"
    joblib.dump(gtn, path)
    out = tmp_path / "s.npy"
    code = (
        "import joblib, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        f"gtn = joblib.load({str(path)!r})\n"
        "assert gtn.device_ == 'cpu'\n"
        f"np.save({str(out)!r}, gtn.sample(64, random_state=5))\n"
    )
    env = _env_with_package()
    env["CUDA_VISIBLE_DEVICES"] = ""
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    # the in-memory model still runs on the GPU; results agree to float32 accuracy
    assert gtn.device_.startswith("cuda")
    assert_allclose(np.load(out), gtn.sample(64, random_state=5), rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------ auto training
@pytest.mark.parametrize(
    "labeling, batch_norm, patience, validation_fraction",
    [("assignment", False, None, 0.0), ("algorithm1", True, 3, 0.1)],
)
def test_auto_training_follows_the_labeling(
    data, labeling, batch_norm, patience, validation_fraction
):
    # GTNSampler(labeling="algorithm1") alone is the paper's configuration;
    # the assignment labeling trains for max_epochs on all rows
    X, _ = data
    gtn = GTNSampler(
        hidden_layer_sizes=(8, 8),
        max_epochs=2,
        labeling=labeling,
        fit_inverse=False,
        device="cpu",
        random_state=0,
    ).fit(X[:200])
    assert gtn.batch_norm == "auto" and gtn.patience == "auto"  # not overwritten
    assert gtn.validation_fraction == "auto"
    assert (gtn.batch_norm_, gtn.patience_) == (batch_norm, patience)
    assert gtn.validation_fraction_ == validation_fraction
    callbacks = dict(gtn.net_.callbacks_)
    if patience is None:
        assert "early_stopping" not in callbacks
        assert gtn.best_validation_loss_ is None
    else:
        assert callbacks["early_stopping"].patience == patience
    has_bn = any(
        isinstance(m, torch.nn.BatchNorm1d) for m in gtn.net_.module_.modules()
    )
    assert has_bn == batch_norm
    explicit = clone(gtn).set_params(batch_norm=2, patience=7).fit(X[:200])
    assert (explicit.batch_norm_, explicit.patience_) == (2, 7)
    # early stopping needs held-out rows: "auto" then holds out 10%
    assert explicit.validation_fraction_ == 0.1


def test_validation_without_early_stopping_keeps_the_last_epoch(data):
    X, _ = data
    gtn = GTNSampler(
        hidden_layer_sizes=(8, 8),
        max_epochs=4,
        patience=None,
        validation_fraction=0.25,
        fit_inverse=False,
        device="cpu",
        random_state=0,
    ).fit(X[:200])
    assert "early_stopping" not in dict(gtn.net_.callbacks_)
    losses = gtn.net_.history[:, "valid_loss"]
    assert gtn.n_epochs_ == gtn.best_epoch_ == 4 and len(losses) == 4
    assert gtn.best_validation_loss_ == losses[-1]
    assert gtn.validation_fraction_ == 0.25
    batches = gtn.net_.history[-1, "batches"]
    assert sum(b.get("train_batch_size", 0) for b in batches) == 150
    assert sum(b.get("valid_batch_size", 0) for b in batches) == 50


def test_adam_is_fused_where_torch_has_it(data, monkeypatch):
    X, _ = data
    params = dict(hidden_layer_sizes=(8,), max_epochs=1, device="cpu", random_state=0)
    gtn = GTNSampler(**params).fit(X[:100])
    fused = runtime_module._fused_adam("cpu")
    for net in (gtn.net_, gtn.inverse_net_):
        assert bool(net.optimizer_.defaults["fused"]) is fused
    # a torch without it (CPU before 2.4): the plain Adam, same API
    runtime_module._fused_adam.cache_clear()
    real_adam = torch.optim.Adam

    def adam_without_fused(params, **kwargs):
        if kwargs.get("fused"):
            raise RuntimeError("fused=True requires CUDA tensors")
        return real_adam(params, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", adam_without_fused)
    try:
        assert runtime_module._fused_adam("cpu") is False
    finally:
        runtime_module._fused_adam.cache_clear()
    monkeypatch.setattr(base_module, "_fused_adam", lambda device_type: False)
    plain = GTNSampler(**params).fit(X[:100])
    assert not plain.net_.optimizer_.defaults["fused"]


@pytest.mark.parametrize("make", ["gtn", "ae"])
def test_a_diverging_training_loss_is_an_error_naming_lr(make):
    # D-2: lr=1e30 trains to an infinite or NaN loss; fit says so, naming lr,
    # and leaves the estimator unfitted
    from sklearn_gtn import ConvAutoencoder

    rng = np.random.RandomState(0)
    if make == "gtn":
        est = GTNSampler(hidden_layer_sizes=(8,), max_epochs=3, lr=1e30, device="cpu")
        X = rng.uniform(size=(100, 2))
    else:
        est = ConvAutoencoder(latent_dim=2, max_epochs=3, lr=1e30, device="cpu")
        X = rng.uniform(size=(20, 1, 4, 4))
    with pytest.raises(ValueError, match=r"training loss became .* lr=1e\+30"):
        est.fit(X)
    assert not hasattr(est, "n_epochs_")


def test_unstandardised_data_beyond_float32_is_refused_naming_x():
    X = np.random.RandomState(0).uniform(size=(50, 2)) * 1e39
    with pytest.raises(ValueError, match="X holds values beyond the float32 range"):
        GTNSampler(**FAST, standardize=False).fit(X)


def test_data_whose_deviation_overflows_is_refused_naming_x():
    # D-2: |x| > 1e154 overflows the variance; every sample would be inf
    X = np.random.RandomState(0).uniform(size=(50, 2)) * 1e200
    with pytest.raises(ValueError, match="X holds values too large to standardise"):
        GTNSampler(**FAST).fit(X)
    # below the overflow the same data fits and samples finite values
    gtn = GTNSampler(**FAST).fit(X / 1e100)
    assert np.isfinite(gtn.sample(10, random_state=0)).all()


# ------------------------------------------------------------------ pandas
@pytest.fixture(scope="module")
def frame_model(data):
    pd = pytest.importorskip("pandas")
    X, _ = data
    frame = pd.DataFrame(X[:300], columns=["width", "height"])
    return GTNSampler(**FAST, random_state=0).fit(frame), frame


def test_fitted_on_a_dataframe_returns_dataframes(frame_model):
    gtn, frame = frame_model
    S = gtn.sample(5, random_state=0)
    assert list(S.columns) == ["width", "height"]
    assert (S.dtypes == np.float64).all()
    Z = np.random.RandomState(0).standard_normal((4, 2))
    back = gtn.inverse_transform(Z)
    assert list(back.columns) == ["width", "height"]
    path = gtn.interpolate(frame.iloc[0], frame.iloc[1], n_steps=3)
    assert list(path.columns) == ["width", "height"] and len(path) == 3
    # the numbers are those of the array API
    assert_array_equal(S.to_numpy(), gtn._decode(gtn._draws(5, 0)[0]))
    # several paths at once stay a 3-D array
    paths = gtn.interpolate(frame.iloc[:2], frame.iloc[2:4], n_steps=3)
    assert isinstance(paths, np.ndarray) and paths.shape == (2, 3, 2)


def test_feature_names_out_are_the_input_columns(frame_model):
    gtn, _ = frame_model
    assert gtn.get_feature_names_out().tolist() == ["width", "height"]


def test_set_output_pandas_for_transform(frame_model):
    gtn, frame = frame_model
    plain = gtn.transform(frame)
    assert isinstance(plain, np.ndarray)
    twin = pickle.loads(pickle.dumps(gtn)).set_output(transform="pandas")
    codes = twin.transform(frame.iloc[10:15])
    assert list(codes.columns) == ["width", "height"]
    assert list(codes.index) == list(range(10, 15))
    # 5 rows against 300: other kernels, equal to rounding
    assert_allclose(codes.to_numpy(), plain[10:15], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="transform must be 'default', 'pandas'"):
        twin.set_output(transform="arrow")


def test_arrays_in_arrays_out(fitted):
    assert isinstance(fitted.sample(3, random_state=0), np.ndarray)
    assert fitted.get_feature_names_out().tolist() == ["x0", "x1"]


def test_a_sample_larger_than_memory_is_refused_before_work(fitted, monkeypatch):
    # D-12: sample(2**63) used to fail inside torch with a TypeError; any
    # request whose codes and samples exceed the machine's memory is refused
    # naming n_samples, before drawing anything
    monkeypatch.setattr(torch, "randn", _raise_if_called)
    for n in (2**63, 2**40):
        with pytest.raises(ValueError, match=f"n_samples={n} asks for .* GiB"):
            fitted.sample(n)
