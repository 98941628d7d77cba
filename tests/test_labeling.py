"""Exactness and input handling of ``label_pairs`` (Algorithm 1)."""

import numpy as np
import pytest
import torch
from _reference import (
    canonical_unit_rows,
    naive_label_pairs,
    power_of_two_scale,
    torch_loop_label_pairs,
)

import sklearn_gtn.labeling as labeling
from sklearn_gtn import label_pairs
from sklearn_gtn.labeling import canonical_norms
from sklearn_gtn.labeling import canonical_unit_rows as pkg_unit_rows


@pytest.fixture(params=["default", "threads", "python", "tree", "fixpoint", "stream"])
def engine(request, monkeypatch):
    """Run a test under each code path of the engine.

    "default": as shipped (on the CPU in 2 <= d <= 8 the compiled pass when it
    is built); "threads": the compiled pass with three threads searching
    blocks of y's speculatively; the others switch the compiled pass off: "python": the
    screen / certify / resolve path; "tree": its k-d tree candidate source
    (CPU, 2 <= d <= 8) even on small inputs and with short lists, so rescues
    happen; "fixpoint": the vectorised resolver that GPUs use, here on the
    CPU, with few sweeps per block; "stream": the screening that keeps the
    state in host memory and sends X to the device in chunks (GPUs, for data
    larger than device memory), here forced on the CPU with small chunks.
    """
    if request.param == "threads":
        if labeling._greedy is None:
            pytest.skip("compiled pass not built")
        # speculative parallel search in the compiled pass, on small blocks
        monkeypatch.setattr(labeling, "_COMPILED_MAX_THREADS", 3)
        monkeypatch.setattr(labeling, "_COMPILED_SPEC_MIN", 2)
        monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    elif request.param != "default":
        monkeypatch.setattr(labeling, "_greedy", None)
    if request.param == "tree":
        monkeypatch.setattr(labeling, "_TREE_MIN_GROUPS", 16)
        monkeypatch.setattr(labeling, "_TREE_K", 2)
        monkeypatch.setattr(labeling, "_TREE_K_LOW_D", {})
        monkeypatch.setattr(labeling, "_TREE_BLOCK", 97)
    elif request.param == "stream":
        monkeypatch.setattr(labeling, "_streams_from_host", lambda *args: True)
        # blocks of 128 y's against chunks of 512 x's: screens merge chunks
        monkeypatch.setattr(labeling, "_K_START", 8)
        monkeypatch.setattr(labeling, "_STREAM_MIN_COLS", 512)
        real = labeling._Labeler.__init__

        def small_cells(self, *args, **kwargs):
            real(self, *args, **kwargs)
            self.max_cells = 1 << 16

        monkeypatch.setattr(labeling._Labeler, "__init__", small_cells)
    elif request.param == "fixpoint":
        monkeypatch.setitem(labeling._RESOLVER, "cpu", "fixpoint")
        monkeypatch.setattr(labeling, "_MAX_SWEEPS", 8)
    return request.param


def _skip_same_path(engine, d):
    """Outside 2 <= d <= 8 "python" and "threads" run what "default" runs."""
    if (
        engine in ("python", "threads")
        and not labeling._COMPILED_MIN_D <= d <= labeling._COMPILED_MAX_D
    ):
        pytest.skip("the compiled pass serves 2 <= d <= 8 only")


def _check(X, Y, device="cpu", **kwargs):
    expected = naive_label_pairs(X, Y)
    got = label_pairs(X, Y, device=device, **kwargs)
    assert got.dtype == np.int64
    assert got.shape == (len(Y),)
    np.testing.assert_array_equal(got, expected)
    return got


