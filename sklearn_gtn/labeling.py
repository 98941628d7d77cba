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
   screened value.
2. **Certify.** Each candidate's cosine is recomputed with the canonical float64
   expression (below). A candidate is *certified* when its exact cosine is
   strictly above a proven upper bound on every ``x`` left out of the list. A
   list computed against a superset of the free set stays valid, so lists made
   at the start of a block serve every ``y`` of the block.
3. **Resolve.** "Each ``y`` takes its best certified candidate that no earlier
   ``y`` took" is a triangular system; it is solved by a vectorised fixed-point
   iteration whose fixed point is exactly the sequential answer. A ``y`` whose
   certified candidates are all taken gets an exact scan of the free set.

Identical unit vectors (duplicated rows, rows that are positive multiples of
each other, all-zero rows, and the two directions of ``d = 1``) are merged into
groups served in norm order, so such data costs no more than generic data.

Canonical cosine
----------------
``cos(x, y) = sum_j u_j(x) * u_j(y)`` with ``u(x) = x / max(||x||, 1e-6)``,
``||x|| = sqrt(x_1^2 + ... + x_d^2)``, each sum accumulated left to right in
float64 with one rounding per operation. This is the value
``torch.nn.CosineSimilarity(eps=1e-6)`` defines (it divides each row by
``max(norm, eps)``); fixing the order of the additions makes the result
bit-identical on every device, so the CPU and the GPU give the same pairs.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._utils import (
    as_float64_tensor,
    check_positive_int,
    float32_matmul_highest,
    resolve_device,
)

__all__ = ["label_pairs", "COSINE_EPS"]

#: The ``eps`` of the cosine similarity, as in ``torch.nn.CosineSimilarity(eps=1e-6)``.
COSINE_EPS = 1e-6

_CHUNK = 64  # columns per chunk in the two-stage top-k
_K_START = 16  # candidates per y in the screening step
_K_MAX = 512


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
    ``torch.nn.CosineSimilarity(eps=1e-6)``: each row is divided by
    ``max(norm, 1e-6)``, so an all-zero row has cosine 0 with everything.

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
        the CPU and a quarter of the free memory (at most 4 GiB) on a GPU.
        Never an ``n x n`` matrix: extra memory is ``O(n d + block * n)``.

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

    with torch.no_grad(), float32_matmul_highest():
        engine = _Labeler(
            Xt.to(dev),
            Yt.to(dev),
            verbose=bool(verbose),
            block_size=block_size,
            max_memory=max_memory,
        )
        match = engine.run()
    return match.cpu().numpy().astype(np.int64, copy=False)


# ---------------------------------------------------------------------------
# Canonical float64 arithmetic (bit-identical on every device)
# ---------------------------------------------------------------------------


def canonical_norms(A: torch.Tensor) -> torch.Tensor:
    """Euclidean row norms, squares summed left to right in float64.

    The square root is taken by NumPy, which is correctly rounded (IEEE 754):
    torch's vectorised CPU ``sqrt`` is not on every processor (measured: 9 of
    650 float64 norms one ulp off on an AVX-512 machine), and a norm that
    differs by one ulp changes unit vectors, hence cosines and ties.
    """
    cols = A.T.contiguous()
    sq = cols[0] * cols[0]
    for j in range(1, cols.shape[0]):
        sq = sq + cols[j] * cols[j]
    return torch.from_numpy(np.sqrt(sq.cpu().numpy())).to(A.device)


