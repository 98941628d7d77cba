"""Runtime policy of the torch estimators: devices, threads, chunk sizes.

Lowest floor of the estimators' house: it imports nothing from the package
above ``_utils`` and ``_precision``. What it decides: whether this torch has a
fused Adam for a device, where training pairs live, how many rows one forward
pass takes, how many intra-op threads training and inference use, and how a
fitted skorch net moves to the CPU.
"""

from __future__ import annotations

import copy
import functools

import torch

from ._precision import inference_precision

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
# chunk's activations should stay in cache (about 2 MiB per layer): for the
# 6 x 50 network, 8,192-row chunks run 4-5x faster than one 1,000,000-row pass.
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


def _cuda_chunk_rows(module, free_bytes):
    """Rows per forward pass on a GPU with ``free_bytes`` of free memory.

    A chunk keeps about two float32 activations of the widest layer alive
    per row (input and output of the layer running), plus the input and the
    output rows; the budget is a quarter of the free memory, and the result
    a power of two between 1 and ``_CHUNK_ROWS_CUDA``.
    """
    linear, widest = _linear_layers(module)
    ends = sum((linear[0].in_features, linear[-1].out_features)) if linear else 2
    per_row = 4 * (4 * widest + ends)
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
# latency-bound: extra intra-op threads only add synchronisation (10-30x slower
# per step on a loaded 2-core machine, for the paper's 6 x 50 network).
_SERIAL_STEP_WORK = 1 << 22


# CPU inference of networks no wider than this runs each chunk on one thread:
# a chunk's layers are small products, and splitting them over two threads
# made sample() 8x slower when another process held a core (171,000 vs
# 1,420,000 rows/s for the default network). Instead, up to torch's thread
# count of chunks run at once, one per thread: 1.10 million rows/s against
# 0.80 million on one thread on an idle 2-core machine, and 0.75 million with
# the other core busy (where splitting every product gave 0.48 million).
_SERIAL_INFERENCE_WIDTH = 256


def _inference_threads(device, module):
    """Intra-op threads for inference on ``device`` (None: leave torch's)."""
    if device.type != "cpu":
        return None
    return 1 if _linear_layers(module)[1] <= _SERIAL_INFERENCE_WIDTH else None


def _forward_into(module, inputs, out, starts, step, precision):
    """CPU forward passes of the chunks at ``starts`` into ``out`` (one
    thread's share: inference mode and autocast are per thread)."""
    with inference_precision(precision, torch.device("cpu")):
        for start in starts:
            result = module(inputs[start : start + step]).float().numpy()
            out[start : start + len(result)] = result


def _training_threads(device, batch_size, sizes, n_features):
    """Intra-op threads for training on ``device`` (None: leave torch's)."""
    if device.type != "cpu":
        return None
    widest = max((*sizes, n_features))
    if batch_size * widest * widest < _SERIAL_STEP_WORK:
        return 1
    return None


def _is_cuda_net(net):
    return net is not None and str(net.device).startswith("cuda")
