"""Optional matplotlib figures (install with ``pip install "sklearn-gtn[plot]"``).

matplotlib is imported lazily, and only its object-oriented API is used (a
:class:`matplotlib.figure.Figure`, no ``pyplot``): no global state or GUI
backend is touched, and figures save with ``fig.savefig(path)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_source_to_samples"]


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "sklearn_gtn.plotting needs matplotlib; install it with "
            '`pip install "sklearn-gtn[plot]"` (or `pip install matplotlib`).'
        ) from exc
    return Figure


def _scatter(ax, P, color, cmap, rng):
    if P.shape[1] == 1:
        # a 1-D sample as a strip: the value, with a small vertical jitter
        jitter = rng.uniform(-1.0, 1.0, size=len(P))
        ax.scatter(P[:, 0], jitter, c=color, cmap=cmap, s=2, linewidths=0)
        ax.set_ylim(-4, 4)
        ax.set_yticks([])
    else:
        ax.scatter(P[:, 0], P[:, 1], c=color, cmap=cmap, s=2, linewidths=0)
        ax.set_aspect("equal", adjustable="datalim")


def plot_source_to_samples(
    codes,
    samples,
    *,
    to_points=None,
    color=None,
    titles=("normal source y", "generated h(y)"),
    cmap="viridis",
    figsize=(9.0, 4.0),
):
    """Figure 3 of the paper: source draws and their images, same colours.

    Each source draw ``y`` and the sample ``h(y)`` it was mapped to get the
    same colour, which shows how the normal sample was stretched onto the
    data.

    Parameters
    ----------
    codes : array-like of shape (n_samples, 1) or (n_samples, 2)
        The source draws ``y``.
    samples : array-like of shape (n_samples, n_features)
        The generated samples ``h(y)``, row ``i`` the image of ``codes[i]``.
    to_points : callable, default=None
        Applied to ``samples`` before plotting (for example
        :func:`sklearn_gtn.datasets.swiss_roll_from_parameter`); the result
        must have 1 or 2 columns.
    color : array-like of shape (n_samples,), default=None
        Colour values; by default ``y`` in 1-D and ``||y||`` in 2-D.
    titles : tuple of str, default=("normal source y", "generated h(y)")
        Titles of the two panels.
    cmap : str, default="viridis"
        Colour map.
    figsize : tuple of float, default=(9.0, 4.0)
        Figure size in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (save it with ``fig.savefig(path)``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn.plotting import plot_source_to_samples
    >>> y = np.random.RandomState(0).standard_normal((100, 2))
    >>> fig = plot_source_to_samples(y, np.tanh(y))
    >>> len(fig.axes)
    2
    """
    Figure = _figure_class()
    codes = np.asarray(codes, dtype=np.float64)
    samples = np.asarray(samples, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] not in (1, 2):
        raise ValueError(f"codes must have 1 or 2 columns, got shape {codes.shape}.")
    points = samples if to_points is None else np.asarray(to_points(samples))
    if points.ndim == 1:
        points = points[:, None]
    if points.shape[1] not in (1, 2) or len(points) != len(codes):
        raise ValueError(
            "samples (after to_points) must have 1 or 2 columns and one row per "
            f"code, got shape {points.shape} for {len(codes)} codes."
        )
    if color is None:
        color = codes[:, 0] if codes.shape[1] == 1 else np.linalg.norm(codes, axis=1)
    rng = np.random.RandomState(0)
    fig = Figure(figsize=figsize, layout="constrained")
    for ax, P, title in zip(fig.subplots(1, 2), (codes, points), titles, strict=True):
        _scatter(ax, P, color, cmap, rng)
        ax.set_title(title)
    return fig
