"""Command line: ``python -m sklearn_gtn COMMAND`` (or the ``sklearn-gtn`` script).

``demo``
    fits the paper's synthetic examples (the swiss-roll parameter from a 1-D
    normal, the uniform square from a 2-D normal), writes Figure-3-style PNGs
    to ``--output`` and prints a summary table.
``fit DATA -o MODEL``
    fits a :class:`~sklearn_gtn.GTNSampler` on a CSV or NPY file (images: a
    :func:`~sklearn_gtn.make_generative_pipeline` of a
    :class:`~sklearn_gtn.ConvAutoencoder` and a GTNSampler) and saves it with
    ``sklearn_gtn.save``.
``sample MODEL -n N -o OUT``
    writes ``N`` generated rows (or images) to a CSV or NPY file.
``interpolate MODEL --start A --end B -o OUT``
    writes the path between two real points through the source space.
``info MODEL``
    prints the model's class, parameters, fitted attributes and versions.

User errors (missing or unreadable files, non-numeric data, wrong shapes, bad
option values) are reported in one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from ._version import __version__

__all__ = ["main", "read_data", "run_demo", "write_data"]

PROG = "sklearn-gtn"


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose user errors are one line on stderr, exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class UsageError(Exception):
    """A mistake in the command line; reported in one line, exit code 2."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _int_tuple(text):
    """``"50,50,50"`` -> ``(50, 50, 50)``; every entry an integer >= 1."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers >= 1, got {text!r}"
        )
    return values


def _datasets():
    from .datasets import (
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
    from .metrics import energy_distance
    from .sampler import GTNSampler

    stream = sys.stdout if stream is None else stream
    if plots:
        from .plotting import plot_source_to_samples
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


# ----------------------------------------------------------------------------
# data files
# ----------------------------------------------------------------------------
_OUTPUT_SUFFIXES = (".csv", ".npy")
_WRITE_CHUNK_ROWS = 20_000


def _progress(iterable, *, verbose, desc, total=None):
    """``iterable`` wrapped in a tqdm bar on stderr when ``verbose``."""
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, leave=False)


def _check_input_file(path, what):
    if not os.path.exists(path):
        raise UsageError(f"{what} {path!r} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{what} {path!r} is a folder, not a file")


def _check_output_file(path, what="output"):
    """Check ``path`` can be written as CSV or NPY, before any expensive work."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _OUTPUT_SUFFIXES:
        raise UsageError(
            f"{what} {path!r} must end in .csv or .npy (the format is chosen by "
            "the extension)"
        )
    _check_output_folder(path, what)
    return suffix


def _check_output_folder(path, what):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{what} folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{what} {path!r} is a folder")


def _parse_float(text, where):
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{where}: {text.strip()!r} is not a number") from None
    return value


def _read_csv(path):
    """Rows of numbers from a CSV file; a first row that is not numeric is a header.

    The delimiter is a comma (a tab for ``.tsv`` files, or when the first line
    has tabs and no commas); blank lines are skipped.
    """
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path!r}: {exc}") from None
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise UsageError(f"{path!r} holds no data")
    tsv = path.lower().endswith(".tsv") or ("\t" in first and "," not in first)
    rows = [
        (number, row)
        for number, row in enumerate(
            csv.reader(lines, delimiter="\t" if tsv else ","), start=1
        )
        if any(field.strip() for field in row)
    ]
    header = None
    number, row = rows[0]
    try:
        [float(field) for field in row]
    except ValueError:
        header, rows = [field.strip() for field in row], rows[1:]
    if not rows:
        raise UsageError(f"{path!r} has a header but no data rows")
    width = len(header) if header is not None else len(rows[0][1])
    data = np.empty((len(rows), width))
    for i, (number, row) in enumerate(rows):
        if len(row) != width:
            raise UsageError(
                f"{path}, line {number}: {len(row)} values, expected {width}"
            )
        data[i] = [
            _parse_float(field, f"{path}, line {number}, column {j + 1}")
            for j, field in enumerate(row)
        ]
    return data


