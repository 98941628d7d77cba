"""The bad-input matrix: every public entry point x every kind of bad input.

Each row must raise a ValueError or TypeError whose message names the
argument, before any expensive work (labeling, training, a forward pass,
reading a model file): the guards below fail the test if such work starts.

``python tests/test_bad_input.py`` prints the matrix as the reST table of
``docs/bad_input.rst``.
"""

import re

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.decomposition import PCA

import sklearn_gtn._base as base_module
import sklearn_gtn._runtime as runtime_module
import sklearn_gtn.assignment as assignment_module
import sklearn_gtn.autoencoder as autoencoder_module
import sklearn_gtn.labeling as labeling_module
import sklearn_gtn.persistence as persistence_module
import sklearn_gtn.sampler as sampler_module
from sklearn_gtn import (
    ConvAutoencoder,
    GTNMixture,
    GTNSampler,
    assignment_pairs,
    label_pairs,
    load,
    make_generative_pipeline,
    save,
)
from sklearn_gtn._modules import MLP

D = 2  # features of the fitted GTNSampler
IMAGE = (1, 4, 4)  # images of the fitted ConvAutoencoder
LATENT = 2


class ExpensiveWorkStarted(AssertionError):
    pass


def _refuse(*args, **kwargs):
    raise ExpensiveWorkStarted("expensive work started before the input was checked")


def _small_gtn(**params):
    base = dict(hidden_layer_sizes=(4,), max_epochs=1, device="cpu", random_state=0)
    base.update(params)
    return GTNSampler(**base)


def _fit_objects():
    torch.set_num_threads(1)
    rng = np.random.RandomState(0)
    gtn = _small_gtn().fit(rng.uniform(size=(40, D)))
    ae = ConvAutoencoder(latent_dim=LATENT, max_epochs=1, device="cpu", random_state=0)
    ae.fit(rng.uniform(size=(12, *IMAGE)))
    pipe = make_generative_pipeline(PCA(D), _small_gtn())
    pipe.fit(rng.normal(size=(40, 4)))
    X = rng.uniform(size=(40, D))
    mix = GTNMixture(_small_gtn(), random_state=0).fit(X, np.repeat(["a", "b"], 20))
    clustered = GTNMixture(_small_gtn(), n_components=2, random_state=0).fit(X)
    return {"gtn": gtn, "ae": ae, "pipe": pipe, "mix": mix, "clustered": clustered}


@pytest.fixture(scope="module")
def objects():
    previous = torch.get_num_threads()
    objs = _fit_objects()
    yield objs
    torch.set_num_threads(previous)


@pytest.fixture
def guards(monkeypatch):
    """Fail if labeling, training, a forward pass or a file read starts."""
    monkeypatch.setattr(labeling_module, "_Labeler", _refuse)
    monkeypatch.setattr(sampler_module, "label_pairs", _refuse)
    monkeypatch.setattr(sampler_module, "NeuralNetRegressor", _refuse)
    monkeypatch.setattr(autoencoder_module, "NeuralNet", _refuse)
    monkeypatch.setattr(assignment_module, "linear_sum_assignment", _refuse)
    monkeypatch.setattr(GTNSampler, "_run", _refuse)
    monkeypatch.setattr(ConvAutoencoder, "_run", _refuse)
    monkeypatch.setattr(persistence_module, "_read_archive", _refuse)


# ----------------------------------------------------------- bad arrays
def _bad_arrays(d, *, ndim_cases):
    """Bad values for a 2-D argument with ``d`` features: case -> array."""
    ok = np.ones((10, d))
    arrays = {
        "NaN": np.where(np.eye(10, d, dtype=bool), np.nan, ok),
        "inf": np.where(np.eye(10, d, dtype=bool), np.inf, ok),
        "empty (0 rows)": np.ones((0, d)),
        "no features": np.ones((10, 0)),
        "strings": np.full((10, d), "a"),
        "objects": np.array([[{"a": 1}] * d] * 10, dtype=object),
        "complex": ok + 1j,
        "sparse": sp.csr_matrix(ok),
    }
    for case, shape in ndim_cases.items():
        arrays[case] = np.ones(shape)
    return arrays


