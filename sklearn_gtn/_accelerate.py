"""Data-parallel training through Hugging Face Accelerate (optional).

The estimators take an ``accelerator`` (an ``accelerate.Accelerator``) and,
when one is given, train their skorch net as a subclass of skorch's
``AccelerateMixin``. Accelerate wraps the module in
``DistributedDataParallel`` (gradients are averaged across processes) and
shards skorch's ``DataLoader``; this module adds what the estimators of this
package need on top:

- :class:`ShardedBatches`: each process takes its share of every minibatch of
  the sampler's slicing iterator (which ``Accelerator.prepare`` does not know),
  with the same number of batches on every process;
- :class:`ReduceLosses`: the epoch's training and validation losses are
  averaged over all processes before early stopping reads them, so every
  process stops at the same epoch and restores the same weights;
- after each training epoch the module's buffers (BatchNorm running
  statistics) are copied from the main process to the others, so validation
  and the fitted model are the same on every process;
- :func:`detach_accelerator`: the fitted net becomes a plain skorch net again
  (unwrapped module and optimiser, no reference to the accelerator), which
  pickles, saves and runs on one process like any other.

Nothing here imports ``accelerate`` unless an accelerator is given.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch.callbacks import Callback

from ._batching import _TensorBatches
from ._utils import resolve_device

__all__ = [
    "accelerated_device",
    "accelerated_net_class",
    "check_accelerator",
    "detach_accelerator",
    "is_main_process",
    "net_kwargs",
    "share_from_main",
    "synced_random_state",
    "ReduceLosses",
    "ShardedBatches",
]


def check_accelerator(accelerator):
    """Return ``accelerator`` if it is None or an ``accelerate.Accelerator``.

    Raises
    ------
    TypeError
        If it is anything else (``accelerate`` is imported only to check).
    """
    if accelerator is None:
        return None
    try:
        from accelerate import Accelerator
    except ImportError:  # then it cannot be an Accelerator
        Accelerator = None
    if Accelerator is None or not isinstance(accelerator, Accelerator):
        raise TypeError(
            "accelerator must be an accelerate.Accelerator or None, got "
            f"{accelerator!r}."
        )
    return accelerator


def accelerated_device(accelerator, device):
    """The device this process trains on: the accelerator's.

    ``device="auto"`` defers to the accelerator; any other value must name
    the same kind of device (``"cpu"`` or ``"cuda"``), else ``ValueError``.
    """
    target = torch.device(accelerator.device)
    if target.type == "cpu":  # "cpu:0" on several CPU processes
        target = torch.device("cpu")
    if isinstance(device, str) and device == "auto":
        return target
    wanted = resolve_device(device)
    if wanted.type != target.type:
        raise ValueError(
            f"device={device!r} conflicts with the accelerator, which places "
            f"this process on {str(target)!r}; leave device='auto' when an "
            "accelerator is given (Accelerate places the data and the model)."
        )
    return target


def is_main_process(accelerator):
    """True without an accelerator, else on Accelerate's main process."""
    return accelerator is None or bool(accelerator.is_main_process)


def _distributed(accelerator):
    return accelerator is not None and accelerator.num_processes > 1


def synced_random_state(accelerator, random_state):
    """``check_random_state(random_state)``, the same on every process.

    An int seeds the same generator everywhere. ``None`` or a
    ``RandomState`` instance may differ between processes: a seed drawn on
    the main process is broadcast and seeds a new generator.
    """
    if not _distributed(accelerator) or (
        isinstance(random_state, numbers.Integral)
        and not isinstance(random_state, bool)
    ):
        return check_random_state(random_state)
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    (seed,) = share_from_main(
        accelerator, torch.tensor([seed], device=accelerator.device)
    )
    return np.random.RandomState(int(seed.item()))


def share_from_main(accelerator, *tensors):
    """The main process's values of ``tensors`` (None stays None), on all."""
    if not _distributed(accelerator):
        return tensors
    from accelerate.utils import broadcast

    # the collective runs on the accelerator's device (NCCL needs CUDA
    # tensors): the pairs may have been kept in host memory when large
    device = accelerator.device
    return tuple(
        None if t is None else broadcast(t.to(device).contiguous(), from_process=0)
        for t in tensors
    )