def read_data(path):
    """Read a data file for the command line: CSV (header or not) or NPY.

    Parameters
    ----------
    path : str
        A ``.npy`` file (a numeric array, 2-D rows of features or a stack of
        images) or a delimited text file (``.csv``, ``.tsv``, ``.txt``, ...);
        a first row that does not parse as numbers is taken as a header.

    Returns
    -------
    X : ndarray of float64
        The data; NaN and infinite values are rejected.

    Raises
    ------
    UsageError
        On a missing, unreadable, empty or non-numeric file.
    """
    _check_input_file(path, "data file")
    if path.lower().endswith(".npy"):
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise UsageError(f"cannot read {path!r} as a .npy file: {exc}") from None
        if not (np.issubdtype(data.dtype, np.number) or data.dtype == bool):
            raise UsageError(f"{path!r} holds {data.dtype} values; expected numbers")
        if data.ndim < 2 or data.size == 0:
            raise UsageError(
                f"{path!r} has shape {data.shape}; expected a non-empty array of "
                "rows (n_samples, n_features) or of images"
            )
        data = data.astype(np.float64)
    else:
        data = _read_csv(path)
    if not np.isfinite(data).all():
        raise UsageError(f"{path!r} contains NaN or infinite values")
    return data


def write_data(path, data, *, verbose=0):
    """Write ``data`` as NPY (any shape) or CSV (one flattened row per sample)."""
    data = np.asarray(data)
    if path.lower().endswith(".npy"):
        np.save(path, data)
        return
    rows = data.reshape(len(data), -1)
    starts = range(0, len(rows), _WRITE_CHUNK_ROWS)
    with open(path, "w", newline="") as f:
        for start in _progress(starts, verbose=verbose, desc=f"writing {path}"):
            chunk = rows[start : start + _WRITE_CHUNK_ROWS]
            np.savetxt(f, chunk, fmt="%.9g", delimiter=",")


# ----------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------
def _save_model(model, path):
    from .persistence import save

    save(model, path)


def _load_model(path, device=None):
    """``sklearn_gtn.load``; warnings (another version) become one stderr line."""
    import warnings

    _check_input_file(path, "model file")
    from .persistence import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = load(path, device=device)
        except (OSError, ValueError, TypeError, KeyError, EOFError) as exc:
            raise UsageError(
                f"cannot load a model from {path!r}: {_one_line(exc)}"
            ) from None
    for w in caught:
        print(f"{PROG}: warning: {_one_line(w.message)}", file=sys.stderr)
    return model


def _saved_versions(path):
    """The ``versions`` recorded in a model file's metadata, or ``None``."""
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read("metadata.json"))
        return ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    except (
        OSError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        zipfile.BadZipFile,
    ):
        return None


def _row_shape(model):
    """Shape of one input row of a fitted model (a pipeline may take images)."""
    shape = getattr(model, "_input_row_shape", None)
    if shape is None:
        shape = getattr(model, "input_row_shape_", None)
    if shape is not None:
        return tuple(shape)
    return (int(model.n_features_in_),)


def _check_device(device):
    from ._utils import resolve_device

    try:
        resolve_device(device, name="--device")
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _build_model(args, X):
    from .autoencoder import ConvAutoencoder
    from .pipeline import make_generative_pipeline
    from .sampler import GTNSampler

    common = dict(
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        device=args.device,
        random_state=args.random_state,
        verbose=args.verbose,
    )
    if args.patience is not None:  # else each model's own default
        common["patience"] = args.patience
    gtn_params = dict(common, lr=args.lr, labeling=args.labeling)
    if args.hidden_layer_sizes is not None:
        gtn_params["hidden_layer_sizes"] = args.hidden_layer_sizes
    images = args.image_shape is not None or args.latent_dim is not None or X.ndim > 2
    if not images:
        return GTNSampler(**gtn_params)
    shape = args.image_shape
    if shape is not None and len(shape) not in (2, 3):
        raise UsageError(f"--image-shape must be C,H,W or H,W, got {shape}")
    if shape is not None and X.ndim == 2 and int(np.prod(shape)) != X.shape[1]:
        raise UsageError(
            f"--image-shape {','.join(map(str, shape))} needs "
            f"{int(np.prod(shape))} values per row, the data has {X.shape[1]}"
        )
    if shape is not None and X.ndim > 2 and tuple(X.shape[-len(shape) :]) != shape:
        raise UsageError(
            f"--image-shape {','.join(map(str, shape))} does not match the "
            f"images' shape {X.shape[1:]}"
        )
    ae = ConvAutoencoder(
        latent_dim=5 if args.latent_dim is None else args.latent_dim,
        image_shape=shape if X.ndim == 2 else None,
        **common,
    )
    return make_generative_pipeline(ae, GTNSampler(**gtn_params))


