"""Sphinx configuration for sklearn-gtn.

Build (warnings are errors, as in CI)::

    pip install -e ".[docs]"
    export SKLEARN_GTN_EXAMPLES_QUICK=1
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The build runs every example and puts its figures in the HTML.

Environment variables:

``SKLEARN_GTN_EXAMPLES_QUICK=1``
    the examples run at small settings (about 10 s for the whole gallery on a
    2-core CPU; CI builds this way); without it they run at their default
    settings (a few minutes).
``SKLEARN_GTN_DOCS_NO_GALLERY=1``
    render the example gallery without running the examples (no figures; a
    quick check of the text).
``SKLEARN_GTN_DOCS_INTERSPHINX=1``
    link to the Python, NumPy, scikit-learn and torch docs (needs network).
"""

import os
import re
import sys

sys.path.insert(0, os.path.abspath(".."))
# The gallery runs in this process: OpenMP threads that sleep when idle, as in
# the tests (tests/conftest.py says why). Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from sklearn_gtn import __version__  # noqa: E402

project = "sklearn-gtn"
author = "sklearn-gtn developers"
copyright = "sklearn-gtn developers"
release = __version__
version = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.json",
    "sg_execution_times.rst",
]
html_theme = "alabaster"
html_static_path = ["_static"]
templates_path = ["_templates"]
html_theme_options = {"description": "Generative Topological Networks"}

if os.environ.get("SKLEARN_GTN_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
        "torch": ("https://pytorch.org/docs/stable/", None),
    }

_run_gallery = os.environ.get("SKLEARN_GTN_DOCS_NO_GALLERY") != "1"
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "plot_gallery": "True" if _run_gallery else "False",
    "download_all_examples": False,
    "write_computation_times": False,
    "remove_config_comments": True,
}


# Shapes such as ``(n_features_in_,)`` in docstring types would read as reST
# references (a trailing underscore); quote them before numpydoc parses.
_TRAILING_UNDERSCORE = re.compile(r"(?<=[(,] )(\w+_)(?=[,)])|(?<=\()(\w+_)(?=[,)])")


def _quote_fitted_names(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        lines[i] = _TRAILING_UNDERSCORE.sub(lambda m: f"``{m.group(0)}``", line)


def setup(app):
    app.connect("autodoc-process-docstring", _quote_fitted_names, priority=100)
