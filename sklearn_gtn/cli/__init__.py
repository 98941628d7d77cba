"""Command line: ``python -m sklearn_gtn COMMAND`` (or the ``sklearn-gtn`` script).

``demo``
    fits the paper's synthetic examples (the swiss-roll parameter from a 1-D
    normal, the uniform square from a 2-D normal), writes Figure-3-style PNGs
    to ``--output`` and prints a summary table.
``fit DATA -o MODEL``
    fits a :class:`~sklearn_gtn.GTNSampler` (or, with ``--mixture``, a
    :class:`~sklearn_gtn.GTNMixture`) on a CSV or NPY file and saves it with
    ``sklearn_gtn.save``. Images go through a
    :func:`~sklearn_gtn.make_generative_pipeline` of a
    :class:`~sklearn_gtn.ConvAutoencoder` and the sampler; tables with text
    columns through ``sklearn_gtn.make_tabular_sampler``.
``sample MODEL -n N -o OUT``
    writes ``N`` generated rows (or images) to a CSV or NPY file.
``interpolate MODEL --start A --end B -o OUT``
    writes the path between two real points through the source space.
``info MODEL``
    prints the model's class, parameters, fitted attributes and versions.

User errors (missing, unreadable or special files, non-numeric data, wrong
shapes, bad option values, an output that cannot be written, a full disk) are
reported in one line on stderr with exit code 2, before any training where
they can be known then. Every output file is written atomically: a failed
write leaves the previous file as it was.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
import zipfile

import numpy as np

from .._version import __version__
from ._common import (
    PROG,
    UsageError,
    _Parser,
    check_device,
    int_tuple,
    nonnegative_float,
    one_line,
    plain_unless_terminal,
    positive_float,
    positive_int,
    seed,
    two_or_more,
)
from ._data import (
    check_input_file,
    check_not_an_input,
    check_output_path,
    check_room,
    read_data,
    read_table,
    write_data,
)
from ._demo import add_demo_parser, cmd_demo, run_demo

__all__ = ["UsageError", "main", "read_data", "run_demo", "write_data"]


# ----------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------
def _load_model(path, device=None):
    """``sklearn_gtn.load``; warnings (another version) become one stderr line."""
    check_input_file(path, "model file")
    from ..persistence import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = load(path, device=device)
        except (
            OSError,
            ValueError,
            TypeError,
            KeyError,
            EOFError,
            # what a damaged or crafted file may still raise (issue 15, D-5)
            OverflowError,
            RuntimeError,
            NotImplementedError,
            zipfile.BadZipFile,
        ) as exc:
            raise UsageError(
                f"cannot load a model from {path!r}: {one_line(exc)}"
            ) from None
    for w in caught:
        print(f"{PROG}: warning: {one_line(w.message)}", file=sys.stderr)
    return model


def _check_saveable(model, path):
    """Save the unfitted ``model`` next to ``path`` and remove it: a model
    that cannot be saved is refused before training, not after."""
    from ..persistence import save

    folder = os.path.dirname(os.path.abspath(path))
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".sklearn-gtn-", suffix=".tmp")
    os.close(fd)
    try:
        save(model, probe)
    except TypeError as exc:
        raise UsageError(
            f"cannot save a {_describe(model)} model: {one_line(exc)}"
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot write model {path!r}: {exc.strerror or one_line(exc)}"
        ) from None
    finally:
        os.unlink(probe)


def _save_model(model, path):
    from ..persistence import save

    try:
        save(model, path)
    except OSError as exc:
        raise UsageError(
            f"cannot write model {path!r}: {exc.strerror or one_line(exc)} (the "
            "previous file, if any, is unchanged)"
        ) from None
    except TypeError as exc:
        raise UsageError(f"cannot save the model: {one_line(exc)}") from None


def _write(path, data, *, columns=None, verbose=0):
    try:
        write_data(path, data, columns=columns, verbose=verbose)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path!r}: {exc.strerror or one_line(exc)} (the "
            "previous file, if any, is unchanged)"
        ) from None


def _saved_versions(path):
    """The ``versions`` recorded in a model file's metadata, or ``None``."""
    import json

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
    """Shape of one input row of a fitted model.

    A :class:`~sklearn_gtn.GenerativePipeline` records it at ``fit`` (images
    from a 3-D or 4-D ``.npy`` keep their shape); other models take flat rows.
    """
    shape = getattr(model, "_input_shape", None)
    if shape is not None:
        return tuple(shape)
    return (int(model.n_features_in_),)


