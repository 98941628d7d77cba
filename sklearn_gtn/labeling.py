"""The labeling step of a GTN (Algorithm 1 of the paper), exact and fast.

Algorithm 1 pairs every normal draw ``y`` with a data point ``x``: both sets are
sorted by Euclidean norm, and each ``y`` in that order takes, among the ``x``
not yet taken, the one with the largest cosine similarity (ties to the earliest
remaining ``x`` in norm order). Done as written it is ``n`` sequential scans of
the remaining set, ``O(n^2 d)``. This module computes the *same* pairs with a
screen / certify / resolve scheme that works on whole blocks of ``y`` at once:

1. **Screen.** For a block of ``y`` (in norm order) a matrix product against the
   unit vectors of the ``x`` still free gives each ``y`` its ``k`` most similar
   candidates (float32 products for ``d >= 4``, float64 below) and the ``k``-th
   screened value. On the CPU for ``2 <= d <= 8`` a k-d tree over the free unit
   vectors proposes the candidates instead (``u . v = 1 - |u - v|^2 / 2``).
2. **Certify.** Each candidate's cosine is recomputed with the canonical float64
   expression (below). A candidate is *certified* when its exact cosine is
   strictly above a proven upper bound on every ``x`` left out of the list. A
   list computed against a superset of the free set stays valid, so lists made
   at the start of a block serve every ``y`` of the block.
3. **Resolve.** "Each ``y`` takes its best certified candidate that no earlier
   ``y`` took". On the CPU a short Python walk over the block does it; on a GPU
   a vectorised fixed-point iteration of this triangular system, whose fixed
   point is exactly the sequential answer (the tests run both on the CPU). A
   ``y`` whose certified candidates are all taken gets a longer tree list or an
   exact scan of the free set.

Identical unit vectors (duplicated rows, rows that are positive multiples of
each other, all-zero rows, and the two directions of ``d = 1``) are merged into
groups served in norm order, so such data costs no more than generic data.

Canonical cosine
----------------
``cos(x, y) = sum_j u_j(x) * u_j(y)`` with ``u(x) = x / max(||x||, 1e-6)``,
``||x|| = sqrt(x_1^2 + ... + x_d^2)``, each sum accumulated left to right in
float64 with one rounding per operation and a correctly rounded square root.
This is the value ``torch.nn.CosineSimilarity(eps=1e-6)`` defines (it divides
each row by ``max(norm, eps)``); fixing the order of the additions makes the
result bit-identical on every device, so the CPU and the GPU give the same
pairs.

It is computed on ``X`` and ``Y`` each multiplied by the power of two that
brings its largest absolute value into ``[0.5, 1)``. That product is exact,
so directions and the norm order are those of the data; the squares cannot
overflow (data beyond ``1e154`` did) nor underflow; and data multiplied by any
positive factor give the same pairs. The only rows it treats differently from
the raw ``CosineSimilarity`` are those shorter than ``1e-6`` times that power
of two, which are all near zero next to the largest row.
"""

from __future__ import annotations

import math

import numpy as np
import torch

try:  # the compiled sequential pass (optional; see pyproject.toml)
    from . import _greedy
except ImportError:  # pragma: no cover - exercised where no compiler was found
    _greedy = None

from ._utils import (
    as_float64_tensor,
    check_positive_int,
    float32_matmul_highest,
    power_of_two_for,
    resolve_device,
    torch_threads,
)

__all__ = ["label_pairs", "COSINE_EPS"]

#: The ``eps`` of the cosine similarity, as in ``torch.nn.CosineSimilarity(eps=1e-6)``.
COSINE_EPS = 1e-6

