"""GTNSampler: a Generative Topological Network as a scikit-learn estimator.

The estimator is glue only: it validates and standardises the data, pairs
normal draws with data points (:func:`sklearn_gtn.label_pairs`), and trains the
torch module :class:`sklearn_gtn._modules.MLP` by MSE regression through skorch.
Sampling, ``transform`` and ``inverse_transform`` run the fitted module
directly (one batched forward pass per chunk, in inference mode).
"""

from __future__ import annotations

import functools
import math
import numbers
import time

import numpy as np
import torch
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNetRegressor

from . import _accelerate, _training
from ._base import TorchEstimator, check_float32_range, in_training_columns
from ._fitting import restore_on_failure
from ._modules import MLP, n_batch_norm_layers
from ._registry import register
from ._runtime import _training_data_device, check_output_size
from ._utils import (
    check_n_steps,
    check_positive_int,
    is_auto,
    named_input_errors,
    standardization,
)
from ._versioning import GTNVersionWarning
from .assignment import assignment_pairs
from .labeling import label_pairs
from .metrics import energy_scorer

__all__ = ["GTNSampler", "GTNVersionWarning"]

_LABELINGS = ("algorithm1", "assignment")
# batch_norm="auto" and patience="auto" resolve by labeling: the paper's
# training with its labeling, and with the assignment labeling the training
# that measured best in benchmarks/quality.py (no BatchNorm, no early
# stopping, 60 epochs on all rows; figures in docs/benchmarks.rst,
# "Sample quality")
_AUTO_TRAINING = {
    "algorithm1": {"batch_norm": True, "patience": 3},
    "assignment": {"batch_norm": False, "patience": None},
}
# validation_fraction="auto": the rows held out when early stopping needs them
_AUTO_VALIDATION_FRACTION = 0.1


def _shared_match(accelerator, match):
    """The main process's relabeling ``match`` (CPU), on every process."""
    return _accelerate.share_from_main(accelerator, match)[0].cpu()


