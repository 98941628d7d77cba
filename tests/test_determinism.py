"""Same random_state, same bits: fits and samples on the CPU.

On a GPU, see docs/reproducibility.rst: with torch's deterministic
algorithms (the recipe below, run by the CUDA test) fits repeat too.
"""

import os

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from sklearn_gtn import ConvAutoencoder, GTNSampler
from sklearn_gtn._modules import ConvAutoencoderModule

pytestmark = pytest.mark.usefixtures("one_torch_thread")


X = np.random.RandomState(0).normal(size=(150, 3)) ** 2


def _gtn(device="cpu", **params):
    base = dict(hidden_layer_sizes=(12, 12), max_epochs=3, device=device)
    base.update(params)
    return GTNSampler(**base)


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_gtn_fit_is_bit_identical_with_same_random_state():
    a = _gtn(random_state=11).fit(X)
    # unrelated use of the global generators between the fits changes nothing
    torch.rand(10)
    np.random.rand(10)  # noqa: NPY002
    b = _gtn(random_state=11).fit(X)
    _assert_same_state(a.net_.module_, b.net_.module_)
    _assert_same_state(a.inverse_net_.module_, b.inverse_net_.module_)
    assert a.net_.history[:, "train_loss"] == b.net_.history[:, "train_loss"]
    assert_array_equal(a.sample(500, random_state=2), b.sample(500, random_state=2))
    assert_array_equal(a.transform(X), b.transform(X))
    c = _gtn(random_state=12).fit(X)
    assert not torch.equal(
        a.net_.module_.layers[0].weight, c.net_.module_.layers[0].weight
    )


def test_sample_random_state_conventions():
    gtn = _gtn(random_state=0, fit_inverse=False).fit(X)
    assert_array_equal(gtn.sample(50, random_state=5), gtn.sample(50, random_state=5))
    assert not np.array_equal(gtn.sample(50), gtn.sample(50))  # None: fresh draws
    rng_a, rng_b = np.random.RandomState(3), np.random.RandomState(3)
    assert_array_equal(
        gtn.sample(20, random_state=rng_a), gtn.sample(20, random_state=rng_b)
    )


def test_autoencoder_fit_is_bit_identical_with_same_random_state():
    images = np.random.RandomState(1).uniform(size=(16, 1, 4, 4))
    params = dict(
        latent_dim=2, max_epochs=2, batch_size=8, device="cpu", random_state=3
    )
    a = ConvAutoencoder(**params).fit(images)
    b = ConvAutoencoder(**params).fit(images)
    _assert_same_state(a.module_, b.module_)
    assert_array_equal(a.transform(images), b.transform(images))


def test_deterministic_algorithms_recipe_runs_on_cpu():
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        a = _gtn(random_state=4).fit(X)
    finally:
        torch.use_deterministic_algorithms(previous)
    b = _gtn(random_state=4).fit(X)  # the CPU is deterministic anyway
    _assert_same_state(a.net_.module_, b.net_.module_)


@pytest.mark.cuda
def test_deterministic_algorithms_recipe_repeats_cuda_fits():
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        a = _gtn(device="cuda", random_state=4).fit(X)
        b = _gtn(device="cuda", random_state=4).fit(X)
    finally:
        torch.use_deterministic_algorithms(previous)
    _assert_same_state(a.net_.module_, b.net_.module_)
    assert_array_equal(a.sample(100, random_state=0), b.sample(100, random_state=0))


def _fit_with_caller_threads(n_threads, make, data):
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        return make().fit(data)
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("large", [False, True], ids=["serial", "policy"])
def test_autoencoder_fit_ignores_the_callers_thread_setting(monkeypatch, large):
    # D-6: the training thread count comes from the package's one policy
    # (one thread for small work, else OMP_NUM_THREADS or the usable CPUs),
    # not from torch.set_num_threads, so 1 and 2 caller threads fit alike
    import sklearn_gtn._runtime as runtime

    if large:  # every step counts as large work: the machine's thread count
        monkeypatch.setattr(runtime, "_SERIAL_STEP_WORK", 0)
    expected = runtime.cpu_threads() if large else 1
    seen = []
    forward = ConvAutoencoderModule.forward

    def recording(self, x):
        seen.append(torch.get_num_threads())
        return forward(self, x)

    monkeypatch.setattr(ConvAutoencoderModule, "forward", recording)
    images = np.random.RandomState(1).uniform(size=(24, 1, 8, 8))
    params = dict(latent_dim=2, max_epochs=2, batch_size=8, device="cpu")

    def make():
        return ConvAutoencoder(**params, random_state=3)

    a = _fit_with_caller_threads(1, make, images)
    b = _fit_with_caller_threads(2, make, images)
    assert set(seen) == {expected}
    _assert_same_state(a.module_, b.module_)


def test_gtn_fit_ignores_the_callers_thread_setting():
    def make():
        return _gtn(random_state=5)

    a = _fit_with_caller_threads(1, make, X)
    b = _fit_with_caller_threads(2, make, X)
    _assert_same_state(a.net_.module_, b.net_.module_)
