"""Data-parallel training through Accelerate: 1 process vs N, same run.

Times ``GTNSampler.fit`` on the uniform square (50,000 x 2 by default, the
paper's 6 x 50 network, ``batch_size=128`` per process) and
``ConvAutoencoder.fit`` on scikit-learn's 1,797 digits, with
``accelerator=Accelerator(...)`` on 1 process and on N processes. Every fit
runs exactly ``--max-epochs`` epochs (early stopping is switched off by a
patience larger than that), so the times compare the same number of passes
over the data; with N processes each step takes ``batch_size`` rows per
process, so an epoch has N times fewer steps. The table gives the median of
``--repeats`` fits (after one warm-up fit) and the ratio 1 process / N
processes, measured in the same run.

On CPUs (the default): the script launches itself on 1 and on N gloo
processes through ``torch.distributed.run`` and prints a Markdown table::

    python benchmarks/bench_accelerate.py --processes 2 --repeats 3

On a machine with several GPUs, run the worker yourself under Accelerate,
once per process count, and compare the rows it prints::

    accelerate launch --num_processes 1 benchmarks/bench_accelerate.py --worker --gpu
    accelerate launch --multi_gpu --num_processes N \\
        benchmarks/bench_accelerate.py --worker --gpu

Each process trains with one torch thread on the CPU (the network is small:
see the Notes of ``GTNSampler``); N processes therefore need N free cores.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _worker(args):
    import numpy as np
    import torch
    from accelerate import Accelerator
    from sklearn.datasets import load_digits

    from sklearn_gtn import ConvAutoencoder, GTNSampler

    accelerator = Accelerator(cpu=not args.gpu)
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(args.n_samples, 2))
    digits = load_digits().images
    common = dict(max_epochs=args.max_epochs, patience=args.max_epochs + 1)
    jobs = {
        f"GTNSampler, {args.n_samples:,} x 2": lambda: GTNSampler(
            fit_inverse=False, random_state=0, accelerator=accelerator, **common
        ).fit(X),
        f"ConvAutoencoder, digits {len(digits):,} x 8 x 8": lambda: ConvAutoencoder(
            random_state=0, accelerator=accelerator, **common
        ).fit(digits),
    }
    results = {}
    for name, fit in jobs.items():
        times = []
        for repeat in range(args.repeats + 1):  # the first one warms up
            accelerator.wait_for_everyone()
            tic = time.perf_counter()
            model = fit()
            accelerator.wait_for_everyone()
            if repeat:
                # GTNSampler: labeling runs on the main process only, so the
                # data-parallel part is training_time_
                train = getattr(model, "training_time_", None)
                times.append((time.perf_counter() - tic, train))
        results[name] = {"times": times, "epochs": model.n_epochs_}
    if accelerator.is_main_process:
        row = {
            "processes": accelerator.num_processes,
            "device": str(accelerator.device),
            "torch_threads": torch.get_num_threads(),
            "results": results,
        }
        print(json.dumps(row))
        if args.out:
            with open(args.out, "w") as f:
                json.dump(row, f)


def _launch(n, args, out):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(n),
        os.path.abspath(__file__),
        "--worker",
        "--out",
        out,
        "--n-samples",
        str(args.n_samples),
        "--max-epochs",
        str(args.max_epochs),
        "--repeats",
        str(args.repeats),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT}
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    with open(out) as f:
        return json.load(f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=50_000)
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gpu", action="store_true", help="worker: use the GPUs")
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        rows = {
            n: _launch(n, args, os.path.join(tmp, f"{n}.json"))
            for n in (1, args.processes)
        }
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    n = args.processes
    print()
    print(
        f"{os.cpu_count()} CPUs, load average {load:.1f} before and "
        f"{load_after:.1f} after; {args.max_epochs} epochs per fit, median of "
        f"{args.repeats} fits"
    )
    print()
    print(
        f"| fit | 1 process: fit s (training s) | {n} processes: fit s "
        "(training s) | speed-up: fit (training) |"
    )
    print("|---|---:|---:|---:|")

    def medians(row, name):
        times = row["results"][name]["times"]
        fit = statistics.median(t[0] for t in times)
        train = [t[1] for t in times if t[1] is not None]
        return fit, statistics.median(train) if train else fit

    def cell(fit, train):
        return f"{fit:.2f} ({train:.2f})"

    for name in rows[1]["results"]:
        one, many = medians(rows[1], name), medians(rows[n], name)
        print(
            f"| {name} | {cell(*one)} | {cell(*many)} | "
            f"{one[0] / many[0]:.2f}x ({one[1] / many[1]:.2f}x) |"
        )


if __name__ == "__main__":
    main()