def _cmd_fit(args):
    X = read_data(args.data)
    if X.ndim > 4:
        raise UsageError(f"{args.data!r} has shape {X.shape}; expected 2-D to 4-D")
    _check_output_folder(args.output, "model")
    _check_device(args.device)
    model = _build_model(args, X)
    if args.verbose:
        print(f"fitting {_describe(model)} on {args.data} {X.shape}", file=sys.stderr)
    tic = time.perf_counter()
    try:
        model.fit(X)
    except (ValueError, TypeError) as exc:
        raise UsageError(_one_line(exc)) from None
    _save_model(model, args.output)
    print(
        f"fitted {_describe(model)} on {len(X)} rows of {args.data} in "
        f"{time.perf_counter() - tic:.1f} s; saved {args.output}"
    )


def _describe(model):
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        return " -> ".join(type(est).__name__ for _, est in model.steps)
    return type(model).__name__


def _one_line(exc):
    return " ".join(str(exc).split())


def _cmd_sample(args):
    suffix = _check_output_file(args.output)
    if args.device is not None:
        _check_device(args.device)
    model = _load_model(args.model, device=args.device)
    if not hasattr(model, "sample"):
        raise UsageError(f"{type(model).__name__} in {args.model!r} cannot sample")
    X_new = model.sample(args.n_samples, random_state=args.random_state)
    write_data(args.output, X_new, verbose=args.verbose)
    shape = "x".join(map(str, np.shape(X_new)))
    print(f"wrote {args.n_samples} samples ({shape}) to {args.output} ({suffix[1:]})")


def _parse_point(text, option):
    parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise UsageError(f"{option}: expected comma-separated numbers, got {text!r}")
    return np.array([_parse_float(p, option) for p in parts])


def _endpoints(args, row_shape):
    if args.data is not None:
        X = read_data(args.data)
        points = []
        for option, text in (("--start", args.start), ("--end", args.end)):
            try:
                index = int(text)
            except ValueError:
                raise UsageError(
                    f"{option} must be a row index into --data, got {text!r}"
                ) from None
            if not -len(X) <= index < len(X):
                raise UsageError(
                    f"{option} {index} is out of range: {args.data!r} has {len(X)} rows"
                )
            points.append(X[index])
    else:
        points = [
            _parse_point(args.start, "--start"),
            _parse_point(args.end, "--end"),
        ]
    size = int(np.prod(row_shape))
    for option, point in zip(("--start", "--end"), points, strict=True):
        if point.size != size:
            raise UsageError(
                f"{option} has {point.size} values, the model expects {size}"
            )
    return [np.reshape(p, row_shape) for p in points]


def _cmd_interpolate(args):
    _check_output_file(args.output)
    if args.device is not None:
        _check_device(args.device)
    model = _load_model(args.model, device=args.device)
    if not hasattr(model, "interpolate"):
        raise UsageError(
            f"{type(model).__name__} in {args.model!r} cannot interpolate (fit it "
            "with the inverse map)"
        )
    start, end = _endpoints(args, _row_shape(model))
    try:
        path = model.interpolate(start, end, n_steps=args.n_steps)
    except (ValueError, TypeError) as exc:
        raise UsageError(_one_line(exc)) from None
    write_data(args.output, path, verbose=args.verbose)
    print(f"wrote a path of {args.n_steps} points to {args.output}")


def _summary(value):
    """A short description of a fitted attribute."""
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return np.array2string(value, precision=4, separator=", ")
        return f"ndarray of shape {value.shape}, {value.dtype}"
    if isinstance(value, (bool, int, str, np.integer)) or value is None:
        return repr(value)
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    if type(value) in (tuple, list):
        simple = all(isinstance(v, (bool, int, float, str)) for v in value)
        return repr(value) if simple and len(value) <= 8 else f"{len(value)} items"
    if isinstance(value, list):  # e.g. skorch's History: one entry per epoch
        return f"{type(value).__name__} of {len(value)} entries"
    try:
        import torch

        if isinstance(value, torch.nn.Module):
            n = sum(p.numel() for p in value.parameters())
            return f"{type(value).__name__} ({n:,} parameters)"
        if isinstance(value, torch.device):
            return repr(str(value))
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    net = getattr(value, "module_", None)
    if net is not None:
        return f"{type(value).__name__} of {_summary(net)}"
    return type(value).__name__


