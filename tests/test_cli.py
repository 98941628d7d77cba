"""The command line end to end at tiny settings: demo, fit, sample, interpolate,
info, data files, and user errors (one line on stderr, exit code 2)."""

import errno
import importlib
import os
import re
import signal
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sklearn_gtn
import sklearn_gtn.cli._data as data_module
from sklearn_gtn.cli import UsageError, main, read_data, write_data
from sklearn_gtn.cli._data import read_table

TINY = ["--n-samples", "200", "--max-epochs", "2", "--n-generate", "500"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_demo_writes_figures_and_prints_summary(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    assert main(["demo", "--output", str(out), *TINY]) == 0
    for name in (
        "swiss_roll.png",
        "uniform_square.png",
        "uniform_square_assignment.png",
    ):
        with open(out / name, "rb") as f:
            assert f.read(8) == PNG_MAGIC
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith(("swiss", "uniform"))]
    assert [r.split()[0] for r in rows] == ["swiss-roll", "uniform", "uniform"]
    assert "assignment" in rows[2]
    for row, dim in zip(rows, (1, 2, 2), strict=True):
        n, d, epochs, fit_s, label_s, rate, energy, floor, inside, trip = row.split()[
            -10:
        ]
        assert (int(n), int(d)) == (200, dim)
        assert 1 <= int(epochs) <= 2
        assert float(fit_s) >= float(label_s) > 0
        assert float(rate.replace(",", "")) > 0
        assert float(energy) >= 0 and float(floor) >= 0
        assert 0.0 <= float(inside) <= 1.0
        assert all(float(v) >= 0 for v in trip.split("/"))
    assert "samples/s" in text and "wrote" in text


def test_demo_without_plots_writes_nothing(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--output", str(out), "--no-plots", *TINY]) == 0
    assert not out.exists()
    assert "uniform square" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--n-samples", "0"], "expected an integer >= 1, got 0"),
        (["demo", "--n-samples", "ten"], "expected an integer, got 'ten'"),
        (["demo", "--n-samples", "5"], "--n-samples must be at least 20, got 5"),
        (["demo", "--max-epochs", "-1"], "expected an integer >= 1"),
        (["demo", "--device", "tpu"], "--device='tpu'"),
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        code = main(argv)
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message in err and err.startswith("sklearn-gtn") and "error:" in err


def test_output_that_is_a_file_is_a_user_error(tmp_path, capsys):
    path = tmp_path / "taken"
    path.write_text("")
    assert main(["demo", "--output", str(path), *TINY]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_module_entry_point_help():
    root = os.path.dirname(os.path.dirname(sklearn_gtn.__file__))
    path = root + os.pathsep + os.environ.get("PYTHONPATH", "")
    env = dict(os.environ, PYTHONPATH=path)
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_gtn", "demo", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0
    assert "--n-samples" in result.stdout and "--output" in result.stdout


# ---------------------------------------------------------------------------
# fit / sample / interpolate / info, and reading data files
# ---------------------------------------------------------------------------
FIT_TINY = ["--max-epochs", "2", "--hidden-layer-sizes", "8,8", "--random-state", "0"]


def _assert_user_error(code, capsys, message):
    """Exit code 2, one line on stderr that names the problem, no traceback."""
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert err.startswith("sklearn-gtn") and "error:" in err
    assert message in err, err


@pytest.fixture
def square(tmp_path):
    X = np.random.RandomState(0).uniform(size=(300, 2))
    with_header = tmp_path / "with_header.csv"
    np.savetxt(with_header, X, delimiter=",", header="width,height", comments="")
    without = tmp_path / "without_header.csv"
    np.savetxt(without, X, delimiter=",")
    return X, with_header, without


def test_read_csv_detects_header(square):
    X, with_header, without = square
    np.testing.assert_allclose(read_data(str(with_header)), X)
    np.testing.assert_allclose(read_data(str(without)), X)


def test_read_tsv_and_npy(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    tsv = tmp_path / "x.tsv"
    np.savetxt(tsv, X, delimiter="\t", header="a\tb\tc", comments="")
    np.testing.assert_array_equal(read_data(str(tsv)), X)
    npy = tmp_path / "x.npy"
    np.save(npy, X.astype(np.float32))
    out = read_data(str(npy))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, X)


@pytest.mark.parametrize(
    "content, message",
    [
        ("a,b\n1,2\n3,x\n", "line 3, column 'b': 'x' is not a number"),
        ("1,2\n3\n", "line 2: 1 values, expected 2"),
        ("a,b\n", "has a header but no data rows"),
        ("\n\n", "holds no data"),
        ("1,2\nnan,3\n", "contains NaN or infinite values"),
        ("1,2\n,3\n", "line 2, column 1: '' is not a number"),
    ],
)
def test_read_bad_csv_is_user_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(UsageError, match=message):
        read_data(str(path))


def test_read_bad_npy_is_user_error(tmp_path):
    not_npy = tmp_path / "x.npy"
    not_npy.write_text("hello")
    with pytest.raises(UsageError, match="cannot read .* as a .npy file"):
        read_data(str(not_npy))
    flat = tmp_path / "flat.npy"
    np.save(flat, np.arange(3.0))
    with pytest.raises(UsageError, match=r"shape \(3,\)"):
        read_data(str(flat))
    strings = tmp_path / "s.npy"
    np.save(strings, np.array([["a", "b"]]))
    with pytest.raises(UsageError, match="expected numbers"):
        read_data(str(strings))


def test_write_csv_flattens_and_npy_keeps_shape(tmp_path):
    images = np.random.RandomState(0).rand(3, 1, 2, 2)
    write_data(str(tmp_path / "x.csv"), images)
    np.testing.assert_allclose(
        np.loadtxt(tmp_path / "x.csv", delimiter=","), images.reshape(3, 4), rtol=1e-8
    )
    write_data(str(tmp_path / "x.npy"), images)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), images)


@pytest.mark.parametrize("command", ["demo", "fit", "sample", "interpolate", "info"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sklearn-gtn {command}")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "DIR/missing.csv", "-o", "DIR/m.gtn"], "does not exist"),
        (["fit", "DIR", "-o", "DIR/m.gtn"], "is a folder, not a file"),
        (["fit", "DIR/bad.csv", "-o", "DIR/m.gtn"], "'oops' is not a number"),
        (["fit", "DIR/ok.csv", "-o", "DIR/no/m.gtn"], "model folder"),
        (["fit", "DIR/ok.csv", "-o", "m", "--lr", "0"], "expected a number > 0"),
        (
            ["fit", "DIR/ok.csv", "-o", "m", "--noise-scale", "-0.5"],
            "expected a number >= 0, got -0.5",
        ),
        (["fit", "DIR/ok.csv", "-o", "m", "--noise-scale", "nan"], "number >= 0"),
        (["fit", "DIR/ok.csv", "-o", "m", "--hidden-layer-sizes", "8,a"], "integers"),
        (["fit", "DIR/ok.csv", "-o", "m", "--batch-size", "0"], "integer >= 1"),
        (["fit", "DIR/ok.csv", "-o", "DIR/m", "--device", "tpu"], "--device='tpu'"),
        (
            ["fit", "DIR/ok.csv", "-o", "DIR/m", "--labeling", "magic"],
            "labeling must be one of",
        ),
        (
            ["fit", "DIR/ok.csv", "-o", "DIR/m", "--image-shape", "1,2,2"],
            "needs 4 values per row, the data has 2",
        ),
        (
            ["fit", "DIR/ok.csv", "-o", "DIR/m", "--image-shape", "1,1,1,2"],
            "C,H,W or H,W",
        ),
        (["fit", "DIR/tiny.csv", "-o", "DIR/m", "--max-epochs", "1"], "at least"),
        (["sample", "DIR/missing.gtn", "-n", "3", "-o", "DIR/s.csv"], "does not exist"),
        (["sample", "DIR/ok.csv", "-n", "3", "-o", "DIR/s.txt"], "must end in .csv"),
        (["sample", "DIR/ok.csv", "-n", "0", "-o", "DIR/s.csv"], "integer >= 1"),
        (["sample", "DIR/ok.csv", "-o", "DIR/s.csv"], "required: -n"),
        (
            ["interpolate", "DIR/m.gtn", "--start", "0", "--end", "1", "-o", "s.png"],
            "must end in .csv or .npy",
        ),
        (
            [
                "interpolate",
                "DIR/m.gtn",
                "--start",
                "0",
                "--end",
                "1",
                "--n-steps",
                "1",
                "-o",
                "DIR/p.csv",
            ],
            "integer >= 2",
        ),
        (["info", "DIR/missing.gtn"], "does not exist"),
        (["info", "DIR/ok.csv"], "cannot load a model from"),
        (
            ["sample", "DIR/ok.csv", "-n", "3", "-o", "DIR/s.csv", "--device", "tpu"],
            "--device='tpu'",
        ),
    ],
)
def test_cli_user_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,oops\n")
    np.savetxt(tmp_path / "ok.csv", np.random.RandomState(0).rand(50, 2), delimiter=",")
    np.savetxt(tmp_path / "tiny.csv", np.ones((1, 2)), delimiter=",")
    argv = [a.replace("DIR", str(tmp_path)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    _assert_user_error(code, capsys, message)


def test_console_entry_reports_user_error_without_traceback(tmp_path):
    root = os.path.dirname(os.path.dirname(sklearn_gtn.__file__))
    env = dict(
        os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,four\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sklearn_gtn",
            "fit",
            str(bad),
            "-o",
            str(tmp_path / "m.gtn"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"sklearn-gtn fit: error: {bad}, line 2, column 2: 'four' is not a number"
    ]
    assert not (tmp_path / "m.gtn").exists()


@pytest.mark.parametrize("header", [True, False])
def test_fit_sample_interpolate_info_end_to_end(tmp_path, capsys, square, header):
    X, with_header, without = square
    data = str(with_header if header else without)
    model = str(tmp_path / "model.gtn")
    assert main(["fit", data, "-o", model, *FIT_TINY]) == 0
    assert "saved" in capsys.readouterr().out

    assert (
        main(
            [
                "sample",
                model,
                "-n",
                "7",
                "-o",
                str(tmp_path / "s.csv"),
                "--random-state",
                "1",
            ]
        )
        == 0
    )
    lines = (tmp_path / "s.csv").read_text().splitlines()
    # the training header is written back
    assert (lines[0] == "width,height") == header
    S = np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=int(header))
    assert S.shape == (7, 2) and np.isfinite(S).all()
    assert (
        main(
            [
                "sample",
                model,
                "-n",
                "7",
                "-o",
                str(tmp_path / "s.npy"),
                "--random-state",
                "1",
            ]
        )
        == 0
    )
    S_npy = np.load(tmp_path / "s.npy")
    np.testing.assert_allclose(S, S_npy, rtol=1e-7)  # CSV keeps 9 digits
    np.testing.assert_array_equal(
        S_npy, sklearn_gtn.load(model).sample(7, random_state=1)
    )

    path = tmp_path / "path.npy"
    assert (
        main(
            [
                "interpolate",
                model,
                "--data",
                data,
                "--start",
                "0",
                "--end",
                "-1",
                "--n-steps",
                "5",
                "-o",
                str(path),
            ]
        )
        == 0
    )
    P = np.load(path)
    assert P.shape == (5, 2)
    P2 = tmp_path / "path.csv"
    start, end = ",".join(map(str, X[0])), ",".join(map(str, X[-1]))
    assert (
        main(
            [
                "interpolate",
                model,
                "--start",
                start,
                "--end",
                end,
                "--n-steps",
                "5",
                "-o",
                str(P2),
            ]
        )
        == 0
    )
    P_csv = np.loadtxt(P2, delimiter=",", skiprows=int(header))
    np.testing.assert_allclose(P_csv, P, rtol=1e-6)
    capsys.readouterr()

    assert main(["info", model]) == 0
    out = capsys.readouterr().out
    assert "class: sklearn_gtn.GTNSampler" in out
    assert "hidden_layer_sizes = (8, 8)" in out
    assert "n_features_in_ = 2" in out and "running: sklearn-gtn" in out
    assert "saved with: " in out and "torch" in out


def test_fit_images_from_flat_rows(tmp_path, capsys):
    from sklearn.datasets import load_digits

    data = tmp_path / "digits.npy"
    np.save(data, load_digits().data[:120])
    model = str(tmp_path / "ae.gtn")
    assert (
        main(
            [
                "fit",
                str(data),
                "-o",
                model,
                "--image-shape",
                "1,8,8",
                "--latent-dim",
                "3",
                "--max-epochs",
                "1",
                "--hidden-layer-sizes",
                "8",
                "--random-state",
                "0",
            ]
        )
        == 0
    )
    assert main(["sample", model, "-n", "4", "-o", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (4, 64)
    assert (
        main(
            [
                "interpolate",
                model,
                "--data",
                str(data),
                "--start",
                "0",
                "--end",
                "1",
                "--n-steps",
                "3",
                "-o",
                str(tmp_path / "p.csv"),
            ]
        )
        == 0
    )
    assert np.loadtxt(tmp_path / "p.csv", delimiter=",").shape == (3, 64)
    capsys.readouterr()
    assert main(["info", model]) == 0
    out = capsys.readouterr().out
    assert "pipeline: ConvAutoencoder -> GTNSampler" in out
    assert "latent_dim = 3" in out


def test_interpolate_and_sample_errors_on_a_model(tmp_path, capsys, square):
    _, _, data = square
    model = str(tmp_path / "m.gtn")
    assert main(["fit", str(data), "-o", model, *FIT_TINY]) == 0
    capsys.readouterr()
    code = main(
        [
            "interpolate",
            model,
            "--data",
            str(data),
            "--start",
            "0",
            "--end",
            "300",
            "-o",
            str(tmp_path / "p.csv"),
        ]
    )
    _assert_user_error(code, capsys, "--end 300 is out of range")
    code = main(
        [
            "interpolate",
            model,
            "--start",
            "1,2,3",
            "--end",
            "1,2",
            "-o",
            str(tmp_path / "p.csv"),
        ]
    )
    _assert_user_error(code, capsys, "--start has 3 values, the model expects 2")
    code = main(
        [
            "interpolate",
            model,
            "--start",
            "1,x",
            "--end",
            "1,2",
            "-o",
            str(tmp_path / "p.csv"),
        ]
    )
    _assert_user_error(code, capsys, "'x' is not a number")
    code = main(
        [
            "interpolate",
            model,
            "--data",
            str(data),
            "--start",
            "a",
            "--end",
            "1",
            "-o",
            str(tmp_path / "p.csv"),
        ]
    )
    _assert_user_error(code, capsys, "--start must be a row index")
    not_a_model = tmp_path / "junk.gtn"
    not_a_model.write_bytes(b"definitely not a model")
    code = main(["sample", str(not_a_model), "-n", "2", "-o", str(tmp_path / "s.csv")])
    _assert_user_error(code, capsys, "cannot load a model")


def test_console_script_points_at_main():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    with open(
        os.path.join(os.path.dirname(__file__), "..", "pyproject.toml"), "rb"
    ) as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    module, _, name = scripts["sklearn-gtn"].partition(":")
    assert getattr(importlib.import_module(module), name) is main


def test_verbose_shows_training_and_writing_progress(tmp_path, capfd, square):
    _, _, data = square
    model = str(tmp_path / "m.gtn")
    assert main(["fit", str(data), "-o", model, "--verbose", *FIT_TINY]) == 0
    out, err = capfd.readouterr()
    assert "fitting GTNSampler" in err
    assert "train_loss" in out + err  # skorch's epoch table
    assert main(["sample", model, "-n", "50", "-o", str(tmp_path / "s.csv"), "-v"]) == 0
    assert "writing" in capfd.readouterr().err


def test_fit_with_assignment_labeling(tmp_path, capsys, square):
    _, _, data = square
    model = str(tmp_path / "m.gtn")
    argv = ["fit", str(data), "-o", model, "--labeling", "assignment", *FIT_TINY]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["info", model]) == 0
    assert "labeling = 'assignment'" in capsys.readouterr().out


# ---------------------------------------------------------------------------
# writes never lose data; user errors of the machine's files (D-4)
# ---------------------------------------------------------------------------
@pytest.fixture
def fitted(tmp_path, square, capsys):
    """A tiny model fitted on the square (no header) and its path."""
    _, _, data = square
    model = str(tmp_path / "m.gtn")
    assert main(["fit", str(data), "-o", model, *FIT_TINY]) == 0
    capsys.readouterr()
    return model


def _fail_on_call(k, real):
    """``real``, except that call number ``k`` raises ENOSPC (a full disk)."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == k:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)

    return wrapper


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_failed_write_keeps_the_previous_file(
    tmp_path, capsys, fitted, monkeypatch, suffix
):
    out = tmp_path / f"s{suffix}"
    assert main(["sample", fitted, "-n", "500", "-o", str(out)]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    # the disk fills up midway: after two chunks of a CSV, at once for a NPY
    monkeypatch.setattr(data_module, "_WRITE_CHUNK_ROWS", 100)
    name = "savetxt" if suffix == ".csv" else "save"
    monkeypatch.setattr(
        np, name, _fail_on_call(3 if suffix == ".csv" else 1, getattr(np, name))
    )
    code = main(["sample", fitted, "-n", "500", "-o", str(out), "--random-state", "3"])
    _assert_user_error(code, capsys, "No space left on device")
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("command", ["sample", "fit"])
def test_write_beyond_the_file_size_limit_keeps_the_previous_file(
    tmp_path, fitted, square, command
):
    # a real failure of the operating system in the middle of a write: the
    # file size limit (RLIMIT_FSIZE) stops every new file at 16 KiB. The
    # samples (20,000 rows) and the fitted model (two 64 x 64 networks) are
    # larger; the unfitted model saved before training (1 KiB) is not.
    resource = pytest.importorskip("resource")
    if command == "sample":
        out = tmp_path / "s.csv"
        out.write_text("old,content\n1,2\n")
        argv = ["sample", fitted, "-n", "20000", "-o", str(out)]
    else:
        out = tmp_path / "m.gtn"  # the model the fixture fitted
        assert out == Path(fitted)
        argv = ["fit", str(square[2]), "-o", str(out), "--max-epochs", "1"]
        argv += ["--hidden-layer-sizes", "64,64", "--random-state", "0"]
    before = out.read_bytes()
    root = os.path.dirname(os.path.dirname(sklearn_gtn.__file__))

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 14, 1 << 14))

    result = subprocess.run(
        [sys.executable, "-m", "sklearn_gtn", *argv],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS="1"),
        preexec_fn=limit,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr
    assert "File too large" in result.stderr
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_unwritable_model_path_is_refused_before_training(
    tmp_path, capsys, square, monkeypatch
):
    from sklearn_gtn.sampler import GTNSampler

    def no_fit(self, *args, **kwargs):
        raise AssertionError("training started before the output was checked")

    monkeypatch.setattr(GTNSampler, "fit", no_fit)
    data = str(square[2])
    for target, message in [
        ("/proc/m.gtn", "cannot write model '/proc/m.gtn'"),
        (str(tmp_path / "file.csv" / "m.gtn"), "model folder"),
        (str(tmp_path), "is a folder"),
    ]:
        (tmp_path / "file.csv").write_text("")
        code = main(["fit", data, "-o", target, *FIT_TINY])
        _assert_user_error(code, capsys, message)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="permissions do not bind root",
)
def test_read_only_folder_is_refused_before_training(tmp_path, capsys, square):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code = main(["fit", str(square[2]), "-o", str(folder / "m.gtn"), *FIT_TINY])
    finally:
        folder.chmod(0o700)
    _assert_user_error(code, capsys, "cannot write model")


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["fit", "DATA", "-o", "DIR/m.gtn", "--random-state", "-1"],
            "from 0 to 4294967295, got -1",
        ),
        (
            ["sample", "MODEL", "-n", "3", "-o", "DIR/s.csv", "--random-state", "-1"],
            "from 0 to",
        ),
        (
            [
                "sample",
                "MODEL",
                "-n",
                "3",
                "-o",
                "DIR/s.csv",
                "--random-state",
                str(2**32),
            ],
            "from 0 to",
        ),
        (["demo", "--random-state", "-1", "--no-plots"], "from 0 to"),
        (["demo", "--random-state", str(2**32 - 1), "--no-plots"], "at most"),
        (["sample", "MODEL", "-n", "10000000000000", "-o", "DIR/s.csv"], "need"),
        (["sample", "MODEL", "-n", "10000000000000", "-o", "DIR/s.npy"], "need"),
        (
            [
                "interpolate",
                "MODEL",
                "--start",
                "0,0",
                "--end",
                "1,1",
                "--n-steps",
                "10000000000000",
                "-o",
                "DIR/p.csv",
            ],
            "need",
        ),
    ],
)
def test_out_of_range_requests_are_user_errors(
    tmp_path, capsys, fitted, square, argv, message
):
    argv = [
        a.replace("DATA", str(square[2]))
        .replace("MODEL", fitted)
        .replace("DIR", str(tmp_path))
        for a in argv
    ]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    _assert_user_error(code, capsys, message)
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "s.npy").exists()


@pytest.mark.timeout(60)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_named_pipes_and_devices_are_refused(tmp_path, capsys, fitted, square):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    data = str(square[2])
    cases = [
        (["fit", str(fifo), "-o", str(tmp_path / "m2.gtn")], "is not a regular file"),
        (["fit", data, "-o", str(fifo), *FIT_TINY], "is not a regular file"),
        (
            ["sample", str(fifo), "-n", "3", "-o", str(tmp_path / "s.csv")],
            "is not a regular file",
        ),
        (["sample", fitted, "-n", "3", "-o", str(fifo)], "is not a regular file"),
        (["info", str(fifo)], "is not a regular file"),
        (
            [
                "interpolate",
                fitted,
                "--data",
                str(fifo),
                "--start",
                "0",
                "--end",
                "1",
                "-o",
                str(tmp_path / "p.csv"),
            ],
            "is not a regular file",
        ),
    ]
    if os.path.exists("/dev/null"):
        device = tmp_path / "device.csv"  # a CSV name for a device
        device.symlink_to("/dev/null")
        cases += [
            (["sample", fitted, "-n", "3", "-o", str(device)], "not a regular file"),
            (["fit", str(device), "-o", str(tmp_path / "m3.gtn")], "not a regular"),
            (["fit", data, "-o", "/dev/null", *FIT_TINY], "not a regular file"),
        ]
    for argv, message in cases:
        _assert_user_error(main(argv), capsys, message)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # left as it was


@pytest.mark.timeout(120)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_named_pipe_as_input_does_not_hang_the_console_script(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    root = os.path.dirname(os.path.dirname(sklearn_gtn.__file__))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sklearn_gtn",
            "fit",
            str(fifo),
            "-o",
            str(tmp_path / "m.gtn"),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=root),
        timeout=100,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"sklearn-gtn fit: error: data file {str(fifo)!r} is not a regular file "
        "(a named pipe, device or socket); give a file"
    ]


# ---------------------------------------------------------------------------
# reading files (D-10, issue 13 item 7)
# ---------------------------------------------------------------------------
@pytest.fixture(params=["pandas", "numpy"])
def reader(request, monkeypatch):
    """Run a test with pandas' parser and with the NumPy fallback."""
    if request.param == "numpy":
        monkeypatch.setitem(sys.modules, "pandas", None)  # import fails
    else:
        pytest.importorskip("pandas")
    return request.param


def test_complex_npy_is_refused(tmp_path):
    path = tmp_path / "c.npy"
    np.save(path, np.ones((4, 2)) + 1j)
    with pytest.raises(UsageError, match="complex values"):
        read_data(str(path))


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "1.5,2x\n3,4\n",
            "line 1: the first row mixes numbers and text (column 2: '2x'",
        ),
        (
            "\n1.5,,3\n3,4,5\n",
            "line 2: the first row mixes numbers and text (column 2: ''",
        ),
        ("a,b\n1,2\n3,x\n", "line 3, column 'b': 'x' is not a number"),
        ("a,b\n1,2\n3\n", "line 3: 1 values, expected 2"),
        ("a,b\n1,2\n3,4,5\n", "line 3: 3 values, expected 2"),
        ("a,b\n1,2\n,4\n", "line 3, column 'a': '' is not a number"),
        ("1,2\n3,4\n5,six\n", "line 3, column 2: 'six' is not a number"),
        ("a,b\n1,nan\n", "contains NaN or infinite values (data row 1, column 'b')"),
        ("a,a\n1,2\n", "column name 'a' appears twice"),
        ("a,,b\n1,5,2\n2,6,3\n", "column 2 has no name"),
    ],
)
def test_bad_text_files_name_line_and_column(tmp_path, reader, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(UsageError, match=re.escape(message)):
        read_data(str(path))


def test_header_option_decides_the_first_row(tmp_path, reader):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3,4\n")
    assert read_table(str(path), header="yes").columns == ["1", "2"]
    np.testing.assert_array_equal(read_data(str(path), header="yes"), [[3.0, 4.0]])
    path.write_text("a,b\n3,4\n")
    with pytest.raises(UsageError, match="line 1, column 1: 'a' is not a number"):
        read_data(str(path), header="no")


def test_pandas_index_column_is_skipped_and_header_kept(tmp_path, reader):
    pd = pytest.importorskip("pandas") if reader == "pandas" else None
    X = np.random.RandomState(0).rand(6, 2)
    path = tmp_path / "x.csv"
    body = "".join(f"{i},{float(a)!r},{float(b)!r}\n" for i, (a, b) in enumerate(X))
    path.write_text(",width,height\n" + body)
    table = read_table(str(path))
    np.testing.assert_array_equal(table.data, X)
    assert table.columns == ["width", "height"] and table.skipped == "pandas index"
    if pd is not None:  # what pandas writes reads back the same
        pd.DataFrame(X, columns=["width", "height"]).to_csv(path)
        np.testing.assert_allclose(read_data(str(path)), X, rtol=1e-15)
    # not 0 .. n-1: a nameless column is an error that says what to do
    rows = body.splitlines(keepends=True)
    path.write_text(",width,height\n" + "".join(rows[:5]) + "7" + rows[5][1:])
    with pytest.raises(UsageError, match="column 1 has no name .* --index-col 0"):
        read_data(str(path))
    np.testing.assert_array_equal(read_data(str(path), index_col="0"), X)


def test_index_col_by_name_or_position(tmp_path, reader):
    path = tmp_path / "x.csv"
    path.write_text("id,a,b\n10,1,2\n20,3,4\n")
    expected = [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(read_data(str(path), index_col="id"), expected)
    np.testing.assert_array_equal(read_data(str(path), index_col="0"), expected)
    assert read_table(str(path), index_col="b").columns == ["id", "a"]
    with pytest.raises(UsageError, match=r"--index-col 'c' is not a column .*'id'"):
        read_data(str(path), index_col="c")
    with pytest.raises(UsageError, match="--index-col 3 is out of range"):
        read_data(str(path), index_col="3")


@pytest.mark.parametrize(
    "content, delimiter",
    [
        ("a;b\n1;2\n3;4\n", ";"),
        ("a|b\n1|2\n3|4\n", "|"),
        ("a\tb\n1\t2\n3\t4\n", None),
        ("a\tb\n1\t2\n3\t4\n", "tab"),
        ("1 2\n3   4\n", None),  # np.savetxt's default: whitespace
        ('"a","b"\n"1","2"\n3,4\n', None),
    ],
)
def test_delimiters(tmp_path, reader, content, delimiter):
    path = tmp_path / "x.txt"
    path.write_text(content)
    X = read_data(str(path), delimiter=delimiter)
    np.testing.assert_array_equal(X, [[1.0, 2.0], [3.0, 4.0]])


def test_bad_delimiter_is_user_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n")
    with pytest.raises(UsageError, match="--delimiter must be one character"):
        read_data(str(path), delimiter=";;")


def test_text_column_is_named(tmp_path, reader):
    path = tmp_path / "x.csv"
    path.write_text("size,region,n\n1.5,north,3\n2.5,,4\n0.1,south,5\n")
    if reader == "numpy":
        with pytest.raises(
            UsageError, match="column 'region': 'north' is not a .*pandas"
        ):
            read_table(str(path))
        return
    table = read_table(str(path))
    assert table.text_columns == ["region"] and table.columns == ["size", "region", "n"]
    assert list(table.data["region"][[0, 2]]) == ["north", "south"]
    assert np.isnan(table.data["region"][1])  # an empty text field is missing
    np.testing.assert_array_equal(table.data["size"], [1.5, 2.5, 0.1])
    assert table.data["n"].dtype == np.int64  # integers stay integers
    with pytest.raises(UsageError, match="column 'region' holds text"):
        read_data(str(path))
    path.write_text("size,region\n1.5,north\n2.5,7\n")
    with pytest.raises(UsageError, match="line 2, column 'region': 'north' is not"):
        read_table(str(path))


def test_sample_and_interpolate_write_the_training_header(tmp_path, capsys):
    pytest.importorskip("pandas")
    X = np.random.RandomState(0).rand(200, 3)
    data = tmp_path / "x.csv"
    header = "width,height,depth"
    np.savetxt(data, X, delimiter=",", header=header)  # "# width,..." as NumPy writes
    model = str(tmp_path / "m.gtn")
    assert main(["fit", str(data), "-o", model, *FIT_TINY]) == 0
    out = tmp_path / "s.csv"
    assert (
        main(["sample", model, "-n", "4", "-o", str(out), "--random-state", "0"]) == 0
    )
    assert out.read_text().splitlines()[0] == header
    np.testing.assert_allclose(
        read_data(str(out)),
        sklearn_gtn.load(model).sample(4, random_state=0),
        rtol=1e-7,
    )
    path = tmp_path / "p.csv"
    argv = ["interpolate", model, "--data", str(data), "--start", "0", "--end", "1"]
    assert main([*argv, "--n-steps", "3", "-o", str(path)]) == 0
    assert path.read_text().splitlines()[0] == header
    assert "Warning" not in capsys.readouterr().err


# ---------------------------------------------------------------------------
# defaults follow the estimators; images from 3-D arrays; mixtures; tables
# ---------------------------------------------------------------------------
def _built(argv, X):
    from sklearn_gtn.cli import _build_model, _build_parser
    from sklearn_gtn.cli._data import Table

    return _build_model(_build_parser().parse_args(argv), Table(X))


def test_fit_options_not_given_keep_the_estimators_defaults():
    from sklearn_gtn import ConvAutoencoder, GTNSampler

    gtn = _built(["fit", "x.csv", "-o", "m"], np.ones((5, 2)))
    defaults = GTNSampler().get_params()
    for name in (
        "max_epochs",
        "batch_size",
        "lr",
        "labeling",
        "patience",
        "hidden_layer_sizes",
        "noise_scale",
    ):
        assert gtn.get_params()[name] == defaults[name], name
    pipe = _built(["fit", "x.npy", "-o", "m"], np.ones((5, 4, 4)))
    ae, last = pipe.steps[0][1], pipe.steps[-1][1]
    assert ae.max_epochs == ConvAutoencoder().max_epochs
    assert last.max_epochs == GTNSampler().max_epochs
    given = _built(
        ["fit", "x.csv", "-o", "m", "--max-epochs", "7", "--lr", "0.01"],
        np.ones((5, 2)),
    )
    assert (given.max_epochs, given.lr) == (7, 0.01)
    noisy = _built(["fit", "x.csv", "-o", "m", "--noise-scale", "0.3"], np.ones((5, 2)))
    assert noisy.noise_scale == 0.3


def test_tables_with_text_columns_fit_without_the_noise_term_unless_asked():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn_gtn.tabular")
    from sklearn_gtn.cli import _build_model, _build_parser
    from sklearn_gtn.cli._data import Table

    frame = pd.DataFrame({"size": [1.0, 2.0], "region": ["a", "b"]})
    table = Table(frame, columns=["size", "region"], text_columns=["region"])

    def gtn(argv):
        args = _build_parser().parse_args(["fit", "t.csv", "-o", "m", *argv])
        return _build_model(args, table).steps[-1][1]

    assert gtn([]).noise_scale == 0.0
    assert gtn(["--noise-scale", "0.1"]).noise_scale == 0.1


def test_mixture_options_build_a_gtn_mixture():
    from sklearn_gtn import GTNMixture

    mix = _built(
        ["fit", "x.csv", "-o", "m", "--n-components", "3", "--max-epochs", "2"],
        np.ones((5, 2)),
    )
    assert isinstance(mix, GTNMixture) and mix.n_components == 3
    assert mix.estimator.max_epochs == 2
    assert (
        _built(["fit", "x.csv", "-o", "m", "--mixture"], np.ones((5, 2))).n_components
        == "auto"
    )


def test_interpolate_images_fitted_from_a_3d_npy(tmp_path, capsys):
    from sklearn.datasets import load_digits

    data = tmp_path / "digits.npy"
    np.save(data, load_digits().images[:120])  # (120, 8, 8)
    model = str(tmp_path / "ae.gtn")
    argv = ["fit", str(data), "-o", model, "--latent-dim", "3", "--max-epochs", "1"]
    assert main([*argv, "--hidden-layer-sizes", "8", "--random-state", "0"]) == 0
    path = tmp_path / "p.npy"
    argv = ["interpolate", model, "--data", str(data), "--start", "0", "--end", "5"]
    assert main([*argv, "--n-steps", "3", "-o", str(path)]) == 0
    P = np.load(path)
    assert P.shape == (3, 8, 8) and np.isfinite(P).all()
    np.testing.assert_allclose(
        P,
        sklearn_gtn.load(model).interpolate(
            load_digits().images[0], load_digits().images[5], n_steps=3
        ),
        rtol=1e-6,
        atol=1e-6,
    )
    start = ",".join(map(str, load_digits().images[0].ravel()))
    end = ",".join(map(str, load_digits().images[5].ravel()))
    out = tmp_path / "p.csv"
    argv = ["interpolate", model, "--start", start, "--end", end, "--n-steps", "3"]
    assert main([*argv, "-o", str(out)]) == 0
    assert np.loadtxt(out, delimiter=",").shape == (3, 64)
    capsys.readouterr()


def test_fit_and_sample_a_mixture(tmp_path, capsys, square):
    X, with_header, _ = square
    model = str(tmp_path / "mix.gtn")
    code = main(
        ["fit", str(with_header), "-o", model, "--n-components", "2", *FIT_TINY]
    )
    try:
        sklearn_gtn.save(sklearn_gtn.GTNMixture(), str(tmp_path / "probe.gtn"))
    except TypeError:
        # this version cannot save mixtures: refused before training
        _assert_user_error(code, capsys, "cannot save a GTNMixture model")
        assert not os.path.exists(model)
        return
    assert code == 0
    out = tmp_path / "s.csv"
    assert (
        main(["sample", model, "-n", "5", "-o", str(out), "--random-state", "0"]) == 0
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "width,height" and len(lines) == 6


def test_fit_and_sample_a_table_with_text_columns(tmp_path, capsys):
    pytest.importorskip("pandas")
    pytest.importorskip("sklearn_gtn.tabular")
    rng = np.random.RandomState(0)
    regions = rng.choice(["north", "south", "east"], size=150)
    size = rng.rand(150) + (regions == "north")
    data = tmp_path / "t.csv"
    data.write_text(
        "size,region\n"
        + "".join(f"{s!r},{r}\n" for s, r in zip(size, regions, strict=True))
    )
    model = str(tmp_path / "t.gtn")
    assert main(["fit", str(data), "-o", model, *FIT_TINY]) == 0
    out = tmp_path / "s.csv"
    assert (
        main(["sample", model, "-n", "20", "-o", str(out), "--random-state", "0"]) == 0
    )
    table = read_table(str(out))
    assert table.columns == ["size", "region"]
    assert set(table.data["region"]) <= {"north", "south", "east"}
    code = main(["sample", model, "-n", "20", "-o", str(tmp_path / "s.npy")])
    _assert_user_error(code, capsys, "write a .csv")


def test_no_colour_codes_when_not_a_terminal(tmp_path, capfd, square):
    model = str(tmp_path / "m.gtn")
    assert main(["fit", str(square[2]), "-o", model, "--verbose", *FIT_TINY]) == 0
    out, err = capfd.readouterr()
    assert "train_loss" in out + err
    assert "\x1b[" not in out + err


def test_colour_codes_are_dropped_unless_the_stream_is_a_terminal(capsys):
    from sklearn_gtn.cli._common import plain_unless_terminal

    with plain_unless_terminal():
        print("\x1b[36mepoch\x1b[0m 1")
        print("\x1b[31mlabeling\x1b[0m\x1b[A", file=sys.stderr)
    out, err = capsys.readouterr()
    assert (out, err) == ("epoch 1\n", "labeling\n")

    class Terminal:
        def __init__(self):
            self.text = ""

        def write(self, text):
            self.text += text

        def isatty(self):
            return True

    terminal = Terminal()
    saved = sys.stdout
    sys.stdout = terminal
    try:
        with plain_unless_terminal():
            print("\x1b[36mepoch\x1b[0m")
    finally:
        sys.stdout = saved
    assert terminal.text == "\x1b[36mepoch\x1b[0m\n"  # colours kept for people


def test_output_that_is_an_input_is_refused(tmp_path, capsys, fitted, square):
    data = str(square[2])
    before = open(data, "rb").read()
    for argv in [
        ["fit", data, "-o", data, *FIT_TINY],
        [
            "interpolate",
            fitted,
            "--data",
            data,
            "--start",
            "0",
            "--end",
            "1",
            "-o",
            data,
        ],
    ]:
        _assert_user_error(main(argv), capsys, "is the input file")
    npy_model = tmp_path / "model.npy"  # a model saved under a data suffix
    npy_model.write_bytes(open(fitted, "rb").read())
    code = main(["sample", str(npy_model), "-n", "3", "-o", str(npy_model)])
    _assert_user_error(code, capsys, "is the input file")
    assert open(data, "rb").read() == before


_TOKENS = ["1", "2.5", "-3e2", "nan", "inf", "", " ", "a", "x y", '"', '"1"', ","]
_TOKENS += [";", "\t", "\n", "\r\n", "#", "0", "Unnamed: 0", "é", "1e999", "True"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(_TOKENS), max_size=30).map("".join),
    st.sampled_from([{}, {"header": "yes"}, {"index_col": "0"}, {"delimiter": ";"}]),
)
def test_reading_any_text_gives_a_table_or_a_user_error(
    tmp_path_factory, text, options
):
    path = tmp_path_factory.mktemp("fuzz") / "x.csv"
    path.write_text(text, encoding="utf-8")
    try:
        table = read_table(str(path), **options)
    except UsageError as exc:
        assert "\n" not in str(exc).strip()
        return
    data = table.data
    assert len(data) >= 1
    if isinstance(data, np.ndarray):
        assert data.dtype == np.float64 and np.isfinite(data).all()


def test_non_finite_samples_are_not_written(tmp_path, capsys, fitted, monkeypatch):
    from sklearn_gtn.sampler import GTNSampler

    out = tmp_path / "s.csv"
    out.write_text("old\n")
    real = GTNSampler.sample

    def overflowing(self, n_samples=1, random_state=None):
        X = real(self, n_samples, random_state=random_state)
        X[1, 0] = np.inf  # what data beyond 1e154 used to give
        return X

    monkeypatch.setattr(GTNSampler, "sample", overflowing)
    code = main(["sample", fitted, "-n", "5", "-o", str(out)])
    _assert_user_error(code, capsys, "NaN or infinite values in 1 of 5 rows")
    assert out.read_text() == "old\n"


def test_warnings_are_one_line(tmp_path, capsys, fitted, monkeypatch):
    from sklearn_gtn.sampler import GTNSampler

    real = GTNSampler.sample

    def warning(self, *args, **kwargs):
        warnings.warn("something odd\nover two lines", RuntimeWarning, stacklevel=1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(GTNSampler, "sample", warning)
    assert main(["sample", fitted, "-n", "3", "-o", str(tmp_path / "s.csv")]) == 0
    err = capsys.readouterr().err
    assert err == "sklearn-gtn: warning: something odd over two lines\n"