@pytest.mark.parametrize("d", [1, 2, 3, 5, 16, 64])
@pytest.mark.parametrize("seed", range(3))
def test_matches_naive_loop_gaussian(d, seed, device, engine):
    if engine == "tree" and not 2 <= d <= 8:
        pytest.skip("the k-d tree serves 2 <= d <= 8 only")
    _skip_same_path(engine, d)
    rng = np.random.RandomState(seed)
    n = [300, 1200, 2500][seed]
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, size=d)
    Y = rng.standard_normal((n, d))
    _check(X, Y, device)


@pytest.mark.parametrize("d", [2, 5])
def test_matches_naive_loop_uniform_and_skewed(d, device, engine):
    rng = np.random.RandomState(1)
    X = rng.uniform(size=(1500, d)) - 0.5
    Y = rng.standard_normal((1500, d))
    _check(X, Y, device)
    X = rng.exponential(size=(1500, d)) - 1.0
    _check(X, Y, device)


@pytest.mark.parametrize("d", [1, 2, 3, 5, 16, 64])
def test_duplicated_and_zero_rows(d, device, engine):
    _skip_same_path(engine, d)
    rng = np.random.RandomState(d)
    base = rng.standard_normal((150, d))
    X = np.concatenate(
        [
            np.repeat(base[:40], 5, axis=0),  # many exact duplicates
            base[40:] * 3.0,  # positive multiples: same direction
            base[40:],
            np.zeros((30, d)),  # zero rows: cosine 0 with everything
            rng.standard_normal((200, d)),
        ]
    )
    X = X[rng.permutation(len(X))]
    Y = rng.standard_normal((len(X) - 20, d))
    Y[:5] = 0.0  # zero draws take the smallest-norm remaining x
    _check(X, Y, device)