def canonical_unit_rows(A: torch.Tensor, norms: torch.Tensor) -> torch.Tensor:
    """Rows divided by ``max(norm, COSINE_EPS)``; ``-0.0`` becomes ``0.0``."""
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

    def __init__(self, X, Y, *, verbose, block_size, max_memory):
        self.dev = X.device
        self.n_x, self.d = X.shape
        self.n_y = Y.shape[0]
        self.verbose = verbose
        self.block_size = block_size
        d = self.d

        # 1. stable sort by the canonical norm
        x_norm = canonical_norms(X)
        y_norm = canonical_norms(Y)
        self.x_order = torch.sort(x_norm, stable=True).indices
        self.y_order = torch.sort(y_norm, stable=True).indices
        U = canonical_unit_rows(X, x_norm)[self.x_order]
        V = canonical_unit_rows(Y, y_norm)[self.y_order]
        del X, Y

        # 2. groups of identical unit vectors (positions in norm order)
        self.members, start, self.cap = _group_identical_rows(U)
        self.n_groups = int(start.shape[0])
        reps = U[self.members[start]]
        del U
        self.head = start.clone()  # index into members of each group's first free x
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
        del V
        self.free_gid = torch.arange(self.n_groups, device=self.dev)
        self.U_s = reps.to(self.sdtype)
        del reps

        itemsize = 4 if self.sdtype == torch.float32 else 8
        if max_memory is None:
            if self.dev.type == "cuda":
                free, _ = torch.cuda.mem_get_info(self.dev)
                max_memory = min(free // 4, 4 << 30)
            else:
                max_memory = 256 << 20
        # similarity block plus the chunk maxima and gathers that go with it
        self.max_cells = max(1, int(max_memory // (itemsize * 1.25)))
        self.block_cap = 16384 if self.dev.type == "cuda" else 4096
        self.k = _K_START
        self.match_sorted = torch.empty(self.n_y, dtype=torch.long, device=self.dev)
        self.free_capacity = self.n_x
        self._buf = None

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

    def _scan_one(self, i, used):
        """Exact choice of sorted y ``i`` given per-group counts ``used``."""
        s = self.U_s @ self.V_s[i]
        remaining = self.cap[self.free_gid] - used[self.free_gid]
        s = s.masked_fill(remaining <= 0, -math.inf)
        smax = s.max()
        cand = self.free_gid[(s >= smax - 2 * self.eps).nonzero().squeeze(1)]
        c = _exact_cos(self.VT[:, i : i + 1], self.UT, cand[None, :])[0]
        tie = c == c.max()
        heads = self.members[self.head[cand] + used[cand]]
        heads = heads.masked_fill(~tie, torch.iinfo(torch.long).max)
        return cand[heads.argmin()]

    # -- resolving ----------------------------------------------------------
    def _resolve_block(self, lo, hi):
        """Resolve sorted y's ``lo:hi``; returns how many were committed."""
        k = self.k
        cand, bound = self._screen(lo, hi, k)
        B = hi - lo
        c = _exact_cos(self.VT[:, lo:hi], self.UT, cand)
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
        n_scans = 0
        scan_limit = max(8, B // 64)
        while True:
            valid = choice >= 0
            keys = (choice * B + idx)[valid].sort().values
            before = torch.searchsorted(keys, q) - torch.searchsorted(keys, q_lo)
            avail = cert & (before < cap_c)
            cm = torch.where(avail, c, -math.inf)
            cmax = cm.amax(dim=1)
            tie = avail & (c == cmax[:, None])
            heads = self.members[(head_c + before).clamp_max(last_member)]
            heads = heads.masked_fill(~tie, big)
            t = heads.argmin(dim=1)
            new = torch.where(avail.any(dim=1), cand[idx, t], -1)
            new = torch.where(fixed, choice, new)
            if torch.equal(new, choice):
                exhausted = (choice < 0).nonzero()
                if exhausted.numel() == 0:
                    m = B
                    break
                e = int(exhausted[0, 0])
                if n_scans >= scan_limit:
                    m = e
                    break
                used = torch.zeros(self.n_groups, dtype=torch.long, device=self.dev)
                used.index_add_(0, choice[:e], torch.ones_like(choice[:e]))
                choice[e] = self._scan_one(lo + e, used)
                fixed[e] = True
                n_scans += 1
                continue
            choice = new
        if n_scans >= scan_limit:
            self.k = min(2 * self.k, _K_MAX)
        if m > 0:
            self._commit(lo, choice[:m])
        return m

    def _commit(self, lo, ch):
        m = ch.shape[0]
        idx = torch.arange(m, device=self.dev)
        keys = (ch * m + idx).sort().values
        rank = torch.searchsorted(keys, ch * m + idx) - torch.searchsorted(keys, ch * m)
        self.match_sorted[lo : lo + m] = self.members[self.head[ch] + rank]
        counts = torch.zeros(self.n_groups, dtype=torch.long, device=self.dev)
        counts.index_add_(0, ch, torch.ones_like(ch))
        self.head += counts
        self.cap -= counts
        self.free_capacity -= m

    def _compact(self):
        alive = self.cap[self.free_gid] > 0
        n_alive = int(alive.sum())
        if n_alive < 0.8 * alive.shape[0]:
            self.free_gid = self.free_gid[alive]
            self.U_s = self.U_s[alive]

    def _block_rows(self):
        G = self.U_s.shape[0]
        B = self.block_size or min(self.block_cap, max(1, self.max_cells // max(G, 1)))
        # keep contention inside a block moderate: a block takes at most
        # an eighth of what is still free
        if self.block_size is None:
            B = min(B, max(1, self.free_capacity // 8))
        return B

    def run(self):
        from tqdm.auto import tqdm

        lo = 0
        with tqdm(
            total=self.n_y, disable=not self.verbose, desc="labeling", unit="pair"
        ) as bar:
            while lo < self.n_y:
                hi = min(self.n_y, lo + self._block_rows())
                m = self._resolve_block(lo, hi)
                lo += m
                bar.update(m)
                self._compact()
        match = torch.empty(self.n_y, dtype=torch.long, device=self.dev)
        match[self.y_order] = self.x_order[self.match_sorted]
        return match
