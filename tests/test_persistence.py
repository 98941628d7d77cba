"""save/load: one file, no pickle, atomic writes, clear errors on bad files."""

import io
import json
import os
import pickle
import re
import struct
import subprocess
import sys
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.neighbors import KernelDensity
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

import sklearn_gtn
import sklearn_gtn._registry as registry
import sklearn_gtn._versioning as versioning_module
import sklearn_gtn.persistence as persistence
from sklearn_gtn import (
    ConvAutoencoder,
    GenerativePipeline,
    GTNMixture,
    GTNSampler,
    GTNVersionWarning,
    load,
    make_generative_pipeline,
    save,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gtn(**params):
    base = dict(hidden_layer_sizes=(8, 8), max_epochs=2, device="cpu", random_state=0)
    base.update(params)
    return GTNSampler(**base)


@pytest.fixture(scope="module")
def fitted_gtn():
    X = np.random.RandomState(0).uniform(size=(120, 2)) * [1.0, 10.0] + 3.0
    return _gtn().fit(X), X


@pytest.fixture(scope="module")
def fitted_ae():
    X = np.random.RandomState(1).uniform(size=(24, 1, 6, 6))
    torch.set_num_threads(1)
    return ConvAutoencoder(
        latent_dim=2, max_epochs=1, device="cpu", random_state=0
    ).fit(X), X


# base64 of a pickle that would call os.system("touch")
_PICKLE_B64 = "gASVIQAAAAAAAACMAm9zlIwGc3lzdGVtlJOUjAV0b3VjaJSFlFKULg=="


def _marker_payload(marker):
    """An object whose unpickling would create ``marker``."""

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    return Payload()


def _rewrite(path, edit_metadata=None, members=None):
    """Rewrite a model file with edited metadata and/or other members."""
    with zipfile.ZipFile(path) as zf:
        content = {name: zf.read(name) for name in zf.namelist()}
    if edit_metadata is not None:
        meta = json.loads(content["metadata.json"])
        edit_metadata(meta)
        content["metadata.json"] = json.dumps(meta).encode()
    if members is not None:
        content.update(members)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in content.items():
            zf.writestr(name, data)


# ---------------------------------------------------------------- round trips
def test_gtn_sampler_round_trip_is_identical(fitted_gtn, tmp_path):
    gtn, X = fitted_gtn
    path = tmp_path / "gtn.gtn"
    gtn.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version: silent
        again = load(path)
    assert type(again) is GTNSampler
    assert again.get_params() == gtn.get_params()
    assert_array_equal(again.sample(50, random_state=3), gtn.sample(50, random_state=3))
    assert_array_equal(again.transform(X), gtn.transform(X))
    codes = np.random.RandomState(0).normal(size=(7, 2))
    assert_array_equal(again.inverse_transform(codes), gtn.inverse_transform(codes))
    for name in ("mean_", "scale_"):
        assert_array_equal(getattr(again, name), getattr(gtn, name))
    for name in ("n_features_in_", "n_epochs_", "best_epoch_", "device_"):
        assert getattr(again, name) == getattr(gtn, name)
    assert again.best_validation_loss_ == gtn.best_validation_loss_
    assert list(again.net_.history[:, "train_loss"]) == list(
        gtn.net_.history[:, "train_loss"]
    )
    assert not again.net_.module_.training
    # a loaded model pickles like a fitted one
    twin = pickle.loads(pickle.dumps(again))
    assert_array_equal(twin.sample(5, random_state=0), gtn.sample(5, random_state=0))
    # a loaded model can be refitted
    again.set_params(max_epochs=1).fit(X)
    assert again.n_epochs_ == 1


def test_fused_adam_is_dropped_where_torch_lacks_it(fitted_gtn, tmp_path, monkeypatch):
    # a model trained with a fused Adam loads where this torch has none on
    # the target device (the CPU before torch 2.4); samples are unchanged
    gtn, X = fitted_gtn
    if not gtn.net_.get_params().get("optimizer__fused"):
        pytest.skip("this torch has no fused Adam on the CPU")
    path = tmp_path / "gtn.gtn"
    gtn.save(path)
    monkeypatch.setattr(persistence, "_fused_adam", lambda device_type: False)
    again = load(path)
    for net in (again.net_, again.inverse_net_):
        assert "optimizer__fused" not in net.get_params()
    assert_array_equal(again.sample(20, random_state=1), gtn.sample(20, random_state=1))
    monkeypatch.setattr(persistence, "_fused_adam", lambda device_type: True)
    kept = load(path)
    assert kept.net_.get_params()["optimizer__fused"] is True


def test_conv_autoencoder_round_trip_is_identical(fitted_ae, tmp_path):
    ae, X = fitted_ae
    save(ae, tmp_path / "ae.gtn")
    again = load(tmp_path / "ae.gtn")
    assert type(again) is ConvAutoencoder
    Z = ae.transform(X)
    assert_array_equal(again.transform(X), Z)
    assert_array_equal(again.inverse_transform(Z), ae.inverse_transform(Z))
    assert again.image_shape_ == ae.image_shape_
    assert again.device_ == "cpu"
    assert len(again.history_) == len(ae.history_)


def test_pipeline_autoencoder_gtn_round_trip(fitted_ae, tmp_path):
    ae, X = fitted_ae
    gtn = _gtn(fit_inverse=False).fit(ae.transform(X))
    pipe = GenerativePipeline([("ae", ae), ("gtn", gtn)])
    pipe._input_shape = X.shape[1:]  # as fit would record
    pipe.save(tmp_path / "pipe.gtn")
    again = load(tmp_path / "pipe.gtn")
    assert type(again) is GenerativePipeline
    assert list(again.named_steps) == ["ae", "gtn"]
    expected = pipe.sample(6, random_state=2)
    assert expected.shape == (6, 1, 6, 6)
    assert_array_equal(again.sample(6, random_state=2), expected)


def test_pipeline_scaler_pca_gtn_round_trip(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 2)) @ rng.normal(size=(2, 4)) + 7.0
    pipe = make_generative_pipeline(StandardScaler(), PCA(2), _gtn()).fit(X)
    save(pipe, tmp_path / "pipe.gtn")
    again = load(tmp_path / "pipe.gtn")
    assert_array_equal(again.sample(9, random_state=0), pipe.sample(9, random_state=0))
    assert_array_equal(
        again.interpolate(X[0], X[1], n_steps=4),
        pipe.interpolate(X[0], X[1], n_steps=4),
    )
    assert_array_equal(again.transform(X), pipe.transform(X))
    assert_array_equal(again[1].components_, pipe[1].components_)


