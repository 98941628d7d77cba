"""Labelings by optimal assignment: pairs that minimise total squared distance.

Algorithm 1 (:func:`sklearn_gtn.label_pairs`) pairs by direction and uses the
norm only to break exact ties, which real-valued data never has; its pairs
ignore the radial order. An assignment that minimises
``sum_i ||Y[i] - X[match[i]]||^2`` respects direction *and* radius (in 1-D it
is exactly the quantile map ``F_X^-1 o F_Y`` of the paper's Theorem 2.1), and
it is still a one-to-one pairing, so ``h`` is learned as the paper intends.

Methods
-------
``"exact"``
    Jonker-Volgenant (``scipy.optimize.linear_sum_assignment``) on the full
    cost matrix: ``n_Y x n_X`` float64 memory, roughly cubic time.
``"minibatch"``
    Random batches of about ``batch_size`` rows of ``Y`` and ``X``, each
    solved exactly.
``"cells"``
    Starts from ``"minibatch"``, then ``n_sweeps`` sweeps that split the
    current pairs into balanced cells of about ``batch_size`` pairs (recursive
    bisection of the pair midpoints along fresh random directions) and solve
    each cell exactly. Every sweep keeps a one-to-one pairing and can only
    lower the total cost; no ``n x n`` matrix is built.
``"sorted"``
    1-D with ``n_X == n_Y``: rank matching, the exact optimum in
    ``O(n log n)``.
"""

from __future__ import annotations

import numbers
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.utils import check_random_state

from ._utils import (
    as_float64_tensor,
    check_positive_int,
    cpu_threads,
    power_of_two_for,
)

__all__ = ["assignment_pairs", "assignment_cost"]

_METHODS = ("auto", "exact", "minibatch", "cells", "sorted")
_EXACT_MAX_BYTES = 2 << 30  # refuse an exact cost matrix above 2 GiB
_AUTO_EXACT_MAX_N = 3000


