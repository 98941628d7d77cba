"""Runtime policy of the torch estimators: devices, threads, chunk sizes.

Lowest floor of the estimators' house: it imports nothing from the package
above ``_utils`` and ``_precision``. What it decides: whether this torch has a
fused Adam for a device, where training pairs live, how many rows one forward
pass takes, how many intra-op threads training and inference use, and how a
fitted skorch net moves to the CPU.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ._precision import check_precision, inference_precision
from ._utils import cpu_threads, torch_threads_exactly

__all__ = [
    "check_output_size",
    "chunk_rows",
    "run_chunked",
    "seeded",
    "torch_threads_exactly",
    "training_threads",
]

# device types on which torch's Adam may have a fused implementation (CUDA
# since torch 2.0, the CPU since 2.4): checked once by building one
_FUSED_ADAM_DEVICES = ("cpu", "cuda")


@functools.cache
def _fused_adam(device_type):
    """Whether this torch has a fused Adam for ``device_type``."""
    if device_type not in _FUSED_ADAM_DEVICES:
        return False
    try:
        param = torch.zeros(1, device=device_type, requires_grad=True)
        torch.optim.Adam([param], fused=True)
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


# Rows per forward pass in sample/transform/inverse_transform. On the CPU a
# chunk's activations should stay in cache (about 2 MiB per layer; chunked
# passes run several times faster than one huge pass: docs/benchmarks.rst,
# "Sampling, fitting").
# On a GPU, large chunks; both bound the memory used whatever n_samples is.
_CHUNK_BYTES_CPU = 1 << 21
_CHUNK_ROWS_CUDA = 1 << 18
# GPU inference chunks are sized so that one chunk's activations take at most
# this fraction of the free device memory; an out-of-memory error makes the
# chunk four times smaller, down to one row.
_CUDA_FREE_FRACTION = 0.25


def _training_data_device(device, n_bytes):
    """Where the training pairs live: on the training device when they take at
    most a quarter of its free memory, else in host memory, from which skorch
    moves each batch to the device (data larger than a GPU's memory)."""
    if device.type != "cuda":
        return device
    free, _ = torch.cuda.mem_get_info(device)
    return device if n_bytes <= free // 4 else torch.device("cpu")


def _linear_layers(module):
    """The ``Linear`` layers of ``module`` and the width of the widest."""
    linear = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    return linear, max((m.out_features for m in linear), default=1)


def _cuda_chunk_rows(module, free_bytes, *, row_bytes=None):
    """Rows per forward pass on a GPU with ``free_bytes`` of free memory.

    A chunk keeps two float32 activations of the widest layer alive per row
    (input and output of the layer running), budgeted twice over for the
    allocator's slack, plus the input and the output rows (or ``row_bytes``
    per row when given); the budget is a
    quarter of the free memory, and the result a power of two between 1 and
    ``_CHUNK_ROWS_CUDA``.
    """
    if row_bytes is None:
        linear, widest = _linear_layers(module)
        ends = sum((linear[0].in_features, linear[-1].out_features)) if linear else 2
        per_row = 4 * (4 * widest + ends)
    else:
        per_row = max(1, int(row_bytes))
    budget = int(_CUDA_FREE_FRACTION * free_bytes) // per_row
    rows = max(1, min(_CHUNK_ROWS_CUDA, budget))
    return 1 << (rows.bit_length() - 1)


def _net_to_cpu(net):
    """A copy of a fitted skorch net with every tensor on the CPU."""
    twin = copy.deepcopy(net)
    twin.device = "cpu"
    for name in twin._modules + twin._criteria:
        getattr(twin, name + "_").to("cpu")
    for name in twin._optimizers:
        for state in getattr(twin, name + "_").state.values():
            for key, value in state.items():
                if torch.is_tensor(value):
                    state[key] = value.to("cpu")
    return twin


# Below this many multiply-adds per layer and minibatch, a CPU training step is
# latency-bound: extra intra-op threads only add synchronisation (measured in
# docs/benchmarks.rst, "Sampling, fitting").
_SERIAL_STEP_WORK = 1 << 22


# CPU inference of networks no wider than this runs each chunk on one thread,
# and up to torch's thread count of chunks at once: a chunk's layers are small
# products that lose more to synchronisation than they gain from a second
# thread (docs/benchmarks.rst, "Sampling, fitting").
_SERIAL_INFERENCE_WIDTH = 256


def training_threads(device, work):
    """Intra-op threads for training on ``device`` (None: not the CPU).

    ``work`` is the multiply-adds of the largest layer for one minibatch:
    below ``_SERIAL_STEP_WORK`` one thread, else :func:`cpu_threads`.
    """
    if torch.device(device).type != "cpu":
        return None
    return 1 if work < _SERIAL_STEP_WORK else cpu_threads()


def _cuda_devices():
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


@contextlib.contextmanager
def seeded(seed):
    """Seed torch's global generators with ``seed`` inside ``fork_rng``.

    ``torch.manual_seed`` seeds the CPU and every CUDA device, so the state of
    all of them is forked: the caller's generators are left as they were.
    """
    with torch.random.fork_rng(devices=_cuda_devices(), device_type="cuda"):
        torch.manual_seed(int(seed))
        yield


# ---------------------------------------------------------------- inference
def chunk_rows(module, device, *, row_bytes=None, cpu_rows=None):
    """Rows per forward pass of ``module`` on ``device``.

    On the CPU the chunking is fixed by the network alone (never by free
    memory or the thread count), so the same call on the same machine gives
    the same bits: ``cpu_rows`` when given, else a power of two between 256
    and 65,536 that keeps a chunk's activations near the cache size (and at
    least twice the widest layer, so that wide layers reuse their weights).
    On a GPU it follows the free memory (see :func:`_cuda_chunk_rows`);
    ``row_bytes`` overrides the activation bytes per row estimated from the
    ``Linear`` layers.
    """
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        # blocks torch's caching allocator holds but does not use are free too
        cached = torch.cuda.memory_reserved(device)
        cached -= torch.cuda.memory_allocated(device)
        return _cuda_chunk_rows(module, free + cached, row_bytes=row_bytes)
    if cpu_rows is not None:
        return int(cpu_rows)
    widest = _linear_layers(module)[1]
    rows = max(_CHUNK_BYTES_CPU // (4 * widest), 2 * widest)
    rows = max(256, min(1 << 16, rows))
    return 1 << (rows.bit_length() - 1)  # a power of two


def serial_inference(module, device):
    """Whether each CPU chunk runs on one thread (several chunks at once)."""
    if torch.device(device).type != "cpu":
        return False
    return _linear_layers(module)[1] <= _SERIAL_INFERENCE_WIDTH


def _as_input_tensor(inputs):
    if torch.is_tensor(inputs):
        return inputs
    return torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))


