"""How a GTN's forward map is trained: budget, width, schedule, selection, noise.

The estimators resolve their ``"auto"`` training parameters here and get the
skorch callbacks that carry them out:

- **budget** (:func:`resolve_max_epochs`): counted in optimizer updates, not
  epochs, so that a 124-row table gets thousands of updates and a million
  rows do not pay for 60 full passes;
- **width and depth** (:func:`resolve_hidden_layer_sizes`): the paper's
  6 x 50 network for ``d <= 2`` (small, so sampling stays fast), six wider
  layers beyond, and nine layers of 192 past 16 features from 2,000 training
  rows on; trained on batches of 256 rows;
- **schedule** (:func:`lr_schedule_callback`): a cosine decay of the learning
  rate (peak 3e-3) over the budget, stepped every update;
- **relabeling** (:class:`Relabel`): a few times during training the pairs
  are solved again in the network's output space, so that the regression
  fits pairs a smooth map can produce instead of averaging between
  conflicting ones (the cause of under-dispersed samples in higher
  dimensions);
- **recalibration** (:func:`recalibration`): the Gaussian transport map that
  moves the samples' mean and covariance onto the data's, folded into the
  output layer;
- **selection** (an option, off by default; :class:`SampleQualityCheckpoint`):
  at a few checkpoints the
  forward map generates samples, compared with held-out rows by the energy
  distance (standardised units); the checkpoint with the best distance among
  those that do not copy training rows (memorisation ratio at least 0.9) is
  kept;
- **noise** (:func:`resolve_noise_scale`): an elementwise Gaussian term
  added to samples, 0.2 standard deviations of each feature from 2,000
  training rows on (``d > 2``); or, as an option, the per-feature spread of
  the held-out residuals ``h(y) - x`` (:func:`residual_scale`).

With up to 2 features the 2026-11-29 recipe stays (6 x 50, 60 passes,
constant rate 1e-3, no recalibration): it measured better on the toy sets.

The numbers behind the constants are in ``docs/benchmarks.rst`` (section
"Sample quality") and ``benchmarks/results/quality-2026-12-04.md``.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers

import numpy as np
import torch
from skorch.callbacks import Callback, LRScheduler

from ._runtime import run_chunked
from ._utils import check_nonnegative_real, check_positive_int, is_auto
from .assignment import assignment_pairs
from .metrics import energy_distance, memorisation_ratio

__all__ = [
    "AUTO_TRAINING",
    "Relabel",
    "SampleQualityCheckpoint",
    "check_selection",
    "check_training_params",
    "checkpoint_epochs",
    "finish_forward",
    "finish_inverse",
    "fold_into_input",
    "fold_into_output",
    "gaussian_transport",
    "inverse_epochs",
    "kept_epoch",
    "lr_schedule_callback",
    "recalibration",
    "relabel_epochs",
    "repeated",
    "residual_scale",
    "resolve_by_dimension",
    "resolve_hidden_layer_sizes",
    "resolve_max_epochs",
    "resolve_noise_scale",
    "selection_callback",
    "training_callbacks",
]

# "auto" values that depend on the labeling only; the paper's configuration
# (labeling="algorithm1") keeps its network, 60 epochs and early stopping
AUTO_TRAINING = {
    "algorithm1": {
        "hidden_layer_sizes": (50,) * 6,
        "max_epochs": 60,
        "lr": 1e-3,
        "lr_schedule": "constant",
        "selection": None,
        "residual_noise": 0.0,
        "noise_scale": 0.0,
        "batch_size": 128,
        "recalibrate": False,
        "n_relabelings": 0,
    },
    "assignment": {
        "hidden_layer_sizes": "by_dimension",
        "max_epochs": "by_updates",
        "lr": "by_dimension",
        "lr_schedule": "by_dimension",
        "selection": None,
        "residual_noise": 0.0,
        "noise_scale": "by_rows",
        "batch_size": "by_dimension",
        "recalibrate": "by_dimension",
        "n_relabelings": "by_dimension",
    },
}
_LR_SCHEDULES = ("constant", "cosine")
# lr="auto": Adam's usual rate, and three times it for the wider networks
# with the cosine decay (d > 2, assignment labeling)
DEFAULT_LR = 1e-3
WIDE_LR = 3e-3
_SELECTIONS = ("energy", None)

# budget in updates: 60 epochs' worth, but at least _MIN_UPDATES (for d > 2;
# the 2-D toy sets and GTNMixture's pieces kept their 60 epochs) and at most
# _MAX_UPDATES (then never fewer than one epoch); small data are repeated so
# that an epoch has at least _MIN_BATCHES batches (skorch's per-epoch work
# otherwise costs as much as the updates on a 124-row table)
_AUTO_EPOCHS = 60
_MIN_UPDATES = 4000
_FLOOR_BATCH = 128
# batch_size="auto": 128, and 256 for d > 2 with the assignment labeling (the
# six 256-wide layers: twice the rows per step cost 1.5 x the time on two
# threads, and the floor above counts batches of 128 rows)
DEFAULT_BATCH_SIZE = 128
WIDE_BATCH_SIZE = 256
# noise_scale="auto" with the assignment labeling and d > 2: this standard
# deviation (in standard deviations of each feature) from this many training
# rows on; none below. On 4,000 MNIST latents of d = 16 and 32 it lowered the
# C2ST (and the FD at d = 5); on the tables of 124-1,257 rows it raised the
# C2ST (benchmarks/results/quality-2026-12-04-noise.md)
AUTO_NOISE_SCALE = 0.2
NOISE_MIN_ROWS = 2000
# the inverse network's share of the automatic budget (a quarter: the round
# trip of held-out rows as good as with half, benchmarks/results/
# quality-2026-12-05-fd.md)
_INVERSE_SHARE = 0.25
_MAX_UPDATES = 20000
_MIN_BATCHES = 16

# width by dimension: the paper's 6 x 50 up to d = 2, then 6 layers of
# 32 * d units, at least 64 and at most 256
_SMALL_D = 2
_DEPTH = 6
_WIDTH_PER_FEATURE = 32
_MIN_WIDTH, _MAX_WIDTH = 64, 256
# past _DEEP_MIN_FEATURES features with at least _DEEP_MIN_ROWS training rows:
# _DEEP_DEPTH layers of _DEEP_WIDTH. On MNIST latents of d = 32 the depth
# lowered the FD (9 x 192: 2.39 over eight seeds, 6 x 256: 2.88 over four),
# the width kept the C2ST (12 x 160: 0.62, above GaussianMixture's); nine
# layers rather than ten (FD 2.15) keep a 5,000 x 30 table's fit time, with
# the inverse network's quarter budget. At d = 16 ten layers raised the C2ST
# (0.58 against 0.56); small tables copy rows sooner with more layers (breast
# cancer, 398 rows). Figures: benchmarks/results/quality-2026-12-05-fd.md
_DEEP_MIN_FEATURES = 16
_DEEP_MIN_ROWS = 2000
_DEEP_DEPTH, _DEEP_WIDTH = 9, 192

# relabeling: how many times ("auto", d > 2) and over which share of the
# budget fresh draws are paired in output space (the last one leaves a tenth
# of the updates to fit the final pairs)
AUTO_RELABELINGS = 6
_RELABEL_SPAN = 0.9
# rows per forward chunk when the outputs of all training draws are computed
_RELABEL_CHUNK = 65536
# relabelings solve exactly up to this many rows, by "cells" above (an exact
# solve of 3,000 rows costs several seconds, 6 of them more than training)
_RELABEL_EXACT_MAX = 1024

# selection: checkpoints, rows compared, and the memorisation floor
_N_CHECKPOINTS = 8
_SELECTION_MAX_ROWS = 2000
MEMORISATION_FLOOR = 0.9


def check_training_params(estimator):
    """Validate the training parameters; resolve what the labeling decides.

    Returns a dict with ``hidden_layer_sizes`` (a tuple or ``"by_dimension"``),
    ``max_epochs`` (an int or ``"by_updates"``), ``lr``, ``lr_schedule``,
    ``selection``, ``residual_noise``, ``noise_scale`` (a float or
    ``"by_rows"``), ``batch_size`` (an int or ``"by_dimension"``),
    ``recalibrate`` and ``n_relabelings``.
    """
    auto = AUTO_TRAINING[estimator.labeling]
    out = {}
    out["lr"] = auto["lr"] if estimator.lr == "auto" else float(estimator.lr)
    sizes = estimator.hidden_layer_sizes
    if is_auto(sizes, name="hidden_layer_sizes", expected="a tuple of int"):
        out["hidden_layer_sizes"] = auto["hidden_layer_sizes"]
    else:
        out["hidden_layer_sizes"] = _check_sizes(sizes)
    if is_auto(estimator.max_epochs, name="max_epochs", expected="a positive int"):
        out["max_epochs"] = auto["max_epochs"]
    else:
        out["max_epochs"] = check_positive_int(estimator.max_epochs, name="max_epochs")
    schedule = estimator.lr_schedule
    if schedule == "auto":
        schedule = auto["lr_schedule"]
    if schedule not in _LR_SCHEDULES + ("by_dimension",):
        raise ValueError(
            f"lr_schedule must be one of {_LR_SCHEDULES} or 'auto', got {schedule!r}."
        )
    out["lr_schedule"] = schedule
    selection = estimator.selection
    if isinstance(selection, str) and selection == "auto":
        selection = auto["selection"]
    if selection not in _SELECTIONS:
        raise ValueError(
            f"selection must be 'energy', None or 'auto', got {selection!r}."
        )
    out["selection"] = selection
    noise = estimator.residual_noise
    if is_auto(noise, name="residual_noise", expected="a float >= 0"):
        noise = auto["residual_noise"]
    out["residual_noise"] = check_nonnegative_real(noise, name="residual_noise")
    scale = estimator.noise_scale
    if is_auto(scale, name="noise_scale", expected="a float >= 0"):
        # an explicit residual noise replaces the automatic term
        scale = 0.0 if out["residual_noise"] > 0 else auto["noise_scale"]
    else:
        scale = check_nonnegative_real(scale, name="noise_scale")
        if scale > 0 and out["residual_noise"] > 0:
            raise ValueError(
                f"noise_scale={estimator.noise_scale!r} and residual_noise="
                f"{estimator.residual_noise!r} both set the noise added to "
                "samples; pass one of them (the other 0)."
            )
    out["noise_scale"] = scale
    batch_size = estimator.batch_size
    if is_auto(batch_size, name="batch_size", expected="a positive int"):
        out["batch_size"] = auto["batch_size"]
    else:  # checked by TorchEstimator._check_torch_params
        out["batch_size"] = int(batch_size)
    recalibrate = estimator.recalibrate
    if is_auto(recalibrate, name="recalibrate", expected="a bool"):
        out["recalibrate"] = auto["recalibrate"]
    elif not isinstance(recalibrate, (bool, np.bool_)):
        raise TypeError(f"recalibrate must be a bool or 'auto', got {recalibrate!r}.")
    else:
        out["recalibrate"] = bool(recalibrate)
    relabel = estimator.n_relabelings
    if is_auto(relabel, name="n_relabelings", expected="an int >= 0"):
        out["n_relabelings"] = auto["n_relabelings"]
    else:
        out["n_relabelings"] = check_positive_int(
            relabel, name="n_relabelings", minimum=0
        )
    return out


def _check_sizes(sizes):
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = (sizes,)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(
            "hidden_layer_sizes must be a tuple of positive integers or 'auto', "
            f"got {sizes!r}."
        ) from None
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(
                f"hidden_layer_sizes must hold positive integers, got {sizes!r}."
            )
    return tuple(int(s) for s in sizes)


def resolve_by_dimension(value, n_features, small, large):
    """``value``, or for ``"by_dimension"`` ``small`` up to 2 features, else
    ``large`` (in 2-D the 2026-11-29 recipe stays: constant rate, no
    recalibration; both cost quality on the toy sets, see docs/benchmarks.rst).
    """
    if value != "by_dimension":
        return value
    return small if n_features <= _SMALL_D else large


def resolve_noise_scale(value, n_train, n_features):
    """``value``, or for ``"by_rows"`` :data:`AUTO_NOISE_SCALE` from
    :data:`NOISE_MIN_ROWS` training rows on with more than 2 features, else 0.

    Examples
    --------
    >>> resolve_noise_scale("by_rows", 4000, 16)
    0.2
    >>> resolve_noise_scale("by_rows", 400, 16)
    0.0
    >>> resolve_noise_scale(0.5, 10, 2)
    0.5
    """
    if value != "by_rows":
        return value
    if n_features <= _SMALL_D or n_train < NOISE_MIN_ROWS:
        return 0.0
    return AUTO_NOISE_SCALE


def resolve_hidden_layer_sizes(sizes, n_features, n_train=0):
    """The hidden layers for ``n_features`` and ``n_train`` training rows
    (``"by_dimension"`` resolved).

    Examples
    --------
    >>> resolve_hidden_layer_sizes("by_dimension", 2)
    (50, 50, 50, 50, 50, 50)
    >>> resolve_hidden_layer_sizes("by_dimension", 5)
    (160, 160, 160, 160, 160, 160)
    >>> resolve_hidden_layer_sizes("by_dimension", 64, 1000)
    (256, 256, 256, 256, 256, 256)
    >>> resolve_hidden_layer_sizes("by_dimension", 32, 4000)
    (192, 192, 192, 192, 192, 192, 192, 192, 192)
    """
    if sizes != "by_dimension":
        return tuple(sizes)
    if n_features <= _SMALL_D:
        return (50,) * 6
    if n_features > _DEEP_MIN_FEATURES and n_train >= _DEEP_MIN_ROWS:
        return (_DEEP_WIDTH,) * _DEEP_DEPTH
    width = min(_MAX_WIDTH, max(_MIN_WIDTH, _WIDTH_PER_FEATURE * n_features))
    return (width,) * _DEPTH


def resolve_max_epochs(max_epochs, n_train, batch_size, n_features=3):
    """``(epochs, updates, repeats)`` for ``n_train`` pairs.

    ``repeats`` copies of the pairs make one epoch of ``updates / epochs``
    optimizer steps. ``"by_updates"``: 60 epochs' worth of updates, raised to
    at least 4,000 batches of up to 128 rows (2,000 of 256) when
    ``n_features > 2`` and capped at 20,000 (never less than one pass); the
    pairs are repeated so that an epoch has at least 16 batches. An int: that
    many passes over the pairs, not repeated.

    Examples
    --------
    >>> resolve_max_epochs("by_updates", 124, 128)      # wine: 1 batch/pass
    (250, 4000, 16)
    >>> resolve_max_epochs("by_updates", 4000, 256, 16)  # MNIST codes
    (125, 2000, 1)
    >>> resolve_max_epochs("by_updates", 1_000_000, 128)
    (3, 23439, 1)
    >>> resolve_max_epochs("by_updates", 600, 128, n_features=2)
    (16, 304, 4)
    >>> resolve_max_epochs(60, 5000, 128)
    (60, 2400, 1)
    """
    per_pass = max(1, math.ceil(n_train / batch_size))
    if max_epochs != "by_updates":
        return int(max_epochs), int(max_epochs) * per_pass, 1
    floor = 0
    if n_features > _SMALL_D:  # 4,000 batches of 128 rows; fewer larger ones
        floor = min(_MIN_UPDATES, math.ceil(_MIN_UPDATES * _FLOOR_BATCH / batch_size))
    target = min(_MAX_UPDATES, max(floor, _AUTO_EPOCHS * per_pass))
    repeats = max(1, math.ceil(_MIN_BATCHES / per_pass))
    per_epoch = math.ceil(repeats * n_train / batch_size)
    epochs = max(1, round(target / per_epoch))
    return epochs, epochs * per_epoch, repeats


def inverse_epochs(max_epochs, requested):
    """Epochs of the inverse network: a quarter of ``max_epochs`` (at
    least 1) under the automatic budget (``requested == "by_updates"``),
    else ``max_epochs`` (the passes the caller asked for).

    The inverse map is trained on the final pairs (with more than 2 features
    the relabeling made them consistent with a smooth map); it is not
    sampled from, and a quarter of the updates keeps a 5,000-row fit within
    the issue's time. Measured on MNIST codes (d = 16 and 32) and wine, two
    seeds each (``benchmarks/results/quality-2026-12-05-fd.md``); in 2-D it
    also applies, unmeasured there beyond the toy sets' samples, which it
    does not touch.

    Examples
    --------
    >>> inverse_epochs(125, "by_updates"), inverse_epochs(125, 125)
    (32, 125)
    """
    if requested != "by_updates":
        return int(max_epochs)
    return max(1, math.ceil(_INVERSE_SHARE * max_epochs))


def repeated(tensor, repeats):
    """``repeats`` copies of the rows of ``tensor`` (itself when 1)."""
    return tensor if repeats == 1 else tensor.repeat(repeats, 1)


def lr_schedule_callback(schedule, n_updates):
    """A skorch callback for ``schedule``, or ``None`` for a constant rate."""
    if schedule == "constant":
        return None
    return LRScheduler(
        policy=torch.optim.lr_scheduler.CosineAnnealingLR,
        T_max=max(1, n_updates),
        step_every="batch",
    )


def checkpoint_epochs(max_epochs, n_checkpoints=_N_CHECKPOINTS):
    """The epochs after which :class:`SampleQualityCheckpoint` evaluates.

    Evenly spread over training, ending at the last epoch.

    Examples
    --------
    >>> checkpoint_epochs(4000)
    [500, 1000, 1500, 2000, 2500, 3000, 3500, 4000]
    >>> checkpoint_epochs(3)
    [1, 2, 3]
    """
    n = min(n_checkpoints, max_epochs)
    return sorted({max(1, round(max_epochs * (i + 1) / n)) for i in range(n)})


@contextlib.contextmanager
def evaluating(module):
    """``module`` in eval mode (BatchNorm's running statistics), then back
    in the mode it had: the forward passes made during training."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def relabel_epochs(max_epochs, n_relabelings):
    """The epochs after which :class:`Relabel` solves the pairs again.

    Evenly spread over the first nine tenths of training, distinct, and
    never the last epoch (the network must still fit the final pairs).

    Examples
    --------
    >>> relabel_epochs(125, 6)
    [19, 38, 56, 75, 94, 112]
    >>> relabel_epochs(2, 3)
    [1]
    >>> relabel_epochs(1, 3)
    []
    """
    if max_epochs < 2 or n_relabelings == 0:
        return []
    span = _RELABEL_SPAN * max_epochs
    n = min(n_relabelings, max_epochs - 1)  # at most one per epoch
    epochs = {min(max_epochs - 1, max(1, round(span * (i + 1) / n))) for i in range(n)}
    return sorted(epochs)


class Relabel(Callback):
    """Pair fresh draws with the data in the network's output space.

    After each epoch of ``epochs`` the training draws are replaced by fresh
    normal draws, the network maps them, and the draws are paired with the
    training rows by the assignment that minimises the total squared
    distance between each draw's *output* and its row
    (:func:`sklearn_gtn.assignment_pairs`; exact up to 1,024 rows, the
    ``"cells"`` refinement above). The first labeling pairs draws
    and rows in the input space; in more than a few dimensions those pairs
    are far from any smooth map, and a regression on them averages between
    neighbouring targets, which shrinks the samples towards local means.
    Pairs solved on the outputs are the ones the current map is nearest to,
    so the network refines a map instead of averaging, and the fresh draws
    keep it from fitting one set of draws. Draws and targets are written in
    place (the rows themselves never change, only their order), so the
    inverse network trained afterwards learns the final pairs.

    Parameters
    ----------
    epochs : list of int
        Epochs (1-based) after which to relabel (:func:`relabel_epochs`).
    inputs, targets : list of torch.Tensor
        The tensors holding the training draws and the rows paired with
        them: the pairs themselves first and, when the net trains on
        repeated copies, the repeated tensor (``k * n`` rows, copy ``j`` in
        rows ``j n`` to ``(j + 1) n``). All are overwritten in place.
    share : callable
        Maps the match (a CPU int64 tensor) to the main process's match when
        several processes train (identity otherwise).
    seed : int
        Seeds the fresh draws and the assignment's random batches (above
        3,000 rows).
    fresh : bool, default=True
        Draw fresh inputs at each relabeling (``False``: re-pair the same
        draws).
    """

    def __init__(self, epochs, inputs, targets, share, seed, fresh=True):
        self.epochs = epochs
        self.inputs = inputs
        self.targets = targets
        self.share = share
        self.seed = seed
        self.fresh = fresh

    def initialize(self):
        # (epoch, mean squared output-row distance in the rows' current
        # order, after the assignment); with fresh draws the first is the
        # cost of an arbitrary pairing, a baseline only
        self.costs_ = []
        return self

    @staticmethod
    def _outputs(module, draws):
        param = next(module.parameters())
        with evaluating(module):
            return run_chunked(
                module,
                draws,
                device=param.device,
                precision="float32",
                rows=_RELABEL_CHUNK,
            )

    @staticmethod
    def _write(tensors, values, n):
        for tensor in tensors:
            tensor.copy_(values.repeat(len(tensor) // n, 1).to(tensor))

    @torch.no_grad()
    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch not in self.epochs:
            return
        draws, rows = self.inputs[0], self.targets[0]
        n = len(draws)
        if self.fresh:
            gen = torch.Generator().manual_seed(self.seed + epoch)
            draws = torch.randn(draws.shape, generator=gen).to(draws)
        current = rows.double().cpu().numpy()
        outputs = self._outputs(net.module_, draws)
        method = "exact" if n <= _RELABEL_EXACT_MAX else "cells"
        match = assignment_pairs(
            current, outputs, method=method, random_state=self.seed + epoch
        )
        match = self.share(torch.as_tensor(match, dtype=torch.int64))
        before = float(((outputs - current) ** 2).sum(axis=1).mean())
        after = float(((outputs - current[match.numpy()]) ** 2).sum(axis=1).mean())
        self.costs_.append((epoch, before, after))
        if self.fresh:
            self._write(self.inputs, draws, n)
        self._write(self.targets, rows[match.to(rows.device)].clone(), n)

    def on_train_end(self, net, **kwargs):
        # the data tensors (and the accelerator in ``share``) are not part
        # of the model
        self.inputs = self.targets = self.share = None


@torch.no_grad()
def residual_scale(module, inputs, targets):
    """Per-feature standard deviation of ``module(inputs) - targets`` (float64)."""
    # the pairs may live in host memory while the module is on a GPU
    device = next(module.parameters()).device
    with evaluating(module):
        residual = module(inputs.to(device)).float() - targets.to(device).float()
    return residual.std(dim=0, correction=1).double().cpu().numpy()


class SampleQualityCheckpoint(Callback):
    """Keep the checkpoint whose samples are closest to held-out rows.

    At each epoch of ``epochs`` the forward map turns a fixed set of normal
    draws into samples (plus the residual noise term when ``residual_noise``
    is not 0, calibrated on the held-out pairs at that checkpoint). Their
    energy distance to the held-out rows (standardised units) and their
    memorisation ratio (:func:`sklearn_gtn.metrics.memorisation_ratio`,
    against the training rows) are recorded in the history
    (``sample_energy``, ``memorisation``). At the end the weights of the
    checkpoint with the lowest energy distance among those with a ratio of at
    least ``floor`` are restored; if none reaches it, the checkpoint with the
    highest ratio.

    Parameters
    ----------
    epochs : list of int
        Epochs (1-based) after which to evaluate.
    train_rows, valid_inputs, valid_targets : torch.Tensor
        Training targets (data rows), held-out draws and held-out rows,
        standardised.
    residual_noise : float
        Factor on the held-out residual spread added to samples (0: none).
    seed : int
        Seeds the normal draws of the evaluation.
    floor : float, default=0.9
        Lowest memorisation ratio a kept checkpoint may have.
    """

    def __init__(
        self,
        epochs,
        train_rows,
        valid_inputs,
        valid_targets,
        residual_noise,
        seed,
        floor=MEMORISATION_FLOOR,
        recalibrate=False,
    ):
        self.epochs = epochs
        self.train_rows = train_rows
        self.valid_inputs = valid_inputs
        self.valid_targets = valid_targets
        self.residual_noise = residual_noise
        self.seed = seed
        self.floor = floor
        self.recalibrate = recalibrate

    def initialize(self):
        self.scores_ = []  # (epoch, energy, memorisation, noise scale)
        self.best_ = None
        self.best_state_ = None
        return self

    @torch.no_grad()
    def _evaluate(self, module):
        gen = torch.Generator().manual_seed(self.seed)
        heldout = self.valid_targets.double().cpu().numpy()
        n = min(_SELECTION_MAX_ROWS, max(len(heldout), 1000))
        d = heldout.shape[1]
        codes = torch.randn(n, d, generator=gen)
        param = next(module.parameters())
        with evaluating(module):
            samples = module(codes.to(param.device)).double().cpu().numpy()
        if self.recalibrate:
            A, b = recalibration(module, self.train_rows, self.seed)
            samples = samples @ A.T + b
        noise = None
        if self.residual_noise > 0:
            noise = self.residual_noise * residual_scale(
                module, self.valid_inputs, self.valid_targets
            )
            samples = samples + noise * torch.randn(n, d, generator=gen).numpy()
        train = self.train_rows.double().cpu().numpy()
        if len(train) > 4 * _SELECTION_MAX_ROWS:
            pick = np.random.RandomState(self.seed).choice(
                len(train), 4 * _SELECTION_MAX_ROWS, replace=False
            )
            train = train[pick]
        energy = energy_distance(heldout, samples)
        try:
            memo = memorisation_ratio(train, samples, heldout)
        except ValueError:  # held-out rows equal to training rows
            memo = float("inf")
        return energy, memo, noise

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch not in self.epochs:
            return
        energy, memo, noise = self._evaluate(net.module_)
        net.history.record("sample_energy", energy)
        net.history.record("memorisation", memo)
        self.scores_.append((epoch, energy, memo, noise))
        if self._better(energy, memo):
            self.best_ = (epoch, energy, memo, noise)
            self.best_state_ = copy.deepcopy(net.module_.state_dict())

    def _better(self, energy, memo):
        if self.best_ is None:
            return True
        _, best_energy, best_memo, _ = self.best_
        ok, best_ok = memo >= self.floor, best_memo >= self.floor
        if ok != best_ok:
            return ok
        if ok:
            return energy < best_energy
        return memo > best_memo

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
            self.best_state_ = None  # nothing heavy stays in the fitted model
        # the data tensors are not part of the model
        self.train_rows = self.valid_inputs = self.valid_targets = None


def check_selection(estimator, training, validation_fraction):
    """Turn selection and noise off when no rows are held out ("auto" only).

    An explicit ``selection="energy"`` or ``residual_noise > 0`` with
    ``validation_fraction=0`` is an error: both need held-out rows.
    """
    if validation_fraction > 0:
        return training
    training = dict(training)
    if training["selection"] is not None:
        if estimator.selection != "auto":
            raise ValueError(
                f"selection={estimator.selection!r} needs held-out rows, but "
                "validation_fraction=0; use validation_fraction > 0 or "
                "selection=None."
            )
        training["selection"] = None
    if training["residual_noise"] > 0:
        if not is_auto(
            estimator.residual_noise, name="residual_noise", expected="a float >= 0"
        ):
            raise ValueError(
                f"residual_noise={estimator.residual_noise!r} is calibrated on "
                "held-out rows, but validation_fraction=0; use "
                "validation_fraction > 0 or residual_noise=0."
            )
        training["residual_noise"] = 0.0
    return training


def selection_callback(estimator, train_rows, valid_inputs, valid_targets, rng):
    """The :class:`SampleQualityCheckpoint` of a fit, or ``None``."""
    if estimator.selection_ is None or valid_inputs is None:
        return None
    return SampleQualityCheckpoint(
        checkpoint_epochs(estimator.max_epochs_),
        train_rows,
        valid_inputs,
        valid_targets,
        estimator.residual_noise_,
        seed=int(rng.randint(2**31 - 1)),
        recalibrate=estimator.recalibrate_,
    )


def training_callbacks(estimator, selector=None, n_updates=None):
    """``(name, callback)`` pairs for one net of ``n_updates`` updates
    (default ``max_updates_``): the schedule, the selection."""
    callbacks = []
    if n_updates is None:
        n_updates = estimator.max_updates_
    schedule = lr_schedule_callback(estimator.lr_schedule_, n_updates)
    if schedule is not None:
        callbacks.append(("lr_schedule", schedule))
    if selector is not None:
        callbacks.append(("sample_quality", selector))
    return callbacks


def finish_forward(
    estimator, selector, train_rows, valid_inputs, valid_targets, rng, noise_scale
):
    """Recalibrate the trained forward map; its noise and memorisation.

    Returns ``(recalibration, noise_scale, memorisation_ratio)``: the ``(A, b)``
    folded into the map's output layer (``None`` without recalibration), the
    per-feature standard deviation of the noise added to samples
    (``residual_noise`` times the held-out residuals', or the resolved
    ``noise_scale`` for every feature; ``None`` without noise) and the
    memorisation ratio of the kept checkpoint (``None`` without selection).
    """
    seed = int(rng.randint(2**31 - 1))
    module = estimator.net_.module_
    recal = None
    if estimator.recalibrate_:
        recal = recalibration(module, train_rows, seed)
        fold_into_output(module, *recal)
    noise = None
    if estimator.residual_noise_ > 0 and valid_inputs is not None:
        noise = estimator.residual_noise_ * residual_scale(
            module, valid_inputs, valid_targets
        )
    elif noise_scale > 0:
        noise = np.full(train_rows.shape[1], float(noise_scale))
    memo = None
    if selector is not None and selector.best_ is not None:
        memo = float(selector.best_[2])
    return recal, noise, memo


def finish_inverse(estimator, recal):
    """Keep the inverse map the inverse of the recalibrated forward map."""
    if recal is not None and estimator.inverse_net_ is not None:
        fold_into_input(estimator.inverse_net_.module_, *recal)


def kept_epoch(selector, n_epochs):
    """The epoch whose weights the forward map kept."""
    if selector is not None and selector.best_ is not None:
        return int(selector.best_[0])
    return n_epochs


# recalibration: normal draws whose samples estimate the map's covariance
_RECALIBRATION_DRAWS = 20000


def _sqrtm_psd(S):
    """Symmetric square root of a positive semi-definite matrix."""
    w, V = np.linalg.eigh((S + S.T) / 2)
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def gaussian_transport(mean_from, cov_from, mean_to, cov_to):
    """``(A, b)``: the optimal transport map ``x -> A x + b`` between Gaussians.

    ``A = S^(1/2) (S^(1/2) C S^(1/2))^(-1/2) S^(1/2)`` moves ``N(m, C)`` onto
    ``N(mu, S)`` with the least mean squared displacement (symmetric, positive
    semi-definite); pseudo-inverses handle directions of zero spread.

    Examples
    --------
    >>> import numpy as np
    >>> A, b = gaussian_transport(np.zeros(2), np.eye(2) * 0.25, np.ones(2),
    ...                           np.eye(2))
    >>> A.round(6).tolist(), b.tolist()
    ([[2.0, 0.0], [0.0, 2.0]], [1.0, 1.0])
    """
    root = _sqrtm_psd(cov_to)
    middle = _sqrtm_psd(root @ cov_from @ root)
    A = root @ np.linalg.pinv(middle, hermitian=True) @ root
    return A, mean_to - A @ mean_from


@torch.no_grad()
def map_moments(module, n_features, seed, n_draws=_RECALIBRATION_DRAWS):
    """Mean and covariance (float64) of ``module`` applied to normal draws."""
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randn(n_draws, n_features, generator=gen)
    param = next(module.parameters())
    with evaluating(module):
        out = module(codes.to(param.device)).double().cpu().numpy()
    return out.mean(axis=0), np.atleast_2d(np.cov(out, rowvar=False))


def recalibration(module, train_rows, seed):
    """``(A, b)`` moving the samples' mean and covariance onto the data's.

    The first two moments of ``module(y)``, ``y ~ N(0, I)``, are estimated
    from 20,000 draws; the Gaussian transport map between them and the
    moments of ``train_rows`` is the affine correction.
    """
    rows = train_rows.double().cpu().numpy()
    mean, cov = map_moments(module, rows.shape[1], seed)
    return gaussian_transport(
        mean, cov, rows.mean(axis=0), np.atleast_2d(np.cov(rows, rowvar=False))
    )


@torch.no_grad()
def fold_into_output(module, A, b):
    """Make ``module(y)`` return ``A module(y) + b`` (its last ``Linear``)."""
    last = [m for m in module.modules() if isinstance(m, torch.nn.Linear)][-1]
    W, bias = last.weight.double(), last.bias.double()
    At = torch.as_tensor(A, dtype=torch.float64, device=W.device)
    bt = torch.as_tensor(b, dtype=torch.float64, device=W.device)
    last.weight.copy_((At @ W).to(last.weight.dtype))
    last.bias.copy_((At @ bias + bt).to(last.bias.dtype))


@torch.no_grad()
def fold_into_input(module, A, b):
    """Make ``module(x)`` return ``module(A^+ (x - b))`` (its first ``Linear``).

    Applied to the inverse map after :func:`fold_into_output` moved the
    forward map, so that ``transform`` stays the inverse of
    ``inverse_transform``.
    """
    first = [m for m in module.modules() if isinstance(m, torch.nn.Linear)][0]
    W, bias = first.weight.double(), first.bias.double()
    A_inv = torch.as_tensor(np.linalg.pinv(A), dtype=torch.float64, device=W.device)
    first.weight.copy_((W @ A_inv).to(first.weight.dtype))
    shift = W @ (A_inv @ torch.as_tensor(b, dtype=torch.float64, device=W.device))
    first.bias.copy_((bias - shift).to(first.bias.dtype))