def assignment_cost(X, Y, match):
    """Total squared distance ``sum_i ||Y[i] - X[match[i]]||^2`` of a pairing.

    Parameters
    ----------
    X : array-like of shape (n_X, n_features)
    Y : array-like of shape (n_Y, n_features)
    match : array-like of shape (n_Y,)
        ``match[i]`` is the row of ``X`` paired with ``Y[i]``.

    Returns
    -------
    float
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    return float(((Y - X[np.asarray(match)]) ** 2).sum())


def assignment_pairs(
    X,
    Y,
    *,
    method="auto",
    batch_size=256,
    n_sweeps=4,
    random_state=None,
    verbose=False,
):
    """Pair each row of ``Y`` with a distinct row of ``X``, minimising the
    total squared distance (exactly or approximately, see ``method``).

    Parameters
    ----------
    X : array-like of shape (n_X, n_features)
        The data points (usually standardised).
    Y : array-like of shape (n_Y, n_features)
        The source draws. ``n_Y <= n_X``.
    method : {"auto", "exact", "minibatch", "cells", "sorted"}, default="auto"
        ``"auto"`` takes ``"sorted"`` for 1-D data with ``n_X == n_Y``,
        ``"exact"`` up to 3,000 rows and ``"cells"`` above.
    batch_size : int, default=256
        Rows per exactly solved batch or cell (``"minibatch"``, ``"cells"``).
        An exact solve costs about ``batch_size ** 3``. The default's total
        cost and time against larger cells with more sweeps are in
        ``docs/benchmarks.rst`` ("Sample quality").
    n_sweeps : int, default=4
        Refinement sweeps of ``"cells"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the batches and the bisection directions.
    verbose : bool, default=False
        Show a progress bar (tqdm, on stderr) over the exact solves.

    Returns
    -------
    match : ndarray of shape (n_Y,), dtype int64
        ``match[i]`` is the row of ``X`` paired with ``Y[i]``; values are
        distinct.

    Notes
    -----
    ``X`` and ``Y`` are multiplied by one power of two that brings their
    largest absolute value into ``[0.5, 1)``. The product is exact and scales
    every cost by the same factor, so the pairs are those of the data, and
    values beyond ``1e154`` no longer overflow the squared distances (which
    made SciPy refuse the cost matrix as infeasible).

    The exact solves of ``"minibatch"`` and ``"cells"`` are independent and
    run on several threads (``OMP_NUM_THREADS`` when set, else the CPUs the
    process may use). Each depends on its own batch or cell alone, so the
    pairs are the same on any number of threads.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn import assignment_pairs
    >>> X = np.array([[0.0], [10.0], [5.0]])
    >>> Y = np.array([[9.0], [1.0], [4.0]])
    >>> assignment_pairs(X, Y)
    array([1, 0, 2])
    """
    Xt = as_float64_tensor(X, name="X").cpu().numpy()
    Yt = as_float64_tensor(Y, name="Y").cpu().numpy()
    if Xt.shape[1] != Yt.shape[1]:
        raise ValueError(
            f"X and Y must have the same number of features, got {Xt.shape[1]} "
            f"and {Yt.shape[1]}."
        )
    n_x, n_y = len(Xt), len(Yt)
    if n_y > n_x:
        raise ValueError(
            f"Y has more rows ({n_y}) than X ({n_x}); each row of Y needs a "
            "distinct row of X, so n_Y <= n_X is required."
        )
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    batch_size = check_positive_int(batch_size, name="batch_size", minimum=2)
    if isinstance(n_sweeps, bool) or not isinstance(n_sweeps, numbers.Integral):
        raise TypeError(f"n_sweeps must be an integer, got {n_sweeps!r}.")
    if n_sweeps < 0:
        raise ValueError(f"n_sweeps must be >= 0, got {n_sweeps}.")
    if not isinstance(verbose, (bool, np.bool_, numbers.Integral)):
        raise TypeError(f"verbose must be a bool, got {verbose!r}.")
    rng = check_random_state(random_state)
    scale = _power_of_two_scale(Xt, Yt)
    if scale != 1.0:
        Xt, Yt = Xt * scale, Yt * scale
    if method == "auto":
        if Xt.shape[1] == 1 and n_x == n_y:
            method = "sorted"
        elif n_y <= _AUTO_EXACT_MAX_N:
            method = "exact"
        else:
            method = "cells"
    if method == "sorted":
        if Xt.shape[1] != 1 or n_x != n_y:
            raise ValueError(
                "method='sorted' needs 1-D data with as many rows in X as in Y, "
                f"got X of shape {Xt.shape} and Y of shape {Yt.shape}."
            )
        match = np.empty(n_y, dtype=np.int64)
        match[np.argsort(Yt[:, 0], kind="stable")] = np.argsort(Xt[:, 0], kind="stable")
        return match
    if method == "exact":
        if n_x * n_y * 8 > _EXACT_MAX_BYTES:
            raise ValueError(
                f"method='exact' needs a {n_y} x {n_x} cost matrix "
                f"({n_x * n_y * 8 / 2**30:.1f} GiB); use method='cells'."
            )
        with _progress(1, verbose) as bar:
            return _solve(Xt, Yt, bar)
    n_batches = max(1, -(-n_y // batch_size))
    n_cells = max(1, round(n_y / batch_size)) if method == "cells" else 0
    with _progress(n_batches + n_sweeps * n_cells, verbose) as bar:
        match = _minibatch(Xt, Yt, batch_size, rng, bar)
        if method == "cells":
            for _ in range(n_sweeps):
                match = _cells_sweep(Xt, Yt, match, batch_size, rng, bar)
    return match


def _power_of_two_scale(X, Y):
    """``2**-e`` that brings ``max(|X|, |Y|)`` into ``[0.5, 1)`` (exact)."""
    return power_of_two_for(max(float(np.abs(X).max()), float(np.abs(Y).max())))


def _progress(total, verbose):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        disable=not verbose,
        desc="labeling (assignment)",
        unit="solve",
        file=sys.stderr,
    )


def _cost(X, Y):
    """Squared distances of the rows of ``Y`` to the rows of ``X``."""
    cost = (Y * Y).sum(axis=1)[:, None] + (X * X).sum(axis=1)[None, :] - 2.0 * Y @ X.T
    if not np.isfinite(cost).all():  # cannot happen on scaled finite data
        raise ValueError("the squared distances of X and Y are not finite.")
    return cost


def _assign(cost):
    """``match`` of the exact assignment of ``cost``'s rows to its columns."""
    rows, cols = linear_sum_assignment(cost)
    match = np.empty(cost.shape[0], dtype=np.int64)
    match[rows] = cols
    return match