# (exception types, pattern) by case; the message must also name the argument
_EXPECTED = {
    "NaN": (ValueError, r"NaN"),
    "inf": (ValueError, r"inf"),
    "empty (0 rows)": (ValueError, r"empty|0 sample|\(0, "),
    "no features": (ValueError, r"empty|0 feature|shape"),
    "strings": ((ValueError, TypeError), r"string|numbers"),
    "objects": (TypeError, r"number"),
    "complex": ((ValueError, TypeError), r"[Cc]omplex|real-valued"),
    "sparse": (TypeError, r"[Ss]parse"),
    "1-D": (ValueError, r"2-?D|1-?D"),
    "3-D": (ValueError, r"dim|2-D|shape"),
    "5-D": (ValueError, r"5-D"),
    "wrong n_features": (ValueError, r"features|shape"),
    "too few samples": (ValueError, r"n_samples|more rows|at least"),
    "beyond float32": (ValueError, r"float32"),
    "overflowing": (ValueError, r"too large|too far apart"),
}
HUGE = np.full((10, D), 1e39)  # beyond float32 in the fitted units

_ND = {"1-D": (10,), "3-D": (10, D, 2)}


def _x_entries():
    """(entry point, argument, call(objs, A), ndim cases, extra cases)."""
    Y1 = np.ones((1, D))
    return [
        (
            "label_pairs",
            "X",
            lambda o, A: label_pairs(A, Y1, device="cpu"),
            _ND,
            {"wrong n_features": np.ones((10, D + 1)), "too few samples": None},
        ),
        (
            "label_pairs",
            "Y",
            lambda o, A: label_pairs(np.ones((20, D)), A, device="cpu"),
            _ND,
            {"too few samples": np.ones((21, D))},
        ),
        (
            "assignment_pairs",
            "X",
            lambda o, A: assignment_pairs(A, Y1),
            _ND,
            {"wrong n_features": np.ones((10, D + 1))},
        ),
        (
            "GTNSampler.fit",
            "X",
            lambda o, A: _small_gtn().fit(A),
            _ND,
            {
                "too few samples": np.ones((1, D)),
                "overflowing": np.r_[np.ones((9, D)), np.full((1, D), 1e200)],
            },
        ),
        (
            "GTNSampler.transform",
            "X",
            lambda o, A: o["gtn"].transform(A),
            _ND,
            {"wrong n_features": np.ones((10, D + 1)), "beyond float32": HUGE},
        ),
        (
            "GTNSampler.inverse_transform",
            "X",
            lambda o, A: o["gtn"].inverse_transform(A),
            _ND,
            {"wrong n_features": np.ones((10, D + 1)), "beyond float32": HUGE},
        ),
        (
            "GTNSampler.interpolate",
            "x_start",
            lambda o, A: o["gtn"].interpolate(A, A),
            {"3-D": (10, D, 2)},
            {"wrong n_features": np.ones((10, D + 1))},
        ),
        (
            "GTNSampler.score",
            "X",
            lambda o, A: o["gtn"].score(A),
            _ND,
            {"wrong n_features": np.ones((10, D + 1)), "beyond float32": HUGE},
        ),
        (
            "ConvAutoencoder.fit",
            "X",
            lambda o, A: ConvAutoencoder(device="cpu").fit(A),
            {"1-D": (10,), "5-D": (10, 1, 1, 4, 4)},
            {
                "too few samples": np.ones((1, *IMAGE)),
                "overflowing": np.r_[
                    np.full((1, *IMAGE), -1e308), np.full((9, *IMAGE), 1e308)
                ],
            },
        ),
        (
            "ConvAutoencoder.transform",
            "X",
            lambda o, A: o["ae"].transform(A),
            {"1-D": (10,), "5-D": (10, 1, 1, 4, 4)},
            {
                "wrong n_features": np.ones((10, 1, 4, 5)),
                "beyond float32": np.full((10, *IMAGE), 1e300),
            },
        ),
        (
            "ConvAutoencoder.inverse_transform",
            "X",
            lambda o, A: o["ae"].inverse_transform(A),
            _ND,
            {
                "wrong n_features": np.ones((10, LATENT + 1)),
                "beyond float32": np.full((10, LATENT), 1e39),
            },
        ),
        (
            "GTNMixture.fit",
            "X",
            lambda o, A: GTNMixture(_small_gtn()).fit(A),
            _ND,
            {"too few samples": np.ones((1, D))},
        ),
        (
            "GTNMixture.predict",
            "X",
            lambda o, A: o["clustered"].predict(A),
            _ND,
            {"wrong n_features": np.ones((10, D + 1))},
        ),
        (
            "GTNMixture.score",
            "X",
            lambda o, A: o["mix"].score(A),
            _ND,
            {"wrong n_features": np.ones((10, D + 1))},
        ),
        (
            "GenerativePipeline.interpolate",
            "x_start",
            lambda o, A: o["pipe"].interpolate(A, A),
            {"3-D": (10, 4, 2)},
            {"wrong n_features": np.ones((10, 5))},
        ),
    ]