@register("sklearn_gtn.GTNSampler")
class GTNSampler(
    TorchEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    BaseEstimator,
    # no automatic set_output wrapping: it would hide that ``transform`` is
    # unavailable when ``fit_inverse=False`` (the wrapper always exists);
    # set_output below does it by hand
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
        small network samples fast), else 6 layers of ``32 * n_features``
        units, at least 64 and at most 256, and past 16 features with at
        least 2,000 training rows 9 layers of 192 (wider and deeper
        networks fix the under-dispersed samples of higher dimensions, see
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
    batch_size : int or "auto", default="auto"
        Number of pairs per gradient step. ``"auto"``: 256 with
        ``labeling="assignment"`` and more than 2 features (the six wide
        layers make better use of the CPU's threads on twice the rows), else
        128. The resolved value is ``batch_size_``.
    max_epochs : int or "auto", default="auto"
        Passes over the labeled pairs (early stopping, when on, may end
        training sooner). ``"auto"``: 60 with ``labeling="algorithm1"``;
        with ``"assignment"`` the budget is counted in optimizer updates: 60
        passes' worth, but at least 4,000 updates of up to 128 rows (2,000 of
        256 rows) when ``n_features > 2`` (small tables need thousands of
        updates, not 60) and at most 20,000
        (a million rows do not pay for 60 passes); small data are repeated
        so that an epoch holds at least 16 batches; the inverse network,
        trained on the final pairs, gets a quarter of the epochs. An int
        counts passes, so with ``batch_size="auto"`` (256 rows when
        ``n_features > 2``) it means half as many updates as with 128. The
        resolved values are ``max_epochs_``, ``max_updates_`` and
        ``inverse_max_epochs_``.
    patience : int, None or "auto", default="auto"
        Stop after this many epochs without improvement of the validation MSE
        and restore the weights of the best epoch; ``None`` trains
        ``max_epochs`` epochs and keeps the last weights. ``"auto"``: 3 with
        ``labeling="algorithm1"`` (the paper), ``None`` with ``"assignment"``:
        the validation MSE measures how well the network fits noisy labels,
        not how good its samples are, and it stopped training long before the
        samples were best (:doc:`/benchmarks`, "Sample quality").
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
        :doc:`/benchmarks`). Set it, and ``noise_scale="auto"`` resolves to
        0 (an explicit ``noise_scale > 0`` next to it is an error).
    noise_scale : float or "auto", default="auto"
        Add to every sample an elementwise Gaussian term whose standard
        deviation is this many standard deviations of each feature (of the
        training data; in data units with ``standardize=False``); 0 adds
        nothing. It loosens samples that sit too close to each other (k-NN
        precision above recall), the way a kernel density estimate smooths
        its rows; it adds ``noise_scale ** 2`` times each feature's variance
        to the samples' (with the recalibration, whose samples have the
        data's variances, a factor ``1 + noise_scale ** 2``). ``transform``
        and ``inverse_transform`` never add noise. ``"auto"``: 0.2 with
        ``labeling="assignment"``, more than 2 features and at least 2,000
        training rows, counted per fitted sampler (the pieces of a
        :class:`GTNMixture` count their own): it lowered the classifier
        two-sample accuracy of 4,000 MNIST latents of dimension 16 and 32
        and the FD of dimension 5; else 0: on tables of 124 to 1,257 rows it
        made samples easier to tell from real rows (:doc:`/benchmarks`).
        0 with an explicit ``residual_noise > 0``, which sets the term
        instead. The resolved value is ``noise_scale_``, per feature.
    recalibrate : bool or "auto", default="auto"
        After training, move the mean and covariance of the samples onto
        those of the training data: the optimal transport map between the
        two Gaussians (an affine map, from 20,000 draws) is folded into the
        output layer of the forward network (and its inverse into the input
        layer of the inverse network), so sampling stays one forward pass.
        ``"auto"``: ``True`` with ``labeling="assignment"`` and more than 2
        features (the largest single gain on MNIST latents, see
        :doc:`/benchmarks`), else ``False``.
    n_relabelings : int or "auto", default="auto"
        How many times, during training, fresh normal draws are paired with the
        training rows in the network's output space: the current network maps
        the draws, and each is paired with a row by the assignment that
        minimises the total squared distance between outputs and rows
        (:func:`sklearn_gtn.assignment_pairs`, exact up to 1,024 rows), at
        evenly spread epochs of the first nine tenths of the budget. The first
        labeling pairs draws and rows in the input space; in more than a few
        dimensions those pairs are far from any smooth map, and the regression
        averages between them, which shrinks the samples; pairs a map is nearest
        to let it refine instead. Each relabeling costs about one labeling.
        ``0`` keeps the first pairs. Not with early stopping or residual noise
        (both judge held-out pairs, which keep their first pairing):
        ``"auto"`` is then 0, an explicit count an error. ``"auto"``: 6 with
        ``labeling="assignment"`` and more than 2 features (it lowered the
        Frechet distance of MNIST latents, see :doc:`/benchmarks`), else 0. The
        resolved value is ``n_relabelings_``.
    labeling : {"assignment", "algorithm1"}, default="assignment"
        How normal draws are paired with data points. ``"assignment"`` pairs
        them to minimise the total squared distance
        (:func:`sklearn_gtn.assignment_pairs`: exact up to 3,000 rows, the
        ``"cells"`` refinement above, the quantile map in 1-D), which respects
        direction and radial order; it runs on the CPU. ``"algorithm1"`` is
        the paper's rule (:func:`sklearn_gtn.label_pairs`: direction first,
        norm only to break ties; fast on a GPU, but its samples form rings
        and blobs, and a classifier tells them from the data more easily:
        :doc:`/benchmarks`, "Sample quality"). With the other parameters
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
    inverse_max_epochs_ : int
        Epochs of the inverse network's budget: a quarter of
        ``max_epochs_`` under the assignment labeling's automatic budget
        (``max_epochs="auto"``), else ``max_epochs_``.
    lr_, lr_schedule_, selection_, residual_noise_, recalibrate_, n_relabelings_
        The resolved values of these parameters.
    noise_scale_ : ndarray of shape (n_features_in_,) or None
        Standard deviation of the noise term added to samples, per feature,
        in standardised units (``noise_scale``, or ``residual_noise`` times
        the held-out residuals'); ``None`` without noise.
    batch_size_ : int
        The resolved ``batch_size``.
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
    latency-bound and extra threads slow them down. Larger networks train
    on ``OMP_NUM_THREADS`` threads, or as many as the CPUs the process may
    use: never on the caller's ``torch.set_num_threads`` setting, so that a
    fit does not depend on it (see :doc:`/reproducibility`). Inference
    (``sample``, ``transform``, ...) of networks no wider than 256 runs each
    chunk on one thread, several chunks at once; wider networks use torch's
    setting. torch's thread setting is restored afterwards.

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
        batch_size="auto",
        max_epochs="auto",
        patience="auto",
        validation_fraction="auto",
        lr_schedule="auto",
        selection="auto",
        residual_noise="auto",
        noise_scale="auto",
        recalibrate="auto",
        n_relabelings="auto",
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
        self.noise_scale = noise_scale
        self.recalibrate = recalibrate
        self.n_relabelings = n_relabelings
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
        value = self.negative_slope
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"negative_slope must be a real number, got {value!r}.")
        if not math.isfinite(value):
            raise ValueError(f"negative_slope must be finite, got {value!r}.")
        if self.negative_slope <= 0:
            raise ValueError(
                "negative_slope must be > 0 (otherwise the activation is not "
                "invertible and h cannot be a homeomorphism), got "
                f"{self.negative_slope!r}."
            )
        # lr, max_epochs and batch_size may be "auto": resolved with the data in fit
        device = self._check_torch_params(auto=("lr", "max_epochs", "batch_size"))
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
        training = self._check_relabelings(training, patience)
        if training["selection"] is not None and patience is not None:
            # both would restore weights at the end of training: one choice
            raise ValueError(
                f"selection={training['selection']!r} chooses the kept weights, "
                f"and so does early stopping (patience={patience!r}); pass "
                "patience=None with selection, or selection=None."
            )
        for name in ("standardize", "fit_inverse"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")
        if sizes != "by_dimension":
            n_batch_norm_layers(batch_norm, len(sizes))
        if batch_norm and training["batch_size"] == 1:  # "auto" gives >= 128
            raise ValueError(
                "batch_size must be >= 2 with batch_norm=True (BatchNorm1d cannot "
                f"train on single rows), got batch_size={self.batch_size}."
            )
        return sizes, device, batch_norm, patience, validation_fraction, training

    def _check_relabelings(self, training, patience):
        """No relabeling next to early stopping or residual noise.

        Both judge the held-out pairs, which keep their first pairing: after
        a relabeling the validation MSE rises and early stopping restores
        the weights from before it. ``"auto"`` resolves to 0 then; an
        explicit count is an error naming both parameters.
        """
        judged = []
        if patience is not None:
            judged.append(f"patience={patience!r}")
        if training["residual_noise"] > 0:
            judged.append(f"residual_noise={self.residual_noise!r}")
        if not judged or training["n_relabelings"] == 0:
            return training
        if is_auto(self.n_relabelings, name="n_relabelings", expected="an int >= 0"):
            return {**training, "n_relabelings": 0}
        raise ValueError(
            f"n_relabelings={self.n_relabelings!r} re-pairs the training rows, "
            f"but {' and '.join(judged)} judges the held-out pairs, which keep "
            "their first pairing; pass n_relabelings=0 with it, or turn it off "
            "(patience=None, residual_noise=0)."
        )

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
        n_train, n_val = self._split_sizes(X.shape[0])
        sizes, repeats, noise_scale = self._resolve_training(
            training, sizes, n_train, X.shape[1]
        )
        Z = self._standardize(X)
        rng = self._random_state()
        pairs = self._pair(Z, n_train, n_val, device, rng)
        torch_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.device_ = str(device)
        tic = time.perf_counter()
        work = self.batch_size_ * max((*sizes, X.shape[1])) ** 2
        Y_train, X_train, Y_val, X_val = pairs
        with self._training_run(torch_seed, device, work):
            selector = _training.selection_callback(self, X_train, Y_val, X_val, rng)
            self.net_ = self._train(
                *pairs,
                sizes,
                device,
                "forward network",
                repeats,
                selector,
                relabel_seed=int(rng.randint(2**31 - 1)),
            )
            recal, self.noise_scale_, self.memorisation_ratio_ = (
                _training.finish_forward(
                    self, selector, X_train, Y_val, X_val, rng, noise_scale
                )
            )
            self.inverse_net_ = None
            if self.fit_inverse:
                self.inverse_net_ = self._train(
                    X_train,
                    Y_train,
                    X_val,
                    Y_val,
                    sizes,
                    device,
                    "inverse network",
                    repeats,
                    max_epochs=self.inverse_max_epochs_,
                )
                _training.finish_inverse(self, recal)
        self.training_time_ = time.perf_counter() - tic
        self._record(n_val, selector)
        return self

    def _resolve_training(self, training, sizes, n_train, n_features):
        """Set the resolved training attributes (``hidden_layer_sizes_``,
        ``batch_size_``, ``max_epochs_``, ``max_updates_``, ``lr_``, ...);
        return the hidden sizes, how many times the training rows are
        repeated per epoch and the resolved ``noise_scale``."""
        sizes = _training.resolve_hidden_layer_sizes(sizes, n_features, n_train)
        n_batch_norm_layers(self.batch_norm_, len(sizes))
        self.hidden_layer_sizes_ = sizes
        self.batch_size_ = _training.resolve_by_dimension(
            training["batch_size"],
            n_features,
            _training.DEFAULT_BATCH_SIZE,
            _training.WIDE_BATCH_SIZE,
        )
        self.max_epochs_, self.max_updates_, repeats = _training.resolve_max_epochs(
            training["max_epochs"], n_train, self.batch_size_, n_features
        )
        self.inverse_max_epochs_ = _training.inverse_epochs(
            self.max_epochs_, training["max_epochs"]
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
        self.n_relabelings_ = _training.resolve_by_dimension(
            training["n_relabelings"], n_features, 0, _training.AUTO_RELABELINGS
        )
        noise_scale = _training.resolve_noise_scale(
            training["noise_scale"], n_train, n_features
        )
        return sizes, repeats, noise_scale

    def _standardize(self, X):
        """Set ``mean_`` and ``scale_``; ``X`` in standardised units."""
        n_features = X.shape[1]
        if self.standardize:
            self.mean_, self.scale_ = standardization(X)
        else:
            self.mean_ = np.zeros(n_features)
            self.scale_ = np.ones(n_features)
        Z = (X - self.mean_) / self.scale_
        return check_float32_range(Z, name="X")

    def _pair(self, Z, n_train, n_val, device, rng):
        """Label normal draws with rows of ``Z``: training and validation
        ``(Y_train, X_train, Y_val, X_val)`` tensors (``None`` without
        validation rows), on the device training reads them from."""
        n_samples, n_features = Z.shape
        perm = rng.permutation(n_samples)
        Z_train, Z_val = Z[perm[n_val:]], Z[perm[:n_val]]
        Y_train = rng.standard_normal((n_train, n_features))
        Y_val = rng.standard_normal((n_val, n_features))
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
            if A is None:
                return None
            return torch.as_tensor(A, dtype=torch.float32).to(data_device)

        pairs = [as_tensor(A) for A in (Y_train, X_train, Y_val, X_val)]
        # with several processes all train on the main process's pairs
        return _accelerate.share_from_main(self.accelerator, *pairs)

    def _record(self, n_val, selector):
        """The fitted attributes read from the forward net's history."""
        history = self.net_.history
        self.n_epochs_ = len(history)
        self.best_epoch_ = self._best_epoch(self.net_)
        if selector is not None:  # the checkpoint selection kept
            self.best_epoch_ = _training.kept_epoch(selector, self.n_epochs_)
        if n_val:
            epochs = list(history[:, "epoch"])
            losses = history[:, "valid_loss"]
            self.best_validation_loss_ = float(losses[epochs.index(self.best_epoch_)])
        else:
            self.best_validation_loss_ = None

    def _label(self, Z, Y, device, verbose, rng):
        """Pair the draws ``Y`` with rows of ``Z`` by the chosen labeling."""
        if not _accelerate.is_main_process(self.accelerator):
            # a placeholder: the main process's pairs are shared with this one
            return np.arange(len(Z))
        if self.labeling == "assignment":
            return assignment_pairs(Z, Y, random_state=rng, verbose=verbose)
        return label_pairs(Z, Y, device=device, verbose=verbose)

    def _train(
        self,
        inputs,
        targets,
        valid_inputs,
        valid_targets,
        sizes,
        device,
        title,
        repeats=1,
        selector=None,
        relabel_seed=None,
        max_epochs=None,
    ):
        """Build and fit one skorch net ``inputs -> targets`` (the training
        rows ``repeats`` times per epoch); with ``relabel_seed`` the
        forward net, whose pairs :class:`~sklearn_gtn._training.Relabel`
        solves again (``targets`` is permuted in place); ``max_epochs``
        (default ``max_epochs_``) epochs of ``max_updates_ / max_epochs_``
        updates each."""
        valid = None if valid_inputs is None else (valid_inputs, valid_targets)
        train_inputs = _training.repeated(inputs, repeats)
        train_targets = _training.repeated(targets, repeats)
        if max_epochs is None:
            max_epochs = self.max_epochs_
        n_updates = max_epochs * (self.max_updates_ // self.max_epochs_)
        callbacks = _training.training_callbacks(self, selector, n_updates)
        epochs = _training.relabel_epochs(self.max_epochs_, self.n_relabelings_)
        if relabel_seed is not None and epochs:
            copies = repeats > 1
            share = functools.partial(_shared_match, self.accelerator)
            relabel = _training.Relabel(
                epochs,
                [inputs] + ([train_inputs] if copies else []),
                [targets] + ([train_targets] if copies else []),
                share,
                relabel_seed,
            )
            callbacks.append(("relabel", relabel))
        return self._fit_net(
            NeuralNetRegressor,
            train_inputs,
            train_targets,
            device=device,
            valid=valid,
            patience=self.patience_,
            title=title,
            lr=self.lr_,
            batch_size=self.batch_size_,
            max_epochs=max_epochs,
            callbacks=callbacks,
            module=MLP,
            module__n_features_in=inputs.shape[1],
            module__n_features_out=targets.shape[1],
            module__hidden_layer_sizes=sizes,
            module__negative_slope=float(self.negative_slope),
            module__batch_norm=n_batch_norm_layers(self.batch_norm_, len(sizes)),
        )

    # -------------------------------------------------------------- inference
    def sample(self, n_samples=1, random_state=None):
        """Generate samples: ``h_hat(y)`` for fresh draws ``y ~ N(0, I)``.

        With a noise term (``noise_scale_`` not ``None``: ``noise_scale`` or
        ``residual_noise``) each sample also gets independent Gaussian noise
        of that standard deviation per feature.

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
        X_new : ndarray or DataFrame of shape (n_samples, n_features_in_)
            Samples in the units of the training data; a DataFrame with the
            training columns when ``fit`` got a DataFrame with string column
            names.

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
        # the float32 codes (4 bytes a value) and the float64 samples (8)
        check_output_size(
            n_samples, self.n_features_in_, name="n_samples", value_bytes=12
        )
        codes, noise = self._draws(n_samples, random_state)
        out = self._decode(codes)
        if noise is not None:  # in standardised units, like the map's output
            out += noise.numpy() * (self.noise_scale_ * self.scale_)
        return in_training_columns(self, out)

    def _draws(self, n_samples, random_state):
        """The normal codes ``sample`` maps and the residual-noise draws
        (float32 CPU tensors; ``None`` without residual noise)."""
        rng = check_random_state(random_state)
        gen = torch.Generator().manual_seed(
            int(rng.randint(np.iinfo(np.int64).max, dtype=np.int64))
        )
        # all codes at once (half the size of the float64 output), so that the
        # codes do not depend on the chunking or on the device; the samples
        # agree across chunkings and devices to float32 rounding (on the CPU
        # the chunking is fixed by the network: docs/reproducibility.rst)
        codes = torch.randn(n_samples, self.n_features_in_, generator=gen)
        noise = None
        if getattr(self, "noise_scale_", None) is not None:
            # the residual-noise term, drawn after all the codes
            noise = torch.randn(n_samples, self.n_features_in_, generator=gen)
        return codes, noise

    def _decode(self, codes):
        """``h_hat(codes)`` in data units (ndarray)."""
        out = self._run(self.net_.module_, codes)
        out *= self.scale_
        out += self.mean_
        return out

    def _encode(self, X):
        """Codes of the checked float64 rows ``X`` (ndarray)."""
        Z = check_float32_range((X - self.mean_) / self.scale_, name="X")
        return self._run(self.inverse_net_.module_, Z)

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
        X_original : ndarray or DataFrame of shape (n_samples, n_features_in_)
            Points in the units of the training data (a DataFrame with the
            training columns when ``fit`` got one).
        """
        check_is_fitted(self)
        Z = check_float32_range(self._check_codes(X, "X"), name="X")
        return in_training_columns(self, self._decode(Z))

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
        X_new : ndarray or DataFrame of shape (n_samples, n_features_in_)
            Their codes in the source space (a DataFrame after
            ``set_output(transform="pandas")``).

        Notes
        -----
        ``inverse_transform(transform(X))`` only approximates ``X``: both maps
        are regressions on the same pairs, and Algorithm 1's pairs are not a
        smooth function. The round-trip error is of the same size on training
        and on held-out points; measure it on your data with
        ``np.abs(gtn.inverse_transform(gtn.transform(X)) - X)``.
        """
        check_is_fitted(self)
        index = getattr(X, "index", None)
        with named_input_errors("X"):
            X = validate_data(self, X, reset=False, dtype=np.float64)
        codes = self._encode(X)
        if self._transform_output() == "pandas":
            import pandas as pd

            columns = self.get_feature_names_out()
            return pd.DataFrame(codes, columns=columns, index=index)
        return codes

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
            Number of points on each path, endpoints included (at least 2,
            at most 1,000,000).

        Returns
        -------
        path : ndarray of shape (n_steps, d) or (n_pairs, n_steps, d)
            The generated points, in data units (``d = n_features_in_``); one
            path is a DataFrame with the training columns when ``fit`` got
            one.
        """
        check_is_fitted(self)
        n_steps = check_n_steps(n_steps)
        a, b, single = self._pair_arrays(z_start, z_end, ("z_start", "z_end"))
        a, b = self._check_codes(a, "z_start"), self._check_codes(b, "z_end")
        check_float32_range(a, name="z_start")
        check_float32_range(b, name="z_end")
        check_output_size(
            len(a) * n_steps, 2 * self.n_features_in_, name="n_steps", value=n_steps
        )
        codes = self._paths(a, b, n_steps)
        out = self._decode(codes.reshape(-1, self.n_features_in_))
        out = out.reshape(codes.shape)
        return in_training_columns(self, out[0]) if single else out

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
            Number of points on each path, endpoints included (at least 2,
            at most 1,000,000).

        Returns
        -------
        path : ndarray of shape (n_steps, d) or (n_pairs, n_steps, d)
            The generated points, in data units (``d = n_features_in_``); one
            path is a DataFrame with the training columns when ``fit`` got
            one.
        """
        check_is_fitted(self)
        n_steps = check_n_steps(n_steps)
        a, b, single = self._pair_arrays(x_start, x_end, ("x_start", "x_end"))
        a, b = self._check_codes(a, "x_start"), self._check_codes(b, "x_end")
        codes_a, codes_b = self._encode(a), self._encode(b)
        return self.interpolate_codes(
            codes_a[0] if single else codes_a,
            codes_b[0] if single else codes_b,
            n_steps=n_steps,
        )

    def score(self, X, y=None):
        """Sample quality: minus the energy distance between ``X`` and samples.

        At most 2,000 rows of ``X`` (a fixed random subset) are compared with as
        many samples drawn with a fixed seed, so the score is deterministic.
        Both are divided by ``scale_`` (the training data's per-column standard
        deviations; ones with ``standardize=False``), so every column counts.
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
            ``-energy_distance(X / scale_, samples / scale_)``, see
            :func:`sklearn_gtn.metrics.energy_distance` and
            :func:`sklearn_gtn.metrics.energy_scorer`.
        """
        check_is_fitted(self)
        with named_input_errors("X"):
            X = validate_data(self, X, reset=False, dtype=np.float64)
        check_float32_range((X - self.mean_) / self.scale_, name="X")
        return energy_scorer(self, X)

    # --------------------------------------------------------- scikit-learn
    def set_output(self, *, transform=None):
        """Set the output container of ``transform`` and ``fit_transform``.

        Parameters
        ----------
        transform : {"default", "pandas"} or None, default=None
            ``"pandas"``: a DataFrame whose columns are
            :meth:`get_feature_names_out`; ``"default"``: an ndarray; ``None``
            leaves the setting (or scikit-learn's global
            ``transform_output``) as it is.

        Returns
        -------
        self : GTNSampler
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas"):
            raise ValueError(
                f"transform must be 'default', 'pandas' or None, got {transform!r}."
            )
        if not hasattr(self, "_sklearn_output_config"):
            self._sklearn_output_config = {}
        self._sklearn_output_config["transform"] = transform
        return self

    def _transform_output(self):
        config = getattr(self, "_sklearn_output_config", {})
        return config.get("transform", get_config()["transform_output"])

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