def _column_names(model):
    """The training columns' names, if the model was fitted on named columns."""
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def _is_tabular(model):
    """Whether ``model`` starts with a TabularEncoder (its rows hold text)."""
    try:
        from ..tabular import TabularEncoder
    except ImportError:
        return False
    steps = getattr(model, "steps", None)
    return bool(steps) and isinstance(steps[0][1], TabularEncoder)


def _training_params(args):
    """Options the user gave that every network takes (None: the model's own)."""
    given = {
        "max_epochs": args.max_epochs,
        "batch_size": args.batch_size,
        "patience": args.patience,
    }
    common = {k: v for k, v in given.items() if v is not None}
    return dict(
        common, device=args.device, random_state=args.random_state, verbose=args.verbose
    )


def _build_model(args, table):
    from ..autoencoder import ConvAutoencoder
    from ..mixture import GTNMixture
    from ..pipeline import make_generative_pipeline
    from ..sampler import GTNSampler

    X = table.data
    common = _training_params(args)
    gtn_params = dict(common)
    for name in ("lr", "labeling", "hidden_layer_sizes", "noise_scale"):
        if getattr(args, name) is not None:
            gtn_params[name] = getattr(args, name)
    if table.text_columns:
        # make_tabular_sampler's own pieces were measured without the noise
        # term (GTNSampler's "auto" adds it from 2,000 rows on)
        gtn_params.setdefault("noise_scale", 0.0)
    mixture = args.mixture or args.n_components is not None

    def sampler():
        gtn = GTNSampler(**gtn_params)
        if not mixture:
            return gtn
        return GTNMixture(
            gtn,
            n_components="auto" if args.n_components is None else args.n_components,
            random_state=args.random_state,
        )

    images = args.image_shape is not None or args.latent_dim is not None or X.ndim > 2
    if table.text_columns:
        if images:
            raise UsageError(
                "--image-shape and --latent-dim take numeric data; "
                f"{args.data!r} has text columns ({', '.join(table.text_columns)})"
            )
        try:
            from ..tabular import make_tabular_sampler
        except ImportError:
            raise UsageError(
                f"{args.data!r} has text columns ({', '.join(table.text_columns)}); "
                "this version of sklearn-gtn has no tabular sampler for them"
            ) from None
        return make_tabular_sampler(sampler(), random_state=args.random_state)
    if not images:
        return sampler()
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
    return make_generative_pipeline(ae, sampler())


def _reader_options(args):
    return dict(delimiter=args.delimiter, index_col=args.index_col, header=args.header)


def _cmd_fit(args):
    table = read_table(args.data, **_reader_options(args))
    X = table.data
    if X.ndim > 4:
        raise UsageError(f"{args.data!r} has shape {X.shape}; expected 2-D to 4-D")
    check_output_path(args.output, "model", suffixes=None)
    check_not_an_input(args.output, args.data, what="model")
    check_device(args.device)
    model = _build_model(args, table)
    _check_saveable(model, args.output)
    if table.columns is not None and not table.text_columns and X.ndim == 2:
        try:
            import pandas as pd
        except ImportError:  # the header is not kept without pandas
            pass
        else:
            X = pd.DataFrame(X, columns=table.columns)
    if args.verbose:
        print(
            f"fitting {_describe(model)} on {args.data} {np.shape(X)}", file=sys.stderr
        )
    tic = time.perf_counter()
    try:
        model.fit(X)
    except (ValueError, TypeError) as exc:
        raise UsageError(one_line(exc)) from None
    _save_model(model, args.output)
    skipped = " (its index column skipped)" if table.skipped else ""
    print(
        f"fitted {_describe(model)} on {len(X)} rows of {args.data}{skipped} in "
        f"{time.perf_counter() - tic:.1f} s; saved {args.output}"
    )


def _describe(model):
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        return " -> ".join(type(est).__name__ for _, est in model.steps)
    return type(model).__name__


def _values_per_row(model):
    try:
        return int(np.prod(_row_shape(model)))
    except (AttributeError, TypeError):  # a model that does not say
        return 1


