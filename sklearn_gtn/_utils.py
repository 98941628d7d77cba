"""Small helpers shared by the labeling engine and the estimators (no scikit-learn)."""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import re
import warnings

import numpy as np
import torch

__all__ = [
    "resolve_device",
    "as_float64_tensor",
    "check_nonnegative_real",
    "check_positive_int",
    "is_auto",
    "float32_matmul_highest",
    "torch_threads",
    "torch_threads_exactly",
    "cpu_threads",
    "power_of_two_for",
    "named_input_errors",
]


def resolve_device(device, *, name: str = "device") -> torch.device:
    """Turn a user's ``device`` argument into a :class:`torch.device`.

    ``"auto"`` means CUDA when available, else CPU. ``"cuda"`` (or ``"cuda:N"``)
    on a machine without CUDA is an error, not a silent fall back to the CPU.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}, str or torch.device
        The requested device.
    name : str, default="device"
        Name of the argument, used in error messages.

    Returns
    -------
    torch.device
    """
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"{name}={device!r} is not a valid device; use 'auto', 'cpu', "
                "'cuda' or 'cuda:N'."
            ) from exc
    else:
        raise TypeError(
            f"{name} must be 'auto', a device string or a torch.device, "
            f"got {type(device).__name__}."
        )
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{name}={device!r} was requested but CUDA is not available on "
                "this machine; use device='auto' or 'cpu'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"{name}={device!r}: this machine has only "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    elif dev.type != "cpu":
        raise ValueError(
            f"{name}={device!r} is not supported; use 'auto', 'cpu' or 'cuda'."
        )
    return dev


def as_float64_tensor(A, *, name: str) -> torch.Tensor:
    """Validate a 2-D real array (NumPy, torch or array-like) and return float64.

    The returned tensor stays on the input's device when ``A`` is a tensor and is
    on the CPU otherwise. Raises ``TypeError`` for non-numeric or complex data and
    ``ValueError`` for wrong shapes, empty arrays and non-finite values.
    """
    if isinstance(A, torch.Tensor):
        if A.is_complex():
            raise TypeError(f"{name} must be real-valued, got a complex tensor.")
        if A.dtype == torch.bool:
            A = A.to(torch.float64)
        t = A.detach()
    else:
        if hasattr(A, "toarray") or type(A).__module__.startswith("scipy.sparse"):
            raise TypeError(
                f"{name} is a sparse matrix; pass a dense array "
                f"(e.g. {name}.toarray())."
            )
        arr = np.asarray(A)
        if arr.dtype.kind == "c":
            raise TypeError(
                f"{name} must be real-valued, got complex dtype {arr.dtype}."
            )
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must hold numbers, got an array of dtype {arr.dtype}."
            )
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        with warnings.catch_warnings():
            # read-only input (a memmap opened with mode="r", a broadcast view):
            # the tensor shares its memory and is only ever read
            warnings.filterwarnings("ignore", message="The given NumPy array is not")
            t = torch.from_numpy(arr)
    if t.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features), got "
            f"{t.ndim}-D with shape {tuple(t.shape)}; reshape 1-D data with "
            ".reshape(-1, 1)."
        )
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}).")
    t = t.to(torch.float64)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinity.")
    return t.contiguous()


def check_positive_int(value, *, name: str, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def check_nonnegative_real(value, *, name: str) -> float:
    """Return ``value`` as float if it is a finite real number >= 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}.")
    return float(value)


def standardization(X):
    """Per-column ``(mean, scale)`` of ``X`` (float64 rows): the standard
    deviation, with 1 for columns that are constant or constant up to
    rounding (a spread below 10 eps times the mean), so dividing never
    blows rounding noise up. ``ValueError`` when the spread overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))):
        raise ValueError(
            "X holds values too large to standardise (the standard "
            "deviation overflows float64; largest magnitude "
            f"{np.max(np.abs(X)):.3g}); rescale X."
        )
    scale[scale < 10 * np.finfo(np.float64).eps * np.abs(mean)] = 1.0
    scale[scale == 0.0] = 1.0
    return mean, scale


