"""Torch modules of sklearn-gtn (no scikit-learn in this file).

Each module builds its layers in ``__init__`` and holds no training loop; the
estimators in :mod:`sklearn_gtn.sampler` (and friends) train them through skorch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MLP"]


# ---------------------------------------------------------------------------
# The MLP h_hat of a GTN
# ---------------------------------------------------------------------------


class MLP(nn.Module):
    """Feed-forward network ``h_hat``: Linear, LeakyReLU, optional BatchNorm1d.

    Each hidden layer is ``Linear -> LeakyReLU(negative_slope)``, followed by
    ``BatchNorm1d`` when ``batch_norm`` is true; a final ``Linear`` maps to the
    output. The defaults are the paper's network for MNIST latents (6 hidden
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
    batch_norm : bool, default=True
        Whether each hidden layer ends with a ``BatchNorm1d``.

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
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = int(n_features_in)
        for size in hidden_layer_sizes:
            layers.append(nn.Linear(width, int(size)))
            layers.append(nn.LeakyReLU(float(negative_slope)))
            if batch_norm:
                layers.append(nn.BatchNorm1d(int(size)))
            width = int(size)
        layers.append(nn.Linear(width, int(n_features_out)))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
