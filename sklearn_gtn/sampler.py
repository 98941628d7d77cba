"""GTNSampler: a Generative Topological Network as a scikit-learn estimator.

The estimator is glue only: it validates and standardises the data, pairs
normal draws with data points (:func:`sklearn_gtn.label_pairs`), and trains the
torch module :class:`sklearn_gtn._modules.MLP` by MSE regression through skorch.
Sampling, ``transform`` and ``inverse_transform`` run the fitted module
directly (one batched forward pass per chunk, in inference mode).
"""

from __future__ import annotations

import math
import numbers
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from skorch.utils import noop

from . import _accelerate, _training
from ._batching import _TensorBatches
from ._fitting import raise_if_interrupted, restore_on_failure
from ._modules import MLP, n_batch_norm_layers
from ._precision import check_precision, inference_precision
from ._runtime import (
    _CHUNK_BYTES_CPU,
    _CHUNK_ROWS_CUDA,
    _cuda_chunk_rows,
    _forward_into,
    _fused_adam,
    _inference_threads,
    _is_cuda_net,
    _linear_layers,
    _net_to_cpu,
    _training_data_device,
    _training_threads,
)
from ._utils import (
    check_positive_int,
    is_auto,
    named_input_errors,
    resolve_device,
)
from ._utils import torch_threads as _torch_threads
from ._version import __version__
from ._versioning import GTNVersionWarning, SaveMixin, warn_if_other_version
from .assignment import assignment_pairs
from .labeling import label_pairs
from .metrics import energy_scorer

__all__ = ["GTNSampler", "GTNVersionWarning"]

_LABELINGS = ("algorithm1", "assignment")
# batch_norm="auto" and patience="auto" resolve by labeling: the paper's
# training with its labeling, and with the assignment labeling the training
# that measured best in benchmarks/quality.py (no BatchNorm, no early
# stopping, 60 epochs on all rows: mean C2ST 0.605 over the 7 toy sets,
# against 0.628 with patience 20 and 0.669 with the paper's training)
_AUTO_TRAINING = {
    "algorithm1": {"batch_norm": True, "patience": 3},
    "assignment": {"batch_norm": False, "patience": None},
}
# validation_fraction="auto": the rows held out when early stopping needs them
_AUTO_VALIDATION_FRACTION = 0.1


