"""Benchmarks of GTNSampler against bare torch code doing the same work.

Run from the repository root::

    python benchmarks/bench_sampler.py [--repeats 5] [--threads 2]

Prints one table. Each figure is the median of ``--repeats`` runs; the
reference and the measured code alternate within each repeat, so both see the
same machine load. Targets (issue 3): ``sample`` at most 1.15x a bare forward
pass, ``fit`` at most 1.5x a hand-written torch loop on the same pairs and
epochs, and at least 1,000,000 samples/s on 2 CPU cores for the default
network on 2-D data.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time

import numpy as np
import torch

# run from a checkout without installing: the package is one folder up
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sklearn_gtn import GTNMixture, GTNSampler, label_pairs
from sklearn_gtn._modules import MLP
from sklearn_gtn._runtime import chunk_rows, training_threads
from sklearn_gtn._utils import torch_threads as _torch_threads
from sklearn_gtn.datasets import make_uniform_square


def _timed(fn, *args, **kwargs):
    tic = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - tic


def bare_forward(module, n, d, seed):
    """The reference for ``sample``: draw, one forward pass, to NumPy."""
    gen = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        return module(torch.randn(n, d, generator=gen)).numpy()


def bare_forward_chunked(module, n, d, seed, rows):
    """The same, in chunks of ``rows`` (what ``sample`` does on the CPU)."""
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randn(n, d, generator=gen)
    out = np.empty((n, d), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, n, rows):
            out[start : start + rows] = module(codes[start : start + rows]).numpy()
    return out


def hand_written_fit(Y, X, Yv, Xv, *, epochs, batch_size, lr, seed):
    """The reference for ``fit``: a plain torch loop on pre-labeled pairs.

    Same module, Adam, MSE, per-epoch shuffle, a validation loss after every
    epoch, and the best weights kept (what early stopping with restore does).
    """
    torch.manual_seed(seed)
    module = MLP(Y.shape[1], X.shape[1])
    opt = torch.optim.Adam(module.parameters(), lr=lr, fused=True)  # as GTNSampler
    loss_fn = torch.nn.MSELoss()
    best, best_state = float("inf"), None
    n = len(Y)
    for _ in range(epochs):
        module.train()
        perm = torch.randperm(n)
        Ys, Xs = Y[perm], X[perm]
        for start in range(0, n, batch_size):
            opt.zero_grad()
            stop = start + batch_size
            loss = loss_fn(module(Ys[start:stop]), Xs[start:stop])
            loss.backward()
            opt.step()
        module.eval()
        with torch.no_grad():
            valid = float(loss_fn(module(Yv), Xv))
        if valid < best:
            best, best_state = valid, copy.deepcopy(module.state_dict())
    module.load_state_dict(best_state)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-fit", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []

    # -- sample() vs bare forward ------------------------------------------
    X = make_uniform_square(args.n_fit, random_state=0)
    gtn = GTNSampler(max_epochs=3, fit_inverse=False, device="cpu", random_state=0)
    gtn.fit(X)
    module = gtn.net_.module_
    n = 100_000
    for _ in range(2):  # warm up both paths
        gtn.sample(n, random_state=0)
        bare_forward(module, n, 2, 0)
    chunk = chunk_rows(module, "cpu")
    t_sample, t_bare, t_chunked = [], [], []
    for r in range(args.repeats):
        t_bare.append(_timed(bare_forward, module, n, 2, r))
        t_chunked.append(_timed(bare_forward_chunked, module, n, 2, r, chunk))
        t_sample.append(_timed(gtn.sample, n, random_state=r))
    ms, mb = statistics.median(t_sample), statistics.median(t_bare)
    mc = statistics.median(t_chunked)
    rows.append(
        ("sample(100,000) vs bare forward, one pass", ms, mb, ms / mb, "<= 1.15x")
    )
    rows.append(
        (
            f"sample(100,000) vs bare forward, {chunk:,}-row chunks",
            ms,
            mc,
            ms / mc,
            "<= 1.15x",
        )
    )

    # -- samples per second, default network, 2-D ----------------------------
    n_big = 1_000_000
    gtn.sample(n_big, random_state=0)
    t_big = [_timed(gtn.sample, n_big, random_state=r) for r in range(args.repeats)]
    rate = n_big / statistics.median(t_big)
    # GTNMixture()'s default on 5,000+ rows: 8 pieces, one forward pass each
    mix = GTNMixture(gtn, n_components=8, random_state=0).fit(X)
    mix.sample(n_big, random_state=0)
    t_mix = [_timed(mix.sample, n_big, random_state=r) for r in range(args.repeats)]
    mix_rate = n_big / statistics.median(t_mix)

    # -- fit() vs hand-written loop ------------------------------------------
    epochs, bs, lr = args.epochs, 128, 1e-3
    # the hand-written loop labels by Algorithm 1 and trains MLP's default
    # (BatchNorm) network: the same work as labeling="algorithm1"
    params = dict(
        max_epochs=epochs,
        patience=epochs,
        fit_inverse=False,
        device="cpu",
        batch_size=bs,
        lr=lr,
        random_state=0,
        labeling="algorithm1",
    )

    def reference_fit():
        # the same work by hand: split, standardise, label, train
        rng = np.random.RandomState(0)
        n_val = int(np.ceil(0.1 * len(X)))
        Z = (X - X.mean(0)) / X.std(0)
        perm = rng.permutation(len(X))
        Zt, Zv = Z[perm[n_val:]], Z[perm[:n_val]]
        Yt = rng.standard_normal(Zt.shape)
        Yv = rng.standard_normal(Zv.shape)
        Xt = Zt[label_pairs(Zt, Yt, device="cpu")]
        Xv = Zv[label_pairs(Zv, Yv, device="cpu")]
        # train with the thread count GTNSampler picks for this network, so
        # the ratio measures the wrapper (skorch, callbacks), not threading
        threads = training_threads("cpu", bs * 50 * 50)
        tic = time.perf_counter()
        with _torch_threads(threads):
            hand_written_fit(
                *(torch.as_tensor(A, dtype=torch.float32) for A in (Yt, Xt, Yv, Xv)),
                epochs=epochs,
                batch_size=bs,
                lr=lr,
                seed=0,
            )
        return time.perf_counter() - tic

    GTNSampler(**{**params, "max_epochs": 1}).fit(X)  # warm up
    t_fit, t_ref, t_train, t_loop = [], [], [], []
    for _ in range(args.repeats):
        tic = time.perf_counter()
        t_loop.append(reference_fit())
        t_ref.append(time.perf_counter() - tic)
        est = GTNSampler(**params)
        t_fit.append(_timed(est.fit, X))
        t_train.append(est.training_time_)
    mf, mr = statistics.median(t_fit), statistics.median(t_ref)
    mt, ml = statistics.median(t_train), statistics.median(t_loop)
    what = f"{args.n_fit:,} x 2, {epochs} epochs"
    rows.append((f"fit({what}) vs label + torch loop", mf, mr, mf / mr, "<= 1.5x"))
    rows.append(("  training part only (skorch vs loop)", mt, ml, mt / ml, ""))

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"median of {args.repeats} repeats"
    )
    print(f"{'measure':<48} {'ours [s]':>9} {'ref [s]':>9} {'ratio':>7}  target")
    for name, ours, ref, ratio, target in rows:
        print(f"{name:<48} {ours:9.4f} {ref:9.4f} {ratio:7.2f}  {target}")
    print(
        f"{'sample() rate, 1,000,000 draws, default net, 2-D':<48} "
        f"{rate:>19,.0f} /s  >= 1,000,000/s"
    )
    print(
        f"{'GTNMixture sample() rate, 8 pieces, 2-D':<48} "
        f"{mix_rate:>19,.0f} /s  >= 1,000,000/s"
    )


if __name__ == "__main__":
    main()
