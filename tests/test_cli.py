"""The command line end to end at tiny settings: demo, fit, sample, interpolate,
info, data files, and user errors (one line on stderr, exit code 2)."""

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

import sklearn_gtn
from sklearn_gtn.cli import UsageError, main, read_data, write_data

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
        ("a,b\n1,2\n3,x\n", "line 3, column 2: 'x' is not a number"),
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
    S = np.loadtxt(tmp_path / "s.csv", delimiter=",")
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
    np.testing.assert_allclose(np.loadtxt(P2, delimiter=","), P, rtol=1e-6)
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