def run_chunked(fn, inputs, *, device, precision, rows, serial=False, dtype=np.float64):
    """``fn`` applied to ``inputs`` chunk by chunk; a NumPy array of ``dtype``.

    The one inference runner of the estimators. ``inputs`` (a CPU tensor or
    array, cast to float32) is cut into chunks of ``rows`` rows; each chunk
    runs in inference mode (bfloat16 autocast with
    ``precision="bfloat16"``) on ``device``, and its output is copied into
    one preallocated array. With ``serial`` (small networks on the CPU) each
    chunk runs on one thread and up to torch's thread count of chunks run at
    once, chunk ``w, w + workers, ...`` on worker ``w``: the rows of every
    chunk are the same as on one thread, so are the results. A CUDA
    out-of-memory error makes the chunk four times smaller and retries it,
    down to one row.
    """
    precision = check_precision(precision)
    device = torch.device(device)
    inputs = _as_input_tensor(inputs)
    n = inputs.shape[0]
    step = max(1, int(rows))
    out = None

    def store(start, result):
        nonlocal out
        if out is None:
            out = np.empty((n, *result.shape[1:]), dtype=dtype)
        out[start : start + len(result)] = result

    def forward(chunk):
        return fn(chunk.to(device)).float().cpu().numpy()

    n_chunks = -(-n // step)
    workers = min(torch.get_num_threads(), n_chunks) if serial else 1
    if workers > 1:
        with torch_threads_exactly(1):
            # the first chunk alone: it sizes the output array
            with inference_precision(precision, device):
                store(0, forward(inputs[:step]))

            def share(w):
                # inference mode and autocast are per thread
                with inference_precision(precision, device):
                    for start in range(step + w * step, n, workers * step):
                        store(start, forward(inputs[start : start + step]))

            with ThreadPoolExecutor(workers) as pool:
                for future in [pool.submit(share, w) for w in range(workers)]:
                    future.result()
        return out
    with (
        inference_precision(precision, device),
        torch_threads_exactly(1 if serial else None),
    ):
        start = 0
        while start < n:
            try:
                result = forward(inputs[start : start + step])
            except torch.cuda.OutOfMemoryError:
                if step == 1:
                    raise
                torch.cuda.empty_cache()
                # retry this chunk, four times smaller
                step = max(1, min(step, n - start) // 4)
                continue
            store(start, result)
            start += len(result)
    if out is None:  # no rows
        out = np.empty((0,), dtype=dtype)
    return out


def check_output_size(n_rows, row_values, *, name, value=None, value_bytes=8):
    """Refuse a request whose output exceeds this machine's memory.

    ``n_rows * row_values`` values of ``value_bytes`` each (a float64 output,
    plus what the request holds besides) are needed; ``name`` (and
    ``value``, default ``n_rows``) name the argument in the error.
    """
    value = n_rows if value is None else value
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # not POSIX
        total = 1 << 50
    need = value_bytes * int(n_rows) * max(1, int(row_values))
    if need > total:
        raise ValueError(
            f"{name}={value!r} asks for {need / 2**30:.3g} GiB of output, more "
            f"than this machine's memory ({total / 2**30:.3g} GiB); ask for "
            "fewer rows at a time."
        )


def _is_cuda_net(net):
    return net is not None and str(net.device).startswith("cuda")
