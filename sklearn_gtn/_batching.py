"""Minibatches of tensors by slicing: the training iterator of the nets."""

from __future__ import annotations

import torch

from ._registry import register

__all__ = ["_TensorBatches"]


@register("sklearn_gtn.TensorBatches", aliases=("sklearn_gtn.sampler._TensorBatches",))
class _TensorBatches:
    """Minibatches of a skorch ``Dataset`` of tensors, by slicing (no collate).

    skorch's default ``DataLoader`` fetches and collates rows one by one, which
    costs more than the forward pass of a small MLP. This iterator shuffles
    once per epoch with torch's global generator of the data's device (seeded
    by :class:`GTNSampler` inside :func:`torch.random.fork_rng`) and yields
    views. A trailing batch of a single row is merged into the previous one
    (BatchNorm cannot train on one row).
    """

    def __init__(self, dataset, batch_size=128, shuffle=False):
        self.X = dataset.X
        self.y = dataset.y
        self.batch_size = batch_size
        self.shuffle = shuffle

    def _stops(self, batch_size, min_last):
        """Batch ends; a trailing batch under ``min_last`` rows is merged."""
        n = len(self.X)
        stops = list(range(batch_size, n, batch_size)) + [n]
        if len(stops) > 1 and stops[-1] - stops[-2] < min_last:
            del stops[-2]
        return stops

    def spans(self, batch_size=None, min_last=2):
        """The data of an epoch (shuffled when asked) and each batch's
        ``(start, stop)``: ``(X, y, start, stop)`` per batch."""
        X, y = self.X, self.y
        if self.shuffle:
            perm = torch.randperm(len(X), device=X.device)
            X, y = X[perm], y[perm]
        start = 0
        for stop in self._stops(batch_size or self.batch_size, min_last):
            yield X, y, start, stop
            start = stop

    def __len__(self):
        return len(self._stops(self.batch_size, 2))

    def __iter__(self):
        for X, y, start, stop in self.spans():
            yield X[start:stop], y[start:stop]