def _estimator_lines(est, indent="  "):
    lines = [
        f"{indent}class: {type(est).__module__.split('.')[0]}.{type(est).__qualname__}"
    ]
    lines.append(f"{indent}parameters:")
    for name, value in sorted(est.get_params(deep=False).items()):
        if name == "steps":
            continue
        lines.append(f"{indent}  {name} = {value!r}")
    fitted = sorted(
        name for name in vars(est) if name.endswith("_") and not name.startswith("_")
    )
    if fitted:
        lines.append(f"{indent}fitted attributes:")
        for name in fitted:
            lines.append(f"{indent}  {name} = {_summary(getattr(est, name))}")
    return lines


def _versions():
    import platform

    import sklearn
    import torch

    return (
        f"sklearn-gtn {__version__}, torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}, numpy {np.__version__}, python "
        f"{platform.python_version()}"
    )


def _cmd_info(args):
    from sklearn.pipeline import Pipeline

    model = _load_model(args.model, device="cpu")
    size = os.path.getsize(args.model)
    lines = [f"model: {args.model} ({size:,} bytes)"]
    if isinstance(model, Pipeline):
        lines.append(f"pipeline: {_describe(model)}")
        lines += _estimator_lines(model)
        for name, est in model.steps:
            lines.append(f"step {name!r}:")
            lines += _estimator_lines(est, indent="    ")
    else:
        lines += _estimator_lines(model)
    saved = _saved_versions(args.model)
    if saved is not None:
        lines.append(f"saved with: {saved}")
    lines.append(f"running: {_versions()}")
    print("\n".join(lines))


# ----------------------------------------------------------------------------
# parser
# ----------------------------------------------------------------------------
def _add_common(p, *, seed_help):
    p.add_argument(
        "--random-state", type=int, default=None, metavar="INT", help=seed_help
    )
    p.add_argument(
        "--verbose",
        "-v",
        action="count",
        default=0,
        help="show progress (labeling, training epochs, writing)",
    )


def _add_load_device(p):
    p.add_argument(
        "--device",
        default=None,
        help="where the networks run: auto, cpu or cuda (default: as saved, "
        "or the CPU when that device is missing)",
    )