def test_unfitted_estimator_round_trip(tmp_path):
    gtn = _gtn(random_state=np.random.RandomState(5), lr=0.5)
    save(gtn, tmp_path / "u.gtn")
    again = load(tmp_path / "u.gtn")
    assert again.lr == 0.5
    assert_array_equal(
        again.random_state.randint(1000, size=5),
        np.random.RandomState(5).randint(1000, size=5),
    )
    with pytest.raises(NotFittedError):
        check_is_fitted(again)


def test_gpu_saved_model_loads_on_cpu(fitted_gtn, tmp_path):
    gtn, _ = fitted_gtn
    path = tmp_path / "gpu.gtn"
    save(gtn, path)

    def to_cuda(meta):  # what a model fitted on a GPU looks like
        attrs = meta["estimator"]["attributes"]
        attrs["device_"] = "cuda:0"
        attrs["net_"]["params"]["device"] = "cuda:0"
        attrs["inverse_net_"]["params"]["device"] = "cuda:0"

    _rewrite(path, to_cuda)
    again = load(path, device="cpu")
    assert again.device_ == "cpu"
    assert_array_equal(again.sample(5, random_state=0), gtn.sample(5, random_state=0))
    if not torch.cuda.is_available():
        assert load(path).device_ == "cpu"  # device=None falls back to the CPU


@pytest.mark.cuda
def test_load_moves_networks_to_cuda(fitted_gtn, tmp_path):
    gtn, _ = fitted_gtn
    save(gtn, tmp_path / "m.gtn")
    again = load(tmp_path / "m.gtn", device="cuda")
    assert again.device_.startswith("cuda")
    assert next(again.net_.module_.parameters()).is_cuda
    np.testing.assert_allclose(
        again.sample(50, random_state=0), gtn.sample(50, random_state=0), atol=1e-4
    )
    save(again, tmp_path / "g.gtn")  # tensors are stored from the CPU
    assert load(tmp_path / "g.gtn", device="cpu").device_ == "cpu"


def test_load_device_cuda_without_cuda_is_refused(fitted_gtn, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    save(fitted_gtn[0], tmp_path / "m.gtn")
    with pytest.raises(ValueError, match="device='cuda'.*CUDA is not available"):
        load(tmp_path / "m.gtn", device="cuda")


# --------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    "step",
    [FunctionTransformer(np.log1p), KernelDensity()],
    ids=["FunctionTransformer", "KernelDensity"],
)
def test_unsupported_step_refused_before_writing(step, tmp_path):
    path = tmp_path / "m.gtn"
    path.write_bytes(b"previous")
    pipe = GenerativePipeline([("scale", StandardScaler()), ("odd", step)])
    with pytest.raises(TypeError, match=type(step).__name__ + ".*cannot save"):
        save(pipe, path)
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["m.gtn"]


def test_plain_pickle_file_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.gtn"
    path.write_bytes(pickle.dumps(_marker_payload(marker)))
    with pytest.raises(ValueError, match="pickle"):
        load(path)
    assert not marker.exists()


def test_torch_save_file_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.gtn"
    torch.save({"x": _marker_payload(marker)}, path)  # a zip holding data.pkl
    with pytest.raises(ValueError, match="not an sklearn-gtn model file"):
        load(path)
    assert not marker.exists()