@pytest.mark.parametrize("d", [2, 3, 5])
def test_equal_norms(d, device, engine):
    rng = np.random.RandomState(3)
    X = rng.standard_normal((800, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)  # (nearly) all norms equal
    X[:200] = X[:200, ::-1]  # permuted coordinates: equal norms, new directions
    Y = rng.standard_normal((800, d))
    Y[::3] /= np.linalg.norm(Y[::3], axis=1, keepdims=True)
    _check(X, Y, device)


def test_all_rows_identical(device, engine):
    X = np.ones((300, 4))
    Y = np.random.RandomState(0).standard_normal((300, 4))
    got = _check(X, Y, device)
    # every y ties on every x: the pairs follow the two norm orders
    order_y = np.argsort(np.linalg.norm(Y, axis=1), kind="stable")
    np.testing.assert_array_equal(got[order_y], np.arange(300))


def test_tiny_rows_below_eps(device, engine):
    rng = np.random.RandomState(5)
    X = rng.standard_normal((400, 3))
    X[:60] *= 1e-8  # shorter than eps: cosines shrink by |x| / eps
    Y = rng.standard_normal((400, 3))
    Y[:20] *= 1e-9
    _check(X, Y, device)


def test_one_dimensional_sign_then_rank(device):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((2000, 1))
    Y = rng.standard_normal((2000, 1))
    got = _check(X, Y, device)
    # with as many positive y as positive x, the rule is sign, then rank by size
    X = np.abs(rng.standard_normal((1000, 1))) * np.repeat([1, -1], 500)[:, None]
    Y = np.abs(rng.standard_normal((1000, 1))) * np.repeat([-1, 1], 500)[:, None]
    got = label_pairs(X, Y, device=device)
    assert np.all(np.sign(X[got, 0]) == np.sign(Y[:, 0]))
    for s in (1, -1):
        ys = np.flatnonzero(np.sign(Y[:, 0]) == s)
        ranks_y = np.argsort(np.argsort(np.abs(Y[ys, 0])))
        ranks_x = np.argsort(np.argsort(np.abs(X[got[ys], 0])))
        np.testing.assert_array_equal(ranks_x, ranks_y)


def test_one_dimensional_unbalanced_signs(device, engine):
    X = np.concatenate([np.arange(1, 101), -np.arange(1, 301)])[:, None] * 1.0
    Y = np.concatenate([np.arange(1, 301) * 0.5, -np.arange(1, 101) * 0.5])[:, None]
    got = _check(X, Y, device)
    # the 100 smallest positive y take the positive x in order
    pos_y = np.argsort(Y[:, 0])[100:]
    np.testing.assert_array_equal(X[got[pos_y[:100]], 0], np.arange(1, 101))


@pytest.mark.parametrize("d", [1, 2, 5, 64])
def test_more_x_than_y(device, d, engine):
    _skip_same_path(engine, d)
    rng = np.random.RandomState(7)
    X = rng.standard_normal((1800, d))
    Y = rng.standard_normal((700, d))
    got = _check(X, Y, device)
    assert len(np.unique(got)) == 700


@pytest.mark.parametrize("d", [2, 5, 16])
def test_agrees_with_authors_torch_loop(d):
    # the loop as published: torch.nn.CosineSimilarity per step, then removal
    rng = np.random.RandomState(d)
    X = rng.standard_normal((400, d))
    Y = rng.standard_normal((400, d))
    np.testing.assert_array_equal(label_pairs(X, Y), torch_loop_label_pairs(X, Y))


@pytest.mark.parametrize("factor", [1.0, 1e200, 1e-200])
def test_canonical_unit_rows_bit_identical_to_reference(factor):
    rng = np.random.RandomState(0)
    A = rng.standard_normal((500, 7)) * 10.0 ** rng.randint(-9, 3, size=(500, 1))
    A = A * factor
    t = torch.from_numpy(A)
    scale = labeling.power_of_two_scale(t)
    assert scale == power_of_two_scale(A) and 0.5 <= np.abs(A).max() * scale < 1
    norms = canonical_norms(t, scale)
    ref_norms, ref_u = canonical_unit_rows(A)
    np.testing.assert_array_equal(norms.numpy(), ref_norms)
    np.testing.assert_array_equal(pkg_unit_rows(t, norms, scale).numpy(), ref_u)
    assert np.isfinite(ref_u).all()


def test_canonical_cosine_is_torch_cosine_similarity_of_scaled_rows():
    rng = np.random.RandomState(1)
    X = rng.standard_normal((50, 6))
    X[:3] *= 1e-8
    Y = rng.standard_normal((1, 6))
    _, ux = canonical_unit_rows(X)
    _, uy = canonical_unit_rows(Y)
    ours = (ux * uy).sum(axis=1)
    theirs = torch.nn.CosineSimilarity(dim=1, eps=1e-6)(
        torch.from_numpy(X * power_of_two_scale(X)),
        torch.from_numpy(Y * power_of_two_scale(Y)),
    )
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=0, atol=1e-12)
    # rows longer than eps (all but the three tiny ones): the raw cosine
    raw = torch.nn.CosineSimilarity(dim=1, eps=1e-6)(
        torch.from_numpy(X), torch.from_numpy(Y)
    )
    np.testing.assert_allclose(ours[3:], raw.numpy()[3:], rtol=0, atol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 5, 16])
@pytest.mark.parametrize("factor", [1e200, 1e-200, 2.0**700, 3e-7])
def test_pairs_do_not_depend_on_the_scale_of_the_data(d, factor, engine):
    if engine == "tree" and not 2 <= d <= 8:
        pytest.skip("the k-d tree serves 2 <= d <= 8 only")
    _skip_same_path(engine, d)
    rng = np.random.RandomState(d)
    X = rng.standard_normal((400, d)) * rng.uniform(0.5, 2.0, size=d)
    Y = rng.standard_normal((400, d))
    expected = label_pairs(X, Y, device="cpu")
    # values beyond 1e154 used to overflow the norms and change the pairs
    np.testing.assert_array_equal(label_pairs(X * factor, Y, device="cpu"), expected)
    np.testing.assert_array_equal(label_pairs(X, Y * factor, device="cpu"), expected)
    _check(X * factor, Y)


