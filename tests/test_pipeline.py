import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _samplers import GaussianSampler
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

import sklearn_gtn
from sklearn_gtn import ConvAutoencoder, GenerativePipeline, make_generative_pipeline

TESTS = Path(__file__).resolve().parent

# GTNSampler lives on the sampler branch (issue 3) until the branches merge;
# these tests then run against it.
GTNSampler = getattr(sklearn_gtn, "GTNSampler", None)
needs_gtn = pytest.mark.skipif(GTNSampler is None, reason="GTNSampler not merged")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _subspace_data(n=300, d=6, k=3, seed=0):
    """Points on a k-dimensional linear subspace of R^d (PCA(k) is exact)."""
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, k)) @ rng.normal(size=(k, d)) + 5.0


def _energy_distance_reference(X, Y):
    def mean_dist(A, B):
        return np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)).mean()

    return np.sqrt(2 * mean_dist(X, Y) - mean_dist(X, X) - mean_dist(Y, Y))


def _digit_images(n=300):
    return load_digits().images[:n]


def _ae(**params):
    base = dict(latent_dim=4, max_epochs=2, batch_size=64, device="cpu", random_state=0)
    base.update(params)
    return ConvAutoencoder(**base)


@pytest.fixture(scope="module")
def image_pipe():
    return make_generative_pipeline(_ae(), GaussianSampler()).fit(_digit_images())


def test_make_generative_pipeline_names_steps():
    pipe = make_generative_pipeline(StandardScaler(), PCA(3), GaussianSampler())
    assert isinstance(pipe, GenerativePipeline)
    assert list(pipe.named_steps) == ["standardscaler", "pca", "gaussiansampler"]
    assert isinstance(pipe[:-1], GenerativePipeline)


def test_sample_shapes_and_reproducibility_with_scaler_and_pca():
    X = _subspace_data()
    pipe = make_generative_pipeline(StandardScaler(), PCA(3), GaussianSampler()).fit(X)
    a = pipe.sample(50, random_state=1)
    assert a.shape == (50, 6)
    np.testing.assert_array_equal(a, pipe.sample(50, random_state=1))
    assert not np.allclose(a, pipe.sample(50, random_state=2))
    assert not np.allclose(pipe.sample(50), pipe.sample(50))  # None: fresh draws
    assert pipe.sample().shape == (1, 6)
    # Samples come back in input units and on the data's subspace.
    np.testing.assert_allclose(a.mean(axis=0), X.mean(axis=0), atol=1.0)
    np.testing.assert_allclose(pipe.inverse_transform(pipe.transform(a)), a, atol=1e-8)


def test_sample_inverts_earlier_steps_in_reverse_order():
    X = _subspace_data()
    pipe = make_generative_pipeline(StandardScaler(), PCA(3), GaussianSampler()).fit(X)
    codes = pipe[-1].sample(7, random_state=3)
    scaler, pca = pipe[0], pipe[1]
    expected = scaler.inverse_transform(pca.inverse_transform(codes))
    np.testing.assert_allclose(pipe.sample(7, random_state=3), expected)


def test_sample_images_in_input_layout_and_range(image_pipe):
    images = _digit_images()
    out = image_pipe.sample(6, random_state=0)
    assert out.shape == (6, 8, 8)
    assert out.min() >= images.min() - 1e-6 and out.max() <= images.max() + 1e-6
    np.testing.assert_array_equal(out, image_pipe.sample(6, random_state=0))


def test_plain_pipeline_generates_through_inverse_transform(image_pipe):
    plain = Pipeline(image_pipe.steps)
    codes = np.random.RandomState(0).standard_normal((5, 4))
    assert plain.inverse_transform(codes).shape == (5, 8, 8)


def test_interpolate_endpoints_are_the_inputs_on_exact_reducers():
    X = _subspace_data()
    pipe = make_generative_pipeline(StandardScaler(), PCA(3), GaussianSampler()).fit(X)
    path = pipe.interpolate(X[0], X[1], n_steps=7)
    assert path.shape == (7, 6)
    np.testing.assert_allclose(path[0], X[0], atol=1e-6)
    np.testing.assert_allclose(path[-1], X[1], atol=1e-6)
    # Linear pieces here: the midpoint is the mean of the endpoints.
    np.testing.assert_allclose(path[3], (X[0] + X[1]) / 2, atol=1e-6)
    batch = pipe.interpolate(X[:4], X[4:8], n_steps=3)
    assert batch.shape == (4, 3, 6)
    np.testing.assert_allclose(batch[:, 0], X[:4], atol=1e-6)


