"""Property-based tests of ``label_pairs`` (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_gtn import label_pairs

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def data(draw, max_n=120):
    seed = draw(st.integers(0, 2**31 - 1))
    d = draw(st.sampled_from([1, 2, 3, 5, 9]))
    n_y = draw(st.integers(1, max_n))
    n_x = n_y + draw(st.integers(0, 20))
    rng = np.random.RandomState(seed)
    kind = draw(st.sampled_from(["normal", "uniform", "lattice", "duplicates"]))
    if kind == "normal":
        X = rng.standard_normal((n_x, d)) * rng.uniform(0.1, 10.0)
    elif kind == "uniform":
        X = rng.uniform(-1, 1, size=(n_x, d)) + rng.uniform(-1, 1, size=d)
    elif kind == "lattice":
        X = rng.randint(-3, 4, size=(n_x, d)).astype(float)
    else:
        X = rng.standard_normal((max(1, n_x // 3), d))[
            rng.randint(0, max(1, n_x // 3), n_x)
        ]
    Y = rng.standard_normal((n_y, d))
    return X, Y


@SETTINGS
@given(data())
def test_bijection_onto_distinct_rows(XY):
    X, Y = XY
    match = label_pairs(X, Y)
    assert match.shape == (len(Y),)
    assert match.min() >= 0 and match.max() < len(X)
    assert len(np.unique(match)) == len(Y)


def _continuous(draw_seed, n, d):
    rng = np.random.RandomState(draw_seed)
    return rng.standard_normal((n + 5, d)) * 3.0, rng.standard_normal((n, d))


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(1, 150), st.sampled_from([2, 3, 5, 9]))
def test_invariant_to_permuting_rows_of_x(seed, n, d):
    # continuous data: no exact ties, so the pairs (as values) cannot depend
    # on the order in which X is given
    X, Y = _continuous(seed, n, d)
    perm = np.random.RandomState(seed + 1).permutation(len(X))
    a = X[label_pairs(X, Y)]
    b = X[perm][label_pairs(X[perm], Y)]
    np.testing.assert_array_equal(a, b)


@SETTINGS
@given(
    st.integers(0, 2**31 - 1),
    st.integers(1, 150),
    st.sampled_from([1, 2, 3, 5, 9]),
    st.integers(-6, 6),
)
def test_invariant_to_positive_scaling_of_x(seed, n, d, power):
    # scaling by a power of two is exact, so unit vectors and norm order stay
    X, Y = _continuous(seed, n, d)
    np.testing.assert_array_equal(label_pairs(X, Y), label_pairs(X * 2.0**power, Y))


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(1, 100), st.integers(0, 100))
def test_one_dimensional_sign_then_rank(seed, n_pos, n_neg):
    # as many positive y as positive x: positive y take positive x by rank,
    # negative y take negative x by rank (the paper's 1-D labeling)
    rng = np.random.RandomState(seed)
    X = np.concatenate([rng.uniform(0.1, 5, n_pos), -rng.uniform(0.1, 5, n_neg)])[
        :, None
    ]
    Y = np.concatenate([rng.uniform(0.1, 5, n_pos), -rng.uniform(0.1, 5, n_neg)])[
        :, None
    ]
    Y = Y[rng.permutation(len(Y))]
    match = label_pairs(X, Y)
    assert np.all(np.sign(X[match, 0]) == np.sign(Y[:, 0]))
    for s in (1.0, -1.0):
        ys = np.flatnonzero(np.sign(Y[:, 0]) == s)
        np.testing.assert_array_equal(
            np.argsort(np.argsort(np.abs(Y[ys, 0]))),
            np.argsort(np.argsort(np.abs(X[match[ys], 0]))),
        )