@pytest.mark.parametrize("d", [3, 16])
def test_small_blocks_and_memory_give_same_pairs(d, device, engine):
    _skip_same_path(engine, d)
    rng = np.random.RandomState(11)
    X = rng.standard_normal((600, d))
    Y = rng.standard_normal((600, d))
    _check(X, Y, device, block_size=7)
    _check(X, Y, device, max_memory=50_000)


def test_input_types_and_dtypes(device):
    rng = np.random.RandomState(2)
    X = rng.standard_normal((300, 3))
    Y = rng.standard_normal((300, 3))
    expected = naive_label_pairs(X, Y)
    np.testing.assert_array_equal(
        label_pairs(torch.from_numpy(X), torch.from_numpy(Y), device=device), expected
    )
    np.testing.assert_array_equal(label_pairs(X.tolist(), Y, device=device), expected)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    np.testing.assert_array_equal(
        label_pairs(X32, Y32, device=device),
        naive_label_pairs(X32.astype(np.float64), Y32.astype(np.float64)),
    )
    Xi = rng.randint(-5, 6, size=(300, 3))
    np.testing.assert_array_equal(
        label_pairs(Xi, Y, device=device), naive_label_pairs(Xi, Y)
    )


def test_does_not_modify_inputs_or_global_state():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 5))
    Y = rng.standard_normal((200, 5))
    X0, Y0 = X.copy(), Y.copy()
    torch.set_float32_matmul_precision("high")
    try:
        state = torch.random.get_rng_state()
        label_pairs(X, Y)
        assert torch.equal(state, torch.random.get_rng_state())
        assert torch.get_float32_matmul_precision() == "high"
    finally:
        torch.set_float32_matmul_precision("highest")
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


@pytest.mark.parametrize(
    "X, Y, exc, match",
    [
        (np.ones(5), np.ones((5, 1)), ValueError, "X must be a 2-D array"),
        (np.ones((5, 2)), np.ones((5, 2, 1)), ValueError, "Y must be a 2-D array"),
        (np.ones((0, 2)), np.ones((0, 2)), ValueError, "X is empty"),
        (np.ones((5, 2)), np.ones((5, 3)), ValueError, "same number of features"),
        (np.ones((4, 2)), np.ones((5, 2)), ValueError, "more rows"),
        (np.full((5, 2), np.nan), np.ones((5, 2)), ValueError, "X contains NaN"),
        (np.ones((5, 2)), np.full((5, 2), np.inf), ValueError, "Y contains NaN or inf"),
        (np.array([["a", "b"]]), np.ones((1, 2)), TypeError, "X must hold numbers"),
        (np.ones((5, 2)) * 1j, np.ones((5, 2)), TypeError, "real-valued"),
        (
            np.ones((5, 2), dtype=object),
            np.ones((5, 2)),
            TypeError,
            "must hold numbers",
        ),
    ],
)
def test_bad_input_raises_before_work(X, Y, exc, match):
    with pytest.raises(exc, match=match):
        label_pairs(X, Y)


def test_bad_options_raise():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="device='tpu'"):
        label_pairs(X, X, device="tpu")
    with pytest.raises(TypeError, match="device must be"):
        label_pairs(X, X, device=3)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        label_pairs(X, X, block_size=0)
    with pytest.raises(TypeError, match="max_memory must be an integer"):
        label_pairs(X, X, max_memory=1.5)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            label_pairs(X, X, device="cuda")


def test_sparse_input_is_refused():
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        label_pairs(sp.csr_matrix(np.ones((3, 2))), np.ones((3, 2)))


def test_verbose_shows_progress(capsys):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((500, 3))
    label_pairs(X, rng.standard_normal((500, 3)), verbose=True)
    err = capsys.readouterr().err
    assert "labeling" in err and "500/500" in err