def net_kwargs(accelerator, kwargs, callbacks):
    """Add the skorch arguments of an accelerated net to ``kwargs``.

    ``callbacks`` (a list of ``(name, callback)``) gets the loss reduction in
    front, so that early stopping and the printed log see averaged losses.
    skorch's ``AccelerateMixin`` always sets the sink of the ``print_log``
    callback, so that callback is kept; it prints nothing when the net's
    ``verbose`` is 0.
    """
    callbacks.insert(0, ("reduce_losses", ReduceLosses()))
    if "callbacks__print_log" in kwargs and kwargs["callbacks__print_log"] is None:
        del kwargs["callbacks__print_log"]
    kwargs.update(
        accelerator=accelerator,
        # Accelerate places module and batches unless told not to
        device=None if accelerator.device_placement else str(accelerator.device),
        # the estimator unwraps after early stopping restored the best
        # (wrapped) weights; see detach_accelerator
        unwrap_after_train=False,
        # not the accelerator's bound ``print``: the fitted net keeps no
        # reference to the accelerator
        callbacks__print_log__sink=print,
    )
    return kwargs


_NET_CLASSES = {}


def accelerated_net_class(base):
    """``base`` (a skorch net class) with skorch's ``AccelerateMixin``."""
    cls = _NET_CLASSES.get(base)
    if cls is None:
        from skorch.hf import AccelerateMixin

        cls = type(
            f"Accelerated{base.__name__}",
            (_DataParallelMixin, AccelerateMixin, base),
            {"__module__": __name__},
        )
        _NET_CLASSES[base] = cls
    return cls


class _DataParallelMixin:
    """Sharding of the sampler's batches and synchronised buffers."""

    def _initialize_accelerator(self):
        # AccelerateMixin's, except that a criterion without trainable
        # parameters (MSELoss) is not prepared: on several processes
        # Accelerate would wrap it in DistributedDataParallel, which refuses
        # modules without parameters
        if self._wrapped_with_accelerator:
            return self
        from skorch.callbacks import LRScheduler

        prepare = self.accelerator.prepare
        for kind, names in (
            ("criterion", self._criteria),
            ("module", self._modules),
            ("optimizer", self._optimizers),
        ):
            with self._current_init_context(kind):
                for name in names:
                    obj = getattr(self, name + "_")
                    if kind == "criterion" and not (
                        isinstance(obj, torch.nn.Module)
                        and any(p.requires_grad for p in obj.parameters())
                    ):
                        continue
                    if isinstance(obj, (torch.nn.Module, torch.optim.Optimizer)):
                        setattr(self, name + "_", prepare(obj))
        for _, callback in self.callbacks_:
            if isinstance(callback, LRScheduler):
                callback.policy_ = prepare(callback.policy_)
        self._wrapped_with_accelerator = True
        return self

    def get_iterator(self, dataset, training=False):
        # AccelerateMixin prepares (shards) DataLoaders; it returns other
        # iterables unchanged
        iterator = super().get_iterator(dataset, training=training)
        if isinstance(iterator, _TensorBatches):
            iterator = ShardedBatches(iterator, self.accelerator, training=training)
        return iterator

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if training and iterator is not None and _distributed(self.accelerator):
            # DDP copies the main process's buffers at the start of each
            # training step; after the last one every process has updated its
            # own BatchNorm statistics. Copy them once more, so validation and
            # the fitted model agree on every process.
            for name in self._modules:
                module = getattr(self, name + "_")
                if isinstance(module, torch.nn.Module):
                    share_from_main(self.accelerator, *module.buffers())


