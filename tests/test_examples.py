"""Every gallery example runs as a script at small settings and draws figures.

The examples read ``SKLEARN_GTN_EXAMPLES_QUICK=1`` to shrink data and epochs;
they run in this process (``runpy``) with matplotlib's Agg backend, so the
figures they leave open can be counted and rendered.
"""

import os
import runpy

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
SCRIPTS = sorted(
    name
    for name in os.listdir(EXAMPLES)
    if name.startswith("plot_") and name.endswith(".py")
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_the_gallery_has_the_paper_figures_and_workflows():
    assert {
        "plot_swiss_roll.py",
        "plot_uniform_square.py",
        "plot_digits_generation.py",
        "plot_interpolation.py",
        "plot_grid_search_latent_dim.py",
        "plot_tabular_synthetic.py",
        "plot_disconnected.py",
    } <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_and_draws(script, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKLEARN_GTN_EXAMPLES_QUICK", "1")
    monkeypatch.delenv("SKLEARN_GTN_FULL", raising=False)
    monkeypatch.chdir(tmp_path)
    plt.close("all")
    try:
        runpy.run_path(os.path.join(EXAMPLES, script), run_name="__main__")
        numbers = plt.get_fignums()
        assert numbers, f"{script} drew no figure"
        for k in numbers:
            path = tmp_path / f"figure_{k}.png"
            plt.figure(k).savefig(path, dpi=40)
            with open(path, "rb") as f:
                assert f.read(8) == PNG_MAGIC
    finally:
        plt.close("all")
    assert capsys.readouterr().out.strip(), f"{script} printed nothing"


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_is_in_gallery_format(script):
    with open(os.path.join(EXAMPLES, script)) as f:
        text = f.read()
    assert text.startswith('"""\n'), "a reST docstring opens the example"
    title = text.split("\n")[1]
    assert set(text.split("\n")[2]) == {"="} and len(text.split("\n")[2]) >= len(
        title
    ), "the title is underlined with '='"
    assert "# %%" in text
    assert "SKLEARN_GTN_FULL" in text and "SKLEARN_GTN_EXAMPLES_QUICK" in text
