"""The ``demo`` command: the paper's synthetic examples."""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from ._common import _MAX_SEED, UsageError, check_device, positive_int, seed

__all__ = ["run_demo"]

_SEED_SPAN = 2004  # run_demo seeds up to random_state + 1000 * 2 + 4


def _datasets():
    from ..datasets import (
        SWISS_ROLL_THETA_RANGE,
        make_swiss_roll_parameter,
        make_uniform_square,
        swiss_roll_from_parameter,
    )

    low, high = SWISS_ROLL_THETA_RANGE
    square = dict(
        name="uniform square",
        slug="uniform_square",
        make=lambda n, seed: make_uniform_square(n, random_state=seed),
        inside=lambda S: ((S > 0) & (S < 1)).all(axis=1),
        to_points=None,
    )
    return [
        dict(
            name="swiss-roll parameter",
            slug="swiss_roll",
            make=lambda n, seed: make_swiss_roll_parameter(n, random_state=seed),
            inside=lambda S: (S[:, 0] > low) & (S[:, 0] < high),
            to_points=swiss_roll_from_parameter,
            params=dict(labeling="algorithm1"),
        ),
        {**square, "params": dict(labeling="algorithm1")},
        # Algorithm 1 pairs by direction only and leaves the centre of the
        # square empty (a ring); pairing by optimal assignment (the default)
        # fills it
        {
            **square,
            "name": "uniform square, assignment",
            "slug": "uniform_square_assignment",
        },
    ]


def run_demo(
    output,
    *,
    n_samples=10_000,
    max_epochs=30,
    n_generate=100_000,
    device="auto",
    random_state=0,
    plots=True,
    verbose=0,
    stream=None,
):
    """Fit the paper's synthetic examples, write figures, print a summary.

    The swiss-roll parameter and the uniform square are fitted as in the
    paper (``labeling="algorithm1"``); the square is fitted a second time with
    ``labeling="assignment"``, which fills the centre that Algorithm 1 leaves
    empty.

    Parameters
    ----------
    output : str or path-like or None
        Folder for the PNG figures (created if missing); ``None`` writes none.
    n_samples : int, default=10_000
        Training points per dataset.
    max_epochs : int, default=30
        Training epochs (Algorithm 1 rows stop early with the paper's
        patience 3; the assignment row trains them all).
    n_generate : int, default=100_000
        Samples drawn to measure the sampling rate and the support fraction.
    device : str, default="auto"
        Device for labeling, training and sampling.
    random_state : int, default=0
        Seed of the data, the fits and the samples.
    plots : bool, default=True
        Whether to write figures (needs matplotlib).
    verbose : int, default=0
        Passed to :class:`~sklearn_gtn.GTNSampler`.
    stream : file-like, default=None
        Where the table goes (``sys.stdout`` by default).

    Returns
    -------
    rows : list of dict
        One summary row per dataset.
    """
    from ..metrics import energy_distance
    from ..sampler import GTNSampler

    stream = sys.stdout if stream is None else stream
    if plots:
        from ..plotting import plot_source_to_samples
    if output is not None:
        os.makedirs(output, exist_ok=True)
    n_eval = min(2000, n_samples)
    rows = []
    for k, spec in enumerate(_datasets()):
        seed = random_state + 1000 * k
        X = spec["make"](n_samples, seed)
        X_test = spec["make"](n_eval, seed + 1)
        X_ref = spec["make"](n_eval, seed + 2)
        gtn = GTNSampler(
            max_epochs=max_epochs,
            device=device,
            random_state=seed,
            verbose=verbose,
            **spec.get("params", {}),
        )
        tic = time.perf_counter()
        gtn.fit(X)
        fit_time = time.perf_counter() - tic
        gtn.sample(min(1000, n_generate), random_state=0)  # warm up
        tic = time.perf_counter()
        S = gtn.sample(n_generate, random_state=seed + 3)
        rate = n_generate / max(time.perf_counter() - tic, 1e-9)
        std = X.std(axis=0)
        rt_train = _round_trip_error(gtn, X[:n_eval], std)
        rt_test = _round_trip_error(gtn, X_test, std)
        row = dict(
            dataset=spec["name"],
            n=n_samples,
            dim=X.shape[1],
            epochs=gtn.n_epochs_,
            fit_s=fit_time,
            labeling_s=gtn.labeling_time_,
            samples_per_s=rate,
            energy=energy_distance(S[:n_eval], X_test),
            energy_real=energy_distance(X_ref, X_test),
            inside=float(np.mean(spec["inside"](S))),
            round_trip_train=float(rt_train),
            round_trip_test=float(rt_test),
        )
        if plots and output is not None:
            codes = np.random.RandomState(seed + 4).standard_normal((3000, X.shape[1]))
            fig = plot_source_to_samples(
                codes,
                gtn.inverse_transform(codes),
                to_points=spec["to_points"],
                titles=(f"N(0, I) in {X.shape[1]}-D", f"GTN samples: {spec['name']}"),
            )
            path = os.path.join(output, f"{spec['slug']}.png")
            fig.savefig(path, dpi=110)
            row["figure"] = path
        rows.append(row)
    _print_table(rows, stream)
    return rows