def power_of_two_for(top: float) -> float:
    """The power of two ``2**-e`` that brings ``top`` (a largest magnitude)
    into ``[0.5, 1)``; 1 for 0. Multiplying by it is exact (short of
    subnormal results): the pairing step's scale-free arithmetic."""
    if top == 0.0:
        return 1.0
    _, e = math.frexp(top)  # top = f * 2**e with 0.5 <= f < 1
    return math.ldexp(1.0, -max(e, -1023))  # 2**1023 is the largest finite


def is_dataframe(X) -> bool:
    """Whether ``X`` is a pandas DataFrame (without importing pandas)."""
    return type(X).__name__ == "DataFrame" and hasattr(X, "iloc")


# interpolate: at most this many points per path (a path is drawn or walked,
# not sampled from; the bound keeps n_steps=10**9 from allocating gigabytes)
MAX_STEPS = 1_000_000


def check_n_steps(n_steps) -> int:
    """``n_steps`` of an interpolation: an int in ``[2, MAX_STEPS]``."""
    n_steps = check_positive_int(n_steps, name="n_steps", minimum=2)
    if n_steps > MAX_STEPS:
        raise ValueError(
            f"n_steps must be at most {MAX_STEPS:,} (points per path), got "
            f"{n_steps}; interpolate shorter paths or sample instead."
        )
    return n_steps


@contextlib.contextmanager
def float32_matmul_highest():
    """Run float32 matrix products in full IEEE precision (no TF32/bf16 shortcut).

    The labeling engine bounds the error of its float32 screening products; a
    user's global ``torch.set_float32_matmul_precision("high")`` must not loosen
    that bound behind its back. The previous setting is restored on exit.
    """
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


def is_auto(value, *, name: str, expected: str) -> bool:
    """``True`` for ``"auto"``; any other string raises a ``ValueError`` that
    says what ``name`` takes: ``expected`` (e.g. ``"a bool, an int"``) or
    ``'auto'``."""
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"{name} must be {expected} or 'auto', got {value!r}.")
        return True
    return False


@contextlib.contextmanager
def torch_threads_exactly(n_threads):
    """Run with ``n_threads`` intra-op threads, then restore the setting
    (``None`` leaves torch's setting alone)."""
    previous = torch.get_num_threads()
    if n_threads is None or n_threads == previous:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def torch_threads(n_threads):
    """Run with at most ``n_threads`` intra-op threads, then restore the setting.

    Small torch operations gain nothing from a second thread and, on a busy
    2-core machine, lose several times their cost waiting for it.
    ``None`` leaves torch's setting alone.
    """
    if n_threads is not None and n_threads >= torch.get_num_threads():
        n_threads = None
    return torch_threads_exactly(n_threads)


@contextlib.contextmanager
def named_input_errors(name: str):
    """Make input-validation errors name the argument they are about.

    scikit-learn's ``check_array`` says "could not convert string to float" or
    "Found array with dim 3" without naming the argument. Inside this context
    a plain ``ValueError``/``TypeError`` whose message does not start with
    ``name`` (or ``"Input <name>"``) is raised again, of the same type, as
    ``"<name>: <message>"``.

    Examples
    --------
    >>> from sklearn_gtn._utils import named_input_errors
    >>> with named_input_errors("x_start"):
    ...     float("a")
    Traceback (most recent call last):
    ...
    ValueError: x_start: could not convert string to float: 'a'
    """
    try:
        yield
    except (TypeError, ValueError) as exc:
        message = str(exc)
        if type(exc) not in (TypeError, ValueError) or re.match(
            rf"(Input )?{re.escape(name)}\b", message
        ):
            raise
        raise type(exc)(f"{name}: {message}") from exc


def cpu_threads():
    """Threads a large CPU training step (and the assignment labeling's
    exact solves) use: the machine's policy.

    ``OMP_NUM_THREADS`` when set, else the CPUs this process may run on. It
    never reads ``torch.get_num_threads()``: a fit must not change with the
    caller's thread setting (kernels split over other thread counts round
    differently).
    """
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