class GTNSampler(
    SaveMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
    # no set_output wrapping: it would hide that ``transform`` is unavailable
    # when ``fit_inverse=False`` (the wrapper always exists)
    auto_wrap_output_keys=None,
):
    """Generative Topological Network: sample by mapping normal draws onto data.

    ``fit`` pairs draws ``Y ~ N(0, I)`` (same dimension as ``X``) with the
    standardised rows of ``X`` (by an optimal assignment, or by the paper's
    labeling step, Algorithm 1), then
    trains an MLP ``h_hat: y -> x`` on the pairs by MSE regression (with
    the paper's labeling, early stopping on a separately labeled validation
    split). ``sample`` draws new
    ``y`` and returns ``h_hat(y)``. With ``fit_inverse=True`` a second MLP
    learns ``x -> y`` on the same pairs: ``transform`` gives the normal codes
    of data points and ``interpolate`` walks between real points through the
    source space.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int or "auto", default="auto"
        Width of each hidden layer of both networks (scikit-learn's
        ``MLPRegressor`` convention). ``"auto"``: with
        ``labeling="algorithm1"`` the paper's network for MNIST latents (6
        layers of 50); with ``"assignment"`` the same up to 2 features (a
        small network samples fast), else 4 layers of ``32 * n_features``
        units, at least 64 and at most 256 (wider networks fix the
        under-dispersed samples of higher dimensions, see
        :doc:`/benchmarks`, "Sample quality"). The resolved value is
        ``hidden_layer_sizes_``.
    negative_slope : float, default=0.5
        Slope of the LeakyReLU activations for negative inputs; must be > 0 so
        that the network can be invertible.
    batch_norm : bool, int or "auto", default="auto"
        Which hidden layers end with a ``BatchNorm1d``: ``True`` all of them
        (the paper's MNIST network), ``False`` none, an int ``k`` the first
        ``k``, with ``0 <= k <= len(hidden_layer_sizes)`` (the paper's CelebA
        network: 25 hidden layers, ``batch_norm=20``). ``"auto"``: ``True``
        with ``labeling="algorithm1"`` (the paper), ``False`` with
        ``"assignment"`` (better in the quality benchmark).
    lr : float or "auto", default="auto"
        Learning rate of the Adam optimiser (the peak rate with the cosine
        schedule). ``"auto"``: 3e-3 with ``labeling="assignment"`` and more
        than 2 features (better than 1e-3 on every real data set of the
        benchmark, see :doc:`/benchmarks`), else 1e-3. The resolved value is
        ``lr_``.
    batch_size : int, default=128
        Number of pairs per gradient step.
    max_epochs : int or "auto", default="auto"
        Passes over the labeled pairs (early stopping, when on, may end
        training sooner). ``"auto"``: 60 with ``labeling="algorithm1"``;
        with ``"assignment"`` the budget is counted in optimizer updates: 60
        passes' worth, but at least 4,000 updates when ``n_features > 2``
        (small tables need thousands of updates, not 60) and at most 20,000
        (a million rows do not pay for 60 passes); small data are repeated
        so that an epoch holds at least 16 batches. The resolved values are
        ``max_epochs_`` and ``max_updates_``.
    patience : int, None or "auto", default="auto"
        Stop after this many epochs without improvement of the validation MSE
        and restore the weights of the best epoch; ``None`` trains
        ``max_epochs`` epochs and keeps the last weights. ``"auto"``: 3 with
        ``labeling="algorithm1"`` (the paper), ``None`` with ``"assignment"``:
        the validation MSE measures how well the network fits noisy labels,
        not how good its samples are, and it stopped training long before the
        samples were best (moons, 5,000 rows: two-sample accuracy 0.683 with
        patience 20, 0.621 after 60 epochs; mean over the seven toy sets of
        ``benchmarks/quality.py`` 0.628 and 0.605).
        Ignored when ``validation_fraction=0``.
    validation_fraction : float or "auto", default="auto"
        Fraction of ``X`` held out, paired with its own normal draws (labeled
        separately), to compute a validation MSE after every epoch (and stop
        early, with a ``patience``; and for ``selection`` and
        ``residual_noise``). In ``[0, 1)``. ``"auto"``: 0.1 when early
        stopping or selection is on or ``residual_noise > 0``, else 0 (every row
        is used for training).
    lr_schedule : {"constant", "cosine"} or "auto", default="auto"
        Learning rate over training: constant, or decayed from ``lr`` to 0
        along a half cosine over the ``max_updates_`` updates. ``"auto"``:
        ``"cosine"`` with ``labeling="assignment"`` and more than 2 features,
        else ``"constant"`` (in 2-D the cosine decay and ``recalibrate`` cost
        quality on the toy sets).
    selection : {"energy", None} or "auto", default="auto"
        Choose the forward weights on the quality of their samples: at 8
        checkpoints spread over training, samples of the map are compared
        with the held-out rows (energy distance in standardised units, see
        :func:`sklearn_gtn.metrics.energy_distance`) and with the training
        rows (:func:`sklearn_gtn.metrics.memorisation_ratio`); the checkpoint
        with the lowest distance among those whose ratio is at least 0.9 is
        kept, so that longer training never buys quality by copying rows.
        Needs held-out rows (``validation_fraction > 0``). ``None``: keep the
        last weights (or early stopping's). ``"auto"``: ``None`` (on the
        benchmark's data sets the held-out distance, measured on a tenth of
        the rows, picked early checkpoints that were worse than the last
        one, and the rows held out were missed by the training, see
        :doc:`/benchmarks`).
    residual_noise : float or "auto", default="auto"
        Add to every sample an elementwise Gaussian term whose per-feature
        standard deviation is this factor times that of the residuals
        ``h_hat(y) - x`` of the held-out pairs (``noise_scale_``); 0 adds
        nothing. Needs held-out rows. ``transform`` and
        ``inverse_transform`` never add noise. ``"auto"``: 0 (it trades
        precision for recall and did not win in the benchmark, see
        :doc:`/benchmarks`).
    recalibrate : bool or "auto", default="auto"
        After training, move the mean and covariance of the samples onto
        those of the training data: the optimal transport map between the
        two Gaussians (an affine map, from 20,000 draws) is folded into the
        output layer of the forward network (and its inverse into the input
        layer of the inverse network), so sampling stays one forward pass.
        ``"auto"``: ``True`` with ``labeling="assignment"`` and more than 2
        features (the largest single gain on MNIST latents, see
        :doc:`/benchmarks`), else ``False``.
    labeling : {"assignment", "algorithm1"}, default="assignment"
        How normal draws are paired with data points. ``"assignment"`` pairs
        them to minimise the total squared distance
        (:func:`sklearn_gtn.assignment_pairs`: exact up to 3,000 rows, the
        ``"cells"`` refinement above, the quantile map in 1-D), which respects
        direction and radial order; it runs on the CPU. ``"algorithm1"`` is
        the paper's rule (:func:`sklearn_gtn.label_pairs`: direction first,
        norm only to break ties; fast on a GPU, but its samples form rings
        and blobs: mean C2ST 0.824 over the 7 toy sets of
        ``benchmarks/quality.py`` against 0.605). With the other parameters
        left at their defaults, ``GTNSampler(labeling="algorithm1")`` is the
        paper's configuration (``batch_norm`` and ``patience`` follow it).
    standardize : bool, default=True
        Centre and scale each feature before labeling (Algorithm 1 works on
        directions from the origin, so the data must at least be centred).
    fit_inverse : bool, default=True
        Also learn the inverse map ``x -> y``, needed by ``transform`` and
        ``interpolate``.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where labeling, training and inference run; ``"auto"`` uses CUDA when
        available, else the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the normal draws, the validation split, the weight
        initialisation and the batch order. An int gives a bit-identical fit
        on the CPU. The caller's global NumPy and torch generators are left
        untouched.
    verbose : int or bool, default=0
        ``0`` is silent; ``1`` (or ``True``) or more shows the labeling
        progress and a table of training epochs.
    precision : {"float32", "bfloat16"}, default="float32"
        Numeric precision of the forward passes of ``sample``,
        ``inverse_transform``, ``transform`` and ``interpolate*`` (training is
        always float32; outputs are float64 either way). ``"bfloat16"`` runs
        the linear layers in bfloat16 autocast: faster for wide networks on
        CPUs with AVX512-BF16 or AMX and on recent GPUs, with relative errors
        of the order of 1e-2 (bfloat16 keeps 8 bits of mantissa). It can be
        changed after fit with ``set_params``, without refitting.
    accelerator : accelerate.Accelerator or None, default=None
        Train the network(s) data-parallel with Hugging Face Accelerate
        (several GPUs, or several CPU processes), through skorch's
        ``AccelerateMixin``. Run the same script on every process (``accelerate
        launch --num_processes N script.py``), each calling ``fit`` with the
        same ``X``: the main process labels the pairs and shares them, each
        process trains on its share of every minibatch of ``batch_size`` rows
        per process (``batch_size`` rows in all if the accelerator splits
        batches), gradients are averaged, and the validation loss is averaged
        over all processes, so that all stop at the same epoch with the same
        weights. ``device`` must then be ``"auto"`` (the accelerator's device)
        or name the same kind of device. BatchNorm normalises each process's
        share with its own statistics; the running statistics kept are those
        of the main process. The fitted model is a plain one (nothing of
        Accelerate stays in it); the accelerator is neither pickled nor saved
        (a loaded model has ``accelerator=None``). ``None`` trains in this
        process alone, without importing ``accelerate``.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, defined only when ``X`` has string column names.
    mean_ : ndarray of shape (n_features_in_,)
        Per-feature mean subtracted before labeling (zeros if not
        ``standardize``).
    scale_ : ndarray of shape (n_features_in_,)
        Per-feature scale divided out before labeling (ones if not
        ``standardize``).
    net_ : skorch.NeuralNetRegressor
        The fitted forward map ``y -> x`` (standardised units); its torch
        module is ``net_.module_``.
    inverse_net_ : skorch.NeuralNetRegressor or None
        The fitted inverse map ``x -> y``, or ``None`` if not ``fit_inverse``.
    device_ : str
        The device the networks run on (``"cpu"`` after unpickling a model
        that was fitted on a GPU).
    n_epochs_ : int
        Epochs run when training the forward map.
    best_epoch_ : int
        Epoch whose weights the forward map kept (the last one without
        early stopping or selection).
    best_validation_loss_ : float or None
        Validation MSE (standardised units) of the kept forward weights;
        ``None`` without validation rows.
    batch_norm_ : bool or int
        The resolved ``batch_norm`` (``"auto"`` replaced by its value).
    hidden_layer_sizes_ : tuple of int
        The resolved ``hidden_layer_sizes``.
    max_epochs_ : int
        The resolved ``max_epochs``: the epochs of the training budget.
    max_updates_ : int
        Optimizer updates of the training budget (``max_epochs_`` epochs).
    lr_, lr_schedule_, selection_, residual_noise_, recalibrate_
        The resolved values of these parameters.
    noise_scale_ : ndarray of shape (n_features_in_,) or None
        Standard deviation of the noise term added to samples, per feature,
        in standardised units; ``None`` without residual noise.
    memorisation_ratio_ : float or None
        Memorisation ratio (:func:`sklearn_gtn.metrics.memorisation_ratio`,
        on held-out rows) of the kept checkpoint; ``None`` without
        selection.
    patience_ : int or None
        The resolved ``patience`` (``None``: no early stopping).
    validation_fraction_ : float
        The resolved ``validation_fraction``.
    labeling_time_ : float
        Seconds spent labeling (training and validation pairs).
    training_time_ : float
        Seconds spent training the network(s).

    See Also
    --------
    sklearn_gtn.label_pairs : The labeling step on its own.
    sklearn.neighbors.KernelDensity : A non-parametric sampler with the same
        ``sample`` convention.

    Notes
    -----
    A homeomorphism keeps dimension: data on a curve (like the swiss roll)
    should be given through its 1-D parameter, and images through a reducer
    with an inverse (an autoencoder, PCA) in a :class:`~sklearn.pipeline.Pipeline`.

    On the CPU, training of small networks (fewer than about 4 million
    multiply-adds per layer and minibatch, the paper's 6 x 50 network with
    ``batch_size=128`` included) runs on one thread: such steps are
    latency-bound and extra threads slow them down. Inference (``sample``,
    ``transform``, ...) of networks no wider than 256 does the same; wider
    networks use torch's setting. torch's thread setting is restored
    afterwards.

    A pickle stores the networks on the CPU (a model fitted on a GPU unpickles
    on a machine without one) and the version of sklearn-gtn; loading under
    another version warns with :class:`GTNVersionWarning`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn import GTNSampler
    >>> X = np.random.RandomState(0).uniform(size=(500, 2))
    >>> gtn = GTNSampler(hidden_layer_sizes=(16, 16), max_epochs=5,
    ...                  device="cpu", random_state=0).fit(X)
    >>> gtn.sample(3, random_state=0).shape
    (3, 2)
    >>> gtn.transform(X[:4]).shape
    (4, 2)
    >>> gtn.interpolate(X[0], X[1], n_steps=5).shape
    (5, 2)

    Data-parallel training (``pip install accelerate``; run the same script on
    every process with ``accelerate launch``, see the ``accelerator``
    parameter). On a single process the fit equals the plain one:

    >>> from accelerate import Accelerator  # doctest: +SKIP
    >>> fast = GTNSampler(hidden_layer_sizes=(16, 16), max_epochs=5,
    ...                   random_state=0,
    ...                   accelerator=Accelerator(cpu=True)).fit(X)  # doctest: +SKIP
    >>> bool(np.array_equal(fast.sample(3, random_state=0),
    ...                     gtn.sample(3, random_state=0)))  # doctest: +SKIP
    True
    """

    def __init__(
        self,
        *,
        hidden_layer_sizes="auto",
        negative_slope=0.5,
        batch_norm="auto",
        lr="auto",
        batch_size=128,
        max_epochs="auto",
        patience="auto",
        validation_fraction="auto",
        lr_schedule="auto",
        selection="auto",
        residual_noise="auto",
        recalibrate="auto",
        labeling="assignment",
        standardize=True,
        fit_inverse=True,
        device="auto",
        random_state=None,
        verbose=0,
        precision="float32",
        accelerator=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.negative_slope = negative_slope
        self.batch_norm = batch_norm
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.lr_schedule = lr_schedule
        self.selection = selection
        self.residual_noise = residual_noise
        self.recalibrate = recalibrate
        self.labeling = labeling
        self.standardize = standardize
        self.fit_inverse = fit_inverse
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.precision = precision
        self.accelerator = accelerator

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        """Validate the constructor arguments; return the resolved values."""
        for name in ("negative_slope", "lr"):
            value = getattr(self, name)
            if name == "lr" and isinstance(value, str) and value == "auto":
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(
                    f"{name} must be a real number"
                    + (" or 'auto'" if name == "lr" else "")
                    + f", got {value!r}."
                )
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value!r}.")
        if self.negative_slope <= 0:
            raise ValueError(
                "negative_slope must be > 0 (otherwise the activation is not "
                "invertible and h cannot be a homeomorphism), got "
                f"{self.negative_slope!r}."
            )
        if self.lr != "auto" and self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}.")
        check_positive_int(self.batch_size, name="batch_size")
        if self.labeling not in _LABELINGS:
            raise ValueError(
                f"labeling must be one of {_LABELINGS}, got {self.labeling!r}."
            )
        training = _training.check_training_params(self)
        sizes = training["hidden_layer_sizes"]
        auto = _AUTO_TRAINING[self.labeling]
        batch_norm, patience = self.batch_norm, self.patience
        if is_auto(batch_norm, name="batch_norm", expected="a bool, an int"):
            batch_norm = auto["batch_norm"]
        if is_auto(patience, name="patience", expected="a positive int, None"):
            patience = auto["patience"]
        if patience is not None:
            check_positive_int(patience, name="patience")
        validation_fraction = self._check_validation_fraction(
            patience is not None
            or training["selection"] is not None
            or training["residual_noise"] > 0
        )
        training = _training.check_selection(self, training, validation_fraction)
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_positive_int(self.verbose, name="verbose", minimum=0)
        for name in ("standardize", "fit_inverse"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")
        if sizes != "by_dimension":
            n_batch_norm_layers(batch_norm, len(sizes))
        check_precision(self.precision)
        if batch_norm and self.batch_size < 2:
            raise ValueError(
                "batch_size must be >= 2 with batch_norm=True (BatchNorm1d cannot "
                f"train on single rows), got batch_size={self.batch_size}."
            )
        accelerator = _accelerate.check_accelerator(self.accelerator)
        if accelerator is not None:
            device = _accelerate.accelerated_device(accelerator, self.device)
        else:
            device = resolve_device(self.device)
        return sizes, device, batch_norm, patience, validation_fraction, training

    def _check_validation_fraction(self, needed):
        """The fraction of rows held out; ``"auto"``: some when ``needed``."""
        value = self.validation_fraction
        if is_auto(value, name="validation_fraction", expected="a float in [0, 1)"):
            return _AUTO_VALIDATION_FRACTION if needed else 0.0
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"validation_fraction must be a real number or 'auto', got {value!r}."
            )
        if not (math.isfinite(value) and 0 <= value < 1):
            raise ValueError(f"validation_fraction must be in [0, 1), got {value!r}.")
        return float(value)

    def _split_sizes(self, n_samples):
        fraction = self.validation_fraction_
        n_val = math.ceil(fraction * n_samples)
        n_train = n_samples - n_val
        if n_train < 2:
            need = 2 + (1 if fraction > 0 else 0)
            while need - math.ceil(fraction * need) < 2:
                need += 1
            task = "label, train and validate" if fraction > 0 else "label and train"
            raise ValueError(
                f"GTNSampler needs at least {need} samples to {task} "
                f"(validation_fraction={fraction}); got n_samples={n_samples}."
            )
        return n_train, n_val

    # --------------------------------------------------------------------- fit
    @restore_on_failure
    def fit(self, X, y=None):
        """Label normal draws with the rows of ``X`` and train the network(s).

        ``fit`` completes or leaves the estimator as it was: if it fails or
        is interrupted (``KeyboardInterrupt``, Ctrl-C, out of memory), the
        exception propagates and the estimator keeps the attributes it had
        before the call (unfitted, or the previous model). Nothing is
        written to disk.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : GTNSampler
            The fitted estimator.
        """
        (
            sizes,
            device,
            self.batch_norm_,
            self.patience_,
            self.validation_fraction_,
            training,
        ) = self._check_params()
        with named_input_errors("X"):
            X = validate_data(self, X, reset=True, dtype=np.float64)
        n_samples, n_features = X.shape
        n_train, n_val = self._split_sizes(n_samples)
        sizes = _training.resolve_hidden_layer_sizes(sizes, n_features)
        n_batch_norm_layers(self.batch_norm_, len(sizes))
        self.hidden_layer_sizes_ = sizes
        self.max_epochs_, self.max_updates_, self._repeats = (
            _training.resolve_max_epochs(
                training["max_epochs"], n_train, int(self.batch_size), n_features
            )
        )
        self.lr_ = _training.resolve_by_dimension(
            training["lr"], n_features, _training.DEFAULT_LR, _training.WIDE_LR
        )
        self.lr_schedule_ = _training.resolve_by_dimension(
            training["lr_schedule"], n_features, "constant", "cosine"
        )
        self.selection_ = training["selection"]
        self.residual_noise_ = training["residual_noise"]
        self.recalibrate_ = _training.resolve_by_dimension(
            training["recalibrate"], n_features, False, True
        )

        if self.standardize:
            self.mean_ = X.mean(axis=0)
            scale = X.std(axis=0)
            scale[scale < 10 * np.finfo(np.float64).eps * np.abs(self.mean_)] = 1.0
            scale[scale == 0.0] = 1.0
            self.scale_ = scale
        else:
            self.mean_ = np.zeros(n_features)
            self.scale_ = np.ones(n_features)
        Z = (X - self.mean_) / self.scale_

        rng = _accelerate.synced_random_state(self.accelerator, self.random_state)
        perm = rng.permutation(n_samples)
        Z_train, Z_val = Z[perm[n_val:]], Z[perm[:n_val]]
        Y_train = rng.standard_normal((n_train, n_features))
        Y_val = rng.standard_normal((n_val, n_features))
        torch_seed = int(rng.randint(np.iinfo(np.int32).max))

        verbose = self.verbose > 0
        tic = time.perf_counter()
        X_train = Z_train[self._label(Z_train, Y_train, device, verbose, rng)]
        X_val = None
        if not n_val:
            Y_val = None
        else:
            X_val = Z_val[self._label(Z_val, Y_val, device, verbose, rng)]
        self.labeling_time_ = time.perf_counter() - tic

        data_device = _training_data_device(device, 4 * 2 * n_samples * n_features)

        def as_tensor(A):
            return (
                None
                if A is None
                else torch.as_tensor(A, dtype=torch.float32).to(data_device)
            )

        Y_train, X_train = as_tensor(Y_train), as_tensor(X_train)
        Y_val, X_val = as_tensor(Y_val), as_tensor(X_val)
        # with several processes all train on the main process's pairs
        Y_train, X_train, Y_val, X_val = _accelerate.share_from_main(
            self.accelerator, Y_train, X_train, Y_val, X_val
        )
        self.device_ = str(device)
        tic = time.perf_counter()
        # torch.manual_seed also seeds every CUDA device: fork all of them
        cuda_devices = (
            list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        )
        n_threads = _training_threads(device, self.batch_size, sizes, n_features)
        with (
            torch.random.fork_rng(devices=cuda_devices, device_type="cuda"),
            _torch_threads(n_threads),
        ):
            torch.manual_seed(torch_seed)
            selector = _training.selection_callback(self, X_train, Y_val, X_val, rng)
            self.net_ = self._train(
                Y_train, X_train, Y_val, X_val, sizes, device, selector
            )
            recal, self.noise_scale_, self.memorisation_ratio_ = (
                _training.finish_forward(self, selector, X_train, Y_val, X_val, rng)
            )
            self.inverse_net_ = None
            if self.fit_inverse:
                self.inverse_net_ = self._train(
                    X_train, Y_train, X_val, Y_val, sizes, device
                )
                _training.finish_inverse(self, recal)
        self.training_time_ = time.perf_counter() - tic

        history = self.net_.history
        self.n_epochs_ = len(history)
        if n_val and self.patience_ is not None:
            # the epoch EarlyStopping restored (it ignores improvements below
            # its relative threshold of 1e-4, so not always the argmin)
            stopper = dict(self.net_.callbacks_)["early_stopping"]
            self.best_epoch_ = int(stopper.best_epoch_)
            epochs = list(history[:, "epoch"])
            losses = history[:, "valid_loss"]
            self.best_validation_loss_ = float(losses[epochs.index(self.best_epoch_)])
        elif n_val:  # the selected checkpoint, or the last epoch
            self.best_epoch_ = _training.kept_epoch(selector, self.n_epochs_)
            self.best_validation_loss_ = float(
                history[self.best_epoch_ - 1, "valid_loss"]
            )
        else:
            self.best_epoch_ = self.n_epochs_
            self.best_validation_loss_ = None
        return self

    def _label(self, Z, Y, device, verbose, rng):
        """Pair the draws ``Y`` with rows of ``Z`` by the chosen labeling."""
        if not _accelerate.is_main_process(self.accelerator):
            # a placeholder: the main process's pairs are shared with this one
            return np.arange(len(Z))
        if self.labeling == "assignment":
            return assignment_pairs(Z, Y, random_state=rng)
        return label_pairs(Z, Y, device=device, verbose=verbose)

    def _train(
        self, inputs, targets, valid_inputs, valid_targets, sizes, device, selector=None
    ):
        """Build and fit one skorch net ``inputs -> targets``."""
        n_in, n_out = inputs.shape[1], targets.shape[1]
        verbose = self.verbose > 0 and _accelerate.is_main_process(self.accelerator)
        kwargs = {}
        callbacks = []
        kwargs["train_split"] = None
        if valid_inputs is not None:
            valid = Dataset(valid_inputs, valid_targets)
            kwargs["train_split"] = predefined_split(valid)
        if valid_inputs is not None and self.patience_ is not None:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.patience_,
                        load_best=True,
                        sink=print if verbose else noop,
                    ),
                )
            )
        callbacks += _training.training_callbacks(self, selector)
        if not verbose:
            kwargs["callbacks__print_log"] = None
        if _fused_adam(torch.device(device).type):
            # one kernel per step instead of one per parameter tensor: the
            # 6 x 50 network trains about 1.3x faster on a CPU core
            kwargs["optimizer__fused"] = True
        net_class = NeuralNetRegressor
        if self.accelerator is not None:
            net_class = _accelerate.accelerated_net_class(NeuralNetRegressor)
            _accelerate.net_kwargs(self.accelerator, kwargs, callbacks)
        else:
            kwargs["device"] = str(device)
        net = net_class(
            MLP,
            module__n_features_in=n_in,
            module__n_features_out=n_out,
            module__hidden_layer_sizes=sizes,
            module__negative_slope=float(self.negative_slope),
            module__batch_norm=n_batch_norm_layers(self.batch_norm_, len(sizes)),
            criterion=torch.nn.MSELoss,
            optimizer=torch.optim.Adam,
            lr=float(self.lr_),
            batch_size=int(self.batch_size),
            max_epochs=int(self.max_epochs_),
            iterator_train=_TensorBatches,
            iterator_train__shuffle=True,
            iterator_valid=_TensorBatches,
            iterator_valid__batch_size=_CHUNK_ROWS_CUDA,
            callbacks=callbacks,
            verbose=int(verbose),
            **kwargs,
        )
        repeats = self.__dict__.get("_repeats", 1)
        net.fit(
            _training.repeated(inputs, repeats), _training.repeated(targets, repeats)
        )
        raise_if_interrupted(net)  # skorch swallows Ctrl-C
        if self.accelerator is not None:
            net = _accelerate.detach_accelerator(net, NeuralNetRegressor)
        # keep no reference to the validation data in the fitted model
        net.train_split = None
        net.module_.eval()
        return net

    # -------------------------------------------------------------- inference
    def _chunk_rows(self, module):
        """Rows per forward pass of ``module`` on the fitted device."""
        if not self.device_.startswith("cpu"):
            device = torch.device(self.device_)
            free, _ = torch.cuda.mem_get_info(device)
            # blocks torch's caching allocator holds but does not use are free too
            cached = torch.cuda.memory_reserved(device)
            cached -= torch.cuda.memory_allocated(device)
            return _cuda_chunk_rows(module, free + cached)
        widest = _linear_layers(module)[1]
        # wide layers: weights outgrow the cache, so chunks of at least twice
        # the width reuse each weight more (width 1200: 2,048-row chunks 3x
        # faster than 256 in float32 and bfloat16)
        rows = max(_CHUNK_BYTES_CPU // (4 * widest), 2 * widest)
        rows = max(256, min(1 << 16, rows))
        return 1 << (rows.bit_length() - 1)  # a power of two

    def _run(self, module, inputs, n_out):
        """Map rows through ``module`` chunk by chunk; float64 result."""
        precision = check_precision(self.precision)
        out = np.empty((inputs.shape[0], n_out), dtype=np.float64)
        device = torch.device(self.device_)
        step = self._chunk_rows(module)
        if not torch.is_tensor(inputs):
            inputs = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
        module.eval()
        n_threads = _inference_threads(device, module)
        n_chunks = -(-inputs.shape[0] // step)
        # small networks on the CPU: each chunk runs on one thread, and up to
        # torch's thread count of chunks run at once
        workers = min(torch.get_num_threads(), n_chunks) if n_threads == 1 else 1
        if workers > 1:
            # chunk w, w + workers, ... on thread w; the rows of each chunk
            # and so the samples are the same as on one thread
            spans = [
                range(w * step, inputs.shape[0], workers * step) for w in range(workers)
            ]
            with _torch_threads(1), ThreadPoolExecutor(workers) as pool:
                futures = [
                    pool.submit(
                        _forward_into, module, inputs, out, span, step, precision
                    )
                    for span in spans
                ]
                for future in futures:
                    future.result()
            return out
        with (
            inference_precision(precision, device),
            _torch_threads(n_threads),
        ):
            start = 0
            while start < inputs.shape[0]:
                try:
                    chunk = inputs[start : start + step].to(device)
                    result = module(chunk).float().cpu().numpy()
                except torch.cuda.OutOfMemoryError:
                    if step == 1:
                        raise
                    chunk = None
                    torch.cuda.empty_cache()
                    # retry this chunk, four times smaller
                    step = max(1, min(step, inputs.shape[0] - start) // 4)
                    continue
                out[start : start + len(result)] = result
                start += len(result)
        return out

    def sample(self, n_samples=1, random_state=None):
        """Generate samples: ``h_hat(y)`` for fresh draws ``y ~ N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the normal draws. An int gives the same samples on every
            call; ``None`` gives fresh ones (scikit-learn's ``KernelDensity``
            convention).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Samples in the units of the training data.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_gtn import GTNSampler
        >>> X = np.random.RandomState(0).normal(size=(300, 1)) ** 2
        >>> gtn = GTNSampler(hidden_layer_sizes=(8,), max_epochs=3,
        ...                  fit_inverse=False, random_state=0).fit(X)
        >>> a = gtn.sample(4, random_state=1)
        >>> bool(np.array_equal(a, gtn.sample(4, random_state=1)))
        True
        """
        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, name="n_samples")
        rng = check_random_state(random_state)
        gen = torch.Generator().manual_seed(
            int(rng.randint(np.iinfo(np.int64).max, dtype=np.int64))
        )
        # all codes at once (half the size of the float64 output), so that the
        # samples do not depend on the chunking or on the device
        codes = torch.randn(n_samples, self.n_features_in_, generator=gen)
        out = self._run(self.net_.module_, codes, self.n_features_in_)
        if getattr(self, "noise_scale_", None) is not None:
            # the residual-noise term, drawn after all the codes
            noise = torch.randn(n_samples, self.n_features_in_, generator=gen)
            out += noise.numpy() * self.noise_scale_
        out *= self.scale_
        out += self.mean_
        return out

    def _check_codes(self, Z, name):
        with named_input_errors(name):
            Z = check_array(Z, dtype=np.float64, input_name=name)
        if Z.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{name} has {Z.shape[1]} features, but GTNSampler is expecting "
                f"{self.n_features_in_} features as input."
            )
        return Z

    def inverse_transform(self, X):
        """Map normal codes to data space: the forward map ``h_hat``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Codes in the source space (``N(0, I)`` draws give samples).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            Points in the units of the training data.
        """
        check_is_fitted(self)
        Z = self._check_codes(X, "X")
        out = self._run(self.net_.module_, Z, self.n_features_in_)
        out *= self.scale_
        out += self.mean_
        return out

    def _has_inverse(self):
        if hasattr(self, "inverse_net_"):
            return self.inverse_net_ is not None
        return self.fit_inverse

    @available_if(_has_inverse)
    def transform(self, X):
        """Normal codes of data points: the learned inverse map ``x -> y``.

        Available when ``fit_inverse=True``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points in data space.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Their codes in the source space.

        Notes
        -----
        ``inverse_transform(transform(X))`` only approximates ``X``: both maps
        are regressions on the same pairs, and Algorithm 1's pairs are not a
        smooth function. In the demo (``python -m sklearn_gtn demo``, 10,000
        points, default network) the mean absolute round-trip error is 0.14
        standard deviations on the swiss-roll parameter and 0.29 on the
        uniform square, the same on training and on held-out points.
        """
        check_is_fitted(self)
        with named_input_errors("X"):
            X = validate_data(self, X, reset=False, dtype=np.float64)
        Z = (X - self.mean_) / self.scale_
        return self._run(self.inverse_net_.module_, Z, self.n_features_in_)

    @available_if(_has_inverse)
    def fit_transform(self, X, y=None):
        """Fit, then return the normal codes of ``X``.

        Available when ``fit_inverse=True``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Codes of ``X`` in the source space.
        """
        return self.fit(X, y).transform(X)

    def _n_steps(self, n_steps):
        return check_positive_int(n_steps, name="n_steps", minimum=2)

    def _paths(self, start, end, n_steps):
        """Straight lines between code rows; ``(n_pairs, n_steps, d)`` codes."""
        t = np.linspace(0.0, 1.0, n_steps)[None, :, None]
        return (1.0 - t) * start[:, None, :] + t * end[:, None, :]

    def _pair_arrays(self, a, b, names):
        single = np.ndim(a) == 1 and np.ndim(b) == 1
        if single:
            a, b = np.reshape(a, (1, -1)), np.reshape(b, (1, -1))
        with named_input_errors(names[0]):
            a = check_array(a, dtype=np.float64, input_name=names[0])
        with named_input_errors(names[1]):
            b = check_array(b, dtype=np.float64, input_name=names[1])
        if a.shape != b.shape:
            raise ValueError(
                f"{names[0]} and {names[1]} must have the same shape, got "
                f"{a.shape} and {b.shape}."
            )
        return a, b, single

    def interpolate_codes(self, z_start, z_end, n_steps=10):
        """Generate along the straight line between two codes in source space.

        Returns ``h_hat((1 - t) * z_start + t * z_end)`` for ``n_steps``
        values of ``t`` evenly spaced from 0 to 1.

        Parameters
        ----------
        z_start, z_end : array-like of shape (d,) or (n_pairs, d)
            Start and end codes (one pair, or one pair per row).
        n_steps : int, default=10
            Number of points on each path, endpoints included (at least 2).

        Returns
        -------
        path : ndarray of shape (n_steps, d) or (n_pairs, n_steps, d)
            The generated points, in data units (``d = n_features_in_``).
        """
        check_is_fitted(self)
        n_steps = self._n_steps(n_steps)
        a, b, single = self._pair_arrays(z_start, z_end, ("z_start", "z_end"))
        a, b = self._check_codes(a, "z_start"), self._check_codes(b, "z_end")
        codes = self._paths(a, b, n_steps)
        out = self.inverse_transform(codes.reshape(-1, self.n_features_in_))
        out = out.reshape(codes.shape)
        return out[0] if single else out

    @available_if(_has_inverse)
    def interpolate(self, x_start, x_end, n_steps=10):
        """Interpolate between real points through the source space.

        The path is ``h_hat((1 - t) * code(x_start) + t * code(x_end))`` for
        ``n_steps`` values of ``t`` from 0 to 1, where ``code`` is
        :meth:`transform` (the paper's Figure 6). The endpoints are the
        reconstructions of ``x_start`` and ``x_end``. Available when
        ``fit_inverse=True``.

        Parameters
        ----------
        x_start, x_end : array-like of shape (d,) or (n_pairs, d)
            Start and end points (one pair, or one pair per row).
        n_steps : int, default=10
            Number of points on each path, endpoints included (at least 2).

        Returns
        -------
        path : ndarray of shape (n_steps, d) or (n_pairs, n_steps, d)
            The generated points, in data units (``d = n_features_in_``).
        """
        check_is_fitted(self)
        n_steps = self._n_steps(n_steps)
        a, b, single = self._pair_arrays(x_start, x_end, ("x_start", "x_end"))
        a, b = self._check_codes(a, "x_start"), self._check_codes(b, "x_end")
        codes_a, codes_b = self.transform(a), self.transform(b)
        return self.interpolate_codes(
            codes_a[0] if single else codes_a,
            codes_b[0] if single else codes_b,
            n_steps=n_steps,
        )

    def score(self, X, y=None):
        """Sample quality: minus the energy distance between ``X`` and samples.

        At most 2,000 rows of ``X`` (a fixed random subset) are compared with as
        many samples drawn with a fixed seed, so the score is deterministic.
        Higher is better; 0 is the best possible value.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Held-out data.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-energy_distance(X, samples)``, see
            :func:`sklearn_gtn.metrics.energy_distance` and
            :func:`sklearn_gtn.metrics.energy_scorer`.
        """
        check_is_fitted(self)
        with named_input_errors("X"):
            X = validate_data(self, X, reset=False, dtype=np.float64)
        return energy_scorer(self, X)

    # --------------------------------------------------------- scikit-learn
    @property
    def _n_features_out(self):
        return self.n_features_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # CUDA kernels (atomics in backward passes) may differ run to run
        tags.non_deterministic = self.device != "cpu" and torch.cuda.is_available()
        if not self.fit_inverse:
            # without the inverse map there is no transform: a sampler only
            tags.transformer_tags = None
        return tags

    # ---------------------------------------------------------------- pickle
    def __getstate__(self):
        state = dict(super().__getstate__())
        for name in ("net_", "inverse_net_"):
            if _is_cuda_net(state.get(name)):
                state[name] = _net_to_cpu(state[name])
                state["device_"] = "cpu"
        # a handle on this run's processes, not part of the model
        state["accelerator"] = None
        state["_sklearn_gtn_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_sklearn_gtn_version", None)
        warn_if_other_version(version, what="GTNSampler")
        super().__setstate__(state)
