"""Torch modules of sklearn-gtn (no scikit-learn in this file).

Each module builds its layers in ``__init__`` and holds no training loop; the
estimators in :mod:`sklearn_gtn.sampler` and :mod:`sklearn_gtn.autoencoder`
train them through skorch.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._registry import register

__all__ = ["MLP", "ConvEncoder", "ConvDecoder", "ConvAutoencoderModule", "padded_size"]


# ---------------------------------------------------------------------------
# The MLP h_hat of a GTN
# ---------------------------------------------------------------------------


def n_batch_norm_layers(batch_norm: bool | int, n_hidden: int) -> int:
    """Number of leading hidden layers that ``batch_norm`` puts BatchNorm after.

    ``True`` means all ``n_hidden`` layers, ``False`` none, an int ``k`` the
    first ``k``; raises ``TypeError``/``ValueError`` for anything else.
    """
    if isinstance(batch_norm, (bool, np.bool_)):
        return int(n_hidden) if batch_norm else 0
    if not isinstance(batch_norm, numbers.Integral):
        raise TypeError(f"batch_norm must be a bool or an int, got {batch_norm!r}.")
    if not 0 <= batch_norm <= n_hidden:
        raise ValueError(
            f"batch_norm must be a bool or an int in [0, {n_hidden}] (the number "
            f"of hidden layers), got {batch_norm!r}."
        )
    return int(batch_norm)


@register("sklearn_gtn.MLP", aliases=("sklearn_gtn._modules.MLP",))
class MLP(nn.Module):
    """Feed-forward network ``h_hat``: Linear, LeakyReLU, optional BatchNorm1d.

    Each hidden layer is ``Linear -> LeakyReLU(negative_slope)``, followed by
    ``BatchNorm1d`` when ``batch_norm`` asks for one; a final ``Linear`` maps to
    the output. The defaults are the paper's network for MNIST latents (6 hidden
    layers of width 50, LeakyReLU(0.5), each followed by BatchNorm1d).

    Parameters
    ----------
    n_features_in : int
        Number of input features (the dimension of the source).
    n_features_out : int
        Number of output features.
    hidden_layer_sizes : sequence of int, default=(50, 50, 50, 50, 50, 50)
        Width of each hidden layer; an empty sequence gives a single linear map.
    negative_slope : float, default=0.5
        Slope of the LeakyReLU for negative inputs.
    batch_norm : bool or int, default=True
        Which hidden layers end with a ``BatchNorm1d``: ``True`` all of them,
        ``False`` none, an int ``k`` the first ``k`` (``0 <= k <=
        len(hidden_layer_sizes)``; the paper's CelebA network has 25 hidden
        layers and ``k = 20``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_gtn._modules import MLP
    >>> net = MLP(2, 2, hidden_layer_sizes=(8, 8))
    >>> net.eval()(torch.zeros(5, 2)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        n_features_in: int,
        n_features_out: int,
        hidden_layer_sizes: Sequence[int] = (50,) * 6,
        negative_slope: float = 0.5,
        batch_norm: bool | int = True,
    ) -> None:
        super().__init__()
        n_batch_norm = n_batch_norm_layers(batch_norm, len(hidden_layer_sizes))
        layers: list[nn.Module] = []
        width = int(n_features_in)
        for i, size in enumerate(hidden_layer_sizes):
            layers.append(nn.Linear(width, int(size)))
            layers.append(nn.LeakyReLU(float(negative_slope)))
            if i < n_batch_norm:
                layers.append(nn.BatchNorm1d(int(size)))
            width = int(size)
        layers.append(nn.Linear(width, int(n_features_out)))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


# ---------------------------------------------------------------------------
# Convolutional autoencoder (the paper's Appendix F architecture)
# ---------------------------------------------------------------------------
#
# Encoder: Conv2d(C, 64, 4, 2, 1) - ReLU - Conv2d(64, 128, 4, 2, 1) - ReLU -
#          Linear(128 * H/4 * W/4 -> d)
# Decoder: Linear(d -> 128 * H/4 * W/4) - ConvTranspose2d(128, 64, 4, 2, 1) -
#          ReLU - ConvTranspose2d(64, C, 4, 2, 1) - Tanh
#
# The two stride-2 layers need H and W divisible by 4. Any other size is padded
# with zeros (bottom and right) before the encoder and the decoder's output is
# cropped back, so the modules accept and return images of their own size.
#
# ``channels_last=True`` runs the convolutions on channels-last (NHWC) tensors:
# the same values (bit-identical in float32 on CPU in our measurements), about
# 1.4x faster decoding on CPU in float32 and bfloat16. It changes only memory
# layout, never the parameters, so a state dict loads either way.


def padded_size(size: int) -> int:
    """Smallest multiple of 4 that is >= ``size`` (and at least 4)."""
    return max(4, -(-int(size) // 4) * 4)


class ConvEncoder(nn.Module):
    """Images ``(n, C, H, W)`` -> codes ``(n, latent_dim)``.

    Parameters
    ----------
    in_channels : int
        Number of image channels ``C``.
    height, width : int
        Image size; padded internally up to multiples of 4.
    latent_dim : int
        Size ``d`` of the codes.
    channels_last : bool, default=True
        Run the convolutions in channels-last memory layout.
    """

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        latent_dim: int,
        channels_last: bool = True,
    ):
        super().__init__()
        self.channels_last = bool(channels_last)
        self.height = int(height)
        self.width = int(width)
        self.pad_h = padded_size(height) - self.height
        self.pad_w = padded_size(width) - self.width
        h4, w4 = padded_size(height) // 4, padded_size(width) // 4
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, 64, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(64, 128, 4, 2, 1),
            nn.ReLU(),
        )
        self.linear = nn.Linear(128 * h4 * w4, latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad_h or self.pad_w:
            x = F.pad(x, (0, self.pad_w, 0, self.pad_h))
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.linear(self.conv(x).flatten(1))


class ConvDecoder(nn.Module):
    """Codes ``(n, latent_dim)`` -> images ``(n, C, H, W)`` in ``[-1, 1]``.

    Parameters
    ----------
    latent_dim : int
        Size ``d`` of the codes.
    out_channels : int
        Number of image channels ``C``.
    height, width : int
        Image size; the output of the padded size is cropped back to it.
    channels_last : bool, default=True
        Run the transposed convolutions in channels-last memory layout (the
        output is then a channels-last strided tensor).
    """

    def __init__(
        self,
        latent_dim: int,
        out_channels: int,
        height: int,
        width: int,
        channels_last: bool = True,
    ):
        super().__init__()
        self.channels_last = bool(channels_last)
        self.height = int(height)
        self.width = int(width)
        self.h4, self.w4 = padded_size(height) // 4, padded_size(width) // 4
        self.linear = nn.Linear(latent_dim, 128 * self.h4 * self.w4)
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(64, out_channels, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.linear(z).view(-1, 128, self.h4, self.w4)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.deconv(x)
        return x[:, :, : self.height, : self.width]


@register(
    "sklearn_gtn.ConvAutoencoderModule",
    aliases=("sklearn_gtn._modules.ConvAutoencoderModule",),
)
class ConvAutoencoderModule(nn.Module):
    """Encoder followed by decoder; ``forward`` returns the reconstruction.

    Parameters
    ----------
    in_channels, height, width : int
        Image shape ``(C, H, W)``.
    latent_dim : int
        Size of the codes.
    channels_last : bool, default=True
        Run the convolutions in channels-last memory layout.
    """

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        latent_dim: int,
        channels_last: bool = True,
    ):
        super().__init__()
        self.encoder = ConvEncoder(
            in_channels, height, width, latent_dim, channels_last=channels_last
        )
        self.decoder = ConvDecoder(
            latent_dim, in_channels, height, width, channels_last=channels_last
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