_THREADED_MIN_D = 32  # CPU: below this dimension labeling runs on one thread
# CPU, 2 <= d <= 8: the compiled sequential pass (a k-d tree with deletions)
# serves the whole run when the extension is built
_COMPILED_MIN_D, _COMPILED_MAX_D = 2, 8
_COMPILED_LEAF = {2: 16, 3: 16, 4: 16, 5: 16}  # points per leaf; 32 above
_COMPILED_BLOCK = 8192  # y's per call (progress bar, Ctrl-C between calls)
# threads of the compiled pass (speculative parallel search, ordered commit),
# at most; 1 keeps it sequential. Blocks of free / 32 y's, from this size:
_COMPILED_MAX_THREADS = 1
_COMPILED_SPEC_MIN = 64
_CHUNK = 64  # columns per chunk in the two-stage top-k
_K_START = 16  # candidates per y in the screening step
_K_MAX = 512
# k-d tree screening (CPU): dimensions, minimum size, at most this many
# non-unit groups (zero or tiny rows), which join every candidate list
_TREE_MIN_D, _TREE_MAX_D = 2, 8
_TREE_MIN_GROUPS = 2048
_TREE_MAX_SHORT = 32
_TREE_K = 6  # candidates per y from the tree (d >= 4); more in d <= 3 where
# the free set thins out along curves and lists run out more often
_TREE_K_LOW_D = {2: 16, 3: 10}
_TREE_BLOCK = 4096
_MAX_SWEEPS = 64
_MIN_CELLS = 1 << 16  # smallest similarity block tried after out-of-memory
# GPU: when the engine's arrays (about this many bytes per value of X and Y)
# would take more than half of the free device memory, they stay in host
# memory and the screening products stream X's unit vectors to the device
_RESIDENT_BYTES_PER_VALUE = 28
_STREAM_MIN_COLS = 8192  # streamed screening: columns of X per chunk, at least
# how a block is resolved on each device type: a Python walk on the CPU
# (no iteration count to pay), vectorised fixed-point sweeps on a GPU
_RESOLVER = {"cpu": "sequential", "cuda": "fixpoint"}


def label_pairs(
    X,
    Y,
    *,
    device="auto",
    verbose=False,
    block_size=None,
    max_memory=None,
):
    """Pair each normal draw with a data point, exactly as Algorithm 1 does.

    Both sets are sorted ascending by Euclidean norm (stable sort); each row of
    ``Y`` in that order takes, among the rows of ``X`` not yet taken, the one
    with the largest cosine similarity; ties go to the earliest remaining row
    in norm order. The cosine is the one of
    ``torch.nn.CosineSimilarity(eps=1e-6)`` on the rows of each set scaled by
    a power of two (exact) that brings its largest value into ``[0.5, 1)``:
    each row is divided by ``max(norm, 1e-6)``, so an all-zero row has
    cosine 0 with everything, and the pairs do not change when ``X`` or
    ``Y`` is multiplied by a positive factor (nor overflow for huge values).

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_X, n_features)
        The data points (usually centred). Any real dtype; computed in float64.
    Y : array-like or torch.Tensor of shape (n_Y, n_features)
        The source draws, usually from ``N(0, I)``. ``n_Y <= n_X``.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where to compute. ``"auto"`` uses CUDA when available, else the CPU.
        The result is the same on every device.
    verbose : bool, default=False
        Show a progress bar (tqdm) over the rows of ``Y``.
    block_size : int, default=None
        Number of rows of ``Y`` screened at once. ``None`` sizes the block
        from ``max_memory`` and the number of free rows.
    max_memory : int, default=None
        Bytes allowed for one block of similarities. ``None`` uses 256 MiB on
        the CPU and a quarter of the free memory (at most 16 GiB) on a GPU,
        where an out-of-memory error makes the block retry four times smaller.
        Never an ``n x n`` matrix: extra memory is ``O(n d + block * n)``.
        On a GPU, data whose working arrays would not fit in half of the free
        device memory stays in host memory (``X`` may be a NumPy memmap) and
        is streamed to the device in chunks: peak device memory is then about
        ``max_memory`` plus one chunk of ``X``.

    Returns
    -------
    match : ndarray of shape (n_Y,), dtype int64
        ``match[i]`` is the row of ``X`` paired with ``Y[i]``. The values are
        distinct; with ``n_X > n_Y`` some rows of ``X`` stay unmatched.

    Raises
    ------
    ValueError
        If ``X`` or ``Y`` is not 2-D, is empty, contains NaN or infinity, if
        the numbers of features differ, or if ``n_Y > n_X``.
    TypeError
        If ``X`` or ``Y`` is not numeric (strings, objects, complex, sparse).

    Notes
    -----
    Screening products in float32 are only used to *propose* candidates; every
    decision compares exact float64 cosines, with a proven bound on what the
    float32 products may have missed. The answer is therefore identical to the
    naive sequential loop computing the canonical float64 cosine (see the
    module documentation), on the CPU and on a GPU.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gtn import label_pairs
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    >>> Y = np.array([[0.0, 1.0], [-1.0, 0.1], [2.0, 0.0]])
    >>> label_pairs(X, Y, device="cpu")
    array([1, 2, 0])
    """
    Xt = as_float64_tensor(X, name="X")
    Yt = as_float64_tensor(Y, name="Y")
    if Xt.shape[1] != Yt.shape[1]:
        raise ValueError(
            f"X and Y must have the same number of features, got {Xt.shape[1]} "
            f"and {Yt.shape[1]}."
        )
    if Yt.shape[0] > Xt.shape[0]:
        raise ValueError(
            f"Y has more rows ({Yt.shape[0]}) than X ({Xt.shape[0]}); each row "
            "of Y needs a distinct row of X, so n_Y <= n_X is required."
        )
    dev = resolve_device(device)
    if not isinstance(verbose, (bool, np.bool_, int)):
        raise TypeError(f"verbose must be a bool, got {verbose!r}.")
    if block_size is not None:
        block_size = check_positive_int(block_size, name="block_size")
    if max_memory is not None:
        max_memory = check_positive_int(max_memory, name="max_memory")

    # below d = 32 the work is many small operations: one thread is as fast
    # and does not stall when the other cores are busy
    # (the k-d tree's own worker threads do not stall: they keep torch's count)
    home, screen = dev, None
    if _streams_from_host(Xt, Yt, dev):
        # the engine's state stays in host memory; products run on `dev`
        home, screen = torch.device("cpu"), dev
    workers = torch.get_num_threads()
    threads = 1 if home.type == "cpu" and Xt.shape[1] < _THREADED_MIN_D else None
    if screen is not None and screen.type == "cuda":
        threads = None
    with torch.no_grad(), float32_matmul_highest(), torch_threads(threads):
        engine = _Labeler(
            Xt.to(home),
            Yt.to(home),
            verbose=bool(verbose),
            block_size=block_size,
            max_memory=max_memory,
            workers=workers,
            screen_device=screen,
        )
        match = engine.run()
    return match.cpu().numpy().astype(np.int64, copy=False)