def _array_rows():
    rows = []
    for entry, arg, call, nd, extra in _x_entries():
        d = LATENT if entry == "ConvAutoencoder.inverse_transform" else D
        if entry.startswith("ConvAutoencoder.") and "inverse" not in entry:
            d = int(np.prod(IMAGE))
        if entry == "GenerativePipeline.interpolate":
            d = 4
        cases = _bad_arrays(d, ndim_cases=nd)
        cases.update({k: v for k, v in extra.items() if v is not None})
        if entry == "label_pairs" and arg == "X":
            # fewer rows in X than in Y
            cases["too few samples"] = ("swap", np.ones((1, D)))
        for case, A in cases.items():
            rows.append(
                pytest.param(entry, arg, call, case, A, id=f"{entry}-{arg}-{case}")
            )
    return rows


def _check_message(exc_info, arg, case=None):
    message = str(exc_info.value)
    names = [arg]
    if case == "too few samples":  # "needs at least 2 samples, got n_samples=1"
        names.append("n_samples")
    assert any(
        re.search(rf"(?<![\w.]){re.escape(name)}\b", message) for name in names
    ), message


@pytest.mark.parametrize("entry, arg, call, case, A", _array_rows())
def test_bad_array_is_refused_before_work(objects, guards, entry, arg, call, case, A):
    if isinstance(A, tuple) and A[0] == "swap":  # label_pairs with n_X < n_Y
        exc, pattern = _EXPECTED[case]
        with pytest.raises(exc, match=pattern) as info:
            label_pairs(A[1], np.ones((3, D)), device="cpu")
    else:
        exc, pattern = _EXPECTED[case]
        with pytest.raises(exc, match=pattern) as info:
            call(objects, A)
    _check_message(info, arg, case)


# ------------------------------------------------------- bad scalars
def _scalar_rows():
    def sample(name):
        return lambda o, v: o[name].sample(v)

    def steps(name):
        return lambda o, v: o[name].interpolate(
            np.ones(4 if name == "pipe" else D),
            np.zeros(4 if name == "pipe" else D),
            n_steps=v,
        )

    values = {
        "0": (0, ValueError, r">= 1"),
        "negative": (-5, ValueError, r">= 1"),
        "float": (2.5, TypeError, r"integer"),
        "string": ("3", TypeError, r"integer"),
        "None": (None, TypeError, r"integer"),
        "bool": (True, TypeError, r"integer"),
    }
    rows = []
    for entry, call in (
        ("GTNSampler.sample", sample("gtn")),
        ("GenerativePipeline.sample", sample("pipe")),
        ("GTNMixture.sample", sample("mix")),
    ):
        huge = {"2**63": (2**63, ValueError, r"memory")}
        for case, (v, exc, pattern) in {**values, **huge}.items():
            rows.append(
                pytest.param(
                    entry,
                    "n_samples",
                    call,
                    v,
                    exc,
                    pattern,
                    id=f"{entry}-n_samples-{case}",
                )
            )
    for entry, call in (
        ("GTNSampler.interpolate", steps("gtn")),
        ("GenerativePipeline.interpolate", steps("pipe")),
    ):
        for case, (v, exc, pattern) in {
            "1": (1, ValueError, r">= 2"),
            **{k: values[k] for k in ("0", "float", "None")},
            "10**9": (10**9, ValueError, r"at most 1,000,000"),
        }.items():
            if case == "0":
                pattern = r">= 2"
            rows.append(
                pytest.param(
                    entry,
                    "n_steps",
                    call,
                    v,
                    exc,
                    pattern,
                    id=f"{entry}-n_steps-{case}",
                )
            )
    return rows