def test_model_file_with_extra_pickle_member_is_refused(fitted_gtn, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    _rewrite(path, members={"data.pkl": pickle.dumps(_marker_payload(marker))})
    with pytest.raises(ValueError, match="data.pkl"):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: m["estimator"].update({"__estimator__": "builtins.eval"}), "eval"),
        (
            lambda m: m["estimator"].update({"__estimator__": "os.system"}),
            "not an estimator sklearn-gtn loads",
        ),
        (
            lambda m: m["estimator"]["params"].update(
                {"lr": {"__pickle__": _PICKLE_B64}}
            ),
            "unknown tagged object",
        ),
        (
            lambda m: m["estimator"]["attributes"]["net_"]["params"].update(
                {"module": {"__class__": "os.system"}}
            ),
            "not allowed",
        ),
        (
            lambda m: m["estimator"]["attributes"].update({"__class__": None}),
            "not allowed",
        ),
        (
            lambda m: m["estimator"]["params"].update({"evil": 1}),
            "no parameter",
        ),
        (lambda m: m.update({"format_version": 99}), "format version 99"),
        (
            lambda m: m["estimator"]["attributes"]["net_"]["params"].update(
                {"compile": True, "evil_param": 1}
            ),
            "cannot be built",
        ),
    ],
    ids=[
        "eval",
        "os.system",
        "pickle-tag",
        "class-param",
        "dunder-attr",
        "unknown-param",
        "newer-format",
        "net-params",
    ],
)
def test_crafted_metadata_is_refused(fitted_gtn, tmp_path, edit, match):
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    _rewrite(path, edit)
    with pytest.raises(ValueError, match=match):
        load(path)


def test_crafted_tensor_header_is_refused(fitted_gtn, tmp_path):
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    header = json.dumps({"t0": {"dtype": "O", "shape": [1], "data_offsets": [0, 8]}})
    blob = struct.pack("<Q", len(header)) + header.encode() + b"\0" * 8
    _rewrite(path, members={"tensors.safetensors": blob})
    with pytest.raises(ValueError, match="unsupported dtype 'O'"):
        load(path)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file_gives_value_error(fitted_gtn, tmp_path, fraction):
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ValueError, match="truncated or corrupt|not an sklearn-gtn"):
        load(path)


def test_corrupted_bytes_give_value_error(fitted_gtn, tmp_path):
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("tensors.safetensors")
    data[info.header_offset + 200] ^= 0xFF  # inside the tensor member: bad CRC
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load(path)


def test_inconsistent_safetensors_offsets_are_refused():
    header = json.dumps({"t0": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}})
    blob = struct.pack("<Q", len(header)) + header.encode() + b"\0" * 8
    with pytest.raises(ValueError, match="out of bounds"):
        persistence._read_safetensors(blob)
    with pytest.raises(ValueError, match="truncated"):
        persistence._read_safetensors(struct.pack("<Q", 10**9) + b"{}")


def test_safetensors_layout_round_trip():
    arrays = {
        "a": ("F64", np.arange(6.0).reshape(2, 3)),
        "b": ("I64", np.array([-1, 2], dtype=np.int64)),
        "c": ("BOOL", np.array([True, False])),
        "d": ("F32", np.zeros((0, 3), dtype=np.float32)),
    }
    buf = io.BytesIO()
    persistence._write_safetensors(buf, arrays)
    raw = buf.getvalue()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0  # data aligned, as the safetensors layout asks
    assert json.loads(raw[8 : 8 + n])["a"] == {
        "dtype": "F64",
        "shape": [2, 3],
        "data_offsets": [0, 48],
    }
    back = persistence._read_safetensors(raw)
    for name, (code, arr) in arrays.items():
        assert back[name][0] == code
        assert_array_equal(back[name][1], arr)


# ------------------------------------------------------- versions and writes
def test_other_package_version_warns(fitted_gtn, tmp_path):
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    _rewrite(path, lambda m: m["versions"].update({"sklearn_gtn": "0.0.1"}))
    with pytest.warns(GTNVersionWarning, match=r"saved with sklearn-gtn 0\.0\.1"):
        again = load(path)
    assert_array_equal(
        again.sample(3, random_state=0), fitted_gtn[0].sample(3, random_state=0)
    )


