"""The command line: ``python -m sklearn_gtn demo`` at tiny settings, and errors."""

import os
import subprocess
import sys

import pytest

import sklearn_gtn
from sklearn_gtn.cli import main

TINY = ["--n-samples", "200", "--max-epochs", "2", "--n-generate", "500"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_demo_writes_figures_and_prints_summary(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    assert main(["demo", "--output", str(out), *TINY]) == 0
    for name in ("swiss_roll.png", "uniform_square.png"):
        with open(out / name, "rb") as f:
            assert f.read(8) == PNG_MAGIC
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith(("swiss", "uniform"))]
    assert [r.split()[0] for r in rows] == ["swiss-roll", "uniform"]
    for row, dim in zip(rows, (1, 2), strict=True):
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
        capture_output=True, text=True, env=env, check=False,
    )
    assert result.returncode == 0
    assert "--n-samples" in result.stdout and "--output" in result.stdout