def _label_rows():
    """Bad class labels of GTNMixture: (entry, arg, label, call(objs), ...)."""
    X = np.ones((40, D))
    nan = np.r_[np.zeros(39), np.nan]
    rows = [
        ("GTNMixture.fit", "y", "y with NaN", lambda o: GTNMixture().fit(X, nan)),
        (
            "GTNMixture.fit",
            "y",
            "y of 3 labels",
            lambda o: GTNMixture().fit(X, [0] * 3),
        ),
        ("GTNMixture.sample", "y", "y=7 (unknown)", lambda o: o["mix"].sample(3, y=7)),
        ("GTNMixture.sample", "y", "y=['a']", lambda o: o["mix"].sample(3, y=["a"])),
        (
            "GTNMixture.sample",
            "y",
            "y={'a': -1}",
            lambda o: o["mix"].sample(y={"a": -1}),
        ),
        (
            "GTNMixture.sample",
            "y",
            "y={'a': 1.5}",
            lambda o: o["mix"].sample(y={"a": 1.5}),
        ),
        (
            "GTNMixture.sample",
            "n_samples",
            "n_samples=4, y={'a': 5}",
            lambda o: o["mix"].sample(4, y={"a": 5}),
        ),
        (
            "GTNMixture.sample",
            "return_y",
            "return_y='yes'",
            lambda o: o["mix"].sample(3, return_y="yes"),
        ),
    ]
    return [
        pytest.param(entry, arg, label, call, id=f"{entry}-{label}")
        for entry, arg, label, call in rows
    ]


@pytest.mark.parametrize("entry, arg, label, call", _label_rows())
def test_bad_labels_are_refused_before_work(objects, guards, entry, arg, label, call):
    with pytest.raises((ValueError, TypeError)) as info:
        call(objects)
    _check_message(info, arg)


@pytest.mark.parametrize("entry, arg, call, value, exc, pattern", _scalar_rows())
def test_bad_count_is_refused_before_work(
    objects, guards, entry, arg, call, value, exc, pattern
):
    with pytest.raises(exc, match=pattern) as info:
        call(objects, value)
    _check_message(info, arg)


# --------------------------------------------- bad options and devices
def _option_rows():
    X = np.random.RandomState(0).uniform(size=(20, D))
    images = np.ones((4, *IMAGE))
    rows = [
        (
            "GTNSampler.fit",
            "labeling",
            "labeling='nope'",
            lambda: _small_gtn(labeling="nope").fit(X),
            ValueError,
            "one of",
        ),
        (
            "assignment_pairs",
            "method",
            "method='nope'",
            lambda: assignment_pairs(X, X, method="nope"),
            ValueError,
            "one of",
        ),
        (
            "label_pairs",
            "block_size",
            "block_size=0",
            lambda: label_pairs(X, X, device="cpu", block_size=0),
            ValueError,
            ">= 1",
        ),
        (
            "GTNSampler.fit",
            "accelerator",
            "accelerator='cpu'",
            lambda: _small_gtn(accelerator="cpu").fit(X),
            TypeError,
            "accelerate.Accelerator or None",
        ),
        (
            "ConvAutoencoder.fit",
            "accelerator",
            "accelerator='cpu'",
            lambda: ConvAutoencoder(accelerator="cpu").fit(images),
            TypeError,
            "accelerate.Accelerator or None",
        ),
    ]
    for device, case in (
        ("tpu", "unknown device"),
        ("cuda", "cuda without CUDA"),
        (3, "device of wrong type"),
    ):
        exc = TypeError if case == "device of wrong type" else ValueError
        pattern = {
            "unknown device": "not (a valid|supported)",
            "cuda without CUDA": "CUDA is not available",
            "device of wrong type": "must be",
        }[case]
        rows += [
            (
                "GTNSampler.fit",
                "device",
                f"device={device!r}" + (" without CUDA" if device == "cuda" else ""),
                lambda device=device: _small_gtn(device=device).fit(X),
                exc,
                pattern,
            ),
            (
                "ConvAutoencoder.fit",
                "device",
                f"device={device!r}" + (" without CUDA" if device == "cuda" else ""),
                lambda device=device: ConvAutoencoder(device=device).fit(images),
                exc,
                pattern,
            ),
            (
                "label_pairs",
                "device",
                f"device={device!r}" + (" without CUDA" if device == "cuda" else ""),
                lambda device=device: label_pairs(X, X, device=device),
                exc,
                pattern,
            ),
            (
                "load",
                "device",
                f"device={device!r}" + (" without CUDA" if device == "cuda" else ""),
                lambda device=device: load("model.gtn", device=device),
                exc,
                pattern,
            ),
        ]
    rows.append(
        ("load", "path", "path=123", lambda: load(123), TypeError, "str or os.PathLike")
    )
    return [
        pytest.param(entry, arg, label, call, exc, pattern, id=f"{entry}-{label}")
        for entry, arg, label, call, exc, pattern in rows
    ]


