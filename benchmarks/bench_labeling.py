"""Speed of ``label_pairs`` against the naive sequential loop, in one run.

The reference is Algorithm 1 as the paper's authors run it: one
``torch.nn.CosineSimilarity`` over the remaining rows per step, an argmax, and
the chosen row removed (``tests/_reference.py``). Both run on the same device
in the same process; the table gives medians over ``--repeat`` runs of the
fast method (the reference, minutes long, runs once) and says whether the two
produced identical pairs. On the CPU, for 2 <= d <= 8, the engine's pure-Python
path (the compiled pass switched off) is timed too, in the same run.

    python benchmarks/bench_labeling.py                    # CPU, 1 thread
    python benchmarks/bench_labeling.py --threads 2        # CPU, both cores
    python benchmarks/bench_labeling.py --device cuda      # GPU table
    python benchmarks/bench_labeling.py --quick            # a small smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

from _reference import torch_loop_label_pairs  # noqa: E402

import sklearn_gtn.labeling as labeling  # noqa: E402
from sklearn_gtn import label_pairs  # noqa: E402


def python_path_label_pairs(X, Y, device):
    """label_pairs with the compiled pass switched off."""
    saved, labeling._greedy = labeling._greedy, None
    try:
        return label_pairs(X, Y, device=device)
    finally:
        labeling._greedy = saved


def _sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _time(fn, X, Y, device, repeat):
    times, out = [], None
    for _ in range(repeat):
        _sync(device)
        t0 = time.perf_counter()
        out = fn(X, Y, device=device)
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="small sizes only")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = args.device
    cuda = dev.startswith("cuda")

    if args.quick:
        ref_cases = [(2000, 1), (2000, 5), (2000, 100)]
        fast_cases = [(10000, 5)]
    elif cuda:
        ref_cases = [(60000, 5), (60000, 100)]
        fast_cases = [(200000, 1), (200000, 2), (200000, 5), (200000, 100)]
    else:
        ref_cases = [(20000, 1), (20000, 5), (20000, 100)]
        fast_cases = [
            (20000, 2),
            (60000, 1),
            (60000, 5),
            (60000, 100),
            (200000, 1),
            (200000, 2),
            (200000, 5),
            (200000, 100),
        ]

    print(f"device={dev} threads={args.threads} torch={torch.__version__}")
    if cuda:
        print("gpu:", torch.cuda.get_device_name(0))
    compiled = labeling._greedy is not None
    print(f"compiled pass built: {compiled}")
    print(
        "| n | d | label_pairs (median s) | naive loop (s) | speed-up | same pairs "
        "| Python path (s) | C pass speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows = [(n, d, True) for n, d in ref_cases] + [(n, d, False) for n, d in fast_cases]
    for n, d, with_ref in rows:
        rng = np.random.RandomState(0)
        X = torch.from_numpy(rng.standard_normal((n, d))).to(dev)
        Y = torch.from_numpy(rng.standard_normal((n, d))).to(dev)
        label_pairs(X[:1000], Y[:1000], device=dev)  # warm-up (kernels, threads)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        repeat = args.repeat if n * d <= 2e6 or cuda else 1
        t_fast, fast = _time(label_pairs, X, Y, dev, repeat)
        extra = " - | - |"
        lo_d, hi_d = labeling._COMPILED_MIN_D, labeling._COMPILED_MAX_D
        if not cuda and compiled and lo_d <= d <= hi_d:
            t_py, py = _time(python_path_label_pairs, X, Y, dev, repeat)
            assert np.array_equal(py, fast)
            extra = f" {t_py:.4f} | {t_py / t_fast:.1f}x |"
        if cuda:
            peak = torch.cuda.max_memory_allocated() / 2**20
            extra += f" (peak GPU memory {peak:.0f} MiB)"
        if with_ref:
            t_ref, ref = _time(torch_loop_label_pairs, X, Y, dev, 1)
            same = bool(np.array_equal(ref, fast))
            print(
                f"| {n:,} | {d} | {t_fast:.4f} | {t_ref:.2f} | "
                f"{t_ref / t_fast:.0f}x | {same} |{extra}",
                flush=True,
            )
        else:
            print(f"| {n:,} | {d} | {t_fast:.4f} | - | - | - |{extra}", flush=True)
    print(f"peak resident memory of this process: {_peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
