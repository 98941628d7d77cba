"""Slow, obviously-correct references for the labeling step (tests only).

``naive_label_pairs`` is Algorithm 1 written as a plain sequential loop over a
precomputed cosine matrix. The cosine is the canonical float64 expression that
the package documents: each set scaled by the power of two that brings its
largest absolute value into [0.5, 1), rows divided by ``max(norm, 1e-6)``,
sums accumulated left to right, computed here with NumPy, independently of
the package.

``torch_loop_label_pairs`` is the loop as the paper's authors wrote it: one
``torch.nn.CosineSimilarity`` over the remaining rows per step, then removal.
"""

import numpy as np
import torch

EPS = 1e-6


def power_of_two_scale(A):
    """2**-e with max |A| in [2**(e-1), 2**e): the package's exact prescaling."""
    top = float(np.abs(A).max())
    if top == 0.0:
        return 1.0
    _, e = np.frexp(top)
    return float(np.ldexp(1.0, -max(int(e), -1023)))


def canonical_unit_rows(A):
    A = np.asarray(A, dtype=np.float64)
    A = A * power_of_two_scale(A)
    sq = A[:, 0] * A[:, 0]
    for j in range(1, A.shape[1]):
        sq = sq + A[:, j] * A[:, j]
    norms = np.sqrt(sq)
    return norms, A / np.maximum(norms, EPS)[:, None] + 0.0


def canonical_cosines(UY, UX):
    c = UY[:, None, 0] * UX[None, :, 0]
    for j in range(1, UY.shape[1]):
        c = c + UY[:, None, j] * UX[None, :, j]
    return c


def naive_label_pairs(X, Y):
    ny, uy = canonical_unit_rows(Y)
    nx, ux = canonical_unit_rows(X)
    yo = np.argsort(ny, kind="stable")
    xo = np.argsort(nx, kind="stable")
    C = canonical_cosines(uy[yo], ux[xo])
    taken = np.zeros(len(xo), dtype=bool)
    match = np.empty(len(yo), dtype=np.int64)
    for i in range(len(yo)):
        row = np.where(taken, -np.inf, C[i])
        j = int(np.argmax(row))  # first maximum: earliest remaining x in norm order
        taken[j] = True
        match[yo[i]] = xo[j]
    return match


def torch_loop_label_pairs(X, Y, device="cpu"):
    X = torch.as_tensor(X, dtype=torch.float64, device=device)
    Y = torch.as_tensor(Y, dtype=torch.float64, device=device)
    cos = torch.nn.CosineSimilarity(dim=1, eps=1e-6)
    xo = torch.sort(torch.linalg.vector_norm(X, dim=1), stable=True).indices
    yo = torch.sort(torch.linalg.vector_norm(Y, dim=1), stable=True).indices
    remaining_x, remaining_idx = X[xo], xo
    match = torch.empty(len(yo), dtype=torch.long)
    for i in yo.tolist():
        j = int(torch.argmax(cos(remaining_x, Y[i : i + 1])))
        match[i] = remaining_idx[j]
        keep = torch.ones(len(remaining_idx), dtype=torch.bool, device=device)
        keep[j] = False
        remaining_x, remaining_idx = remaining_x[keep], remaining_idx[keep]
    return match.numpy()
