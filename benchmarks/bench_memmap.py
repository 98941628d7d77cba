"""Labeling data that lives on disk: ``label_pairs`` on a NumPy memmap.

Writes ``X`` (float32) to a memmap file, opens it read-only and labels it
against fresh normal draws, then labels the same data held in RAM, in the same
run. Prints one Markdown row per size: wall time (memmap and in RAM, ratio),
peak resident memory of the process, and on a GPU the peak device memory and
whether the engine streamed (state in host memory, X sent to the device in
chunks) or kept everything resident.

    python benchmarks/bench_memmap.py                              # CPU, 100k x 50
    python benchmarks/bench_memmap.py --n 2000000 --d 50 --device cuda
    python benchmarks/bench_memmap.py --device cuda --force-stream # stream anyway

On the CPU the engine needs ``O(n d)`` host memory (sorted unit vectors), so a
memmap saves the input copy, not the working set; the work is quadratic, which
puts n = 2,000,000, d = 50 out of reach of a 2-core CPU (hours). That row is a
GPU measurement.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import sklearn_gtn.labeling as labeling  # noqa: E402
from sklearn_gtn import label_pairs  # noqa: E402


def _peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _run(X, Y, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    match = label_pairs(X, Y, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = float("nan")
    return time.perf_counter() - t0, match, peak


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=50)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--force-stream", action="store_true")
    p.add_argument("--skip-in-ram", action="store_true")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.force_stream:  # the GPU's path for data over its free memory
        labeling._streams_from_host = lambda *args: True
    n, d = args.n, args.d
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.f32")
        mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, d))
        for lo in range(0, n, 100_000):  # written in chunks, never all in RAM
            hi = min(n, lo + 100_000)
            mm[lo:hi] = rng.standard_normal((hi - lo, d), dtype=np.float32)
        mm.flush()
        del mm
        X = np.memmap(path, dtype=np.float32, mode="r", shape=(n, d))
        Y = rng.standard_normal((n, d), dtype=np.float32)
        label_pairs(X[:1000], Y[:1000], device=args.device)  # warm-up
        streamed = args.force_stream or (
            args.device.startswith("cuda")
            and not labeling._fits_on_device(
                torch.empty(n, d), torch.empty(n, d), torch.device(args.device)
            )
        )
        t_mm, m_mm, peak_mm = _run(X, Y, args.device)
        rss_mm = _peak_rss_mib()
        row = (
            f"| {n:,} | {d} | {args.device} | {'streamed' if streamed else 'resident'}"
            f" | {t_mm:.2f} |"
        )
        if args.skip_in_ram:
            row += " - | - | - |"
        else:
            X_ram = np.array(X)
            t_ram, m_ram, _ = _run(X_ram, Y, args.device)
            same = np.array_equal(m_mm, m_ram)
            row += f" {t_ram:.2f} | {t_mm / t_ram:.2f} | {same} |"
        row += f" {rss_mm:,.0f} | {peak_mm:,.0f} |"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.device.startswith("cuda"):
        print("gpu:", torch.cuda.get_device_name(0))
    print(
        "| n | d | device | engine state | memmap (s) | in RAM (s) | ratio "
        "| same pairs | peak RSS after memmap run (MiB) | peak GPU memory (MiB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(row)
    size = n * d * 4 / 2**20
    print(f"X on disk: {size:,.0f} MiB float32 (the engine works in float64)")


if __name__ == "__main__":
    main()