def _streams_from_host(Xt, Yt, dev):
    """Whether the engine keeps its state in host memory and sends ``X`` to
    ``dev`` chunk by chunk: on a GPU whose free memory is too small."""
    return dev.type == "cuda" and not _fits_on_device(Xt, Yt, dev)


def _fits_on_device(Xt, Yt, dev):
    """Whether the engine's arrays take at most half of the free memory."""
    values = (Xt.shape[0] + Yt.shape[0]) * Xt.shape[1]
    free, _ = torch.cuda.mem_get_info(dev)
    return values * _RESIDENT_BYTES_PER_VALUE <= free // 2


# ---------------------------------------------------------------------------
# Canonical float64 arithmetic (bit-identical on every device)
# ---------------------------------------------------------------------------


def power_of_two_scale(A: torch.Tensor) -> float:
    """The power of two ``2**-e`` that brings ``max |A|`` into ``[0.5, 1)``.

    Multiplying by a power of two is exact (short of subnormal results), so
    rows scaled by it keep their directions and their norm order bit for bit,
    and no sum of squares can overflow (``|x| > 1e154`` did) or underflow.
    Data multiplied by any positive factor get the same scaled values up to
    one rounding, hence the same pairs.
    """
    top = float(torch.maximum(A.max(), -A.min())) if A.numel() else 0.0
    return power_of_two_for(top)