def _solve(X, Y, bar=None):
    """Exact rectangular assignment of all rows of ``Y`` to rows of ``X``."""
    match = _assign(_cost(X, Y))
    if bar is not None:
        bar.update(1)
    return match


def _solve_all(X, Y, parts, bar=None):
    """:func:`_solve` of ``X[xi]`` and ``Y[yi]`` for each ``(yi, xi)`` of
    ``parts``, in order.

    The solves are independent: SciPy's solver (which releases the GIL) runs
    on up to :func:`~sklearn_gtn._utils.cpu_threads` threads, fed by cost
    matrices computed here, a few at a time (BLAS products from several
    threads at once run no faster). Each result depends on its part alone,
    never on the thread count.
    """
    workers = min(cpu_threads(), len(parts))
    if workers <= 1:
        return [_solve(X[xi], Y[yi], bar) for yi, xi in parts]
    out = []
    with ThreadPoolExecutor(workers) as pool:
        for start in range(0, len(parts), 2 * workers):
            chunk = parts[start : start + 2 * workers]
            costs = [_cost(X[xi], Y[yi]) for yi, xi in chunk]
            for match in pool.map(_assign, costs):
                out.append(match)
                if bar is not None:
                    bar.update(1)
    return out


def _minibatch(X, Y, batch_size, rng, bar=None):
    """Random batches of ``Y`` with proportional random batches of ``X``."""
    n_x, n_y = len(X), len(Y)
    n_batches = max(1, -(-n_y // batch_size))
    y_parts = np.array_split(rng.permutation(n_y), n_batches)
    x_parts = np.array_split(rng.permutation(n_x), n_batches)
    parts = list(zip(y_parts, x_parts, strict=True))
    match = np.empty(n_y, dtype=np.int64)
    for (yi, xi), part in zip(parts, _solve_all(X, Y, parts, bar), strict=True):
        match[yi] = xi[part]
    return match


def _cells_sweep(X, Y, match, batch_size, rng, bar=None):
    """Re-solve balanced cells of current pairs; never raises the cost."""
    n = len(Y)
    n_cells = max(1, round(n / batch_size))
    mid = 0.5 * (Y + X[match])
    # the cells first (the bisection alone draws from ``rng``), then their
    # independent solves
    cells = []
    stack = [(np.arange(n), n_cells)]
    while stack:
        idx, count = stack.pop()
        if count == 1:
            cells.append((idx, match[idx]))
            continue
        direction = rng.standard_normal(X.shape[1])
        order = idx[np.argsort(mid[idx] @ direction, kind="stable")]
        left_cells = count // 2
        cut = round(len(idx) * left_cells / count)
        stack.append((order[:cut], left_cells))
        stack.append((order[cut:], count - left_cells))
    out = match.copy()
    for (idx, xi), part in zip(cells, _solve_all(X, Y, cells, bar), strict=True):
        new = xi[part]
        # keep the old pairs of a cell unless the new ones are cheaper
        # (equal-cost optima may differ; either keeps the pairing valid)
        if ((Y[idx] - X[new]) ** 2).sum() <= ((Y[idx] - X[xi]) ** 2).sum():
            out[idx] = new
    return out
