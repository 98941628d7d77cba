"""Optimal-assignment labelings: optimality, validity, reproducibility, errors."""

import itertools

import numpy as np
import pytest

from sklearn_gtn import assignment_cost, assignment_pairs, label_pairs


def _brute_force_cost(X, Y):
    best = np.inf
    for cols in itertools.permutations(range(len(X)), len(Y)):
        best = min(best, assignment_cost(X, Y, np.array(cols)))
    return best


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_x", [5, 6])
def test_exact_is_the_optimum_of_all_pairings(seed, n_x):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_x, 2))
    Y = rng.standard_normal((5, 2))
    match = assignment_pairs(X, Y, method="exact")
    assert len(set(match.tolist())) == 5
    assert assignment_cost(X, Y, match) == pytest.approx(_brute_force_cost(X, Y))


def test_sorted_is_the_one_dimensional_optimum_and_the_quantile_map():
    rng = np.random.RandomState(0)
    X = rng.exponential(size=(400, 1))
    Y = rng.standard_normal((400, 1))
    match = assignment_pairs(X, Y, method="sorted")
    assert assignment_cost(X, Y, match) == pytest.approx(
        assignment_cost(X, Y, assignment_pairs(X, Y, method="exact"))
    )
    # rank of y equals rank of its x: F_X^-1(F_Y(y))
    np.testing.assert_array_equal(
        np.argsort(np.argsort(Y[:, 0])), np.argsort(np.argsort(X[match, 0]))
    )


def test_cells_improve_minibatch_and_approach_exact():
    rng = np.random.RandomState(1)
    t = rng.uniform(0, np.pi, 1500)
    X = np.c_[np.cos(t), np.sin(t)] + 0.05 * rng.standard_normal((1500, 2))
    Y = rng.standard_normal((1500, 2))
    exact = assignment_cost(X, Y, assignment_pairs(X, Y, method="exact"))
    mini = assignment_cost(
        X, Y, assignment_pairs(X, Y, method="minibatch", batch_size=128, random_state=0)
    )
    cells = assignment_cost(
        X, Y, assignment_pairs(X, Y, method="cells", batch_size=128, random_state=0)
    )
    algo1 = assignment_cost(X, Y, label_pairs(X, Y))
    assert exact <= cells <= mini
    assert cells <= 1.001 * exact
    assert mini > 1.02 * exact  # so the test above is not trivially true
    assert algo1 > cells  # Algorithm 1 ignores the radial order


@pytest.mark.parametrize("method", ["exact", "minibatch", "cells"])
def test_more_x_than_y_gives_distinct_rows(method):
    rng = np.random.RandomState(2)
    X = rng.standard_normal((700, 3))
    Y = rng.standard_normal((500, 3))
    match = assignment_pairs(X, Y, method=method, batch_size=100, random_state=0)
    assert match.shape == (500,) and len(np.unique(match)) == 500
    assert match.min() >= 0 and match.max() < 700


def test_reproducible_with_random_state():
    rng = np.random.RandomState(3)
    X = rng.standard_normal((600, 2))
    Y = rng.standard_normal((600, 2))
    a = assignment_pairs(X, Y, method="cells", batch_size=100, random_state=7)
    b = assignment_pairs(X, Y, method="cells", batch_size=100, random_state=7)
    np.testing.assert_array_equal(a, b)


def test_auto_picks_sorted_exact_and_cells(monkeypatch):
    import sklearn_gtn.assignment as assignment

    rng = np.random.RandomState(4)
    X1, Y1 = rng.standard_normal((50, 1)), rng.standard_normal((50, 1))
    np.testing.assert_array_equal(
        assignment_pairs(X1, Y1), assignment_pairs(X1, Y1, method="sorted")
    )
    X, Y = rng.standard_normal((300, 2)), rng.standard_normal((300, 2))
    np.testing.assert_array_equal(
        assignment_pairs(X, Y), assignment_pairs(X, Y, method="exact")
    )
    monkeypatch.setattr(assignment, "_AUTO_EXACT_MAX_N", 100)
    np.testing.assert_array_equal(
        assignment_pairs(X, Y, random_state=0),
        assignment_pairs(X, Y, method="cells", random_state=0),
    )


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"method": "hungarian"}, ValueError, "method must be one of"),
        ({"batch_size": 1}, ValueError, "batch_size must be >= 2"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer"),
        ({"n_sweeps": -1}, ValueError, "n_sweeps must be >= 0"),
        ({"method": "sorted"}, ValueError, "needs 1-D data"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    X = np.ones((4, 2))
    with pytest.raises(exc, match=match):
        assignment_pairs(X, X, **kwargs)


def test_bad_data():
    with pytest.raises(ValueError, match="more rows"):
        assignment_pairs(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="contains NaN"):
        assignment_pairs(np.full((3, 2), np.nan), np.ones((3, 2)))
    with pytest.raises(ValueError, match="same number of features"):
        assignment_pairs(np.ones((3, 2)), np.ones((3, 1)))


def test_exact_refuses_a_huge_cost_matrix(monkeypatch):
    import sklearn_gtn.assignment as assignment

    monkeypatch.setattr(assignment, "_EXACT_MAX_BYTES", 1000)
    with pytest.raises(ValueError, match="use method='cells'"):
        assignment_pairs(np.ones((30, 2)), np.ones((30, 2)), method="exact")


@pytest.mark.parametrize("method", ["exact", "cells", "minibatch", "sorted"])
@pytest.mark.parametrize("factor", [1e200, 1e-200, 2.0**900])
def test_pairs_do_not_depend_on_the_scale_of_the_data(method, factor):
    # beyond 1e154 the squared distances overflowed and SciPy refused the
    # cost matrix ("cost matrix is infeasible")
    d = 1 if method == "sorted" else 3
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, d))
    Y = rng.standard_normal((300, d))
    kwargs = dict(method=method, batch_size=64, random_state=0)
    expected = assignment_pairs(X, Y, **kwargs)
    got = assignment_pairs(X * factor, Y * factor, **kwargs)
    np.testing.assert_array_equal(got, expected)