def _cmd_sample(args):
    suffix = check_output_path(args.output)
    check_not_an_input(args.output, args.model)
    if args.device is not None:
        check_device(args.device)
    model = _load_model(args.model, device=args.device)
    if not hasattr(model, "sample"):
        raise UsageError(f"{type(model).__name__} in {args.model!r} cannot sample")
    if suffix == ".npy" and _is_tabular(model):
        raise UsageError(
            f"{args.model!r} generates tables with text columns, which .npy "
            "cannot hold; write a .csv"
        )
    check_room(args.output, args.n_samples, _values_per_row(model), suffix=suffix)
    try:
        X_new = model.sample(args.n_samples, random_state=args.random_state)
    except (ValueError, TypeError, OverflowError) as exc:
        raise UsageError(one_line(exc)) from None
    except MemoryError:
        raise UsageError(
            f"not enough memory for {args.n_samples} samples; ask for fewer"
        ) from None
    _check_finite_output(X_new, args.model)
    _write(args.output, X_new, columns=_column_names(model), verbose=args.verbose)
    shape = "x".join(map(str, np.shape(X_new)))
    print(f"wrote {args.n_samples} samples ({shape}) to {args.output} ({suffix[1:]})")


def _check_finite_output(X, model_path):
    """Refuse to write NaN or infinite values (an overflowing model)."""
    if hasattr(X, "select_dtypes"):  # a DataFrame: its numeric columns
        X = X.select_dtypes("number").to_numpy(dtype=np.float64)
    X = np.asarray(X)
    if X.dtype.kind in "fc" and not np.isfinite(X).all():
        n_bad = int((~np.isfinite(X)).reshape(len(X), -1).any(axis=1).sum())
        raise UsageError(
            f"the model in {model_path!r} generated NaN or infinite values in "
            f"{n_bad} of {len(X)} rows; nothing was written (refit it, for "
            "example on rescaled data)"
        )


def _parse_point(text, option):
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise UsageError(f"{option}: expected comma-separated numbers, got {text!r}")
    values = []
    for part in parts:
        try:
            values.append(float(part))
        except ValueError:
            raise UsageError(f"{option}: {part!r} is not a number") from None
    return np.array(values)


def _endpoints(args, row_shape):
    if args.data is not None:
        X = read_data(args.data, **_reader_options(args))
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
    suffix = check_output_path(args.output)
    check_not_an_input(args.output, args.model, args.data)
    if args.device is not None:
        check_device(args.device)
    model = _load_model(args.model, device=args.device)
    if not hasattr(model, "interpolate"):
        raise UsageError(
            f"{type(model).__name__} in {args.model!r} cannot interpolate (fit it "
            "with the inverse map)"
        )
    start, end = _endpoints(args, _row_shape(model))
    check_room(args.output, args.n_steps, start.size, suffix=suffix)
    try:
        with warnings.catch_warnings():
            # the points are plain arrays in the training columns' order
            warnings.filterwarnings("ignore", message="X does not have valid feature")
            path = model.interpolate(start, end, n_steps=args.n_steps)
    except (ValueError, TypeError) as exc:
        raise UsageError(one_line(exc)) from None
    _check_finite_output(path, args.model)
    _write(args.output, path, columns=_column_names(model), verbose=args.verbose)
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
    import torch

    if isinstance(value, torch.nn.Module):
        n = sum(p.numel() for p in value.parameters())
        return f"{type(value).__name__} ({n:,} parameters)"
    if isinstance(value, torch.device):
        return repr(str(value))
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
        "--random-state", type=seed, default=None, metavar="INT", help=seed_help
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


def _add_reader_options(p):
    p.add_argument(
        "--delimiter",
        default=None,
        metavar="CHAR",
        help="field delimiter of a text file (default: a tab for .tsv files and "
        "tab-separated lines, whitespace for lines with neither commas nor "
        "tabs, else a comma); 'tab' or '\\t' for a tab",
    )
    p.add_argument(
        "--index-col",
        default=None,
        metavar="NAME|POS",
        help="a column to skip, by header name or position from 0 (default: "
        "the unnamed 0..n-1 index column pandas writes, if there is one)",
    )
    p.add_argument(
        "--header",
        default="auto",
        choices=("auto", "yes", "no"),
        help="whether the first row is a header (default: auto: yes when it "
        "holds no number, no when it holds only numbers, an error otherwise)",
    )