def test_interpolate_images_between_reconstructions(image_pipe):
    images = _digit_images()
    path = image_pipe.interpolate(images[0], images[1], n_steps=5)
    assert path.shape == (5, 8, 8)
    recon = image_pipe.inverse_transform(image_pipe.transform(images[:2]))
    np.testing.assert_allclose(path[0], recon[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], recon[1], atol=1e-5)
    assert np.abs(path[0] - images[0]).mean() < np.abs(path[0] - images[1]).mean()
    assert image_pipe.interpolate(images[:3], images[3:6], n_steps=4).shape == (
        3,
        4,
        8,
        8,
    )


def test_interpolate_without_sampler_interpolate_uses_code_line():
    X = _subspace_data()
    pipe = make_generative_pipeline(PCA(3), KernelDensity()).fit(X)
    path = pipe.interpolate(X[0], X[1], n_steps=3)
    np.testing.assert_allclose(path[1], (X[0] + X[1]) / 2, atol=1e-6)


def test_interpolate_bad_input():
    X = _subspace_data()
    pipe = make_generative_pipeline(PCA(3), GaussianSampler()).fit(X)
    with pytest.raises(ValueError, match="x_start must be one input of shape"):
        pipe.interpolate(X[0, :4], X[1, :4])
    with pytest.raises(ValueError, match="same shape"):
        pipe.interpolate(X[:2], X[2:5])
    with pytest.raises(ValueError, match="n_steps"):
        pipe.interpolate(X[0], X[1], n_steps=1)


def _standardised(A, X):
    """``A`` in the units of the scored ``X``: each column divided by the
    standard deviation of that column of ``X`` (constant columns: by 1)."""
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    return A / scale


def test_score_is_negative_energy_distance_in_input_space():
    X = _subspace_data()
    pipe = make_generative_pipeline(StandardScaler(), PCA(3), GaussianSampler()).fit(X)
    X_test = _subspace_data(n=80, seed=0)
    samples = pipe.sample(80, random_state=0)
    # in standardised units of the input space, so every column counts
    expected = -_energy_distance_reference(
        _standardised(X_test, X_test), _standardised(samples, X_test)
    )
    assert pipe.score(X_test) == pytest.approx(expected, rel=1e-6)
    assert pipe.score(X_test) == pipe.score(X_test)  # fixed seed: deterministic


def test_score_compares_latent_dimensions_in_input_space():
    # The data have 3 intrinsic dimensions: a 1-D latent space must score worse,
    # although in its own latent space it would look at least as good.
    X = _subspace_data(n=400)
    X_test = _subspace_data(n=200, seed=0)
    scores = {
        k: make_generative_pipeline(PCA(k), GaussianSampler()).fit(X).score(X_test)
        for k in (1, 3)
    }
    assert scores[3] > scores[1]


def test_image_score_flattens_inputs(image_pipe):
    images = _digit_images()
    score = image_pipe.score(images[:50])
    samples = image_pipe.sample(50, random_state=0).reshape(50, -1)
    flat = images[:50].reshape(50, -1)
    ref = -_energy_distance_reference(
        _standardised(flat, flat), _standardised(samples, flat)
    )
    assert score == pytest.approx(ref, rel=1e-6)


def test_sample_needs_invertible_steps_and_a_sampler():
    X = _subspace_data()
    no_inverse = make_generative_pipeline(Normalizer(), GaussianSampler()).fit(X)
    assert not hasattr(no_inverse, "sample")
    with pytest.raises(AttributeError, match="no inverse_transform"):
        try:
            no_inverse.sample(2)
        except AttributeError as exc:
            raise exc.__cause__ from None
    no_sampler = make_generative_pipeline(PCA(3), StandardScaler()).fit(X)
    assert not hasattr(no_sampler, "sample")


def test_sample_errors():
    pipe = make_generative_pipeline(PCA(3), GaussianSampler())
    with pytest.raises(NotFittedError):
        pipe.sample(2)
    pipe.fit(_subspace_data())
    with pytest.raises(ValueError, match="n_samples"):
        pipe.sample(0)


def _grid_search(n_jobs):
    pipe = make_generative_pipeline(_ae(), GaussianSampler())
    search = GridSearchCV(
        pipe, {"convautoencoder__latent_dim": [2, 5]}, cv=2, n_jobs=n_jobs
    )
    return search.fit(_digit_images(200))


@pytest.fixture(scope="module")
def grid_search_serial():
    return _grid_search(n_jobs=1)