def test_conv_autoencoder_pickle_stores_version(fitted_ae, monkeypatch):
    blob = pickle.dumps(fitted_ae[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(blob)
    monkeypatch.setattr(versioning_module, "__version__", "0.0.1")
    with pytest.warns(GTNVersionWarning, match="ConvAutoencoder was pickled"):
        pickle.loads(blob)


def test_failed_write_leaves_previous_file_intact(fitted_gtn, tmp_path, monkeypatch):
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    before = path.read_bytes()

    def broken_writer(fileobj, tensors):
        fileobj.write(b"\0" * 1000)  # part of the data, then a crash
        raise OSError("disk full")

    monkeypatch.setattr(persistence, "_write_safetensors", broken_writer)
    other = _gtn(hidden_layer_sizes=(3,))
    with pytest.raises(OSError, match="disk full"):
        save(other, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.gtn"]  # no temporary file left
    assert load(path).get_params() == fitted_gtn[0].get_params()


def test_save_keeps_permissions_of_replaced_file(fitted_gtn, tmp_path):
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    os.chmod(path, 0o640)
    save(fitted_gtn[0], path)
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_public_api_exports():
    assert sklearn_gtn.save is save and sklearn_gtn.load is load
    assert "sklearn_gtn.GTNSampler" in persistence.SUPPORTED_ESTIMATORS


def test_pipeline_with_memory_is_refused(tmp_path):
    pipe = GenerativePipeline([("gtn", _gtn())], memory=str(tmp_path / "cache"))
    with pytest.raises(TypeError, match="memory"):
        save(pipe, tmp_path / "m.gtn")
    pipe.set_params(memory=None)
    save(pipe, tmp_path / "m.gtn")
    _rewrite(
        tmp_path / "m.gtn",
        lambda m: m["estimator"]["params"].update({"memory": "/tmp/elsewhere"}),
    )
    with pytest.raises(ValueError, match="memory must be None"):
        load(tmp_path / "m.gtn")


def test_tensor_member_interoperates_with_safetensors_package(fitted_gtn, tmp_path):
    st = pytest.importorskip("safetensors.numpy")  # optional: not a dependency
    save(fitted_gtn[0], tmp_path / "m.gtn")
    with zipfile.ZipFile(tmp_path / "m.gtn") as zf:
        raw = zf.read("tensors.safetensors")
    theirs = st.load(raw)
    ours = persistence._read_safetensors(raw)
    assert set(theirs) == set(ours)
    for name, (_, arr) in ours.items():
        assert_array_equal(theirs[name], arr)
    blob = st.save({"a": np.arange(5.0), "b": np.ones((2, 3), dtype=np.float32)})
    back = persistence._read_safetensors(blob)
    assert_array_equal(back["b"][1], np.ones((2, 3), dtype=np.float32))


# ------------------------------------------------------ registry and format keys
_DATA = os.path.join(os.path.dirname(__file__), "data")


def test_file_from_version_one_loads_and_samples_the_same():
    # written by the sklearn-gtn of 2026-12-04 (main at 6b3f5d3), whose keys
    # named private module paths ("sklearn_gtn.sampler._TensorBatches")
    path = os.path.join(_DATA, "pipeline_v1.gtn")
    with zipfile.ZipFile(path) as zf:
        assert b"sklearn_gtn.sampler._TensorBatches" in zf.read("metadata.json")
    with warnings.catch_warnings():  # once sklearn-gtn's version moves on
        warnings.simplefilter("ignore", GTNVersionWarning)
        pipe = load(path)
    assert type(pipe) is GenerativePipeline
    X = np.load(os.path.join(_DATA, "fixture_input.npy"))
    # same computation as when the file was written: float32 rounding only
    np.testing.assert_allclose(
        pipe.sample(8, random_state=3),
        np.load(os.path.join(_DATA, "pipeline_v1_sample.npy")),
        rtol=1e-6,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        pipe.transform(X),
        np.load(os.path.join(_DATA, "pipeline_v1_transform.npy")),
        rtol=1e-6,
        atol=1e-6,
    )


def test_format_keys_name_no_private_module(fitted_gtn, fitted_ae, tmp_path):
    for name, est in [("gtn", fitted_gtn[0]), ("ae", fitted_ae[0])]:
        save(est, tmp_path / name)
        with zipfile.ZipFile(tmp_path / name) as zf:
            text = zf.read("metadata.json").decode()
        keys = re.findall(r'"__(?:estimator|class|module|net)__": "([^"]+)"', text)
        assert keys
        for key in keys:
            assert "._" not in key, key


def test_persistence_imports_no_estimator_module():
    source = open(persistence.__file__).read()
    imported = re.findall(r"^from \.(\w+) import|^from \. import (\w+)", source, re.M)
    modules = {a or b for a, b in imported}
    assert modules <= {
        "_registry",
        "_modules",
        "_runtime",
        "_utils",
        "_version",
        "_versioning",
    }, modules
    versioning = open(versioning_module.__file__).read()
    assert "persistence" not in re.sub(r'""".*?"""|#.*', "", versioning, flags=re.S)


def test_saving_through_the_method_uses_the_registry(fitted_gtn, tmp_path):
    calls = []
    real = registry._SAVER[0]
    registry.install_saver(lambda est, path: calls.append((est, path)))
    try:
        fitted_gtn[0].save(tmp_path / "m.gtn")
    finally:
        registry.install_saver(real)
    assert calls == [(fitted_gtn[0], tmp_path / "m.gtn")]


def test_registry_refuses_a_taken_key():
    with pytest.raises(ValueError, match="taken"):
        registry.register("sklearn_gtn.GTNSampler")(type("Other", (), {}))
    assert registry.lookup("sklearn_gtn._modules.MLP") is registry.lookup(
        "sklearn_gtn.MLP"
    )


def test_registry_refuses_what_is_not_a_class():
    # a helper function placed between the decorator and its class once took
    # GTNSampler's key, and save() then refused GTNSampler
    with pytest.raises(TypeError, match="decorates classes"):
        registry.register("tests.not_a_class")(lambda: None)
    assert registry.lookup("tests.not_a_class") is None
    assert registry.key_of(GTNSampler) == "sklearn_gtn.GTNSampler"


# ---------------------------------------------------- every estimator saves
@registry.register("tests.DummyTabularEncoder")
class _DummyTabularEncoder(BaseEstimator):
    """Stands for a registered estimator whose fitted state is plain data."""

    def __init__(self, columns=None, scaler=None):
        self.columns = columns
        self.scaler = scaler

    def fit(self, X, y=None):
        self.categories_ = [
            np.array(["a", "b", None, np.nan], dtype=object),
            np.array(["x", "yy"]),
            np.array([1, 5, 9]),
        ]
        self.n_features_in_ = 3
        self.name_ = "enc"
        self.ratio_ = 0.25
        self.fitted_ok_ = True
        self.nothing_ = None
        self.spans_ = {"a": slice(0, 4), "b": slice(4, 6, None)}
        self.index_ = {0: "a", 2: ("b", 3), "c": [1.5, float("inf")]}
        self.shape_ = (3, (4, 5))
        self.matrix_ = np.arange(6.0).reshape(2, 3)
        self.scaler_ = StandardScaler().fit([[0.0], [2.0]])
        self.count_ = np.int64(7)
        self._private = {"dtype": np.dtype("float32"), "kind": np.float64}
        return self


def _same(a, b):
    """Equal values and types, arrays included (NaN equal to NaN)."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        for x, y in zip(a.ravel().tolist(), b.ravel().tolist(), strict=True):
            _same(x, y)
        return
    if isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b)
        return
    if isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
        return
    if isinstance(a, dict):
        assert type(b) is dict and list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
        return
    if isinstance(a, BaseEstimator):
        assert type(a) is type(b)
        _same(vars(a), vars(b))
        return
    assert type(a) is type(b) and a == b, (a, b)


def test_registered_estimator_with_plain_fitted_state_round_trips(tmp_path):
    enc = _DummyTabularEncoder(columns=["a", "b"], scaler=StandardScaler()).fit(None)
    save(enc, tmp_path / "enc.gtn")
    again = load(tmp_path / "enc.gtn")
    assert type(again) is _DummyTabularEncoder
    _same(vars(enc), vars(again))


def _tabular_frame():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    return pd.DataFrame(
        {
            "a": rng.normal(size=80),
            "b": rng.choice(["x", "y", None], size=80),
            "c": rng.randint(0, 3, 80),
            "d": rng.lognormal(size=80),
        }
    )


def _sklearn_cases():
    df = _tabular_frame()
    X = df[["a", "d"]].to_numpy()
    return [
        (StandardScaler(), X),
        (MinMaxScaler(), X),
        (MaxAbsScaler(), X),
        (RobustScaler(), X),
        (QuantileTransformer(n_quantiles=20), X),
        (PowerTransformer(), X),
        (
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                min_frequency=5,
                sparse_output=False,
            ),
            df[["b", "c"]],
        ),
        (
            OrdinalEncoder(
                handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32
            ),
            df[["b", "c"]],
        ),
        (PCA(1), X),
        (KMeans(2, n_init=2, random_state=0), X),
        (SimpleImputer(strategy="most_frequent"), df[["b"]]),
        (SimpleImputer(), np.where(X > 1, np.nan, X)),
        (
            ColumnTransformer(
                [
                    ("num", StandardScaler(), ["a"]),
                    ("cat", OneHotEncoder(sparse_output=False), ["b"]),
                ],
                remainder="passthrough",
            ),
            df,
        ),
        (
            Pipeline([("impute", SimpleImputer()), ("scale", RobustScaler())]),
            np.where(X > 1, np.nan, X),
        ),
    ]


@pytest.mark.parametrize(
    "est, data",
    _sklearn_cases(),
    ids=lambda v: type(v).__name__ if hasattr(v, "fit") else "",
)
def test_sklearn_transformer_round_trip_transforms_the_same(est, data, tmp_path):
    est.fit(data)
    save(est, tmp_path / "t.gtn")
    again = load(tmp_path / "t.gtn")
    assert type(again) is type(est)
    assert again.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    if hasattr(est, "transform"):
        out, back = est.transform(data), again.transform(data)
    else:
        out, back = est.predict(data), again.predict(data)
    if out.dtype == object:
        assert_array_equal(back, out)
    else:  # copies may differ in memory layout: BLAS rounding only
        np.testing.assert_allclose(back, out, rtol=1e-12, atol=1e-12)
        assert back.dtype == out.dtype
    try:
        inverse = est.inverse_transform(out)
    except (AttributeError, ValueError):  # not invertible (SimpleImputer)
        return
    back = again.inverse_transform(out)
    if np.asarray(inverse).dtype == object:
        _same(np.asarray(back), np.asarray(inverse))
    else:
        np.testing.assert_allclose(back, inverse, rtol=1e-12, atol=1e-12)


def test_tabular_generative_pipeline_round_trip(tmp_path):
    df = _tabular_frame()
    ct = ColumnTransformer(
        [
            ("num", StandardScaler(), ["a", "d"]),
            ("cat", OneHotEncoder(sparse_output=False), ["b"]),
        ]
    )
    pipe = make_generative_pipeline(ct, _gtn(hidden_layer_sizes=(4,))).fit(df)
    save(pipe, tmp_path / "tab.gtn")
    again = load(tmp_path / "tab.gtn")
    assert_array_equal(again.transform(df), pipe.transform(df))
    assert_array_equal(
        again[-1].sample(5, random_state=0), pipe[-1].sample(5, random_state=0)
    )


@pytest.mark.parametrize("with_labels", [False, True])
def test_gtn_mixture_round_trip_samples_the_same(with_labels, tmp_path):
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(-4, 1, (60, 2)), rng.normal(4, 1, (60, 2))]
    y = np.array(["left", "right"]).repeat(60) if with_labels else None
    mix = GTNMixture(_gtn(hidden_layer_sizes=(4,)), n_components=2, random_state=0).fit(
        X, y
    )
    save(mix, tmp_path / "mix.gtn")
    again = load(tmp_path / "mix.gtn")
    assert type(again) is GTNMixture
    assert_array_equal(again.classes_, mix.classes_)
    assert_array_equal(again.sample(9, random_state=1), mix.sample(9, random_state=1))
    if with_labels:
        assert_array_equal(
            again.sample(3, random_state=1, y="right"),
            mix.sample(3, random_state=1, y="right"),
        )
    else:
        assert_array_equal(again.predict(X), mix.predict(X))
    unfitted = GTNMixture(n_components=[2, 3])
    save(unfitted, tmp_path / "u.gtn")
    assert load(tmp_path / "u.gtn").get_params() == unfitted.get_params()


def test_function_transformer_with_code_is_refused(tmp_path):
    with pytest.raises(TypeError, match="FunctionTransformer.*cannot save"):
        save(FunctionTransformer(np.log1p), tmp_path / "f.gtn")
    save(FunctionTransformer(), tmp_path / "f.gtn")  # the identity runs no code
    assert type(load(tmp_path / "f.gtn")) is FunctionTransformer


# ------------------------------------------- crafted files: bounded and refused
def _zip(path, metadata, tensors):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", metadata)
        zf.writestr("tensors.safetensors", tensors)


def _traced_peak(function):
    """Peak bytes allocated through Python and NumPy while ``function`` runs."""
    tracemalloc.start()
    try:
        function()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _refused_peak(path, match):
    def attempt():
        with pytest.raises(ValueError, match=match):
            load(path)

    return _traced_peak(attempt)


def test_tensor_entries_sharing_one_range_are_refused_cheaply(fitted_gtn, tmp_path):
    # the attack's D-1 file: 300 entries over one 8 MB range cost 2.8 GB
    path = tmp_path / "shared.gtn"
    save(fitted_gtn[0], path)
    with zipfile.ZipFile(path) as zf:
        meta = zf.read("metadata.json")
    n = 2 * 2**20  # float32 values: 8 MB
    header = {
        f"t{i}": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}
        for i in range(300)
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    _zip(path, meta, struct.pack("<Q", len(raw)) + raw + bytes(4 * n))
    size = os.path.getsize(path)
    assert size > 8 * 10**6
    peak = _refused_peak(path, "gaps or overlaps")
    assert peak < 1.5 * size, (peak, size)  # measured: about 1.0x


def test_tensor_sizes_beyond_the_file_are_refused_before_allocating(tmp_path):
    # one entry claims 8 GB; the member holds 8 MB
    meta = json.dumps(
        {
            "format": "sklearn-gtn",
            "format_version": 1,
            "estimator": {
                "__estimator__": "sklearn.preprocessing.StandardScaler",
                "params": {},
                "attributes": {"mean_": {"__array__": "t0"}},
            },
        }
    )
    n = 2 * 2**20
    header = json.dumps(
        {"t0": {"dtype": "F32", "shape": [n * 1000], "data_offsets": [0, 4 * n * 1000]}}
    ).encode()
    path = tmp_path / "big.gtn"
    _zip(path, meta, struct.pack("<Q", len(header)) + header + bytes(4 * n))
    peak = _refused_peak(path, "out of bounds")
    assert peak < 1.5 * os.path.getsize(path), peak


def test_json_bomb_is_refused_before_parsing(fitted_gtn, tmp_path):
    path = tmp_path / "bomb.gtn"
    save(fitted_gtn[0], path)
    bomb = b'{"format": "sklearn-gtn", "x": [' + b"[]," * (3 * 2**20) + b"[]]}"
    _rewrite(path, members={"metadata.json": bomb})
    size = os.path.getsize(path)
    # json.loads of it would take about 200 MB
    peak = _refused_peak(path, "too large to parse safely")
    assert peak < 1.5 * size, (peak, size)


_RSS_SCRIPT = """
import resource, sys, warnings
sys.path.insert(0, {root!r})
import sklearn_gtn
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    sklearn_gtn.load({path!r})
except ValueError as exc:
    print("refused:", exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("grew_kb", after - before)
"""


@pytest.mark.slow  # a fresh process imports torch: about 5-10 s
def test_module_arguments_are_checked_before_building(fitted_gtn, tmp_path):
    # a 10 KB file asking for hidden layers of 12000 units: building the
    # network first cost 1.5 GB; the arguments are now checked against the
    # stored weights on the meta device
    path = tmp_path / "wide.gtn"
    save(fitted_gtn[0], path)

    def widen(meta):
        params = meta["estimator"]["attributes"]["net_"]["params"]
        params["module__hidden_layer_sizes"] = {"__tuple__": [12000] * 3}

    _rewrite(path, widen)
    assert os.path.getsize(path) < 50_000
    with pytest.raises(ValueError, match="do not match the stored weights"):
        load(path)
    # torch's allocations are not traced by tracemalloc: measure the peak
    # resident size of a fresh process instead
    root = os.path.dirname(os.path.dirname(sklearn_gtn.__file__))
    out = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT.format(root=root, path=str(path))],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert "refused:" in out.stdout, out.stdout + out.stderr
    grew_kb = int(out.stdout.split("grew_kb")[1])
    assert grew_kb < 100 * 1024, grew_kb  # 12000^2 float32 weights alone: 576 MB


def test_mismatched_module_arguments_are_refused(fitted_ae, tmp_path):
    path = tmp_path / "ae.gtn"
    save(fitted_ae[0], path)

    def taller(meta):
        meta["estimator"]["attributes"]["module_"]["kwargs"]["__dict__"]["height"] = (
            4000
        )

    _rewrite(path, taller)
    with pytest.raises(ValueError, match="do not match the stored weights"):
        load(path)


# ------------------------------------------------ load raises only ValueError
@pytest.mark.parametrize(
    "edit, match",
    [
        # shadows a method: loaded, then sample failed (D-5)
        (lambda m: m["estimator"]["attributes"].update({"_run": 1}), "_run"),
        (lambda m: m["estimator"]["attributes"].update({"sample": 1}), "sample"),
        (lambda m: m["estimator"]["attributes"].update({"n_features_in": 1}), "n_fe"),
        # numbers NumPy or torch cannot hold (OverflowError before)
        (
            lambda m: m["estimator"]["attributes"].update(
                {"x_": {"__scalar__": "<i1", "value": 10**6}}
            ),
            "corrupt",
        ),
        (
            lambda m: m["estimator"]["attributes"]["net_"]["params"].update(
                {"module__n_features_in": 10**30}
            ),
            "cannot be built|do not match",
        ),
        (
            lambda m: m["estimator"]["attributes"]["net_"]["params"].update(
                {"device": "cuda:x"}
            ),
            "device",
        ),
        (
            lambda m: m["estimator"]["attributes"]["net_"].update({"state": []}),
            "malformed",
        ),
        (
            lambda m: m["estimator"]["attributes"].update(
                {"x_": {"__objects__": [1, 2], "shape": [3]}}
            ),
            "shape",
        ),
        (
            lambda m: m["estimator"]["attributes"].update(
                {"x_": {"__mapping__": [[[1], 2]]}}
            ),
            "mapping key",
        ),
        (
            lambda m: m["estimator"]["attributes"].update(
                {"x_": {"__type__": "os.system"}}
            ),
            "not allowed",
        ),
        (
            lambda m: m["estimator"]["attributes"].update({"x_": {"__dtype__": "V8"}}),
            "dtype",
        ),
        (lambda m: m["estimator"].update({"__estimator__": ["list"]}), "not an estim"),
    ],
)
def test_crafted_values_give_value_error(fitted_gtn, tmp_path, edit, match):
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    _rewrite(path, edit)
    with pytest.raises(ValueError, match=match):
        load(path)


def test_load_opens_the_file_once(fitted_gtn, tmp_path, monkeypatch):
    # a second open could see another process's newer file (D-5)
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    opened = []
    real_open = io.open

    def counting_open(file, *args, **kwargs):
        opened.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    load(path)
    assert [os.fspath(p) for p in opened] == [str(path)]


def test_missing_file_is_an_os_error_not_value_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.gtn")


def test_keyboard_interrupt_is_not_turned_into_value_error(
    fitted_gtn, tmp_path, monkeypatch
):
    save(fitted_gtn[0], tmp_path / "m.gtn")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(persistence, "_read_safetensors", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load(tmp_path / "m.gtn")
    monkeypatch.setattr(persistence, "_read_safetensors", lambda *a, **k: 1 / 0)
    with pytest.raises(ValueError, match="ZeroDivisionError"):
        load(tmp_path / "m.gtn")


def test_flipped_and_truncated_bytes_load_correctly_or_give_value_error(tmp_path):
    # seeded fuzzing of a small valid file: each outcome is a ValueError or
    # a model that samples as the original does
    source = os.path.join(_DATA, "pipeline_v1.gtn")
    data = open(source, "rb").read()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GTNVersionWarning)
        reference = load(source).sample(4, random_state=0)
    rng = np.random.RandomState(0)
    path = tmp_path / "fuzz.gtn"
    outcomes = {"loaded": 0, "refused": 0}
    for trial in range(300):
        blob = bytearray(data)
        kind = trial % 3
        if kind == 0:  # flip a few bytes
            for at in rng.randint(len(blob), size=rng.randint(1, 4)):
                blob[at] ^= rng.randint(1, 256)
        elif kind == 1:  # truncate
            blob = blob[: rng.randint(len(blob))]
        else:  # overwrite a run of bytes
            at = rng.randint(len(blob))
            blob[at : at + 8] = rng.bytes(8)
        path.write_bytes(bytes(blob))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = load(path)
        except ValueError:
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1  # e.g. a flipped timestamp in the zip headers
        assert_array_equal(model.sample(4, random_state=0), reference)
    assert outcomes["refused"] > 200, outcomes


# ------------------------------------------------------------ atomic writes
def test_save_works_for_a_250_character_file_name(fitted_gtn, tmp_path, monkeypatch):
    # the temporary name was longer than the final one (D-8)
    temporary = []
    real_replace = os.replace

    def recording_replace(src, dst):
        temporary.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(persistence.os, "replace", recording_replace)
    path = tmp_path / ("m" * 246 + ".gtn")
    save(fitted_gtn[0], path)
    assert os.listdir(tmp_path) == [path.name]
    assert load(path).get_params() == fitted_gtn[0].get_params()
    assert len(temporary[0]) <= 16 and temporary[0].startswith(".gtn")


@pytest.mark.parametrize("error", [KeyboardInterrupt, MemoryError, OSError])
def test_interrupted_save_leaves_no_temporary_file(
    error, fitted_gtn, tmp_path, monkeypatch
):
    # D-9: whatever ends the write, the temporary file goes
    path = tmp_path / "model.gtn"
    save(fitted_gtn[0], path)
    os.chmod(path, 0o600)
    before = path.read_bytes()

    def interrupted(fileobj, tensors):
        fileobj.write(b"\0" * 100)
        raise error

    monkeypatch.setattr(persistence, "_write_safetensors", interrupted)
    with pytest.raises(error):
        save(fitted_gtn[0], path)
    assert os.listdir(tmp_path) == ["model.gtn"]
    assert path.read_bytes() == before
    assert os.stat(path).st_mode & 0o777 == 0o600


_UNPICKLE_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
import joblib, numpy as np
model = joblib.load({path!r})
print("max", np.abs(model.sample(5, random_state=0) - np.load({ref!r})).max())
"""


@pytest.mark.slow  # a fresh process imports torch: about 5-10 s
def test_joblib_pickle_loads_in_a_fresh_process(fitted_gtn, tmp_path):
    # skorch before 1.2 unpickled nets with torch.load, whose default became
    # weights_only=True in torch 2.6 and refuses sklearn_gtn's MLP; skorch
    # 1.2+ unpickles with pickle and uses torch.load for tensors only
    joblib = pytest.importorskip("joblib")
    gtn = fitted_gtn[0]
    joblib.dump(gtn, tmp_path / "gtn.joblib")
    np.save(tmp_path / "ref.npy", gtn.sample(5, random_state=0))
    root = os.path.dirname(os.path.dirname(sklearn_gtn.__file__))
    script = _UNPICKLE_SCRIPT.format(
        root=root, path=str(tmp_path / "gtn.joblib"), ref=str(tmp_path / "ref.npy")
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.split("max")[1]) < 1e-6


def test_one_tensor_referenced_many_times_is_refused(fitted_gtn, tmp_path):
    # each reference copied the tensor: 1,000 references, 1,000 copies
    path = tmp_path / "refs.gtn"
    save(fitted_gtn[0], path)

    def repeat(meta):
        ref = meta["estimator"]["attributes"]["mean_"]
        meta["estimator"]["attributes"]["many_"] = [ref] * 1000

    _rewrite(path, repeat)
    with pytest.raises(ValueError, match="referenced twice"):
        load(path)


def test_padded_string_array_bomb_is_refused(fitted_gtn, tmp_path):
    # one long string pads every item of a str array: 4 TB from 4 MB
    path = tmp_path / "strings.gtn"
    save(fitted_gtn[0], path)
    bomb = {"__strings__": ["x" * 10**6] + [""] * 10**6, "dtype": "<U1"}
    _rewrite(path, lambda m: m["estimator"]["attributes"].update({"names_": bomb}))
    peak = _refused_peak(path, "string array would take")
    assert peak < 10 * os.path.getsize(path), peak


def test_kmeans_thread_count_comes_from_this_machine(tmp_path):
    km = KMeans(2, n_init=1, random_state=0).fit(np.random.RandomState(0).rand(20, 2))
    save(km, tmp_path / "k.gtn")
    with zipfile.ZipFile(tmp_path / "k.gtn") as zf:
        assert b"_n_threads" not in zf.read("metadata.json")
    again = load(tmp_path / "k.gtn")
    assert again._n_threads == km._n_threads  # same machine
    _rewrite(
        tmp_path / "k.gtn",
        lambda m: m["estimator"]["attributes"].update({"_n_threads": 10**6}),
    )
    with pytest.raises(ValueError, match="_n_threads"):
        load(tmp_path / "k.gtn")


def test_a_network_class_as_the_loss_is_refused(fitted_gtn, tmp_path):
    # skorch would build the "criterion" with the file's arguments before
    # any weight is checked
    path = tmp_path / "crit.gtn"
    save(fitted_gtn[0], path)

    def mlp_loss(meta):
        params = meta["estimator"]["attributes"]["net_"]["params"]
        params["criterion"] = {"__class__": "sklearn_gtn.MLP"}
        params["criterion__n_features_in"] = 12000
        params["criterion__n_features_out"] = 12000
        params["criterion__hidden_layer_sizes"] = {"__tuple__": [12000] * 3}

    _rewrite(path, mlp_loss)
    with pytest.raises(ValueError, match="MLP is not allowed as criterion"):
        load(path)
