"""Inference precision of GTNSampler and pipelines; BatchNorm on the first k layers."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits

import sklearn_gtn.sampler as sampler_module
from sklearn_gtn import ConvAutoencoder, GTNSampler, make_generative_pipeline
from sklearn_gtn._modules import MLP

FAST = dict(
    hidden_layer_sizes=(32, 32, 32), max_epochs=5, lr=1e-2, batch_size=64, device="cpu"
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _batch_norm_after(module):
    """Indices of the hidden layers (0-based) that a BatchNorm1d follows."""
    after, layer = [], -1
    for m in module.layers:
        if isinstance(m, torch.nn.Linear):
            layer += 1
        elif isinstance(m, torch.nn.BatchNorm1d):
            after.append(layer)
    return after


@pytest.fixture(scope="module")
def square():
    return np.random.RandomState(0).uniform(size=(600, 2)) * [2.0, 1.0] + [5.0, -1.0]


@pytest.fixture(scope="module")
def fitted(square):
    return GTNSampler(**FAST, random_state=0).fit(square)


# ------------------------------------------------------- batch_norm: bool or k
@pytest.mark.parametrize(
    "batch_norm, expected",
    [
        (True, [0, 1, 2, 3]),
        (False, []),
        (0, []),
        (1, [0]),
        (3, [0, 1, 2]),
        (4, [0, 1, 2, 3]),
        (np.int64(2), [0, 1]),
        (np.bool_(True), [0, 1, 2, 3]),
    ],
)
def test_mlp_batch_norm_after_first_k_layers(batch_norm, expected):
    net = MLP(3, 2, hidden_layer_sizes=(8, 8, 8, 8), batch_norm=batch_norm)
    assert _batch_norm_after(net) == expected
    assert net.eval()(torch.zeros(4, 3)).shape == (4, 2)


def test_mlp_paper_celeba_layout():
    net = MLP(100, 100, hidden_layer_sizes=(16,) * 25, batch_norm=20)
    assert _batch_norm_after(net) == list(range(20))


@pytest.mark.parametrize(
    "batch_norm, error, match",
    [
        (-1, ValueError, r"batch_norm.*\[0, 2\].*-1"),
        (3, ValueError, r"\[0, 2\]"),
        (1.0, TypeError, "batch_norm must be a bool or an int"),
        ("yes", TypeError, "batch_norm must be a bool or an int"),
    ],
)
def test_mlp_rejects_bad_batch_norm(batch_norm, error, match):
    with pytest.raises(error, match=match):
        MLP(3, 2, hidden_layer_sizes=(8, 8), batch_norm=batch_norm)


def test_sampler_batch_norm_on_first_k_layers(square):
    gtn = GTNSampler(**FAST, batch_norm=2, random_state=0).fit(square)
    assert _batch_norm_after(gtn.net_.module_) == [0, 1]
    assert _batch_norm_after(gtn.inverse_net_.module_) == [0, 1]
    assert np.isfinite(gtn.sample(20, random_state=0)).all()
    # True and k = number of hidden layers build the same network: same fit
    a = GTNSampler(**FAST, batch_norm=True, random_state=0).fit(square)
    b = GTNSampler(**FAST, batch_norm=3, random_state=0).fit(square)
    assert_array_equal(a.sample(20, random_state=1), b.sample(20, random_state=1))


def _raise_if_called(*args, **kwargs):
    raise AssertionError("labeling ran before the parameters were checked")


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"batch_norm": 4}, ValueError, r"batch_norm.*\[0, 3\]"),
        ({"batch_norm": -1}, ValueError, "batch_norm"),
        ({"batch_norm": "all"}, ValueError, "batch_norm must be a bool, an int or"),
        ({"batch_norm": 1.0}, TypeError, "batch_norm must be a bool or an int"),
        ({"batch_norm": 2, "batch_size": 1}, ValueError, "batch_size must be >= 2"),
        ({"precision": "float16"}, ValueError, "precision must be one of"),
        ({"precision": None}, TypeError, "precision must be one of"),
    ],
)
def test_sampler_rejects_bad_params_before_labeling(params, error, match, monkeypatch):
    monkeypatch.setattr(sampler_module, "label_pairs", _raise_if_called)
    with pytest.raises(error, match=match):
        GTNSampler(**{**FAST, **params}).fit(np.ones((20, 2)))


def test_batch_norm_zero_allows_batch_size_one():
    X = np.random.RandomState(0).normal(size=(30, 1))
    gtn = GTNSampler(
        hidden_layer_sizes=(4,),
        batch_norm=0,
        batch_size=1,
        max_epochs=1,
        validation_fraction=0.0,
        device="cpu",
        random_state=0,
    ).fit(X)
    assert _batch_norm_after(gtn.net_.module_) == []


# ------------------------------------------------------------------ precision
# bfloat16 keeps 8 bits of mantissa (relative rounding 2**-9 ~ 2e-3 per value);
# through a few layers outputs move by about 1e-2 of their spread. A path that
# ignores the weights, the un-standardisation or the codes fails these bounds
# by orders of magnitude; one that silently stays in float32 fails the
# "not equal" check.
def test_sampler_bfloat16_close_to_float32(fitted, square):
    gtn = fitted
    ref = gtn.sample(500, random_state=0)
    gtn.set_params(precision="bfloat16")
    try:
        out = gtn.sample(500, random_state=0)
        codes = gtn.transform(square[:100])
        back = gtn.inverse_transform(codes)
        path = gtn.interpolate(square[0], square[1], n_steps=5)
    finally:
        gtn.set_params(precision="float32")
    assert out.dtype == np.float64 and codes.dtype == np.float64
    assert path.shape == (5, 2)
    spread = square.std(axis=0)
    err = np.abs(out - ref) / spread
    assert not np.array_equal(out, ref)  # the bfloat16 path really ran
    assert err.max() < 0.05  # measured 0.018
    assert np.abs(codes - gtn.transform(square[:100])).max() < 0.05  # 0.0097
    assert np.abs(back - gtn.inverse_transform(codes)).max() / spread.max() < 0.05
    # switching back gives the float32 samples again, bit for bit
    assert_array_equal(gtn.sample(500, random_state=0), ref)


def test_sampler_rejects_bad_precision_after_fit(fitted):
    fitted.set_params(precision="fp16")
    try:
        with pytest.raises(ValueError, match="precision must be one of"):
            fitted.sample(3)
    finally:
        fitted.set_params(precision="float32")


def test_pipeline_switches_precision_without_refitting():
    X = load_digits().images[:300]
    pipe = make_generative_pipeline(
        ConvAutoencoder(latent_dim=3, max_epochs=2, device="cpu", random_state=0),
        GTNSampler(**FAST, random_state=0),
    ).fit(X)
    ref = pipe.sample(64, random_state=0)
    net = pipe[-1].net_
    pipe.set_params(
        convautoencoder__precision="bfloat16", gtnsampler__precision="bfloat16"
    )
    out = pipe.sample(64, random_state=0)
    assert pipe[-1].net_ is net  # not refitted
    assert out.shape == ref.shape == (64, 8, 8) and out.dtype == ref.dtype
    assert not np.array_equal(out, ref)
    # pixels in [0, 16] (std about 4): measured max 0.056, mean 0.0094
    assert np.abs(out - ref).max() < 0.01 * 16
    assert np.abs(out - ref).mean() < 0.0015 * 16
    pipe.set_params(
        convautoencoder__precision="float32", gtnsampler__precision="float32"
    )
    assert_array_equal(pipe.sample(64, random_state=0), ref)
    pipe.set_params(gtnsampler__precision="half")
    with pytest.raises(ValueError, match="precision"):
        pipe.sample(2)


def test_chunk_rows_reuse_weights_of_wide_layers():
    from sklearn_gtn._runtime import chunk_rows

    # width 1200: weights (5.8 MB a layer) outgrow the cache; chunks of at
    # least twice the width, rounded down to a power of two
    assert chunk_rows(MLP(100, 100, hidden_layer_sizes=(1200,) * 2), "cpu") == 2048
    # narrow layers keep the cache-sized rule (2 MiB of activations)
    assert chunk_rows(MLP(5, 5, hidden_layer_sizes=(50,) * 6), "cpu") == 8192