def canonical_norms(A: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Euclidean norms of the rows of ``A * scale``, squares summed left to
    right in float64.

    The square root is taken by NumPy, which is correctly rounded (IEEE 754):
    torch's vectorised CPU ``sqrt`` is not on every processor (the
    measurement is in ``docs/labeling.rst``), and a norm that differs by one
    ulp changes unit vectors, hence cosines and ties.
    """
    cols = A.T.contiguous()
    if scale != 1.0:
        cols = cols * scale
    sq = cols[0] * cols[0]
    for j in range(1, cols.shape[0]):
        sq = sq + cols[j] * cols[j]
    return torch.from_numpy(np.sqrt(sq.cpu().numpy())).to(A.device)


def canonical_unit_rows(
    A: torch.Tensor, norms: torch.Tensor, scale: float = 1.0
) -> torch.Tensor:
    """Rows of ``A * scale`` divided by ``max(norm, COSINE_EPS)``; ``-0.0``
    becomes ``0.0``. ``norms`` are those of ``A * scale``."""
    if scale != 1.0:
        A = A * scale
    return A / norms.clamp_min(COSINE_EPS)[:, None] + 0.0


def _exact_cos(VT: torch.Tensor, UT: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
    """Canonical cosines of ``y_i`` (columns of ``VT``) with groups ``cand[i, :]``.

    ``VT`` is (d, B), ``UT`` is (d, G), ``cand`` is (B, k); returns (B, k).
    """
    c = VT[0][:, None] * UT[0][cand]
    for j in range(1, VT.shape[0]):
        c = c + VT[j][:, None] * UT[j][cand]
    return c


def _group_identical_rows(U: torch.Tensor):
    """Group rows of ``U`` (in position order) holding identical values.

    Returns ``(members, start, cap)``: ``members`` lists positions group by
    group, ascending inside each group; group ``g`` owns
    ``members[start[g] : start[g] + cap[g]]``. Rows are hashed by a fixed
    canonical projection; equal hashes are confirmed by comparing rows. Groups
    are not guaranteed maximal (a hash collision may split one), which costs
    speed, never correctness: identical rows in two groups are exact ties and
    are broken by position like any other tie.
    """
    n, d = U.shape
    dev = U.device
    gen = torch.Generator().manual_seed(20240615)
    r = torch.randn(d, generator=gen, dtype=torch.float64).to(dev)
    UT = U.T.contiguous()
    h = UT[0] * r[0]
    for j in range(1, d):
        h = h + UT[j] * r[j]
    order = torch.sort(h, stable=True).indices
    hs = h[order]
    same = hs[1:] == hs[:-1]
    if not bool(same.any()):
        ar = torch.arange(n, device=dev)
        return ar, ar, torch.ones(n, dtype=torch.long, device=dev)
    idx = same.nonzero().squeeze(1)
    same[idx] = (U[order[idx + 1]] == U[order[idx]]).all(dim=1)
    new_group = torch.cat([torch.ones(1, dtype=torch.bool, device=dev), ~same])
    start = new_group.nonzero().squeeze(1)
    cap = torch.diff(start, append=torch.tensor([n], device=dev))
    return order, start, cap


# ---------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------


class _Labeler:
    """State of one labeling run; see the module docstring for the scheme."""

    def __init__(
        self, X, Y, *, verbose, block_size, max_memory, workers=1, screen_device=None
    ):
        self.dev = X.device
        # streamed screening: state here, products on `screen_dev`, chunk by chunk
        self.stream = screen_device is not None
        self.screen_dev = screen_device if self.stream else self.dev
        self.n_x, self.d = X.shape
        self.n_y = Y.shape[0]
        self.verbose = verbose
        self.block_size = block_size
        d = self.d

        # 1. stable sort by the canonical norm
        # (each set scaled by a power of two: see ``power_of_two_scale``)
        x_scale, y_scale = power_of_two_scale(X), power_of_two_scale(Y)
        x_norm = canonical_norms(X, x_scale)
        y_norm = canonical_norms(Y, y_scale)
        self.x_order = torch.sort(x_norm, stable=True).indices
        self.y_order = torch.sort(y_norm, stable=True).indices
        U = canonical_unit_rows(X, x_norm, x_scale)[self.x_order]
        V = canonical_unit_rows(Y, y_norm, y_scale)[self.y_order]
        del X, Y

        # 2. groups of identical unit vectors (positions in norm order)
        self.members, start, self.cap = _group_identical_rows(U)
        self.n_groups = int(start.shape[0])
        reps = U[self.members[start]]
        del U
        self.head = start.clone()  # index into members of each group's first free x
        self.match_sorted = torch.empty(self.n_y, dtype=torch.long, device=self.dev)
        self.compiled = (
            _greedy is not None
            and self.dev.type == "cpu"
            and not self.stream
            and _COMPILED_MIN_D <= d <= _COMPILED_MAX_D
        )
        self.workers = max(1, workers)
        if self.compiled:
            # everything the compiled pass needs; no screening state
            self.reps_np = np.ascontiguousarray(reps.numpy())
            self.V_np = np.ascontiguousarray(V.numpy())
            return
        self.UT = reps.T.contiguous()  # (d, G) float64, canonical
        self.VT = V.T.contiguous()  # (d, n_y) float64, canonical

        # 3. screening precision and its error bound
        if d >= 4:
            self.sdtype = torch.float32
            self.eps = (d + 2) * 2.0**-22
        else:
            self.sdtype = torch.float64
            self.eps = (d + 2) * 2.0**-50
        self.V_s = V.to(self.sdtype)
        self.free_gid = torch.arange(self.n_groups, device=self.dev)
        self.U_s = reps.to(self.sdtype)

        # 4. on the CPU in low dimension a k-d tree proposes the candidates
        #    (sub-quadratic); the screening product serves everything else
        self.tree = None
        self.use_tree = (
            self.dev.type == "cpu"
            and not self.stream
            and _TREE_MIN_D <= d <= _TREE_MAX_D
            and self.n_groups >= _TREE_MIN_GROUPS
        )
        if self.use_tree:
            rep_norm = canonical_norms(reps)
            unit = (rep_norm > 1 - 1e-9) & (rep_norm < 1 + 1e-9)
            self.short_gid = (~unit).nonzero().squeeze(1)
            self.short_np = self.short_gid.numpy()
            self.use_tree = self.short_gid.numel() <= _TREE_MAX_SHORT
            self.unit_gid = unit.nonzero().squeeze(1)
            self.reps_np = reps.numpy()
            self.V_np = V.numpy()
            v_norm = canonical_norms(V)
            self.y_not_unit = ((v_norm < 1 - 1e-9) | (v_norm > 1 + 1e-9)).numpy()
        del V, reps

        itemsize = 4 if self.sdtype == torch.float32 else 8
        if max_memory is None:
            if self.screen_dev.type == "cuda":
                free, _ = torch.cuda.mem_get_info(self.screen_dev)
                max_memory = min(free // 4, 16 << 30)
            else:
                max_memory = 256 << 20
        # similarity block plus the chunk maxima and gathers that go with it
        self.max_cells = max(1, int(max_memory // (itemsize * 1.25)))
        self.block_cap = 16384 if self.screen_dev.type == "cuda" else 4096
        self.k = _K_START
        self.workers = max(1, workers)
        self.free_capacity = self.n_x
        self._buf = None
        if _RESOLVER[self.dev.type] == "sequential":
            self._rem = self.cap.tolist()
            self._head = self.head.tolist()
            self._members = self.members.tolist()

    # -- screening ---------------------------------------------------------
    def _similarities(self, Vb):
        """``Vb @ U_s.T`` into a reused buffer (no allocation per block)."""
        B, G = Vb.shape[0], self.U_s.shape[0]
        need = B * G
        if self._buf is None or self._buf.numel() < need:
            self._buf = torch.empty(need, dtype=self.sdtype, device=self.dev)
        S = self._buf[:need].view(B, G)
        torch.matmul(Vb, self.U_s.T, out=S)
        return S

    def _screen(self, lo, hi, k):
        """Candidates (global group ids) and certification bounds for a block."""
        S = self._similarities(self.V_s[lo:hi])
        B, G = S.shape
        if k >= G:
            cand_local = torch.arange(G, device=self.dev).expand(B, G)
            bound = torch.full((B,), -math.inf, dtype=torch.float64, device=self.dev)
            return self.free_gid[cand_local], bound
        n_full = G // _CHUNK
        if n_full < 4 * k:
            vals, cand_local = S.topk(k, dim=1, sorted=False)
        else:
            cm = S[:, : n_full * _CHUNK].view(B, n_full, _CHUNK).amax(dim=2)
            if G > n_full * _CHUNK:
                tail = S[:, n_full * _CHUNK :].amax(dim=1, keepdim=True)
                cm = torch.cat([cm, tail], dim=1)
            ci = cm.topk(k, dim=1, sorted=False).indices
            el = (ci[:, :, None] * _CHUNK + torch.arange(_CHUNK, device=self.dev)).view(
                B, -1
            )
            inside = el < G
            el = el.clamp_max(G - 1)
            v = S.gather(1, el).masked_fill_(~inside, -math.inf)
            vals, j = v.topk(k, dim=1, sorted=False)
            cand_local = el.gather(1, j)
        bound = vals.amin(dim=1).to(torch.float64) + self.eps
        return self.free_gid[cand_local], bound

    def _screen_streamed(self, lo, hi, k):
        """:meth:`_screen` with the free unit vectors sent to the screening
        device in chunks (the running top ``k`` is merged chunk by chunk), so
        device memory holds one block of products and one chunk of ``X``."""
        G = self.U_s.shape[0]
        B = hi - lo
        if k >= G:
            cand = self.free_gid.expand(B, G)
            return cand, torch.full((B,), -math.inf, dtype=torch.float64)
        sdev = self.screen_dev
        Vb = self.V_s[lo:hi].to(sdev)
        cols = max(k, self.max_cells // max(B, 1))
        vals = idx = None
        for c0 in range(0, G, cols):
            S = Vb @ self.U_s[c0 : c0 + cols].to(sdev, non_blocking=True).T
            v, i = S.topk(min(k, S.shape[1]), dim=1, sorted=False)
            i += c0
            if vals is not None:
                v, i = torch.cat([vals, v], dim=1), torch.cat([idx, i], dim=1)
                if v.shape[1] > k:
                    v, j = v.topk(k, dim=1, sorted=False)
                    i = i.gather(1, j)
            vals, idx = v, i
        bound = vals.amin(dim=1).to(torch.float64).to(self.dev) + self.eps
        return self.free_gid[idx.to(self.dev)], bound

    def _tree_screen(self, lo, hi):
        """Candidates from a k-d tree over the unit vectors of free groups.

        For unit vectors ``u, v``, ``u . v = 1 - |u - v|^2 / 2``, so the ``k``
        nearest in Euclidean distance are the ``k`` most similar, and every
        vector outside the list has cosine at most ``1 - dist_k^2 / 2``
        (plus a slack far above the rounding of either side). The tree may
        hold groups taken since it was built: a list over a superset of the
        free set stays valid. It is rebuilt once half of it is taken.
        """
        from scipy.spatial import cKDTree

        if self.tree is not None:
            alive = int((self.cap[self.tree_gid] > 0).sum())
            if alive < 0.5 * self.tree_gid.numel():
                self.tree = None
        if self.tree is None:
            gid = self.unit_gid[self.cap[self.unit_gid] > 0]
            self.tree_gid = gid
            self.tree_gid_np = gid.numpy()
            self.tree = (
                cKDTree(self.reps_np[gid.numpy()], leafsize=32) if gid.numel() else None
            )
            alive = gid.numel()
        size = self.tree_gid.numel()
        k = _TREE_K_LOW_D.get(self.d, _TREE_K)
        k = min(size, k * max(1, round(size / max(alive, 1))))
        return self._tree_query(lo, hi, k)

    def _tree_query(self, lo, hi, k):
        """The ``k`` nearest tree entries of sorted y's ``lo:hi`` (plus the
        short groups) and the cosine bound for everything left out."""
        B = hi - lo
        size = self.tree_gid.numel()
        parts, bound = [], torch.full((B,), -math.inf, dtype=torch.float64)
        if size:
            k = min(k, size)
            dist, ti = self.tree.query(self.V_np[lo:hi], k=k, workers=self.workers)
            dist, ti = dist.reshape(B, k), ti.reshape(B, k)
            parts.append(self.tree_gid[torch.from_numpy(ti)])
            if k < size:
                bound = torch.from_numpy(1.0 - 0.5 * dist[:, -1] ** 2 + 1e-12)
        if self.short_gid.numel():
            parts.append(self.short_gid.expand(B, -1))
        bound[torch.from_numpy(self.y_not_unit[lo:hi])] = math.inf
        return torch.cat(parts, dim=1), bound

    def _tree_rescue(self, i):
        """Exact choice of sorted y ``i`` from longer tree lists, or -1.

        NumPy and Python only (a rescue is one row; torch's per-call overhead
        would dominate). The cosine is the canonical expression, evaluated in
        the same order as :func:`_exact_cos`, hence bit-identical.
        """
        if self.y_not_unit[i] or self.tree is None:
            return -1
        rem, head, members = self._rem, self._head, self._members
        v = self.V_np[i]
        size = len(self.tree_gid_np)
        k = min(4 * _TREE_K, size)
        while True:
            dist, ti = self.tree.query(v, k=k)
            g = np.concatenate([self.tree_gid_np[np.atleast_1d(ti)], self.short_np])
            u = self.reps_np[g]
            c = v[0] * u[:, 0]
            for j in range(1, u.shape[1]):
                c = c + v[j] * u[:, j]
            b = 1.0 - 0.5 * float(np.atleast_1d(dist)[-1]) ** 2 + 1e-12
            if k >= size:
                b = -math.inf
            best, best_c, best_h = -1, -math.inf, 0
            for gg, cg in zip(g.tolist(), c.tolist(), strict=True):
                if cg > b and rem[gg] > 0:
                    h = members[head[gg]]
                    if cg > best_c or (cg == best_c and h < best_h):
                        best, best_c, best_h = gg, cg, h
            if best >= 0 or k >= size:
                return best
            k = min(4 * k, size)

    def _scan_one(self, i, used=None):
        """Exact choice of sorted y ``i``: the best free group, ties by head.

        ``used`` counts groups already taken in the current block but not yet
        applied to ``cap``/``head`` (``None``: everything is applied).
        """
        free_cap = self.cap[self.free_gid]
        if used is not None:
            free_cap = free_cap - used[self.free_gid]
        s = (self.U_s @ self.V_s[i]).masked_fill(free_cap <= 0, -math.inf)
        smax = s.max()
        cand = self.free_gid[(s >= smax - 2 * self.eps).nonzero().squeeze(1)]
        c = _exact_cos(self.VT[:, i : i + 1], self.UT, cand[None, :])[0]
        head = self.head[cand] if used is None else self.head[cand] + used[cand]
        heads = self.members[head].masked_fill(
            c != c.max(), torch.iinfo(torch.long).max
        )
        return cand[heads.argmin()]

    # -- resolving ----------------------------------------------------------
    def _candidates(self, lo, hi, tree):
        """Candidate groups, their exact cosines and certification bounds."""
        if tree:
            cand, bound = self._tree_screen(lo, hi)
        elif self.stream:
            cand, bound = self._screen_streamed(lo, hi, self.k)
        else:
            cand, bound = self._screen(lo, hi, self.k)
        c = _exact_cos(self.VT[:, lo:hi], self.UT, cand)
        return cand, c, bound

    def _resolve_block(self, lo, hi):
        """Resolve sorted y's ``lo:hi``; returns how many were committed."""
        tree = self.use_tree and self.free_capacity >= _TREE_MIN_GROUPS
        cand, c, bound = self._candidates(lo, hi, tree)
        if _RESOLVER[self.dev.type] == "sequential":
            return self._resolve_sequential(lo, cand, c, bound, tree)
        return self._resolve_fixpoint(lo, cand, c, bound)

    def _resolve_sequential(self, lo, cand, c, bound, tree):
        """Walk the block in order in Python; each y takes its first free
        certified candidate. Lists are ordered by cosine; among exactly tied
        cosines the group whose first free ``x`` comes first in norm order
        wins, checked against the heads as they are at that ``y``'s turn.
        """
        B = cand.shape[0]
        # by cosine only: exact ties are re-ordered by their current heads below
        c, order = c.sort(dim=1, descending=True)
        cand = cand.gather(1, order)
        cert = c > bound[:, None]
        n_cert = cert.sum(dim=1).tolist()
        tied = set(
            ((c[:, 1:] == c[:, :-1]) & cert[:, 1:])
            .any(dim=1)
            .nonzero()
            .flatten()
            .tolist()
        )
        rows = cand.tolist()
        rem, head, members = self._rem, self._head, self._members
        chosen = [0] * B
        out = [0] * B
        n_rescue = applied = 0
        for i in range(B):
            row = rows[i]
            g = -1
            for t in range(n_cert[i]):
                if rem[row[t]] > 0:
                    g = row[t]
                    break
            if g >= 0 and i in tied:
                ci = c[i].tolist()
                best = members[head[g]]
                for u in range(t + 1, n_cert[i]):
                    if ci[u] != ci[t]:
                        break
                    h = row[u]
                    if rem[h] > 0 and members[head[h]] < best:
                        g, best = h, members[head[h]]
            if g < 0:
                n_rescue += 1
                if tree:
                    g = self._tree_rescue(lo + i)
                if g < 0:
                    self._apply(chosen[applied:i])  # the scan reads torch state
                    applied = i
                    g = int(self._scan_one(lo + i))
            rem[g] -= 1
            out[i] = members[head[g]]
            head[g] += 1
            chosen[i] = g
        self.match_sorted[lo : lo + B] = torch.tensor(out, device=self.dev)
        self._apply(chosen[applied:])
        self.free_capacity -= B
        if n_rescue > max(8, B // 32):
            self.k = min(2 * self.k, _K_MAX)
        return B

    def _group_counts(self, ch):
        """How many times each group occurs in the tensor ``ch``."""
        counts = torch.zeros(self.n_groups, dtype=torch.long, device=self.dev)
        return counts.index_add_(0, ch, torch.ones_like(ch))

    def _apply(self, chosen):
        """Apply Python-side choices to the torch ``cap``/``head`` (once)."""
        if not chosen:
            return
        counts = self._group_counts(torch.tensor(chosen, device=self.dev))
        self.head, self.cap = self.head + counts, self.cap - counts

    def _resolve_fixpoint(self, lo, cand, c, bound):
        """Vectorised resolve (for GPUs): iterate "each y takes its best
        certified candidate not taken by an earlier y of the block" to its
        fixed point, which is the sequential answer. After ``_MAX_SWEEPS``
        sweeps the settled prefix is committed and the rest re-screened.
        """
        B = cand.shape[0]
        cert = c > bound[:, None]
        cap_c = self.cap[cand]
        head_c = self.head[cand]
        idx = torch.arange(B, device=self.dev)
        q_lo = cand * B
        q = q_lo + idx[:, None]
        big = torch.iinfo(torch.long).max
        last_member = self.members.shape[0] - 1
        choice = torch.full((B,), -1, dtype=torch.long, device=self.dev)
        fixed = torch.zeros(B, dtype=torch.bool, device=self.dev)
        n_scans, sweeps = 0, 0
        scan_limit = max(8, B // 64)
        while True:
            valid = choice >= 0
            keys = (choice * B + idx)[valid].sort().values
            before = torch.searchsorted(keys, q) - torch.searchsorted(keys, q_lo)
            avail = cert & (before < cap_c)
            cmax = torch.where(avail, c, -math.inf).amax(dim=1)
            tie = avail & (c == cmax[:, None])
            heads = self.members[(head_c + before).clamp_max(last_member)]
            t = heads.masked_fill(~tie, big).argmin(dim=1)
            new = torch.where(avail.any(dim=1), cand[idx, t], -1)
            new = torch.where(fixed, choice, new)
            sweeps += 1
            if torch.equal(new, choice):
                exhausted = (choice < 0).nonzero()
                if exhausted.numel() == 0:
                    m = B
                    break
                e = int(exhausted[0, 0])
                if e > 0 and n_scans >= scan_limit:
                    m = e
                    break
                choice[e] = self._scan_one(lo + e, self._group_counts(choice[:e]))
                fixed[e] = True
                n_scans += 1
                continue
            if sweeps >= _MAX_SWEEPS:
                # rows before the first change (and before the first
                # exhausted row) no longer depend on anything that moves
                unsettled = (new != choice) | (new < 0)
                m = int(unsettled.nonzero()[0, 0])
                if m > 0:
                    break
            choice = new
        if m < B:
            self.k = min(2 * self.k, _K_MAX)
        self._commit(lo, choice[:m])
        return m

    def _commit(self, lo, ch):
        """Record the block's pairs; everything is computed before anything
        is changed, so an out-of-memory error leaves the state as it was."""
        m = ch.shape[0]
        idx = torch.arange(m, device=self.dev)
        keys = (ch * m + idx).sort().values
        rank = torch.searchsorted(keys, ch * m + idx) - torch.searchsorted(keys, ch * m)
        pairs = self.members[self.head[ch] + rank]
        counts = self._group_counts(ch)
        head, cap = self.head + counts, self.cap - counts
        self.match_sorted[lo : lo + m] = pairs
        self.head, self.cap = head, cap
        self.free_capacity -= m

    def _compact(self):
        alive = self.cap[self.free_gid] > 0
        n_alive = int(alive.sum())
        if n_alive < 0.8 * alive.shape[0]:
            self.free_gid = self.free_gid[alive]
            self.U_s = self.U_s[alive]

    def _block_rows(self):
        if self.block_size is not None:
            return self.block_size
        if self.use_tree and self.free_capacity >= _TREE_MIN_GROUPS:
            B = _TREE_BLOCK
        elif self.stream:
            # products go chunk by chunk: rows such that a chunk stays wide
            B = min(self.block_cap, max(1, self.max_cells // _STREAM_MIN_COLS))
        else:
            G = self.U_s.shape[0]
            B = min(self.block_cap, max(1, self.max_cells // max(G, 1)))
        # keep contention inside a block moderate (a block takes at most a
        # quarter of what is still free), so few lists run out of candidates
        return min(B, max(1, self.free_capacity // 4))

    def _run_compiled(self, bar):
        """The whole sequential pass in C (see ``_greedy.c``): exact cosines,
        a k-d tree over the free groups that shrinks as they are taken."""
        tree = _greedy.build(self.reps_np, self.d, _COMPILED_LEAF.get(self.d, 32))
        cap = self.cap.numpy().copy()
        head = self.head.numpy().copy()
        members = np.ascontiguousarray(self.members.numpy())
        out = self.match_sorted.numpy()
        for lo in range(0, self.n_y, _COMPILED_BLOCK):
            hi = min(self.n_y, lo + _COMPILED_BLOCK)
            _greedy.run(
                tree,
                self.V_np[lo:hi],
                cap,
                head,
                members,
                out[lo:hi],
                min(self.workers, _COMPILED_MAX_THREADS),
                _COMPILED_SPEC_MIN,
            )
            bar.update(hi - lo)

    def run(self):
        from tqdm.auto import tqdm

        lo = 0
        with tqdm(
            total=self.n_y, disable=not self.verbose, desc="labeling", unit="pair"
        ) as bar:
            if self.compiled:
                self._run_compiled(bar)
                lo = self.n_y
            while lo < self.n_y:
                hi = min(self.n_y, lo + self._block_rows())
                try:
                    m = self._resolve_block(lo, hi)
                except torch.cuda.OutOfMemoryError:
                    # nothing of the block was committed: retry smaller
                    if self.max_cells <= _MIN_CELLS:
                        raise
                    self.max_cells //= 4
                    self._buf = None
                    if self.screen_dev.type == "cuda":
                        torch.cuda.empty_cache()
                    continue
                lo += m
                bar.update(m)
                self._compact()
        match = torch.empty(self.n_y, dtype=torch.long, device=self.dev)
        match[self.y_order] = self.x_order[self.match_sorted]
        return match
