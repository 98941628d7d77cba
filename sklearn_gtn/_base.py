"""The floor the estimators stand on: checks, seeding, the net, pickling.

:class:`TorchEstimator` holds what the torch estimators (:class:`GTNSampler`,
:class:`ConvAutoencoder`, and those to come) share, once:

- the checks of the parameters they have in common (``lr``, ``batch_size``,
  ``max_epochs``, ``verbose``, ``precision``, ``device`` and
  ``accelerator``), and the device policy (:meth:`_resolve_device`:
  ``device_`` is always a str);
- seeding and threads of a training run (:meth:`_training_run`: torch's
  generators forked over every CUDA device, the thread count chosen by
  :func:`sklearn_gtn._runtime.training_threads`, never by the caller's
  setting);
- building and training a skorch net (:meth:`_fit_net`: callbacks, fused
  Adam, Accelerate, validation turned off by ``train_split=None``, a
  training loss that is not finite refused naming ``lr``, a swallowed Ctrl-C
  raised again);
- inference through the one chunked runner of
  :func:`sklearn_gtn._runtime.run_chunked` (:meth:`_run`);
- pickling (:class:`VersionedPickle`): networks moved to the CPU, the package
  version stamped, the accelerator dropped.

:class:`VersionedPickle` and :func:`check_float32_range` serve estimators
without a network of their own (:class:`GTNMixture`) too.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import numbers
import re
import sys

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, PrintLog
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from skorch.utils import noop

from . import _accelerate
from ._batching import _TensorBatches
from ._fitting import raise_if_interrupted
from ._precision import check_precision
from ._runtime import (
    _CHUNK_ROWS_CUDA,
    _fused_adam,
    _is_cuda_net,
    _net_to_cpu,
    chunk_rows,
    run_chunked,
    seeded,
    serial_inference,
    torch_threads_exactly,
    training_threads,
)
from ._utils import check_positive_int, is_auto, resolve_device
from ._version import __version__
from ._versioning import SaveMixin, warn_if_other_version

__all__ = [
    "TorchEstimator",
    "VersionedPickle",
    "check_float32_range",
    "in_training_columns",
]

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _is_auto_str(value):
    return isinstance(value, str) and value == "auto"


def check_float32_range(A, *, name):
    """Refuse values the float32 networks cannot take (``|a| > 3.4e38``)."""
    A = np.asarray(A)
    if A.size and not np.all(np.abs(A) <= _FLOAT32_MAX):
        worst = float(np.max(np.abs(A)))
        raise ValueError(
            f"{name} holds values beyond the float32 range the networks run in "
            f"(largest magnitude {worst:.3g} > {_FLOAT32_MAX:.3g}, in the "
            "estimator's units); rescale the data."
        )
    return A


def in_training_columns(est, out):
    """``out`` as a pandas DataFrame with the training columns of ``est``.

    Only when ``est`` was fitted on a DataFrame whose column names are all
    strings (``feature_names_in_``) and ``out`` is 2-D; otherwise ``out``
    unchanged. pandas is imported only then.
    """
    columns = getattr(est, "feature_names_in_", None)
    if columns is None or np.ndim(out) != 2 or out.shape[1] != len(columns):
        return out
    import pandas as pd

    return pd.DataFrame(out, columns=list(columns))


class VersionedPickle:
    """Pickles stamped with the package version, without run-time handles.

    Loading a pickle of another version warns with
    :class:`~sklearn_gtn.GTNVersionWarning`. Parameters named in
    ``_PICKLE_DROPS`` (handles on this run's processes, like an
    ``accelerator``) are pickled as ``None``. Constructor parameters that a
    pickle lacks (added after it was written) take their defaults, so that
    ``get_params``, ``repr`` and ``clone`` keep working; the fitted
    attributes, not these, decide what a fitted model outputs.
    """

    _PICKLE_DROPS = ("accelerator",)

    def __getstate__(self):
        state = dict(super().__getstate__())
        for name in self._PICKLE_DROPS:
            if name in state:
                state[name] = None
        state["_sklearn_gtn_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_sklearn_gtn_version", None)
        warn_if_other_version(version, what=type(self).__name__)
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if param.default is not param.empty:
                state.setdefault(name, param.default)
        super().__setstate__(state)


class _FiniteLoss(Callback):
    """Stop training with a ``ValueError`` naming ``lr`` when an epoch's
    training loss is not finite (an overflowing learning rate)."""

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get("train_loss")
        if loss is not None and not math.isfinite(loss):
            raise ValueError(
                f"the training loss became {loss} at epoch {len(net.history)} "
                f"with lr={net.lr!r}: the learning rate is too large for this "
                "network; lower lr."
            )


class _NamedPrintLog(PrintLog):
    """skorch's epoch table, headed by the network's name, without colour
    codes when the sink is not a terminal."""

    def __init__(
        self,
        title=None,
        keys_ignored=None,
        sink=print,
        tablefmt="simple",
        floatfmt=".4f",
        stralign="right",
    ):
        super().__init__(
            keys_ignored=keys_ignored,
            sink=sink,
            tablefmt=tablefmt,
            floatfmt=floatfmt,
            stralign=stralign,
        )
        self.title = title

    def on_train_begin(self, net, **kwargs):
        if self.title:
            self._sink(f"{self.title}:", net.verbose)
        return super().on_train_begin(net, **kwargs)

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not _stdout_is_terminal():
            text = _ANSI.sub("", text)
        return text


def _stdout_is_terminal():
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class TorchEstimator(VersionedPickle, SaveMixin):
    """Shared glue of the torch estimators (a mixin before ``BaseEstimator``).

    Subclasses keep their own parameters and fit steps; they call
    :meth:`_check_torch_params` first in ``fit``, train inside
    :meth:`_training_run` with :meth:`_fit_net`, and run inference with
    :meth:`_run`. ``device_`` (a str) names the device of the fitted
    networks.
    """

    # CPU rows per inference chunk; None: sized from the network's Linear layers
    _CPU_CHUNK_ROWS = None

    # ----------------------------------------------------------------- checks
    def _check_torch_params(self, *, auto=()):
        """Check the parameters every torch estimator has; the device.

        ``lr``, ``batch_size`` and ``max_epochs`` may also be ``"auto"``
        where named in ``auto`` (the subclass resolves them in ``fit``).
        """
        value = self.lr
        if not ("lr" in auto and _is_auto_str(value)):
            also = " or 'auto'" if "lr" in auto else ""
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"lr must be a real number{also}, got {value!r}.")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"lr must be finite and > 0, got {value!r}.")
        for name in ("batch_size", "max_epochs"):
            value = getattr(self, name)
            if name in auto and is_auto(value, name=name, expected="a positive int"):
                continue
            check_positive_int(value, name=name)
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_positive_int(self.verbose, name="verbose", minimum=0)
        check_precision(self.precision)
        return self._resolve_device()

    def _resolve_device(self):
        """The training device: the accelerator's, or ``device`` resolved."""
        accelerator = _accelerate.check_accelerator(self.accelerator)
        if accelerator is not None:
            return _accelerate.accelerated_device(accelerator, self.device)
        return resolve_device(self.device)

    def _random_state(self):
        """``check_random_state(random_state)``, alike on every process."""
        return _accelerate.synced_random_state(self.accelerator, self.random_state)

    def _is_main(self):
        return _accelerate.is_main_process(self.accelerator)

    # --------------------------------------------------------------- training
    @contextlib.contextmanager
    def _training_run(self, seed, device, work):
        """Context of a training run: torch seeded with ``seed`` (caller's
        generators untouched), the thread count of the one policy for
        ``work`` multiply-adds per layer and minibatch."""
        with seeded(seed), torch_threads_exactly(training_threads(device, work)):
            yield

    def _fit_net(
        self,
        net_class,
        X,
        y,
        *,
        device,
        valid=None,
        patience=None,
        title=None,
        lr=None,
        batch_size=None,
        max_epochs=None,
        callbacks=(),
        **params,
    ):
        """Build a skorch ``net_class`` and fit it on ``(X, y)``.

        ``valid`` (a pair of tensors or ``None``) is the validation data; with
        ``patience`` early stopping restores the best weights. ``None``
        turns validation off (``train_split=None``). ``params`` go to the net
        (module, criterion, optimiser arguments); ``lr``, ``batch_size`` and
        ``max_epochs`` default to the estimator's parameters; ``callbacks`` are added
        ``(name, callback)`` pairs. Returns the fitted net,
        detached from any accelerator, in evaluation mode, with no reference
        to the validation data.
        """
        verbose = int(self.verbose) if self._is_main() else 0
        callbacks = [("finite_loss", _FiniteLoss()), *callbacks]
        kwargs = {"train_split": None}
        if valid is not None:
            kwargs["train_split"] = predefined_split(Dataset(*valid))
            if patience is not None:
                stopper = EarlyStopping(
                    monitor="valid_loss",
                    patience=patience,
                    load_best=True,
                    sink=print if verbose else noop,
                )
                callbacks.append(("early_stopping", stopper))
        kwargs["callbacks__print_log"] = _NamedPrintLog(title) if verbose else None
        if _fused_adam(torch.device(device).type):
            # one kernel per step instead of one per parameter tensor
            # (docs/benchmarks.rst, "Sampling, fitting")
            kwargs["optimizer__fused"] = True
        if self.accelerator is not None:
            base = net_class
            net_class = _accelerate.accelerated_net_class(base)
            _accelerate.net_kwargs(self.accelerator, kwargs, callbacks)
        else:
            kwargs["device"] = str(device)
        net = net_class(
            optimizer=torch.optim.Adam,
            criterion=torch.nn.MSELoss,
            lr=float(self.lr if lr is None else lr),
            batch_size=int(self.batch_size if batch_size is None else batch_size),
            max_epochs=int(self.max_epochs if max_epochs is None else max_epochs),
            iterator_train=_TensorBatches,
            iterator_train__shuffle=True,
            iterator_valid=_TensorBatches,
            iterator_valid__batch_size=_CHUNK_ROWS_CUDA,
            callbacks=callbacks,
            verbose=verbose,
            **params,
            **kwargs,
        )
        net.fit(X, y)
        raise_if_interrupted(net)  # skorch swallows Ctrl-C
        if self.accelerator is not None:
            net = _accelerate.detach_accelerator(net, base)
        # keep no reference to the validation data in the fitted model
        net.train_split = None
        net.module_.eval()
        return net

    @staticmethod
    def _best_epoch(net):
        """The epoch whose weights ``net`` kept: early stopping's, else the
        last (early stopping ignores improvements below its threshold, so
        not always the argmin)."""
        stopper = dict(net.callbacks_).get("early_stopping")
        if stopper is not None:
            return int(stopper.best_epoch_)
        return len(net.history)

    # -------------------------------------------------------------- inference
    def _run(self, fn, inputs, *, module=None, dtype=np.float64, row_bytes=None):
        """``fn`` (a module, or a function of ``module``) over ``inputs`` in
        chunks on the fitted device; a NumPy array of ``dtype``."""
        module = fn if module is None else module
        device = torch.device(self.device_)
        module.eval()
        return run_chunked(
            fn,
            inputs,
            device=device,
            precision=self.precision,
            rows=chunk_rows(
                module, device, row_bytes=row_bytes, cpu_rows=self._CPU_CHUNK_ROWS
            ),
            serial=self._CPU_CHUNK_ROWS is None and serial_inference(module, device),
            dtype=dtype,
        )

    # ----------------------------------------------------------------- pickle
    def __getstate__(self):
        state = super().__getstate__()
        moved = False
        for name, value in state.items():
            if isinstance(value, NeuralNet) and _is_cuda_net(value):
                state[name], moved = _net_to_cpu(value), True
            elif isinstance(value, torch.nn.Module) and any(
                t.device.type != "cpu" for t in value.state_dict().values()
            ):
                # never pickle CUDA tensors: a CPU-only machine cannot load them
                state[name], moved = copy.deepcopy(value).to("cpu"), True
        if moved:
            state["device_"] = "cpu"
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if isinstance(getattr(self, "device_", None), torch.device):
            self.device_ = str(self.device_)  # pickles of versions before 0.x