def test_huge_data_against_unit_draws_is_paired():
    rng = np.random.RandomState(1)
    X = rng.standard_normal((200, 2)) * 1e300
    Y = rng.standard_normal((150, 2))
    match = assignment_pairs(X, Y, method="exact")
    assert len(np.unique(match)) == 150
    # Y is negligible next to X: the optimum takes the 150 shortest rows of X
    norms = np.linalg.norm(X / 1e300, axis=1)
    assert set(match.tolist()) == set(np.argsort(norms)[:150].tolist())


@pytest.mark.parametrize("method, solves", [("exact", 1), ("cells", 4 + 2 * 4)])
def test_verbose_shows_progress_over_the_solves(method, solves, capsys):
    rng = np.random.RandomState(0)
    X, Y = rng.standard_normal((256, 2)), rng.standard_normal((256, 2))
    kwargs = dict(method=method, batch_size=64, n_sweeps=2, random_state=0)
    quiet = assignment_pairs(X, Y, **kwargs)
    assert capsys.readouterr().err == ""
    loud = assignment_pairs(X, Y, verbose=True, **kwargs)
    err = capsys.readouterr().err
    assert "labeling (assignment)" in err and f"{solves}/{solves}" in err
    np.testing.assert_array_equal(loud, quiet)


def test_bad_verbose_is_refused():
    with pytest.raises(TypeError, match="verbose must be a bool"):
        assignment_pairs(np.ones((3, 2)), np.ones((3, 2)), verbose="yes")


def _reference_cells(X, Y, batch_size, n_sweeps, seed):
    """The cells method written serially: each cell solved as the bisection
    reaches it (the pairs may be solved in any order and on any thread)."""
    from scipy.optimize import linear_sum_assignment

    def solve(Xc, Yc):  # the package's formula: the same bits, hence ties
        sq = (Yc * Yc).sum(axis=1)[:, None] + (Xc * Xc).sum(axis=1)[None, :]
        cost = sq - 2.0 * Yc @ Xc.T
        rows, cols = linear_sum_assignment(cost)
        return cols[np.argsort(rows)]

    rng = np.random.RandomState(seed)
    n = len(Y)
    n_batches = max(1, -(-n // batch_size))
    y_parts = np.array_split(rng.permutation(n), n_batches)
    x_parts = np.array_split(rng.permutation(len(X)), n_batches)
    match = np.empty(n, dtype=np.int64)
    for yi, xi in zip(y_parts, x_parts, strict=True):
        match[yi] = xi[solve(X[xi], Y[yi])]
    for _ in range(n_sweeps):
        mid = 0.5 * (Y + X[match])
        out = match.copy()
        stack = [(np.arange(n), max(1, round(n / batch_size)))]
        while stack:
            idx, cells = stack.pop()
            if cells == 1:
                xi = match[idx]
                new = xi[solve(X[xi], Y[idx])]
                if ((Y[idx] - X[new]) ** 2).sum() <= ((Y[idx] - X[xi]) ** 2).sum():
                    out[idx] = new
                continue
            direction = rng.standard_normal(X.shape[1])
            order = idx[np.argsort(mid[idx] @ direction, kind="stable")]
            cut = round(len(idx) * (cells // 2) / cells)
            stack.append((order[:cut], cells // 2))
            stack.append((order[cut:], cells - cells // 2))
        match = out
    return match


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_cells_on_threads_match_the_serial_reference(monkeypatch, threads):
    # the solves of a sweep run on cpu_threads() threads: same pairs
    monkeypatch.setattr("sklearn_gtn.assignment.cpu_threads", lambda: threads)
    rng = np.random.RandomState(4)
    X = rng.standard_normal((900, 3))
    Y = X[rng.permutation(900)[:850]] + 0.3 * rng.standard_normal((850, 3))
    got = assignment_pairs(X, Y, method="cells", batch_size=60, random_state=5)
    np.testing.assert_array_equal(got, _reference_cells(X, Y, 60, 4, seed=5))
    mini = assignment_pairs(
        X, Y, method="minibatch", batch_size=60, n_sweeps=0, random_state=5
    )
    np.testing.assert_array_equal(mini, _reference_cells(X, Y, 60, 0, seed=5))


def test_progress_counts_every_solve_on_threads(monkeypatch, capsys):
    monkeypatch.setattr("sklearn_gtn.assignment.cpu_threads", lambda: 3)
    rng = np.random.RandomState(0)
    X, Y = rng.standard_normal((256, 2)), rng.standard_normal((256, 2))
    assignment_pairs(
        X, Y, method="cells", batch_size=32, n_sweeps=2, random_state=0, verbose=True
    )
    assert "24/24" in capsys.readouterr().err  # 8 batches + 2 sweeps of 8 cells