class ShardedBatches:
    """This process's share of the minibatches of a ``_TensorBatches``.

    Global batches hold ``batch_size`` rows per process (Accelerate's
    convention; ``batch_size`` rows in all when the accelerator splits
    batches), in the order of one shuffle drawn from torch's global generator,
    seeded alike on every process. Each is cut into one contiguous part per
    process, so every process runs the same number of steps (which
    ``DistributedDataParallel`` needs). A trailing global batch with fewer
    than two rows per process is merged into the previous one. With one
    process the batches are those of ``_TensorBatches`` itself.
    """

    def __init__(self, batches, accelerator, *, training=True):
        self.batches = batches
        self.num_processes = int(accelerator.num_processes)
        self.process_index = int(accelerator.process_index)
        # skorch leaves placement to Accelerate, which only moves DataLoaders
        self.device = getattr(accelerator, "device", None)
        split = bool(getattr(accelerator, "split_batches", False))
        self.batch_size = batches.batch_size * (1 if split else self.num_processes)
        n = len(batches.X)
        if training and n < 2 * self.num_processes:
            raise ValueError(
                f"data-parallel training on {self.num_processes} processes needs "
                f"at least {2 * self.num_processes} training rows (two per "
                f"process), got {n}."
            )

    def __len__(self):
        return len(self.batches._stops(self.batch_size, 2 * self.num_processes))

    def __iter__(self):
        p, i = self.num_processes, self.process_index
        for X, y, start, stop in self.batches.spans(self.batch_size, 2 * p):
            size = stop - start
            low, high = start + size * i // p, start + size * (i + 1) // p
            if high > low:  # validation rows may run out on some processes
                Xb, yb = X[low:high], y[low:high]
                if self.device is not None:
                    Xb, yb = Xb.to(self.device), yb.to(self.device)
                yield Xb, yb


class ReduceLosses(Callback):
    """Average the epoch's losses over all processes (weighted by rows).

    Every process computes its losses on its own shard of the data; early
    stopping on these local values could stop the processes at different
    epochs (and hang the training). This callback, placed before early
    stopping, replaces ``train_loss`` and ``valid_loss`` of the epoch (and
    their ``_best`` flags) with the mean over all rows of all processes.
    Without an accelerator, or on a single process, it does nothing.
    """

    def on_epoch_end(self, net, **kwargs):
        accelerator = getattr(net, "accelerator", None)
        if not _distributed(accelerator):
            return
        history = net.history
        row = history[-1]
        for prefix in ("train", "valid"):
            key, size = f"{prefix}_loss", f"{prefix}_batch_size"
            batches = [b for b in row.get("batches", []) if key in b]
            local = torch.tensor(
                [sum(b[key] * b[size] for b in batches), sum(b[size] for b in batches)],
                dtype=torch.float64,
                device=accelerator.device,
            )
            total, count = accelerator.reduce(local, reduction="sum").tolist()
            if count == 0:
                continue
            value = total / count
            earlier = [r[key] for r in history[:-1] if key in r]
            history.record(key, value)
            history.record(f"{key}_best", not earlier or value < min(earlier))


def detach_accelerator(net, base):
    """Make a net trained by ``accelerated_net_class(base)`` a plain ``base``.

    The module(s) and criteria are unwrapped from ``DistributedDataParallel``
    (on every process, after early stopping restored its weights), the
    optimisers from Accelerate's wrapper, and the accelerator-only attributes
    and callbacks are removed; ``device`` becomes the accelerator's device.
    """
    accelerator = net.accelerator
    net._unwrap_accelerator()
    from accelerate.optimizer import AcceleratedOptimizer

    for name in net._optimizers:
        optimizer = getattr(net, name + "_")
        if isinstance(optimizer, AcceleratedOptimizer):
            setattr(net, name + "_", optimizer.optimizer)
    for key in (
        "accelerator",
        "unwrap_after_train",
        "_wrapped_with_accelerator",
        "callbacks__print_log__sink",
    ):
        vars(net).pop(key, None)
        net._params_to_validate.discard(key)
    net.callbacks = [item for item in net.callbacks or [] if item[0] != "reduce_losses"]
    net.callbacks_ = [item for item in net.callbacks_ if item[0] != "reduce_losses"]
    net.__class__ = base
    net.device = str(accelerated_device(accelerator, "auto"))
    return net