@pytest.mark.parametrize("entry, arg, label, call, exc, pattern", _option_rows())
def test_bad_option_is_refused_before_work(
    guards, monkeypatch, entry, arg, label, call, exc, pattern
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(exc, match=pattern) as info:
        call()
    _check_message(info, arg)


def test_load_of_a_file_that_is_no_model_names_the_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(ValueError, match="notes.txt.*not an sklearn-gtn model file"):
        load(path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.gtn")


def test_save_of_an_unsupported_object_names_it(tmp_path):
    with pytest.raises(TypeError, match="dict.*cannot save|save expects an estimator"):
        save({"a": 1}, tmp_path / "m.gtn")
    assert not (tmp_path / "m.gtn").exists()


# --------------------------------------------------- huge requests
def _chunks_of(rows, monkeypatch):
    """Make every forward pass take ``rows`` rows; record the chunk sizes."""
    seen = []
    original = runtime_module.run_chunked

    def spy(fn, inputs, **kwargs):
        seen.append(kwargs["rows"])
        return original(fn, inputs, **{**kwargs, "rows": rows})

    monkeypatch.setattr(base_module, "run_chunked", spy)
    return seen


def test_huge_sample_request_is_served_in_chunks(objects, monkeypatch):
    gtn = objects["gtn"]
    expected = gtn.sample(1000, random_state=0)
    sizes = []
    forward = MLP.forward

    def recording(self, x):
        sizes.append(len(x))
        return forward(self, x)

    _chunks_of(7, monkeypatch)
    monkeypatch.setattr(MLP, "forward", recording)
    # the same draws through other chunks (other kernels): equal to rounding
    np.testing.assert_allclose(
        gtn.sample(1000, random_state=0), expected, rtol=1e-4, atol=1e-5
    )
    assert max(sizes) == 7 and sum(sizes) == 1000  # 7 rows at a time


def test_huge_pipeline_request_is_served_in_chunks(objects, monkeypatch):
    ae, pipe = objects["ae"], objects["pipe"]
    expected = pipe.sample(500, random_state=1)
    codes = np.random.RandomState(0).normal(size=(50, LATENT))
    images = ae.inverse_transform(codes)
    _chunks_of(5, monkeypatch)
    np.testing.assert_allclose(
        pipe.sample(500, random_state=1), expected, rtol=1e-4, atol=1e-5
    )
    # the autoencoder runs on the same runner, in chunks of 5 images too
    np.testing.assert_allclose(
        ae.inverse_transform(codes), images, rtol=1e-5, atol=1e-6
    )


# ---------------------------------------------------------- docs table
def _message(call):
    try:
        call()
    except (TypeError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        return f"{type(exc).__name__}: ``{first}``"
    return "no error"


def _table():  # pragma: no cover - run by hand to refresh docs/bad_input.rst
    objs = _fit_objects()
    lines = []
    for param in _array_rows():
        entry, arg, call, case, A = param.values
        if isinstance(A, tuple):
            text = _message(
                lambda A=A: label_pairs(A[1], np.ones((3, D)), device="cpu")
            )
        else:
            text = _message(lambda call=call, A=A: call(objs, A))
        lines.append((entry, f"``{arg}``: {case}", text))
    for param in _scalar_rows():
        entry, arg, call, value, _, _ = param.values
        text = _message(lambda call=call, value=value: call(objs, value))
        lines.append((entry, f"``{arg}={value!r}``", text))
    for param in _label_rows():
        entry, _, label, call = param.values
        lines.append((entry, f"``{label}``", _message(lambda call=call: call(objs))))
    torch.cuda.is_available = lambda: False
    for param in _option_rows():
        entry, _, label, call, _, _ = param.values
        lines.append((entry, f"``{label}``", _message(call)))
    widths = [max(len(row[i]) for row in lines) for i in range(3)]
    widths = [max(w, 10) for w in widths]
    rule = "  ".join("=" * w for w in widths)
    out = [
        rule,
        "  ".join(
            h.ljust(w)
            for h, w in zip(("Entry point", "Case", "Error"), widths, strict=True)
        ),
        rule,
    ]
    for row in lines:
        out.append(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        )
    out.append(rule)
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(_table())