def test_grid_search_over_latent_dim_refits_and_samples(grid_search_serial):
    search = grid_search_serial
    assert search.best_params_["convautoencoder__latent_dim"] in (2, 5)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores <= 0)
    best = search.best_estimator_
    assert (
        best.named_steps["convautoencoder"].latent_dim
        == (search.best_params_["convautoencoder__latent_dim"])
    )
    assert best.sample(4, random_state=0).shape == (4, 8, 8)


def test_grid_search_parallel_matches_serial(grid_search_serial):
    parallel = _grid_search(n_jobs=2)
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"],
        grid_search_serial.cv_results_["mean_test_score"],
        rtol=1e-5,
    )
    assert parallel.best_params_ == grid_search_serial.best_params_
    assert parallel.best_estimator_.sample(3, random_state=0).shape == (3, 8, 8)


def test_pickles_load_in_fresh_process_with_identical_samples(
    tmp_path, image_pipe, grid_search_serial
):
    (tmp_path / "pipe.pkl").write_bytes(pickle.dumps(image_pipe))
    (tmp_path / "search.pkl").write_bytes(pickle.dumps(grid_search_serial))
    script = textwrap.dedent(
        f"""
        import pickle, sys
        import numpy as np, torch
        sys.path.insert(0, {str(TESTS)!r})  # for the test-only GaussianSampler
        torch.set_num_threads(1)  # as in the test process: same kernels, same bits
        d = {str(tmp_path)!r}
        for name in ("pipe", "search"):
            model = pickle.load(open(f"{{d}}/{{name}}.pkl", "rb"))
            np.save(f"{{d}}/{{name}}.npy", model.sample(5, random_state=0)
                    if name == "pipe" else
                    model.best_estimator_.sample(5, random_state=0))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=TESTS.parent)
    np.testing.assert_array_equal(
        np.load(tmp_path / "pipe.npy"), image_pipe.sample(5, random_state=0)
    )
    np.testing.assert_array_equal(
        np.load(tmp_path / "search.npy"),
        grid_search_serial.best_estimator_.sample(5, random_state=0),
    )


@needs_gtn
def test_scaler_pca_gtn_sampler_pipeline():
    X = _subspace_data(n=400)
    gtn = GTNSampler(hidden_layer_sizes=(16, 16), max_epochs=5, random_state=0)
    pipe = make_generative_pipeline(StandardScaler(), PCA(3), gtn).fit(X)
    samples = pipe.sample(20, random_state=0)
    assert samples.shape == (20, 6)
    np.testing.assert_array_equal(samples, pipe.sample(20, random_state=0))
    # Generated points stay on the data's 3-D subspace (PCA inverts onto it).
    resid = samples - pipe[:-1].inverse_transform(pipe[:-1].transform(samples))
    assert np.abs(resid).max() < 1e-8
    assert pipe.interpolate(X[0], X[1], n_steps=5).shape == (5, 6)
    assert np.isfinite(pipe.score(X[:100]))


@needs_gtn
def test_grid_search_latent_dim_with_gtn_sampler():
    pipe = make_generative_pipeline(
        _ae(), GTNSampler(hidden_layer_sizes=(16, 16), max_epochs=3, random_state=0)
    )
    search = GridSearchCV(pipe, {"convautoencoder__latent_dim": [2, 5]}, cv=2)
    search.fit(_digit_images(200))
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert best.sample(4, random_state=0).shape == (4, 8, 8)
    images = _digit_images(2)
    assert best.interpolate(images[0], images[1], n_steps=4).shape == (4, 8, 8)


def test_score_is_energy_scorer_on_flattened_inputs():
    from sklearn_gtn.metrics import energy_scorer

    X = _subspace_data()
    pipe = make_generative_pipeline(StandardScaler(), PCA(3), GaussianSampler()).fit(X)
    assert pipe.score(X) == energy_scorer(pipe, X)


def test_score_of_a_table_with_categories_runs_after_the_encoder():
    pd = pytest.importorskip("pandas")
    from sklearn_gtn import TabularEncoder

    rng = np.random.RandomState(0)
    df = pd.DataFrame(
        {"x": rng.normal(size=200), "c": rng.choice(["a", "b", "c"], size=200)}
    )
    pipe = make_generative_pipeline(
        TabularEncoder(random_state=0), GaussianSampler()
    ).fit(df)
    near = pipe.score(df)
    shifted = pipe.score(df.assign(x=df["x"] + 3.0))
    assert near <= 0.0 and shifted < near
