"""ConvAutoencoder: the paper's convolutional autoencoder as a scikit-learn transformer.

The paper trains a GTN on autoencoder codes of images (a homeomorphism keeps
dimension, so the map is learned in a latent space of about the data's
intrinsic dimension). ``ConvAutoencoder`` is that reducer: ``transform`` gives
the codes, ``inverse_transform`` decodes codes back to images in the input's
range and layout, so it can sit before a sampler in a Pipeline.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet

from ._base import TorchEstimator, check_float32_range
from ._fitting import restore_on_failure
from ._modules import ConvAutoencoderModule
from ._registry import register
from ._utils import check_nonnegative_real, check_positive_int, named_input_errors

__all__ = ["ConvAutoencoder"]


@register("sklearn_gtn.ConvAutoencoder")
class ConvAutoencoder(
    TorchEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Convolutional autoencoder of the GTN paper (Appendix F) as a transformer.

    Encoder ``Conv2d(C, 64, 4, 2, 1) - ReLU - Conv2d(64, 128, 4, 2, 1) - ReLU -
    Linear(-> latent_dim)``; decoder the mirror, ending in ``Tanh``. Pixels are
    scaled to ``[-1, 1]`` with the minimum and maximum of the training data
    (one pair for the whole data set) and scaled back by ``inverse_transform``.
    Trained with skorch on the mean squared reconstruction error (Adam), with
    early stopping on a validation split that restores the best weights.

    Images of any height and width are accepted: they are padded with zeros
    (bottom and right) up to multiples of 4 for the two stride-2 layers and the
    reconstruction is cropped back.

    Parameters
    ----------
    latent_dim : int, default=5
        Size ``d`` of the codes returned by ``transform`` (the paper: 5 for
        MNIST, 10 to 100 for CelebA).
    image_shape : tuple of int, default=None
        Shape ``(H, W)`` or ``(C, H, W)`` of one image when ``X`` is given flat,
        as ``(n_samples, C * H * W)`` in C-order. Ignored for 3-D ``(n, H, W)``
        and 4-D ``(n, C, H, W)`` input, whose shape is read from the data (if
        given it must agree). ``None`` with flat input treats each row as a
        one-channel image of height 1 and width ``n_features``.
    lr : float, default=1e-3
        Learning rate of Adam (the paper: 1e-3 for MNIST, 1e-4 for CelebA).
    weight_decay : float, default=1e-5
        Weight decay of Adam.
    batch_size : int, default=128
        Images per training step.
    max_epochs : int, default=50
        Upper bound on passes over the training images; early stopping usually
        ends training sooner.
    patience : int, default=3
        Epochs without improvement of the validation loss before training stops.
    validation_fraction : float or None, default=0.1
        Fraction of the images held out (at random) for early stopping; the
        best weights on it are restored at the end. ``None`` trains on all
        images for ``max_epochs`` epochs.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where to train and run the network; "auto" picks CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split, the weight initialisation and the batch
        order (torch seeds are set inside ``torch.random.fork_rng``, so the
        caller's global torch RNG is untouched). An int gives reproducible fits
        on the same device.
    verbose : int or bool, default=0
        0 is silent; 1 (or ``True``) prints skorch's table of epochs.
    precision : {"float32", "bfloat16"}, default="float32"
        Numeric precision of ``transform`` and ``inverse_transform`` (training
        is always float32). ``"bfloat16"`` runs the convolutions and linear
        layers in bfloat16 autocast: faster on CPUs with AVX512-BF16 and on
        recent GPUs (:doc:`/benchmarks`, "Image sampling"), with errors of
        about 1e-3 of the pixel range. It can be changed after fit with
        ``set_params``.
    accelerator : accelerate.Accelerator or None, default=None
        Train data-parallel with Hugging Face Accelerate (several GPUs, or
        several CPU processes), through skorch's ``AccelerateMixin``. Run the
        same script on every process (``accelerate launch --num_processes N
        script.py``), each calling ``fit`` with the same ``X``: Accelerate
        shards the training and validation images (``batch_size`` images per
        process and step) and averages the gradients; the validation loss is
        averaged over all processes, so that all stop at the same epoch with
        the same weights. ``device`` must then be ``"auto"`` (the
        accelerator's device) or name the same kind of device. The fitted
        model is a plain one; the accelerator is neither pickled nor saved (a
        loaded model has ``accelerator=None``). ``None`` trains in this
        process alone, without importing ``accelerate``.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained :class:`~sklearn_gtn._modules.ConvAutoencoderModule`
        (``module_.encoder``, ``module_.decoder``), in evaluation mode.
    history_ : skorch.history.History
        Per-epoch training (and validation) losses of skorch.
    n_epochs_ : int
        Number of epochs run.
    best_epoch_ : int
        Epoch whose weights were kept (the last one without validation).
    image_shape_ : tuple of int
        Shape ``(C, H, W)`` of one image as the network sees it.
    data_min_, data_max_ : float
        Pixel range of the training data, mapped to ``[-1, 1]``.
    device_ : str
        Device of ``module_`` (``"cpu"`` after unpickling a model that was
        fitted on a GPU).
    n_features_in_ : int
        Number of values per image, ``C * H * W``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, for flat input with string column
        names.

    See Also
    --------
    sklearn_gtn.GenerativePipeline : sample images through a fitted pipeline.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn import ConvAutoencoder
    >>> X = np.random.RandomState(0).rand(40, 1, 7, 9)
    >>> ae = ConvAutoencoder(latent_dim=3, max_epochs=2, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (40, 3)
    >>> ae.inverse_transform(ae.transform(X)).shape
    (40, 1, 7, 9)

    Data-parallel training (``pip install accelerate``; run the same script on
    every process with ``accelerate launch``):

    >>> from accelerate import Accelerator  # doctest: +SKIP
    >>> ae = ConvAutoencoder(latent_dim=3, max_epochs=2, random_state=0,
    ...                      accelerator=Accelerator()).fit(X)  # doctest: +SKIP
    """

    def __init__(
        self,
        latent_dim=5,
        *,
        image_shape=None,
        lr=1e-3,
        weight_decay=1e-5,
        batch_size=128,
        max_epochs=50,
        patience=3,
        validation_fraction=0.1,
        device="auto",
        random_state=None,
        verbose=0,
        precision="float32",
        accelerator=None,
    ):
        self.latent_dim = latent_dim
        self.image_shape = image_shape
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.precision = precision
        self.accelerator = accelerator

    # ------------------------------------------------------------------ checks
    # Rows per forward pass on the CPU, whatever the thread count (a fixed
    # chunking: the same call gives the same bits on the same machine)
    _CPU_CHUNK_ROWS = 4096

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        """Validate the constructor arguments; return the training device."""
        device = self._check_torch_params()
        check_positive_int(self.latent_dim, name="latent_dim")
        check_positive_int(self.patience, name="patience")
        check_nonnegative_real(self.weight_decay, name="weight_decay")
        vf = self.validation_fraction
        if vf is not None:
            if isinstance(vf, bool) or not isinstance(vf, numbers.Real):
                raise TypeError(
                    f"validation_fraction must be a float or None, got {vf!r}."
                )
            if not 0 < vf < 1:
                raise ValueError(
                    f"validation_fraction must be in (0, 1) or None, got {vf!r}."
                )
        if self.image_shape is not None:
            _normalize_image_shape(self.image_shape)
        return device

    def _flatten(self, X, *, reset):
        """Turn (n, C, H, W) / (n, H, W) / (n, F) input into validated (n, F)."""
        ndim = getattr(X, "ndim", None)
        if ndim is None and isinstance(X, (list, tuple)):
            X = np.asarray(X)
            ndim = X.ndim
        if ndim is not None and ndim > 4:
            raise ValueError(
                "X must be (n_samples, n_features), (n_samples, H, W) or "
                f"(n_samples, C, H, W); got a {ndim}-D array."
            )
        image = None
        if ndim in (3, 4):
            X = np.asarray(X)
            image = (1, *X.shape[1:]) if ndim == 3 else tuple(X.shape[1:])
            X = X.reshape(X.shape[0], int(np.prod(X.shape[1:])))
            if not reset and image != self.image_shape_:
                raise ValueError(
                    f"X has images of shape {image} (C, H, W) but {type(self).__name__}"
                    f" was fitted on images of shape {self.image_shape_}."
                )
        with named_input_errors("X"):
            X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        return X, ndim, image

    # --------------------------------------------------------------------- fit
    @restore_on_failure
    def fit(self, X, y=None):
        """Train the autoencoder on images ``X``.

        ``fit`` completes or leaves the estimator as it was: if it fails or
        is interrupted (``KeyboardInterrupt``, Ctrl-C, out of memory), the
        exception propagates and the estimator keeps the attributes it had
        before the call (unfitted, or the previous model). Nothing is
        written to disk.

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
                (n_samples, n_features)
            Training images; flat rows are reshaped with ``image_shape``.
        y : None
            Ignored.

        Returns
        -------
        self : ConvAutoencoder
            The fitted transformer.
        """
        device = self._check_params()
        X, ndim, image = self._flatten(X, reset=True)
        self._set_shapes(X.shape[1], ndim, image)
        n_valid = self._n_valid(X.shape[0])
        rng = self._random_state()
        order = rng.permutation(X.shape[0])
        seed = int(rng.randint(np.iinfo(np.int32).max))
        self.data_min_ = float(X.min())
        self.data_max_ = float(X.max())
        if not np.isfinite(self.data_max_ - self.data_min_):
            raise ValueError(
                "X holds values too far apart to scale to [-1, 1] (the range "
                f"{self.data_min_:.3g} .. {self.data_max_:.3g} overflows); rescale X."
            )
        images = torch.from_numpy(self._scale(X).reshape(-1, *self.image_shape_))
        X_train = images[torch.from_numpy(order[n_valid:])]
        valid = None
        if n_valid:
            X_valid = images[torch.from_numpy(order[:n_valid])]
            valid = (X_valid, X_valid)
        C, H, W = self.image_shape_
        # multiply-adds of the widest convolution for one minibatch
        work = self.batch_size * 64 * max(C, 2) * 16 * max(1, H * W // 4)
        with self._training_run(seed, device, work):
            net = self._fit_net(
                NeuralNet,
                X_train,
                X_train,
                device=device,
                valid=valid,
                patience=self.patience if n_valid else None,
                title="autoencoder",
                module=ConvAutoencoderModule,
                module__in_channels=C,
                module__height=H,
                module__width=W,
                module__latent_dim=self.latent_dim,
                optimizer__weight_decay=self.weight_decay,
            )
        self.module_ = net.module_
        self.history_ = net.history
        self.n_epochs_ = len(net.history)
        self.best_epoch_ = self._best_epoch(net)
        self.device_ = str(device)
        self._n_features_out = int(self.latent_dim)
        return self

    def _set_shapes(self, n_features, ndim, image):
        """``image_shape_`` (what the network sees) and the output layout."""
        if ndim in (3, 4):
            if self.image_shape is not None:
                given = _normalize_image_shape(self.image_shape)
                if given != image:
                    raise ValueError(
                        f"image_shape={self.image_shape!r} does not match the "
                        f"shape of the images in X, {image} (C, H, W)."
                    )
            self.image_shape_ = image
            self._output_shape = tuple(image) if ndim == 4 else tuple(image[1:])
            return
        if self.image_shape is None:
            self.image_shape_ = (1, 1, n_features)
        else:
            self.image_shape_ = _normalize_image_shape(self.image_shape)
            if int(np.prod(self.image_shape_)) != n_features:
                raise ValueError(
                    f"image_shape={self.image_shape!r} has "
                    f"{int(np.prod(self.image_shape_))} values but X has "
                    f"{n_features} features."
                )
        self._output_shape = (n_features,)

    def _n_valid(self, n_samples):
        """Images held out for early stopping."""
        if self.validation_fraction is None:
            return 0
        n_valid = max(1, int(round(self.validation_fraction * n_samples)))
        if n_samples - n_valid < 1:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to hold out "
                f"a validation split, got n_samples={n_samples}; pass more "
                "images or validation_fraction=None."
            )
        return n_valid

    # --------------------------------------------------------------- scaling
    def _scale(self, X, checked=True):
        """Pixels to ``[-1, 1]`` (float32; float64 when not ``checked``)."""
        span = self.data_max_ - self.data_min_
        factor = 2.0 / span if span > 0 else 1.0
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (X - self.data_min_) * factor - 1.0
        return scaled.astype(np.float32) if checked else scaled

    def _unscale(self, images, dtype):
        """``[-1, 1]`` float32 images to data units, in place, then ``dtype``."""
        span = self.data_max_ - self.data_min_
        factor = span / 2.0 if span > 0 else 1.0
        images *= np.float32(factor)
        images += np.float32(factor + self.data_min_)
        # C order: the decoder's output is channels-last strided (and cropped).
        return images.astype(dtype, order="C", copy=False)

    def _row_bytes(self):
        """float32 activation bytes per image of a forward pass (GPU chunks)."""
        C, H, W = self.image_shape_
        return 4 * (2 * C * H * W + 2 * 64 * H * W // 4 + 2 * 128 * H * W // 16)

    # ------------------------------------------------------------- transform
    def transform(self, X):
        """Encode images into codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
                (n_samples, n_features)
            Images of the fitted shape.

        Returns
        -------
        Z : ndarray of shape (n_samples, latent_dim)
            Codes, of ``X``'s float dtype (float32 stays float32, anything
            else becomes float64).
        """
        check_is_fitted(self)
        X, _, _ = self._flatten(X, reset=False)
        images = check_float32_range(self._scale(X, checked=False), name="X")
        images = images.astype(np.float32).reshape(len(X), *self.image_shape_)
        Z = self._run(
            self.module_.encoder,
            images,
            module=self.module_,
            dtype=np.float32,
            row_bytes=self._row_bytes(),
        )
        return Z.astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Decode codes back into images in the training data's range and layout.

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)
            Codes, for example from ``transform`` or from a sampler.

        Returns
        -------
        X_original : ndarray
            Images of shape ``(n_samples, *shape)`` where ``shape`` is the
            per-image shape of the data given to ``fit``: ``(C, H, W)``,
            ``(H, W)`` or ``(n_features,)``. Float32 codes give float32 images,
            anything else float64.
        """
        check_is_fitted(self)
        with named_input_errors("X"):
            Z = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        if Z.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self._n_features_out} "
                "features (latent_dim) as input."
            )
        check_float32_range(Z, name="X")
        images = self._run(
            self.module_.decoder,
            Z.astype(np.float32),
            module=self.module_,
            dtype=np.float32,
            row_bytes=self._row_bytes(),
        )
        images = self._unscale(images, Z.dtype)
        return images.reshape(len(Z), *self._output_shape)

    # ------------------------------------------------------------ sklearn glue
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _normalize_image_shape(shape):
    """Return ``image_shape`` as a ``(C, H, W)`` tuple of positive ints."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise TypeError(
            f"image_shape must be a tuple (H, W) or (C, H, W), got {shape!r}."
        )
    if len(shape) not in (2, 3):
        raise ValueError(
            f"image_shape must be a tuple (H, W) or (C, H, W), got {shape!r}."
        )
    dims = tuple(check_positive_int(s, name="image_shape entries") for s in shape)
    return dims if len(dims) == 3 else (1, *dims)
