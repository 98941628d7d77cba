"""A fit that fails or is interrupted leaves the estimator as it was."""

import os

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from sklearn_gtn import ConvAutoencoder, GTNSampler, make_generative_pipeline
from sklearn_gtn._modules import MLP, ConvAutoencoderModule


@pytest.fixture(autouse=True)
def _one_torch_thread(tmp_path, monkeypatch):
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)  # nothing may be written during fit
    yield
    assert os.listdir(tmp_path) == []
    torch.set_num_threads(previous)


def _raise_on_call(monkeypatch, module_cls, exc, at_call):
    """Make the ``at_call``-th forward pass of ``module_cls`` raise ``exc``."""
    original = module_cls.forward
    calls = {"n": 0}

    def forward(self, x):
        calls["n"] += 1
        if calls["n"] == at_call:
            raise exc
        return original(self, x)

    monkeypatch.setattr(module_cls, "forward", forward)
    return calls


def _gtn():
    return GTNSampler(
        hidden_layer_sizes=(6,),
        batch_size=16,
        max_epochs=3,
        device="cpu",
        random_state=0,
    )


X = np.random.RandomState(0).uniform(size=(100, 2))


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError("CUDA out of memory")])
@pytest.mark.parametrize("at_call", [3, 40], ids=["forward-net", "inverse-net"])
def test_interrupted_gtn_fit_leaves_it_unfitted(monkeypatch, exc, at_call):
    calls = _raise_on_call(monkeypatch, MLP, exc, at_call)
    gtn = _gtn()
    with pytest.raises(type(exc) if isinstance(exc, Exception) else exc):
        gtn.fit(X)
    assert calls["n"] >= at_call  # training had started
    with pytest.raises(NotFittedError):
        check_is_fitted(gtn)
    assert not [a for a in vars(gtn) if a.endswith("_")]
    monkeypatch.undo()
    gtn.fit(X)  # fitting again works
    assert_array_equal(
        gtn.sample(5, random_state=0), _gtn().fit(X).sample(5, random_state=0)
    )


def test_interrupted_refit_keeps_previous_model(monkeypatch):
    gtn = _gtn().fit(X)
    before = gtn.sample(20, random_state=1)
    net = gtn.net_
    _raise_on_call(monkeypatch, MLP, KeyboardInterrupt, 5)
    with pytest.raises(KeyboardInterrupt):
        gtn.set_params(max_epochs=2).fit(X[:50] * 3.0)
    check_is_fitted(gtn)
    assert gtn.net_ is net and gtn.max_epochs == 2
    assert_array_equal(gtn.sample(20, random_state=1), before)


def test_keyboard_interrupt_swallowed_by_skorch_is_raised(monkeypatch):
    # skorch catches KeyboardInterrupt in NeuralNet.fit (early stopping uses
    # it); a user's Ctrl-C must still stop GTNSampler.fit
    _raise_on_call(monkeypatch, MLP, KeyboardInterrupt, 2)
    gtn = _gtn()
    with pytest.raises(KeyboardInterrupt, match="interrupted after 1 epoch"):
        gtn.fit(X)
    assert not hasattr(gtn, "net_")


def test_early_stopping_is_not_an_interruption():
    gtn = GTNSampler(
        hidden_layer_sizes=(4,),
        lr=1e-6,
        max_epochs=50,
        patience=1,
        device="cpu",
        random_state=0,
    ).fit(X)
    assert gtn.n_epochs_ < 50  # stopped early, and fit completed


@pytest.mark.parametrize("exc", [KeyboardInterrupt, ValueError("boom")])
def test_interrupted_autoencoder_fit_leaves_it_unfitted(monkeypatch, exc):
    images = np.random.RandomState(0).uniform(size=(20, 1, 4, 4))
    ae = ConvAutoencoder(
        latent_dim=2, batch_size=4, max_epochs=2, device="cpu", random_state=0
    )
    calls = _raise_on_call(monkeypatch, ConvAutoencoderModule, exc, 3)
    with pytest.raises(type(exc) if isinstance(exc, Exception) else exc):
        ae.fit(images)
    assert calls["n"] >= 3
    with pytest.raises(NotFittedError):
        check_is_fitted(ae)
    monkeypatch.undo()
    assert ae.fit(images).transform(images).shape == (20, 2)


def test_interrupted_pipeline_fit_restores_every_step(monkeypatch):
    rng = np.random.RandomState(0)
    data = rng.normal(size=(80, 4))
    pipe = make_generative_pipeline(PCA(2), _gtn())
    _raise_on_call(monkeypatch, MLP, KeyboardInterrupt, 3)
    with pytest.raises(KeyboardInterrupt):
        pipe.fit(data)
    with pytest.raises(NotFittedError):
        check_is_fitted(pipe[0])  # PCA had been fitted, and was rolled back
    with pytest.raises(NotFittedError):
        check_is_fitted(pipe[-1])
    monkeypatch.undo()
    assert pipe.fit(data).sample(3, random_state=0).shape == (3, 4)
