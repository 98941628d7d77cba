"""Wall time of a digits grid search on joblib's loky backend, Dask and Ray.

Run from the repository root (Dask and Ray are optional: ``pip install -e
".[scale]"``; a missing engine's rows are left out)::

    python benchmarks/bench_scale_out.py                # 3 repeats
    python benchmarks/bench_scale_out.py --repeats 1 --no-ray

The search is the one of ``docs/scaling_out.rst``: ``GridSearchCV`` over the
latent dimension (2, 4, 8) of a ``ConvAutoencoder -> GTNSampler`` pipeline on
the 1,797 scikit-learn digits, ``cv=3`` (9 fits and a refit on all the
digits in this process). Rows:

- ``loky, n_jobs=1``: the search in this process, one fit after another;
- ``loky, n_jobs=2``: joblib's default backend, two worker processes;
- ``dask, 1 worker`` and ``dask, 2 workers``: ``parallel_config(backend=
  "dask", client=...)`` on a ``LocalCluster`` of single-threaded worker
  processes;
- ``ray, 2 CPUs``: ``ray.util.joblib`` on a local Ray instance with 2 CPUs.

Every fit runs on one torch thread (this process sets it; loky, Dask and Ray
set ``OMP_NUM_THREADS=1`` in their workers), so the rows differ only in how
the fits are spread over processes. Clusters are started and their workers
warmed up (torch imported, one small fit run) before timing; each figure is
the median over ``--repeats`` of ``search.fit`` alone, with the rows
alternating within each repeat so that all see the same machine load. Ray's
joblib backend starts new actor processes for every search, so its time
includes their start-up, as a user's does. The last lines check that every
row found the same cross-validation scores.

The ratio column divides each time by the ``dask, 1 worker`` time measured in
the same run. On a 2-core machine, two workers can at best halve the time
(less: the refit on all the digits runs alone in the client), and only if
nothing else needs the cores: the load average printed with the table says
how busy the machine was. No figures from a GPU
machine were taken for this script yet (none was available when it was
written); on one, give each worker its own GPU as ``docs/scaling_out.rst``
describes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import joblib
import numpy as np
import torch

# run from a checkout without installing: the package is one folder up
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from sklearn_gtn import (  # noqa: E402
    ConvAutoencoder,
    GTNSampler,
    make_generative_pipeline,
)

GRID = {"convautoencoder__latent_dim": [2, 4, 8]}


def make_pipeline():
    """The searched pipeline: small epochs, so one search takes about a minute."""
    return make_generative_pipeline(
        ConvAutoencoder(latent_dim=2, max_epochs=5, device="cpu", random_state=0),
        GTNSampler(max_epochs=20, device="cpu", random_state=0),
    )


def warm_up():
    """Import torch and run one tiny fit (first-use costs are not timed)."""
    torch.set_num_threads(1)
    images = load_digits().images[:64]
    make_generative_pipeline(
        ConvAutoencoder(latent_dim=2, max_epochs=1, device="cpu", random_state=0),
        GTNSampler(hidden_layer_sizes=(8,), max_epochs=1, device="cpu"),
    ).fit(images)
    return os.getpid()


def run_search(images, cv, config):
    """Seconds taken by ``search.fit`` under ``config`` and the search."""
    search = GridSearchCV(make_pipeline(), GRID, cv=cv, n_jobs=config["n_jobs"])
    with joblib.parallel_config(**config["backend"]):
        tic = time.perf_counter()
        search.fit(images)
        seconds = time.perf_counter() - tic
    return seconds, search


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask rows")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray row")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    images = load_digits().images
    load_before = os.getloadavg()[0]
    warm_up()
    rows = {
        "loky, n_jobs=1": {"n_jobs": 1, "backend": {"backend": "loky"}},
        "loky, n_jobs=2": {"n_jobs": 2, "backend": {"backend": "loky"}},
    }
    # loky's reusable executor: start and warm its two workers once
    joblib.Parallel(n_jobs=2)(joblib.delayed(warm_up)() for _ in range(2))

    closers = []
    environ = dict(os.environ)
    try:
        if not args.no_dask:
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError:
                print("dask.distributed is not installed: no Dask rows")
            else:
                for n_workers in (1, 2):
                    tic = time.perf_counter()
                    cluster = LocalCluster(
                        n_workers=n_workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                    )
                    client = Client(cluster)
                    closers += [client.close, cluster.close]
                    client.run(warm_up)
                    print(
                        f"dask, {n_workers} worker(s): started and warmed up in "
                        f"{time.perf_counter() - tic:.1f} s"
                    )
                    name = f"dask, {n_workers} worker" + ("s" if n_workers > 1 else "")
                    rows[name] = {
                        "n_jobs": -1,
                        "backend": {"backend": "dask", "client": client},
                    }
        if not args.no_ray:
            try:
                import ray
                from ray.util.joblib import register_ray
            except ImportError:
                print("ray is not installed: no Ray row")
            else:
                tic = time.perf_counter()
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                closers.append(ray.shutdown)
                register_ray()
                print(f"ray: started in {time.perf_counter() - tic:.1f} s")
                rows["ray, 2 CPUs"] = {"n_jobs": -1, "backend": {"backend": "ray"}}

        times = {name: [] for name in rows}
        scores = {}
        for repeat in range(args.repeats):
            for name, config in rows.items():
                seconds, search = run_search(images, args.cv, config)
                times[name].append(seconds)
                scores[name] = search.cv_results_["mean_test_score"]
                print(f"repeat {repeat + 1}: {name}: {seconds:.1f} s", flush=True)
    finally:
        for close in reversed(closers):
            close()
        os.environ.clear()
        os.environ.update(environ)

    reference = "dask, 1 worker" if "dask, 1 worker" in times else "loky, n_jobs=1"
    ref = statistics.median(times[reference])
    print()
    print(
        f"Digits grid search: latent_dim in {GRID['convautoencoder__latent_dim']}, "
        f"cv={args.cv}, {len(images)} images, median of {args.repeats} repeat(s), "
        f"torch {torch.__version__}, {os.cpu_count()} CPU(s), 1-minute load "
        f"average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after"
    )
    print()
    print(f"| backend | wall time (s) | ratio to {reference} |")
    print("| --- | ---: | ---: |")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.1f} | {median / ref:.2f} |")
    print()
    first = next(iter(scores.values()))
    same = all(np.array_equal(first, other) for other in scores.values())
    print("mean_test_score identical in every row:", "yes" if same else "NO")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
