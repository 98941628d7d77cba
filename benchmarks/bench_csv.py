"""Reading a numeric CSV: the command line's reader against its peers.

Readers, each measured in the same run on the same file:

- ``numpy.loadtxt`` (the reference of issue 13's target: at most 1.5x its
  time and memory);
- ``sklearn_gtn.cli.read_data`` (the command line's reader);
- ``pandas.read_csv`` with its default float parser, and with
  ``float_precision="round_trip"`` (exact).

Every read runs in a fresh process (``--repeats`` times per reader, in turns)
that has already imported everything; the page cache is warmed first. Time:
one read, wall clock. Memory: the growth of the peak resident set size
(``ru_maxrss``) over the read, and the peak of ``tracemalloc`` over a second
read. "exact" says whether every value equals the float64 written. Medians
are printed.

Run::

    python benchmarks/bench_csv.py --rows 200000 --cols 10 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

READERS = ["numpy.loadtxt", "sklearn_gtn read_data", "pandas", "pandas round_trip"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(name, path):
    import numpy as np

    if name == "numpy.loadtxt":
        return np.loadtxt(path, delimiter=",")
    if name == "sklearn_gtn read_data":
        from sklearn_gtn.cli import read_data

        return read_data(path)
    import pandas as pd

    kwargs = {"float_precision": "round_trip"} if name.endswith("round_trip") else {}
    return pd.read_csv(path, header=None, **kwargs).to_numpy()


def child(name, path, reference):
    """One measurement in this process: prints a JSON line."""
    import resource
    import time
    import tracemalloc

    import numpy as np

    sys.path.insert(0, ROOT)
    import pandas  # noqa: F401  (imports are not part of a read)

    import sklearn_gtn.cli  # noqa: F401

    expected = np.load(reference)
    with open(path, "rb") as f:  # warm the page cache (not resident memory)
        while f.read(1 << 20):
            pass
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tic = time.perf_counter()
    X = _read(name, path)
    seconds = time.perf_counter() - tic
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    exact = bool(np.array_equal(X, expected))
    del X
    tracemalloc.start()
    _read(name, path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        json.dumps(
            dict(
                seconds=seconds,
                rss_mib=(after - before) / 1024,  # ru_maxrss is in KiB on Linux
                traced_mib=peak / 2**20,
                exact=exact,
            )
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    import numpy as np

    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "data.csv")
    reference = os.path.join(folder, "data.npy")
    X = np.random.RandomState(0).standard_normal((args.rows, args.cols))
    np.savetxt(path, X, delimiter=",")
    np.save(reference, X)
    size = os.path.getsize(path) / 2**20
    results = {name: [] for name in READERS}
    for _ in range(args.repeats):
        for name in READERS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", name, path, reference],
                capture_output=True,
                text=True,
                check=True,
                env=dict(os.environ, OMP_NUM_THREADS="1"),
            )
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = {
        key: statistics.median(r[key] for r in results["numpy.loadtxt"])
        for key in ("seconds", "rss_mib", "traced_mib")
    }
    print(
        f"{args.rows:,} x {args.cols} float64 written by np.savetxt ({size:.1f} MiB), "
        f"medians of {args.repeats} fresh processes each"
    )
    header = (
        f"{'reader':<24}{'time s':>8}{'x loadtxt':>10}{'RSS MiB':>9}{'x loadtxt':>10}"
        f"{'traced MiB':>11}{'x loadtxt':>10}{'exact':>7}"
    )
    print(header)
    print("-" * len(header))
    for name in READERS:
        med = {
            key: statistics.median(r[key] for r in results[name])
            for key in ("seconds", "rss_mib", "traced_mib")
        }
        ratio = {key: med[key] / max(base[key], 1e-9) for key in med}
        exact = all(r["exact"] for r in results[name])
        print(
            f"{name:<24}{med['seconds']:>8.3f}{ratio['seconds']:>10.2f}"
            f"{med['rss_mib']:>9.1f}{ratio['rss_mib']:>10.2f}"
            f"{med['traced_mib']:>11.1f}{ratio['traced_mib']:>10.2f}"
            f"{'yes' if exact else 'no':>7}"
        )


if __name__ == "__main__":
    main()
