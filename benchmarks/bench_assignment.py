"""Speed of ``assignment_pairs`` ("cells", "minibatch") on one thread and on
all of them, in one run.

The exact solves of a sweep are independent, so they run on
``sklearn_gtn._utils.cpu_threads()`` threads (``OMP_NUM_THREADS`` when set,
else the CPUs the process may use). This script times the same calls with
that policy forced to 1 and to ``--threads``, on pairs like those a fit sees:
standardised rows against draws a trained map sends near them (``Y`` = a
permutation of ``X`` plus noise of 0.3). It prints medians over ``--repeat``
runs and whether the two produced identical pairs (they must: each solve
depends on its cell alone).

    python benchmarks/bench_assignment.py             # both cores of the CI box
    python benchmarks/bench_assignment.py --quick     # a small smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import sklearn_gtn.assignment as assignment  # noqa: E402
from sklearn_gtn import assignment_pairs  # noqa: E402
from sklearn_gtn._utils import cpu_threads  # noqa: E402

SIZES = [(5000, 30), (4000, 32), (20000, 16), (50000, 5)]


def _time(X, Y, method, threads, repeat):
    assignment.cpu_threads = lambda: threads
    times, match = [], None
    for _ in range(repeat):
        tic = time.perf_counter()
        match = assignment_pairs(X, Y, method=method, random_state=0)
        times.append(time.perf_counter() - tic)
    return statistics.median(times), match


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=cpu_threads())
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="small sizes only")
    args = p.parse_args(argv)
    sizes = [(2000, 8)] if args.quick else SIZES
    print(f"threads={args.threads} repeat={args.repeat} (medians, seconds)")
    print()
    print("| rows x d | method | 1 thread | threads | speed-up | identical |")
    print("|---|---|---|---|---|---|")
    for n, d in sizes:
        rng = np.random.RandomState(0)
        X = rng.standard_normal((n, d))
        Y = X[rng.permutation(n)] + 0.3 * rng.standard_normal((n, d))
        for method in ("minibatch", "cells"):
            one, a = _time(X, Y, method, 1, args.repeat)
            many, b = _time(X, Y, method, args.threads, args.repeat)
            same = "yes" if np.array_equal(a, b) else "NO"
            print(
                f"| {n:,} x {d} | {method} | {one:.2f} | {many:.2f} "
                f"| {one / many:.2f}x | {same} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
