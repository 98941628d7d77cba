"""Data larger than a device's memory: NumPy memmaps in, streamed screening."""

import numpy as np
import pytest
import torch
from _reference import naive_label_pairs

import sklearn_gtn.labeling as labeling
import sklearn_gtn.sampler as sampler_module
from sklearn_gtn import GTNSampler, label_pairs


def _memmap(tmp_path, name, A):
    mm = np.memmap(tmp_path / name, dtype=A.dtype, mode="w+", shape=A.shape)
    mm[:] = A
    mm.flush()
    return np.memmap(tmp_path / name, dtype=A.dtype, mode="r", shape=A.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_label_pairs_reads_memmaps(tmp_path, dtype):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((1500, 12)).astype(dtype)
    Y = rng.standard_normal((1500, 12)).astype(dtype)
    got = label_pairs(_memmap(tmp_path, "x", X), _memmap(tmp_path, "y", Y))
    np.testing.assert_array_equal(got, naive_label_pairs(X, Y))


def test_streamed_screening_matches_naive_loop(monkeypatch):
    # the path GPUs take for data over half of their free memory: state in
    # host memory, X sent to the device chunk by chunk (here the CPU is the
    # "device"); four chunks of 512 x's per block of 64 y's
    monkeypatch.setattr(labeling, "_streams_from_host", lambda *args: True)
    monkeypatch.setattr(labeling, "_STREAM_MIN_COLS", 512)
    rng = np.random.RandomState(1)
    X = rng.standard_normal((2000, 20)) * rng.uniform(0.5, 2, size=20)
    Y = rng.standard_normal((1800, 20))
    X[:100] = X[100:200]  # duplicates: groups still served in norm order
    got = label_pairs(X, Y, device="cpu", max_memory=40_000)
    np.testing.assert_array_equal(got, naive_label_pairs(X, Y))


def test_fit_accepts_a_memmap(tmp_path):
    rng = np.random.RandomState(2)
    X = rng.uniform(size=(400, 2)).astype(np.float32)
    kwargs = dict(hidden_layer_sizes=(16,), max_epochs=3, random_state=0)
    a = GTNSampler(**kwargs).fit(_memmap(tmp_path, "x", X))
    b = GTNSampler(**kwargs).fit(np.array(X))
    np.testing.assert_array_equal(a.sample(50, random_state=1), b.sample(50, 1))


def test_training_data_stays_on_the_cpu_device():
    cpu = torch.device("cpu")
    assert sampler_module._training_data_device(cpu, 1 << 50) == cpu


@pytest.mark.cuda
def test_streamed_gpu_labeling_bounds_device_memory(monkeypatch):
    # every X is "too large": the state stays on the host, products on the GPU
    monkeypatch.setattr(labeling, "_RESIDENT_BYTES_PER_VALUE", 1 << 40)
    rng = np.random.RandomState(3)
    X = rng.standard_normal((60_000, 50))
    Y = rng.standard_normal((60_000, 50))
    expected = label_pairs(X, Y, device="cpu")
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    got = label_pairs(X, Y, device="cuda", max_memory=64 << 20)
    peak = torch.cuda.max_memory_allocated() - before
    np.testing.assert_array_equal(got, expected)
    # one block of products plus one chunk of X; X alone is 12 MB in float32
    assert peak < 4 * (64 << 20)


@pytest.mark.cuda
def test_gpu_fit_with_training_pairs_in_host_memory(monkeypatch):
    monkeypatch.setattr(
        sampler_module, "_training_data_device", lambda device, n: torch.device("cpu")
    )
    X = np.random.RandomState(4).uniform(size=(500, 2))
    gtn = GTNSampler(
        hidden_layer_sizes=(16,), max_epochs=3, device="cuda", random_state=0
    ).fit(X)
    assert gtn.device_.startswith("cuda")
    assert np.isfinite(gtn.sample(100, random_state=0)).all()