@pytest.mark.cuda
@pytest.mark.parametrize("d", [1, 2, 5, 100])
def test_cuda_gives_the_cpu_pairs(d):
    rng = np.random.RandomState(d)
    X = rng.standard_normal((20000, d))
    Y = rng.standard_normal((20000, d))
    np.testing.assert_array_equal(
        label_pairs(X, Y, device="cuda"), label_pairs(X, Y, device="cpu")
    )
    Xs, Ys = X[:3000], Y[:3000]
    np.testing.assert_array_equal(
        label_pairs(Xs, Ys, device="cuda"), naive_label_pairs(Xs, Ys)
    )


def test_many_random_configurations_match_naive_loop(engine):
    # a sweep over sizes, dimensions and data shapes, each compared to the loop
    rng = np.random.RandomState(123)
    for _ in range(40):
        d = int(rng.choice([1, 2, 3, 4, 5, 8, 16, 64]))
        n_y = int(rng.randint(1, 400))
        n_x = n_y + int(rng.randint(0, 50))
        kind = rng.randint(4)
        if kind == 0:
            X = rng.standard_normal((n_x, d))
        elif kind == 1:
            X = rng.randint(-2, 3, size=(n_x, d)).astype(float)  # lattice: many ties
        elif kind == 2:
            X = rng.uniform(size=(n_x, d)) - 0.5
        else:
            X = np.repeat(rng.standard_normal((n_x // 4 + 1, d)), 4, axis=0)[:n_x]
        Y = rng.standard_normal((n_y, d))
        if rng.rand() < 0.3:
            Y = np.round(Y)  # structured draws: ties on the Y side too
        _check(X, Y)


def test_out_of_memory_retries_smaller_blocks(monkeypatch):
    # the first large similarity block "runs out of memory"; the engine must
    # retry with smaller blocks and still return the exact pairs
    rng = np.random.RandomState(4)
    X = rng.standard_normal((1500, 16))
    Y = rng.standard_normal((1500, 16))
    monkeypatch.setattr(labeling, "_MIN_CELLS", 1000)
    original = labeling._Labeler._similarities
    calls = {"oom": 0}

    def flaky(self, Vb):
        if Vb.shape[0] * self.U_s.shape[0] > 100_000:
            calls["oom"] += 1
            raise torch.cuda.OutOfMemoryError("simulated")
        return original(self, Vb)

    monkeypatch.setattr(labeling._Labeler, "_similarities", flaky)
    _check(X, Y)
    assert calls["oom"] >= 1


def test_compiled_pass_is_built_where_required():
    # CI sets SKLEARN_GTN_REQUIRE_COMPILED=1: there the C pass must have been
    # built by the install, or "default" above would silently test Python only
    import os

    if os.environ.get("SKLEARN_GTN_REQUIRE_COMPILED") != "1":
        pytest.skip("set SKLEARN_GTN_REQUIRE_COMPILED=1 to require the C pass")
    assert labeling._greedy is not None


@pytest.mark.skipif(labeling._greedy is None, reason="compiled pass not built")
def test_compiled_pass_serves_low_dimensions(monkeypatch):
    calls = []

    real = labeling._greedy

    class Spy:
        pass

    spy = Spy()
    monkeypatch.setattr(labeling, "_greedy", spy)
    spy.build = lambda *a: (calls.append("build"), real.build(*a))[1]
    spy.run = lambda *a: (calls.append("run"), real.run(*a))[1]
    monkeypatch.setattr(labeling, "_COMPILED_BLOCK", 100)
    rng = np.random.RandomState(0)
    for d, used in [(2, True), (8, True), (9, False), (1, False)]:
        calls.clear()
        X, Y = rng.standard_normal((450, d)), rng.standard_normal((450, d))
        np.testing.assert_array_equal(
            label_pairs(X, Y, device="cpu"), naive_label_pairs(X, Y)
        )
        # one tree, one call per block of 100 y's
        assert calls == (["build"] + ["run"] * 5 if used else []), (d, calls)
