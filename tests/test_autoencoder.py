import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

import sklearn_gtn.autoencoder as autoencoder_module
from sklearn_gtn import ConvAutoencoder

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _ae(**params):
    base = dict(latent_dim=3, max_epochs=2, batch_size=32, device="cpu", random_state=0)
    base.update(params)
    return ConvAutoencoder(**base)


def _images(shape, n=24, low=10.0, high=50.0, seed=0):
    return np.random.RandomState(seed).uniform(low, high, size=(n, *shape))


@pytest.mark.parametrize(
    "data_shape, image_shape, expected_image",
    [
        ((2, 8, 8), None, (2, 8, 8)),  # (n, C, H, W)
        ((8, 8), None, (1, 8, 8)),  # (n, H, W)
        ((64,), (8, 8), (1, 8, 8)),  # flat with (H, W)
        ((128,), (2, 8, 8), (2, 8, 8)),  # flat with (C, H, W)
        ((5,), None, (1, 1, 5)),  # flat without image_shape: a 1 x 5 image
    ],
)
def test_transform_and_inverse_shapes_follow_input_layout(
    data_shape, image_shape, expected_image
):
    X = _images(data_shape)
    ae = _ae(image_shape=image_shape).fit(X)
    assert ae.image_shape_ == expected_image
    assert ae.n_features_in_ == int(np.prod(data_shape))
    Z = ae.transform(X)
    assert Z.shape == (len(X), 3)
    assert ae.inverse_transform(Z).shape == X.shape
    # A flat view of image input is accepted by transform too.
    np.testing.assert_allclose(ae.transform(X.reshape(len(X), -1)), Z, rtol=1e-6)


def test_odd_height_and_width_are_padded_and_cropped():
    X = _images((1, 7, 9))
    ae = _ae().fit(X)
    assert ae.module_.encoder.pad_h == 1 and ae.module_.encoder.pad_w == 3
    out = ae.inverse_transform(ae.transform(X))
    assert out.shape == (len(X), 1, 7, 9)
    assert out.flags.c_contiguous
    assert np.isfinite(out).all()


def test_inverse_transform_returns_input_range_and_dtype():
    X = _images((1, 8, 8), low=10.0, high=50.0)
    ae = _ae().fit(X)
    assert ae.data_min_ == pytest.approx(X.min())
    assert ae.data_max_ == pytest.approx(X.max())
    # Tanh output in [-1, 1] maps back into [data_min_, data_max_] ...
    out = ae.inverse_transform(np.random.RandomState(1).normal(size=(50, 3)) * 10)
    assert out.dtype == np.float64
    assert out.min() >= X.min() - 1e-4 and out.max() <= X.max() + 1e-4
    # ... and, centred codes, not near -1 (which would mean no unscaling at all).
    assert out.mean() > 5.0
    # float32 in, float32 out (declared in the tags)
    assert ae.transform(X.astype(np.float32)).dtype == np.float32
    assert ae.inverse_transform(np.zeros((2, 3), np.float32)).dtype == np.float32


def test_training_reconstructs_digits_better_than_the_mean():
    X = load_digits().data[:300]
    ae = ConvAutoencoder(
        latent_dim=5, image_shape=(8, 8), max_epochs=10, batch_size=32, random_state=0
    ).fit(X)
    mse = np.mean((ae.inverse_transform(ae.transform(X)) - X) ** 2)
    assert mse < 0.5 * X.var(axis=0).mean()


def test_fit_reproducible_with_random_state():
    X = _images((1, 8, 8))
    Z1 = _ae(random_state=3).fit(X).transform(X)
    Z2 = _ae(random_state=3).fit(X).transform(X)
    Z3 = _ae(random_state=4).fit(X).transform(X)
    np.testing.assert_array_equal(Z1, Z2)
    assert not np.allclose(Z1, Z3)


def test_fit_leaves_global_torch_rng_untouched():
    X = _images((1, 8, 8))
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _ae(random_state=0).fit(X)
    torch.testing.assert_close(torch.rand(3), expected)


def test_early_stopping_restores_best_weights():
    # A large learning rate makes the validation loss worse after epoch 2.
    X = _images((1, 8, 8), n=30)
    params = dict(lr=0.05, patience=10, validation_fraction=0.5, random_state=0)
    ae = _ae(max_epochs=10, **params).fit(X)
    valid = [row["valid_loss"] for row in ae.history_]
    assert ae.n_epochs_ == 10
    assert ae.best_epoch_ == int(np.argmin(valid)) + 1
    assert ae.best_epoch_ < ae.n_epochs_
    # Same seed, stopped at the best epoch: identical weights to the restored ones.
    ref = _ae(max_epochs=ae.best_epoch_, **params).fit(X)
    np.testing.assert_array_equal(ae.transform(X), ref.transform(X))


def test_validation_fraction_none_runs_all_epochs():
    X = _images((1, 8, 8))
    ae = _ae(max_epochs=3, validation_fraction=None).fit(X)
    assert ae.n_epochs_ == 3 and ae.best_epoch_ == 3
    assert "valid_loss" not in ae.history_[-1]


def test_bfloat16_precision_is_close_to_float32():
    X = _images((3, 16, 16), n=40)
    ae = _ae(max_epochs=3).fit(X)
    Z = ae.transform(X)
    images = ae.inverse_transform(Z)
    ae.set_params(precision="bfloat16")
    Z16, images16 = ae.transform(X), ae.inverse_transform(Z)
    assert Z16.dtype == np.float64 and images16.dtype == np.float64
    assert images16.shape == images.shape
    span = X.max() - X.min()
    assert 0 < np.abs(images16 - images).max() < 0.02 * span
    assert np.abs(Z16 - Z).max() < 0.05 * (np.abs(Z).max() + 1)
    ae.set_params(precision="half")
    with pytest.raises(ValueError, match="precision"):
        ae.inverse_transform(Z)


