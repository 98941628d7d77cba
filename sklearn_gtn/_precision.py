"""Numeric precision of inference (sampling, transform, inverse_transform).

Training always runs in float32. Inference can run in bfloat16 autocast: on a
CPU with AVX512-BF16 (or AMX) and on recent GPUs this shortens the forward
pass of the convolutional decoder (docs/benchmarks.rst, "Image sampling"),
for an error of about 1e-3 on outputs in [-1, 1]. The estimators take a
``precision`` parameter and run their forward passes inside
:func:`inference_precision`.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = ["PRECISIONS", "check_precision", "inference_precision"]

PRECISIONS = ("float32", "bfloat16")


def check_precision(precision, *, name: str = "precision") -> str:
    """Return ``precision`` if it is one of :data:`PRECISIONS`, else raise."""
    if not isinstance(precision, str):
        raise TypeError(
            f"{name} must be one of {PRECISIONS}, got {type(precision).__name__}."
        )
    if precision not in PRECISIONS:
        raise ValueError(f"{name} must be one of {PRECISIONS}, got {precision!r}.")
    return precision


@contextlib.contextmanager
def inference_precision(precision: str, device: torch.device):
    """Inference mode, plus bfloat16 autocast on ``device`` when asked for.

    Parameters
    ----------
    precision : {"float32", "bfloat16"}
        ``"float32"`` runs the module as it is; ``"bfloat16"`` runs matrix
        products and convolutions in bfloat16 (``torch.autocast``). Outputs
        may then be bfloat16: convert them with ``.float()``.
    device : torch.device
        Device the forward pass runs on.

    Examples
    --------
    >>> import torch
    >>> from sklearn_gtn._precision import inference_precision
    >>> lin = torch.nn.Linear(4, 2)
    >>> with inference_precision("bfloat16", torch.device("cpu")):
    ...     out = lin(torch.ones(3, 4))
    >>> out.dtype
    torch.bfloat16
    """
    check_precision(precision)
    with torch.inference_mode():
        if precision == "bfloat16":
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
                yield
        else:
            yield
