"""sample() runs in chunks: sized from free GPU memory, smaller after OOM.

Other chunkings run other kernels, so samples are compared to float32
rounding (docs/reproducibility.rst), never bit for bit.
"""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

import sklearn_gtn._base as base_module
import sklearn_gtn._runtime as runtime_module
from sklearn_gtn import GTNSampler
from sklearn_gtn._modules import MLP


@pytest.fixture(scope="module")
def gtn():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    X = np.random.RandomState(0).normal(size=(80, 3))
    model = GTNSampler(
        hidden_layer_sizes=(16, 16), max_epochs=1, device="cpu", random_state=0
    ).fit(X)
    yield model
    torch.set_num_threads(previous)


def test_small_chunk_budget_gives_the_same_samples(gtn, monkeypatch):
    expected = gtn.sample(3000, random_state=4)
    rows = []
    original = runtime_module.chunk_rows

    def small(*args, **kwargs):
        rows.append(original(*args, **kwargs))
        return rows[-1]

    monkeypatch.setattr(runtime_module, "_CHUNK_BYTES_CPU", 4 * 16 * 300)
    monkeypatch.setattr(base_module, "chunk_rows", small)
    assert_allclose(gtn.sample(3000, random_state=4), expected, rtol=1e-4, atol=1e-5)
    assert rows == [256]  # the smallest CPU chunk: 12 forward passes


def test_same_call_gives_the_same_bits(gtn):
    # the CPU chunking depends on the network only: the same call repeats
    a = gtn.sample(20_000, random_state=4)
    np.testing.assert_array_equal(gtn.sample(20_000, random_state=4), a)


def test_out_of_memory_retries_smaller_chunks(gtn, monkeypatch):
    expected = gtn.sample(1000, random_state=0)
    sizes = []
    original = MLP.forward

    def forward(self, x):
        sizes.append(len(x))
        if len(x) > 40:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return original(self, x)

    monkeypatch.setattr(MLP, "forward", forward)
    # the same draws through other chunks: the same samples up to rounding
    assert_allclose(gtn.sample(1000, random_state=0), expected, rtol=1e-4, atol=1e-5)
    assert sizes[:4] == [1000, 250, 62, 15]  # four times smaller each time
    assert set(sizes[4:]) == {15, 10}  # then the same size (and the rest)
    assert sum(sizes[3:]) == 1000  # every row served once


def test_out_of_memory_on_a_single_row_is_raised(gtn, monkeypatch):
    def forward(self, x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(MLP, "forward", forward)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        gtn.sample(10, random_state=0)


@pytest.mark.parametrize(
    "free, expected",
    [(0, 1), (10_000, 1), (2**26, 1024), (2**30, 16384), (2**40, 1 << 18)],
)
def test_cuda_chunk_rows_follow_free_memory(free, expected):
    module = MLP(3, 3, hidden_layer_sizes=(1000, 10))
    # per row: 4 bytes x (4 x 1000 + 3 + 3) = 16,024 bytes; a quarter of free
    assert runtime_module._cuda_chunk_rows(module, free) == expected


@pytest.mark.cuda
def test_cuda_sampling_matches_with_small_free_memory(monkeypatch):
    X = np.random.RandomState(0).normal(size=(80, 3))
    gtn = GTNSampler(
        hidden_layer_sizes=(16,), max_epochs=1, device="cuda", random_state=0
    ).fit(X)
    expected = gtn.sample(5000, random_state=1)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (40_000, 0))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device=None: 0)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 0)
    # same codes; cuBLAS may pick other kernels for other chunk sizes
    np.testing.assert_allclose(
        gtn.sample(5000, random_state=1), expected, rtol=1e-4, atol=1e-5
    )