def _n_components(text):
    if text == "auto":
        return text
    return positive_int(text)


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
    add_demo_parser(sub)

    fit = sub.add_parser(
        "fit",
        help="fit a GTN on a CSV or NPY file and save the model",
        description=(
            "Fit a GTNSampler on DATA (CSV with or without a header row, or NPY) "
            "and save it to MODEL. With --mixture or --n-components fit a "
            "GTNMixture of GTNSamplers. With --image-shape or --latent-dim (or a "
            "3-D/4-D .npy of images) fit a ConvAutoencoder -> sampler pipeline; "
            "a table with text columns fits a tabular sampler. --max-epochs, "
            "--batch-size, --patience, --device, --random-state and --verbose "
            "apply to every network; --hidden-layer-sizes, --lr and --labeling "
            "to the GTN. Options not given keep each model's own default."
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
        type=int_tuple,
        default=None,
        metavar="W,W,...",
        help="hidden layer widths of the GTN (default: GTNSampler's)",
    )
    fit.add_argument(
        "--max-epochs",
        type=positive_int,
        default=None,
        metavar="INT",
        help="upper bound on training epochs (default: each model's own)",
    )
    fit.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        metavar="INT",
        help="pairs (or images) per gradient step (default: each model's own)",
    )
    fit.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        metavar="FLOAT",
        help="Adam learning rate of the GTN (default: GTNSampler's)",
    )
    fit.add_argument(
        "--noise-scale",
        type=nonnegative_float,
        default=None,
        metavar="FLOAT",
        help="standard deviation of the noise added to each sample, in standard "
        "deviations of each feature; 0 adds none (default: GTNSampler's, 0.2 "
        "from 2,000 rows of more than 2 columns on; 0 for tables with text "
        "columns)",
    )
    fit.add_argument(
        "--patience",
        type=positive_int,
        default=None,
        metavar="INT",
        help="early-stopping patience in epochs (default: each model's own; "
        "the GTN's 'auto' is 3 with algorithm1 and none with the assignment "
        "labeling, which trains --max-epochs epochs on every row)",
    )
    fit.add_argument(
        "--labeling",
        default=None,
        metavar="NAME",
        help="how normal draws are paired with data points: assignment or "
        "algorithm1 (the paper's, with its training: BatchNorm, patience 3) "
        "(default: GTNSampler's, assignment)",
    )
    fit.add_argument(
        "--mixture",
        action="store_true",
        help="fit a GTNMixture: one GTN per cluster of the data",
    )
    fit.add_argument(
        "--n-components",
        type=_n_components,
        default=None,
        metavar="INT|auto",
        help="clusters of the GTNMixture (implies --mixture; default: auto)",
    )
    fit.add_argument(
        "--device", default="auto", help="auto, cpu or cuda (default: auto)"
    )
    fit.add_argument(
        "--image-shape",
        type=int_tuple,
        default=None,
        metavar="C,H,W",
        help="rows are flattened images of this shape: fit an autoencoder first",
    )
    fit.add_argument(
        "--latent-dim",
        type=positive_int,
        default=None,
        metavar="INT",
        help="latent dimension of the autoencoder (default: 5 when images)",
    )
    _add_reader_options(fit)
    _add_common(fit, seed_help="seed of the fit, 0 to 2**32 - 1 (default: none)")

    sample = sub.add_parser(
        "sample",
        help="generate samples from a saved model",
        description=(
            "Draw N samples from MODEL and write them to OUT: .npy keeps their "
            "shape, .csv writes one (flattened) row per sample, under the "
            "training data's header if it had one."
        ),
    )
    sample.add_argument("model", metavar="MODEL", help="a model saved by `fit`")
    sample.add_argument(
        "-n",
        "--n-samples",
        type=positive_int,
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
        type=two_or_more,
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
    _add_reader_options(interp)
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


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as one line on stderr, without the source line."""
    print(f"{PROG}: warning: {one_line(message)}", file=sys.stderr)


_COMMANDS = {
    "demo": cmd_demo,
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
        0 on success, 2 on a user error (reported in one line on stderr), 130
        when interrupted.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    with plain_unless_terminal(), warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            _COMMANDS[args.command](args)
        except UsageError as exc:
            message = exc
        except OSError as exc:  # the machine's files: a pipe closed, a disk full
            message = one_line(exc)
        except MemoryError:
            message = "not enough memory"
        except KeyboardInterrupt:
            print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
            return 130
        else:
            return 0
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 2