def _build_parser():
    parser = _Parser(
        prog=PROG,
        description="Generative Topological Networks (GTN) as scikit-learn estimators.",
        epilog=(
            "Run `sklearn-gtn COMMAND --help` for a command's options. Example: "
            "sklearn-gtn fit data.csv -o model.gtn && sklearn-gtn sample model.gtn "
            "-n 1000 -o samples.csv"
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_demo_parser(sub)

    fit = sub.add_parser(
        "fit",
        help="fit a GTN on a CSV or NPY file and save the model",
        description=(
            "Fit a GTNSampler on DATA (CSV with or without a header row, or NPY) "
            "and save it to MODEL. With --image-shape or --latent-dim (or a 3-D/4-D "
            ".npy of images) fit a ConvAutoencoder -> GTNSampler pipeline instead. "
            "--max-epochs, --batch-size, --patience, --device, --random-state and "
            "--verbose apply to every network; --hidden-layer-sizes, --lr and "
            "--labeling to the GTN."
        ),
    )
    fit.add_argument(
        "data", metavar="DATA", help="training data: .csv/.tsv/.txt or .npy"
    )
    fit.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="MODEL",
        help="file to save the fitted model to",
    )
    fit.add_argument(
        "--hidden-layer-sizes",
        type=_int_tuple,
        default=None,
        metavar="W,W,...",
        help="hidden layer widths of the GTN (default: 50,50,50,50,50,50)",
    )
    fit.add_argument(
        "--max-epochs",
        type=_positive_int,
        default=100,
        metavar="INT",
        help="upper bound on training epochs (default: 100)",
    )
    fit.add_argument(
        "--batch-size",
        type=_positive_int,
        default=128,
        metavar="INT",
        help="pairs (or images) per gradient step (default: 128)",
    )
    fit.add_argument(
        "--lr",
        type=_positive_float,
        default=1e-3,
        metavar="FLOAT",
        help="Adam learning rate of the GTN (default: 0.001)",
    )
    fit.add_argument(
        "--patience",
        type=_positive_int,
        default=None,
        metavar="INT",
        help="early-stopping patience in epochs (default: the GTN's 'auto': 3 "
        "with algorithm1, none with the assignment labeling, which trains "
        "--max-epochs epochs on every row; the autoencoder's 3)",
    )
    fit.add_argument(
        "--labeling",
        default="assignment",
        metavar="NAME",
        help="how normal draws are paired with data points: assignment or "
        "algorithm1 (the paper's, with its training: BatchNorm, patience 3) "
        "(default: assignment)",
    )
    fit.add_argument(
        "--device", default="auto", help="auto, cpu or cuda (default: auto)"
    )
    fit.add_argument(
        "--image-shape",
        type=_int_tuple,
        default=None,
        metavar="C,H,W",
        help="rows are flattened images of this shape: fit an autoencoder first",
    )
    fit.add_argument(
        "--latent-dim",
        type=_positive_int,
        default=None,
        metavar="INT",
        help="latent dimension of the autoencoder (default: 5 when images)",
    )
    _add_common(fit, seed_help="seed of the fit (default: none)")

    sample = sub.add_parser(
        "sample",
        help="generate samples from a saved model",
        description=(
            "Draw N samples from MODEL and write them to OUT: .npy keeps their "
            "shape, .csv writes one (flattened) row per sample, no header."
        ),
    )
    sample.add_argument("model", metavar="MODEL", help="a model saved by `fit`")
    sample.add_argument(
        "-n",
        "--n-samples",
        type=_positive_int,
        required=True,
        metavar="N",
        help="number of samples",
    )
    sample.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="OUT",
        help="output file, .csv or .npy",
    )
    _add_load_device(sample)
    _add_common(sample, seed_help="seed of the draws (default: fresh draws)")

    interp = sub.add_parser(
        "interpolate",
        help="interpolate between two real points through the source space",
        description=(
            "Write the path h((1 - t) code(start) + t code(end)), t from 0 to 1, "
            "between two real points. --start and --end are row indices into "
            "--data, or (without --data) comma-separated values such as 0.1,2.5."
        ),
    )
    interp.add_argument("model", metavar="MODEL", help="a model saved by `fit`")
    interp.add_argument(
        "--start", required=True, metavar="ROW", help="row index or values"
    )
    interp.add_argument(
        "--end", required=True, metavar="ROW", help="row index or values"
    )
    interp.add_argument(
        "--data",
        default=None,
        metavar="DATA",
        help="CSV or NPY file that --start and --end index into",
    )
    interp.add_argument(
        "--n-steps",
        type=_two_or_more,
        default=10,
        metavar="K",
        help="points on the path, endpoints included (default: 10)",
    )
    interp.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="OUT",
        help="output file, .csv or .npy",
    )
    _add_load_device(interp)
    interp.add_argument(
        "--verbose", "-v", action="count", default=0, help="show progress"
    )

    info = sub.add_parser(
        "info",
        help="describe a saved model",
        description="Print a saved model's class, parameters, fitted attributes "
        "and the versions of the libraries.",
    )
    info.add_argument("model", metavar="MODEL", help="a model saved by `fit`")
    return parser


def _two_or_more(text):
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {value}")
    return value


def _add_demo_parser(sub):
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
        type=_positive_int,
        default=10_000,
        help="training points per dataset (default: 10000)",
    )
    demo.add_argument(
        "--max-epochs",
        type=_positive_int,
        default=30,
        help="upper bound on training epochs (default: 30)",
    )
    demo.add_argument(
        "--n-generate",
        type=_positive_int,
        default=100_000,
        help="samples drawn for the rate and support figures (default: 100000)",
    )
    demo.add_argument(
        "--device", default="auto", help="auto, cpu or cuda (default: auto)"
    )
    demo.add_argument(
        "--random-state",
        type=int,
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


def _cmd_demo(args):
    if args.n_samples < 20:
        raise UsageError(f"--n-samples must be at least 20, got {args.n_samples}")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise UsageError(f"--output {args.output!r} exists and is not a folder")
    _check_device(args.device)
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


_COMMANDS = {
    "demo": _cmd_demo,
    "fit": _cmd_fit,
    "sample": _cmd_sample,
    "interpolate": _cmd_interpolate,
    "info": _cmd_info,
}


def main(argv=None):
    """Entry point of ``python -m sklearn_gtn`` and ``sklearn-gtn``.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments (``sys.argv[1:]`` by default).

    Returns
    -------
    code : int
        0 on success, 2 on a user error (reported in one line on stderr).
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        _COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