def test_get_feature_names_out():
    ae = _ae(latent_dim=2).fit(_images((1, 4, 4)))
    assert list(ae.get_feature_names_out()) == ["convautoencoder0", "convautoencoder1"]


def test_verbose_prints_epoch_table(capsys):
    _ae(verbose=1).fit(_images((1, 4, 4)))
    out = capsys.readouterr().out
    assert "train_loss" in out
    assert out.startswith("autoencoder:")  # the table names its network
    assert "\x1b[" not in out  # no colour codes outside a terminal


def test_silent_fit_prints_nothing(capsys):
    # early stopping's closing message too ("Stopping since valid_loss ...")
    ae = _ae(patience=1, max_epochs=6, lr=1e-12).fit(_images((1, 4, 4)))
    assert ae.n_epochs_ < 6  # early stopping ended training
    assert capsys.readouterr().out == ""


def test_not_fitted_errors():
    ae = ConvAutoencoder()
    with pytest.raises(NotFittedError):
        ae.transform(np.zeros((2, 4)))
    with pytest.raises(NotFittedError):
        ae.inverse_transform(np.zeros((2, 5)))


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(latent_dim=0), ValueError, "latent_dim"),
        (dict(latent_dim=2.5), TypeError, "latent_dim"),
        (dict(lr=0.0), ValueError, "lr"),
        (dict(lr="fast"), TypeError, "lr"),
        (dict(weight_decay=-1.0), ValueError, "weight_decay"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(max_epochs=0), ValueError, "max_epochs"),
        (dict(patience=0), ValueError, "patience"),
        (dict(validation_fraction=1.0), ValueError, "validation_fraction"),
        (dict(validation_fraction="10%"), TypeError, "validation_fraction"),
        (dict(image_shape=(2, 2, 2, 2)), ValueError, "image_shape"),
        (dict(image_shape=8), TypeError, "image_shape"),
        (dict(image_shape=(0, 4)), ValueError, "image_shape"),
        (dict(image_shape=(3, 3)), ValueError, "image_shape"),  # 9 != 16 values
        (dict(device="tpu"), ValueError, "device"),
        (dict(verbose="loud"), TypeError, "verbose"),
        (dict(precision="float16"), ValueError, "precision"),
        (dict(precision=None), TypeError, "precision"),
    ],
)
def test_bad_parameters_raise_before_training(monkeypatch, params, error, match):
    def no_training(*args, **kwargs):
        raise AssertionError("training started before the parameters were checked")

    monkeypatch.setattr(autoencoder_module, "NeuralNet", no_training)
    with pytest.raises(error, match=match):
        ConvAutoencoder(**params).fit(np.zeros((10, 16)))


@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((10, 1, 4, 4), np.nan), "NaN"),
        (np.zeros(16), "2D array"),
        (np.zeros((2, 1, 1, 4, 4)), "5-D"),
        (np.zeros((1, 16)), "n_samples=1"),
        (np.zeros((0, 16)), "0 sample"),
    ],
)
def test_bad_data_raises_before_training(monkeypatch, X, match):
    def no_training(*args, **kwargs):
        raise AssertionError("training started before the data were checked")

    monkeypatch.setattr(autoencoder_module, "NeuralNet", no_training)
    with pytest.raises(ValueError, match=match):
        ConvAutoencoder().fit(X)


def test_image_shape_must_agree_with_image_input():
    with pytest.raises(ValueError, match="does not match"):
        _ae(image_shape=(4, 4)).fit(_images((1, 8, 8)))


def test_transform_rejects_other_shapes():
    ae = _ae().fit(_images((1, 7, 9)))
    with pytest.raises(ValueError, match="fitted on images of shape"):
        ae.transform(_images((1, 9, 7)))
    with pytest.raises(ValueError, match="features"):
        ae.transform(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="expecting 3 features"):
        ae.inverse_transform(np.zeros((3, 4)))


def test_pickle_round_trip_in_fresh_process(tmp_path):
    X = _images((1, 7, 9))
    ae = _ae().fit(X)
    Z = np.random.RandomState(0).normal(size=(5, 3))
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(ae))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Z.npy", Z)
    script = textwrap.dedent(
        f"""
        import pickle, numpy as np, torch
        torch.set_num_threads(1)  # as in this process: same kernels, same bits
        d = {str(tmp_path)!r}
        ae = pickle.load(open(d + "/model.pkl", "rb"))
        np.save(d + "/codes.npy", ae.transform(np.load(d + "/X.npy")))
        np.save(d + "/images.npy", ae.inverse_transform(np.load(d + "/Z.npy")))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)
    np.testing.assert_array_equal(np.load(tmp_path / "codes.npy"), ae.transform(X))
    np.testing.assert_array_equal(
        np.load(tmp_path / "images.npy"), ae.inverse_transform(Z)
    )


@pytest.mark.cuda
def test_cuda_model_pickles_with_cpu_tensors_only():
    X = _images((1, 8, 8))
    ae = _ae(device="cuda").fit(X)
    state = ae.__getstate__()
    assert all(p.device.type == "cpu" for p in state["module_"].parameters())
    assert next(ae.module_.parameters()).device.type == "cuda"  # original untouched
    loaded = pickle.loads(pickle.dumps(ae))
    assert loaded.device_ == "cpu"
    # the loaded model runs on the CPU, the original on the GPU (cuDNN, with
    # TF32 convolutions by default): the same codes up to those kernels'
    # rounding, not bit for bit
    codes = ae.transform(X)
    np.testing.assert_allclose(
        loaded.transform(X), codes, rtol=1e-2, atol=1e-2 * np.abs(codes).max()
    )