def _round_trip_error(gtn, A, std):
    """Mean of ``|inverse_transform(transform(A)) - A| / std``."""
    return np.mean(np.abs(gtn.inverse_transform(gtn.transform(A)) - A) / std)


def _print_table(rows, stream):
    header = (
        f"{'dataset':<28}{'n':>8}{'d':>3}{'epochs':>7}{'fit s':>8}{'label s':>9}"
        f"{'samples/s':>12}{'energy':>8}{'(real)':>8}{'in supp':>9}"
        f"{'round trip':>12}"
    )
    print(header, file=stream)
    print("-" * len(header), file=stream)
    for r in rows:
        print(
            f"{r['dataset']:<28}{r['n']:>8}{r['dim']:>3}{r['epochs']:>7}"
            f"{r['fit_s']:>8.2f}{r['labeling_s']:>9.3f}{r['samples_per_s']:>12,.0f}"
            f"{r['energy']:>8.4f}{r['energy_real']:>8.4f}{r['inside']:>9.4f}"
            f"{r['round_trip_train']:>6.2f}/{r['round_trip_test']:.2f}",
            file=stream,
        )
    print(
        "energy: energy distance between 2,000 samples and held-out data; (real):"
        " the same between two real draws (noise floor).\nin supp: fraction of "
        "samples inside the true support. round trip: mean |inverse_transform("
        "transform(x)) - x| / std, training / held-out points.",
        file=stream,
    )
    for r in rows:
        if "figure" in r:
            print(f"wrote {r['figure']}", file=stream)


def add_demo_parser(sub):
    demo = sub.add_parser(
        "demo",
        help="fit the paper's swiss-roll and uniform-square examples",
        description=(
            "Fit GTNSampler on the swiss-roll parameter (from a 1-D normal) and on "
            "the uniform square (from a 2-D normal), write Figure-3-style PNGs and "
            "print a summary table."
        ),
    )
    demo.add_argument(
        "--output",
        "-o",
        default="demo-output",
        help="folder for the figures (default: demo-output)",
    )
    demo.add_argument(
        "--n-samples",
        type=positive_int,
        default=10_000,
        help="training points per dataset (default: 10000)",
    )
    demo.add_argument(
        "--max-epochs",
        type=positive_int,
        default=30,
        help="upper bound on training epochs (default: 30)",
    )
    demo.add_argument(
        "--n-generate",
        type=positive_int,
        default=100_000,
        help="samples drawn for the rate and support figures (default: 100000)",
    )
    demo.add_argument(
        "--device", default="auto", help="auto, cpu or cuda (default: auto)"
    )
    demo.add_argument(
        "--random-state",
        type=seed,
        default=0,
        help="seed of data, fits and samples (default: 0)",
    )
    demo.add_argument(
        "--no-plots",
        action="store_true",
        help="do not write figures (matplotlib not needed)",
    )
    demo.add_argument(
        "--verbose",
        "-v",
        action="count",
        default=0,
        help="show labeling progress and training epochs",
    )


def cmd_demo(args):
    if args.n_samples < 20:
        raise UsageError(f"--n-samples must be at least 20, got {args.n_samples}")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise UsageError(f"--output {args.output!r} exists and is not a folder")
    check_device(args.device)
    # seeds of the three data sets, fits and draws reach random_state + 2004
    if args.random_state > _MAX_SEED - _SEED_SPAN:
        raise UsageError(
            f"--random-state must be at most {_MAX_SEED - _SEED_SPAN} (the demo "
            f"derives seeds up to {_SEED_SPAN} above it), got {args.random_state}"
        )
    if not args.no_plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError(
                "the demo's figures need matplotlib: install it with "
                '`pip install "sklearn-gtn[plot]"`, or pass --no-plots'
            ) from None
    run_demo(
        None if args.no_plots else args.output,
        n_samples=args.n_samples,
        max_epochs=args.max_epochs,
        n_generate=args.n_generate,
        device=args.device,
        random_state=args.random_state,
        plots=not args.no_plots,
        verbose=args.verbose,
    )
