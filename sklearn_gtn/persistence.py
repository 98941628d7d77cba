"""Safe persistence: one file per model, no pickle, no code run on load.

:func:`save` writes a fitted (or unfitted) estimator to a single file and
:func:`load` rebuilds it. The file is a zip archive (stored, not compressed)
with exactly two members:

``metadata.json``
    UTF-8 JSON: the format name and version, the versions of sklearn-gtn,
    scikit-learn, torch, skorch and NumPy that wrote it, and the estimator as
    a tree: its class (by name, from an allow-list), its constructor
    parameters and its fitted attributes. Values that JSON cannot hold are
    tagged objects such as ``{"__tuple__": [...]}`` or
    ``{"__array__": "t3"}`` (a reference to a tensor).
``tensors.safetensors``
    Every numeric array and network weight, in the `safetensors
    <https://github.com/huggingface/safetensors>`_ layout: an 8-byte
    little-endian header length, a JSON header
    ``{name: {"dtype", "shape", "data_offsets"}}`` and the raw little-endian
    buffers. It is written and read by the small NumPy code below (no
    dependency on the ``safetensors`` package).

Loading parses JSON and raw numbers only. Classes are looked up in fixed
allow-lists (:data:`SUPPORTED_ESTIMATORS` and the torch modules, skorch nets
and training classes used by this package); anything else is refused with a
``ValueError`` before an object is built. A pickle, a ``torch.save`` file or
any archive with other members is refused.

Writes are atomic: the file is written to a temporary file in the same
directory, flushed to disk, and renamed over the destination, so a failure
at any point leaves a previous file of that name intact.
"""

from __future__ import annotations

import io
import json
import math
import numbers
import os
import struct
import tempfile
import zipfile

import numpy as np
import sklearn
import skorch
import torch
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from skorch import NeuralNet, NeuralNetRegressor
from skorch.dataset import Dataset
from skorch.history import History

from ._batching import _TensorBatches
from ._modules import MLP, ConvAutoencoderModule
from ._runtime import _fused_adam
from ._utils import resolve_device
from ._version import __version__
from ._versioning import warn_if_other_version
from .autoencoder import ConvAutoencoder
from .pipeline import GenerativePipeline
from .sampler import GTNSampler

__all__ = ["save", "load", "SUPPORTED_ESTIMATORS", "FORMAT_VERSION"]

#: Version of the file layout written by :func:`save`.
FORMAT_VERSION = 1
_FORMAT_NAME = "sklearn-gtn"
_METADATA = "metadata.json"
_TENSORS = "tensors.safetensors"
_MAX_HEADER_BYTES = 100 * 2**20  # a safetensors header longer than this is corrupt

#: Estimators :func:`save` can write, by the name stored in the file. The
#: scikit-learn classes are stored through their parameters and fitted
#: attributes (numbers, strings and arrays only).
SUPPORTED_ESTIMATORS = {
    "sklearn_gtn.GTNSampler": GTNSampler,
    "sklearn_gtn.ConvAutoencoder": ConvAutoencoder,
    "sklearn_gtn.GenerativePipeline": GenerativePipeline,
    "sklearn.pipeline.Pipeline": Pipeline,
    "sklearn.preprocessing.StandardScaler": StandardScaler,
    "sklearn.preprocessing.MinMaxScaler": MinMaxScaler,
    "sklearn.preprocessing.MaxAbsScaler": MaxAbsScaler,
    "sklearn.decomposition.PCA": PCA,
}
_ESTIMATOR_NAMES = {cls: name for name, cls in SUPPORTED_ESTIMATORS.items()}

# Classes that may appear as values of skorch net parameters (module,
# criterion, optimizer, iterators, dataset).
_CLASSES = {
    "sklearn_gtn._modules.MLP": MLP,
    "sklearn_gtn._modules.ConvAutoencoderModule": ConvAutoencoderModule,
    "sklearn_gtn.sampler._TensorBatches": _TensorBatches,
    "torch.nn.MSELoss": torch.nn.MSELoss,
    "torch.optim.Adam": torch.optim.Adam,
    "torch.utils.data.DataLoader": torch.utils.data.DataLoader,
    "skorch.dataset.Dataset": Dataset,
}
_CLASS_NAMES = {cls: name for name, cls in _CLASSES.items()}

_NETS = {"skorch.NeuralNetRegressor": NeuralNetRegressor, "skorch.NeuralNet": NeuralNet}
_NET_NAMES = {cls: name for name, cls in _NETS.items()}
# skorch parameters not stored (nor accepted from a file): callbacks are
# training-time objects, the validation split is dropped after fit by the
# estimators of this package, and a loaded net is neither compiled nor used to
# torch.load anything.
_NET_SKIPPED = (
    "callbacks",
    "train_split",
    "_params_to_validate",
    "compile",
    "torch_load_kwargs",
)
# Estimator parameters that are handles on the running processes, not part of
# the model: stored as None, so a loaded model trains in one process.
_RUNTIME_PARAMS = ("accelerator",)


def _mlp_kwargs(module):
    linear = [m for m in module.layers if isinstance(m, torch.nn.Linear)]
    slopes = [
        m.negative_slope for m in module.layers if isinstance(m, torch.nn.LeakyReLU)
    ]
    return {
        "n_features_in": linear[0].in_features,
        "n_features_out": linear[-1].out_features,
        "hidden_layer_sizes": tuple(m.out_features for m in linear[:-1]),
        "negative_slope": float(slopes[0]) if slopes else 0.5,
        "batch_norm": any(isinstance(m, torch.nn.BatchNorm1d) for m in module.layers),
    }


def _conv_ae_kwargs(module):
    enc = module.encoder
    return {
        "in_channels": enc.conv[0].in_channels,
        "height": enc.height,
        "width": enc.width,
        "latent_dim": enc.linear.out_features,
        "channels_last": enc.channels_last,
    }


# torch modules stored on their own (not inside a skorch net), with the
# function that reads their constructor arguments back from an instance.
_MODULES = {
    "sklearn_gtn._modules.MLP": (MLP, _mlp_kwargs),
    "sklearn_gtn._modules.ConvAutoencoderModule": (
        ConvAutoencoderModule,
        _conv_ae_kwargs,
    ),
}
_MODULE_NAMES = {cls: name for name, (cls, _) in _MODULES.items()}


# --------------------------------------------------------------------------
# safetensors layout
# --------------------------------------------------------------------------

_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
    # bfloat16 has no NumPy dtype: its bits travel as int16 and are viewed
    # back as torch.bfloat16 when the tensor is rebuilt
    "BF16": np.dtype("<i2"),
}
_DTYPE_CODES = {
    dt.newbyteorder("="): code for code, dt in _DTYPES.items() if code != "BF16"
}


def _dtype_code(arr):
    code = _DTYPE_CODES.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"arrays of dtype {arr.dtype} cannot be saved.")
    return code


def _write_safetensors(fileobj, tensors):
    """Write ``{name: (code, ndarray)}`` to ``fileobj`` in the safetensors layout."""
    header = {}
    offset = 0
    for name, (code, arr) in tensors.items():
        nbytes = arr.size * _DTYPES[code].itemsize
        header[name] = {
            "dtype": code,
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the data starts 8-byte aligned
    fileobj.write(struct.pack("<Q", len(raw)))
    fileobj.write(raw)
    for code, arr in tensors.values():
        data = np.ascontiguousarray(arr, dtype=_DTYPES[code])
        fileobj.write(memoryview(data.reshape(-1)).cast("B"))


def _read_safetensors(buf):
    """Parse a safetensors buffer into ``{name: (code, ndarray)}``; validate all."""
    if len(buf) < 8:
        raise ValueError("the tensor data is truncated (no header).")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > min(len(buf) - 8, _MAX_HEADER_BYTES):
        raise ValueError("the tensor data is truncated or corrupt (header length).")
    header = _parse_json(buf[8 : 8 + n], "the tensor header")
    if not isinstance(header, dict):
        raise ValueError("the tensor header is not a JSON object.")
    data = memoryview(buf)[8 + n :]
    tensors = {}
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or set(entry) != {
            "dtype",
            "shape",
            "data_offsets",
        }:
            raise ValueError(f"tensor {name!r}: malformed header entry.")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if code not in _DTYPES:
            raise ValueError(f"tensor {name!r}: unsupported dtype {code!r}.")
        if not (isinstance(shape, list) and all(_is_count(s) for s in shape)):
            raise ValueError(f"tensor {name!r}: malformed shape {shape!r}.")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(map(_is_count, offsets))
        ):
            raise ValueError(f"tensor {name!r}: malformed data_offsets.")
        begin, end = offsets
        dtype = _DTYPES[code]
        if (
            not begin <= end <= len(data)
            or end - begin != math.prod(shape) * dtype.itemsize
        ):
            raise ValueError(f"tensor {name!r}: data out of bounds (truncated file?).")
        spans.append((begin, end))
        arr = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).copy()
        tensors[name] = (code, arr)
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise ValueError("the tensor data has gaps or overlaps (corrupt file).")
        position = end
    if position != len(data):
        raise ValueError("the tensor data has trailing bytes (corrupt file).")
    return tensors


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _parse_json(raw, what):
    def refuse_constant(name):
        raise ValueError(f"{what} holds the non-standard JSON constant {name}.")

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None


# --------------------------------------------------------------------------
# encoding
# --------------------------------------------------------------------------


class _Encoder:
    """Turns an estimator into a JSON tree plus a dict of tensors."""

    def __init__(self):
        self.tensors = {}

    def _tensor_ref(self, code, arr):
        name = f"t{len(self.tensors)}"
        self.tensors[name] = (code, arr)
        return name

    def array(self, arr):
        return self._tensor_ref(_dtype_code(arr), np.asarray(arr))

    def tensor(self, t):
        t = t.detach().to("cpu")
        if t.dtype == torch.bfloat16:
            return self._tensor_ref("BF16", t.view(torch.int16).numpy())
        arr = t.numpy()
        return self._tensor_ref(_dtype_code(arr), arr)

    def state_dict(self, module):
        return {k: self.tensor(v) for k, v in module.state_dict().items()}

    def value(self, v, where):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, np.generic) and v.dtype.kind in "biuf":
            return {"__scalar__": v.dtype.str, "value": self.value(v.item(), where)}
        if isinstance(v, numbers.Integral):
            return int(v)
        if isinstance(v, float):
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(v, tuple):
            return {
                "__tuple__": [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]
            }
        if isinstance(v, list) and type(v) is list:
            return [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if type(v) is dict:
            if not all(isinstance(k, str) for k in v):
                raise TypeError(f"{where}: dicts with non-string keys cannot be saved.")
            return {
                "__dict__": {k: self.value(x, f"{where}[{k!r}]") for k, x in v.items()}
            }
        if isinstance(v, np.ndarray):
            if v.dtype.kind in "biuf":
                return {"__array__": self.array(v)}
            if v.ndim == 1 and all(isinstance(x, str) for x in v.tolist()):
                return {"__strings__": v.tolist(), "dtype": str(v.dtype)}
            raise TypeError(f"{where}: arrays of dtype {v.dtype} cannot be saved.")
        if isinstance(v, torch.Tensor):
            return {"__tensor__": self.tensor(v)}
        if isinstance(v, torch.device):
            return {"__device__": str(v)}
        if isinstance(v, np.random.RandomState):
            kind, keys, pos, has_gauss, cached = v.get_state()
            return {
                "__random_state__": kind,
                "keys": self.array(keys),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached),
            }
        if isinstance(v, History):
            return {"__history__": self.value(list(v), where)}
        if isinstance(v, NeuralNet):
            return self.net(v, where)
        if isinstance(v, torch.nn.Module):
            return self.module(v, where)
        if isinstance(v, BaseEstimator):
            return self.estimator(v, where)
        if isinstance(v, type) and v in _CLASS_NAMES:
            return {"__class__": _CLASS_NAMES[v]}
        raise TypeError(
            f"{where} is a {type(v).__module__}.{type(v).__qualname__}, which "
            "sklearn-gtn cannot save."
        )

    def module(self, module, where):
        name = _MODULE_NAMES.get(type(module))
        if name is None:
            raise TypeError(
                f"{where}: torch module {type(module).__name__} cannot be saved."
            )
        cls, read_kwargs = _MODULES[name]
        kwargs = read_kwargs(module)
        # the stored arguments must rebuild exactly these weights
        twin = cls(**kwargs).state_dict()
        state = module.state_dict()
        if {k: v.shape for k, v in twin.items()} != {
            k: v.shape for k, v in state.items()
        }:
            raise TypeError(
                f"{where}: the {name} cannot be rebuilt from its arguments."
            )
        return {
            "__module__": name,
            "kwargs": self.value(kwargs, where),
            "state": self.state_dict(module),
            "training": bool(module.training),
        }

    def net(self, net, where):
        name = _NET_NAMES.get(type(net))
        if name is None:
            raise TypeError(
                f"{where}: skorch net {type(net).__name__} cannot be saved."
            )
        params = {
            k: self.value(v, f"{where}.{k}")
            for k, v in net.get_params(deep=False).items()
            if k not in _NET_SKIPPED and not k.startswith("callbacks__")
        }
        out = {"__net__": name, "params": params, "initialized": bool(net.initialized_)}
        if net.initialized_:
            out["state"] = self.state_dict(net.module_)
            out["training"] = bool(net.module_.training)
            out["history"] = self.value(list(net.history_), f"{where}.history_")
        return out

    def estimator(self, est, where):
        name = _ESTIMATOR_NAMES.get(type(est))
        if name is None:
            raise TypeError(
                f"{where} is a {type(est).__module__}.{type(est).__qualname__}, "
                "which sklearn-gtn cannot save; supported estimators: "
                f"{', '.join(sorted(SUPPORTED_ESTIMATORS))}."
            )
        params = est.get_params(deep=False)
        cls_name = type(est).__name__
        if isinstance(est, Pipeline) and params.get("memory") is not None:
            raise TypeError(
                f"{where}: a pipeline with memory={params['memory']!r} cannot be "
                "saved; set memory=None first."
            )
        return {
            "__estimator__": name,
            "params": {
                k: self.value(None if k in _RUNTIME_PARAMS else v, f"{cls_name}.{k}")
                for k, v in params.items()
            },
            "attributes": {
                k: self.value(v, f"{cls_name}.{k}")
                for k, v in vars(est).items()
                if k not in params
            },
        }


# --------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------


def _tags(obj, *keys):
    if set(obj) != set(keys):
        raise ValueError(f"malformed tagged object with keys {sorted(obj)}.")


class _Decoder:
    """Rebuilds values from the JSON tree; ``device`` maps stored devices."""

    def __init__(self, tensors, device):
        self.tensors = tensors
        self.device = device

    def target(self, stored):
        """The device to put something on that was saved on ``stored``."""
        if self.device is not None:
            return self.device
        stored = torch.device(stored)
        if stored.type == "cuda" and (
            not torch.cuda.is_available()
            or (stored.index or 0) >= torch.cuda.device_count()
        ):
            return torch.device("cpu")
        return stored

    def _take(self, ref):
        if not isinstance(ref, str) or ref not in self.tensors:
            raise ValueError(f"reference to a missing tensor {ref!r}.")
        return self.tensors[ref]

    def array(self, ref):
        code, arr = self._take(ref)
        if code == "BF16":
            raise ValueError(f"tensor {ref!r} is bfloat16 where an array is expected.")
        return arr.copy()

    def tensor(self, ref):
        code, arr = self._take(ref)
        t = torch.from_numpy(arr.copy())
        return t.view(torch.bfloat16) if code == "BF16" else t

    def value(self, v):
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            raise ValueError(f"unexpected JSON value {v!r}.")
        if "__tuple__" in v:
            _tags(v, "__tuple__")
            return tuple(self.value(x) for x in _as_list(v["__tuple__"]))
        if "__dict__" in v:
            _tags(v, "__dict__")
            if not isinstance(v["__dict__"], dict):
                raise ValueError("malformed dict.")
            return {k: self.value(x) for k, x in v["__dict__"].items()}
        if "__float__" in v:
            _tags(v, "__float__")
            if v["__float__"] not in ("nan", "inf", "-inf"):
                raise ValueError(f"malformed float {v['__float__']!r}.")
            return float(v["__float__"])
        if "__scalar__" in v:
            _tags(v, "__scalar__", "value")
            dtype = _numeric_dtype(v["__scalar__"])
            return dtype.type(self.value(v["value"]))
        if "__array__" in v:
            _tags(v, "__array__")
            return self.array(v["__array__"])
        if "__strings__" in v:
            _tags(v, "__strings__", "dtype")
            items = _as_list(v["__strings__"])
            if (
                not all(isinstance(x, str) for x in items)
                or v["dtype"] != "object"
                and (
                    not isinstance(v["dtype"], str)
                    or not v["dtype"].lstrip("<>=|").startswith("U")
                )
            ):
                raise ValueError("malformed string array.")
            return np.array(items, dtype=object if v["dtype"] == "object" else str)
        if "__tensor__" in v:
            _tags(v, "__tensor__")
            return self.tensor(v["__tensor__"])
        if "__device__" in v:
            _tags(v, "__device__")
            return _device(v["__device__"])
        if "__random_state__" in v:
            _tags(v, "__random_state__", "keys", "pos", "has_gauss", "cached_gaussian")
            rs = np.random.RandomState()
            rs.set_state(
                (
                    str(v["__random_state__"]),
                    self.array(v["keys"]),
                    int(v["pos"]),
                    int(v["has_gauss"]),
                    float(v["cached_gaussian"]),
                )
            )
            return rs
        if "__history__" in v:
            _tags(v, "__history__")
            return History(self.value(v["__history__"]))
        if "__class__" in v:
            _tags(v, "__class__")
            if v["__class__"] not in _CLASSES:
                raise ValueError(
                    f"class {v['__class__']!r} is not allowed in a model file."
                )
            return _CLASSES[v["__class__"]]
        if "__module__" in v:
            return self.module(v)
        if "__net__" in v:
            return self.net(v)
        if "__estimator__" in v:
            return self.estimator(v)
        raise ValueError(f"unknown tagged object with keys {sorted(v)}.")

    def _load_state(self, module, refs, what):
        if not isinstance(refs, dict):
            raise ValueError(f"{what}: malformed state.")
        state = {k: self.tensor(ref) for k, ref in refs.items()}
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ValueError(f"{what}: the stored weights do not fit: {exc}") from None

    def module(self, v):
        _tags(v, "__module__", "kwargs", "state", "training")
        if v["__module__"] not in _MODULES:
            raise ValueError(f"torch module {v['__module__']!r} is not allowed.")
        cls, _ = _MODULES[v["__module__"]]
        kwargs = self.value(v["kwargs"])
        module = _construct(cls, kwargs, v["__module__"])
        self._load_state(module, v["state"], v["__module__"])
        return module.train(bool(v["training"]))

    def net(self, v):
        keys = ("__net__", "params", "initialized")
        if v.get("initialized"):
            keys += ("state", "training", "history")
        _tags(v, *keys)
        if v["__net__"] not in _NETS:
            raise ValueError(f"skorch net {v['__net__']!r} is not allowed.")
        if not isinstance(v["params"], dict) or "device" not in v["params"]:
            raise ValueError("malformed skorch net parameters.")
        params = {
            k: self.value(x)
            for k, x in v["params"].items()
            if k not in _NET_SKIPPED and not k.startswith("callbacks__")
        }
        if not isinstance(params["device"], str):
            raise ValueError("malformed skorch net parameters.")
        params["device"] = str(self.target(params["device"]))
        if params.get("optimizer__fused") and not _fused_adam(
            torch.device(params["device"]).type
        ):
            # trained with a fused Adam that this torch lacks on this device
            # (the CPU before torch 2.4): the plain one serves a further fit
            del params["optimizer__fused"]
        net = _construct(
            _NETS[v["__net__"]], {**params, "train_split": None}, v["__net__"]
        )
        if v["initialized"]:
            try:
                net.initialize()
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"{v['__net__']}: cannot be built from the stored arguments: {exc}"
                ) from None
            self._load_state(net.module_, v["state"], v["__net__"])
            net.module_.train(bool(v["training"]))
            net.history_ = History(self.value(v["history"]))
        return net

    def estimator(self, v):
        _tags(v, "__estimator__", "params", "attributes")
        name = v["__estimator__"]
        if name not in SUPPORTED_ESTIMATORS:
            raise ValueError(
                f"class {name!r} is not an estimator sklearn-gtn loads; supported: "
                f"{', '.join(sorted(SUPPORTED_ESTIMATORS))}."
            )
        cls = SUPPORTED_ESTIMATORS[name]
        if not isinstance(v["params"], dict) or not isinstance(v["attributes"], dict):
            raise ValueError(f"{name}: malformed parameters or attributes.")
        known = set(cls._get_param_names())
        unknown = sorted(set(v["params"]) - known)
        if unknown:
            raise ValueError(
                f"{name} has no parameter(s) {unknown}; the file was written by "
                "another version of the estimator."
            )
        params = {k: self.value(x) for k, x in v["params"].items()}
        if issubclass(cls, Pipeline) and params.get("memory") is not None:
            raise ValueError(f"{name}: memory must be None in a model file.")
        est = cls(**params)
        for key, raw in v["attributes"].items():
            if not (
                key.isidentifier()
                and not key.startswith("__")
                and (key.endswith("_") or key.startswith("_"))
                and key not in known
            ):
                raise ValueError(f"{name}: attribute name {key!r} is not allowed.")
            value = self.value(raw)
            if key == "device_":  # where the networks now run
                where = self.target(value)
                value = where if isinstance(value, torch.device) else str(where)
            try:
                setattr(est, key, value)
            except AttributeError as exc:
                raise ValueError(
                    f"{name}: cannot set attribute {key!r}: {exc}"
                ) from None
        module = getattr(est, "module_", None)
        if isinstance(module, torch.nn.Module) and hasattr(est, "device_"):
            module.to(est.device_)
        return est


def _as_list(v):
    if not isinstance(v, list):
        raise ValueError("malformed list.")
    return v


def _numeric_dtype(code):
    try:
        dtype = np.dtype(code) if isinstance(code, str) else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biuf":
        raise ValueError(f"unsupported scalar dtype {code!r}.")
    return dtype


def _device(value):
    try:
        return torch.device(value)
    except (RuntimeError, TypeError):
        raise ValueError(f"malformed device {value!r}.") from None


def _construct(cls, kwargs, name):
    if not isinstance(kwargs, dict):
        raise ValueError(f"{name}: malformed arguments.")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}: cannot be built from the stored arguments: {exc}"
        ) from None


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------


def _versions():
    return {
        "sklearn_gtn": __version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "numpy": np.__version__,
    }


def _atomic_write(path, write):
    """Write ``path`` through ``write(fileobj)`` into a temporary file, then rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _file_mode(path):
    """Mode of the file being replaced, else 0o666 less the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def save(estimator, path):
    """Save an estimator to one file, without pickle.

    Supported: :class:`GTNSampler`, :class:`ConvAutoencoder`,
    :class:`GenerativePipeline` and :class:`~sklearn.pipeline.Pipeline` whose
    steps are any of these or scikit-learn's
    :class:`~sklearn.preprocessing.StandardScaler`,
    :class:`~sklearn.preprocessing.MinMaxScaler`,
    :class:`~sklearn.preprocessing.MaxAbsScaler` or
    :class:`~sklearn.decomposition.PCA` (see :data:`SUPPORTED_ESTIMATORS`),
    fitted or not. Any other step is refused with a ``TypeError`` naming it,
    before the file is touched.

    The networks are stored with their weights, parameters and training
    history; the optimiser state and the training callbacks are not (``fit``
    builds them anew). An ``accelerator`` parameter is stored as ``None``: it
    belongs to the processes that trained the model, which loads as one that
    trains in a single process. The write is atomic: a previous file at
    ``path`` is replaced only once the new one is completely on disk.

    Parameters
    ----------
    estimator : estimator
        The estimator to save.
    path : str or os.PathLike
        Destination file (by convention with the suffix ``.gtn``).

    Raises
    ------
    TypeError
        If the estimator, one of its steps or one of its attributes cannot be
        stored.

    See Also
    --------
    load : Rebuild the estimator.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn_gtn import GTNSampler, load, save
    >>> X = np.random.RandomState(0).uniform(size=(200, 2))
    >>> gtn = GTNSampler(hidden_layer_sizes=(8,), max_epochs=2, device="cpu",
    ...                  random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.gtn")
    >>> save(gtn, path)
    >>> again = load(path)
    >>> bool(np.array_equal(gtn.sample(5, random_state=1),
    ...                     again.sample(5, random_state=1)))
    True
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or os.PathLike, got {type(path).__name__}."
        )
    path = os.fspath(path)
    encoder = _Encoder()
    tree = encoder.value(estimator, type(estimator).__name__)
    if not isinstance(tree, dict) or "__estimator__" not in tree:
        raise TypeError(f"save expects an estimator, got {type(estimator).__name__}.")
    metadata = {
        "format": _FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "estimator": tree,
    }
    meta = json.dumps(metadata, allow_nan=False, indent=1).encode("utf-8")

    def write(fileobj):
        with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(_METADATA, meta)
            with zf.open(_TENSORS, "w", force_zip64=True) as member:
                _write_safetensors(member, encoder.tensors)

    _atomic_write(path, write)


def _read_archive(path):
    """The two members of a model file, after checking what the file is."""
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0, io.SEEK_END)
        size = f.tell()
    if head[:1] == b"\x80" or head[:1] in (b"(", b"c", b"]", b"}"):
        raise ValueError(
            f"{path!r} looks like a pickle file; sklearn-gtn never loads pickles "
            "(they can run code). Only files written by sklearn_gtn.save load."
        )
    if head != b"PK\x03\x04":
        raise ValueError(
            f"{path!r} is not an sklearn-gtn model file (not a zip archive); "
            "only files written by sklearn_gtn.save load."
        )
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [info.filename for info in infos]
            if sorted(names) != sorted([_METADATA, _TENSORS]):
                raise ValueError(
                    f"{path!r} is not an sklearn-gtn model file: it holds "
                    f"{names[:5]} instead of {[_METADATA, _TENSORS]} (pickles, "
                    "e.g. torch.save files, are never loaded)."
                )
            for info in infos:
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > size:
                    raise ValueError(f"{path!r}: unexpected member {info.filename!r}.")
            return zf.read(_METADATA), zf.read(_TENSORS)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise ValueError(f"{path!r} is truncated or corrupt: {exc}") from None


def load(path, *, device=None):
    """Load an estimator written by :func:`save`; no code from the file runs.

    Only the classes of :data:`SUPPORTED_ESTIMATORS` (and the torch modules
    and skorch nets of this package) can be rebuilt; the file holds JSON and
    raw numbers, and pickles are refused.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    device : {"auto", "cpu", "cuda"}, torch.device or None, default=None
        Where the networks go. ``None`` keeps the device they were saved
        from, or the CPU when that device is not available (a model fitted
        on a GPU loads on a CPU-only machine). Otherwise as the estimators'
        ``device`` parameter (``"auto"``: CUDA when available). The
        estimators' own ``device`` parameter (used by the next ``fit``) is
        left as saved.

    Returns
    -------
    estimator : estimator
        The rebuilt estimator, fitted if it was saved fitted.

    Raises
    ------
    ValueError
        If the file is not a model file written by :func:`save` (a pickle,
        another archive), is truncated or corrupt, or names a class that is
        not allowed.

    Warns
    -----
    GTNVersionWarning
        If the file was written by another version of sklearn-gtn.

    See Also
    --------
    save : Write a model file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gtn import load, save
    >>> path = os.path.join(tempfile.mkdtemp(), "scaler.gtn")
    >>> save(StandardScaler().fit([[0.0], [2.0]]), path)
    >>> load(path).mean_
    array([1.])
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or os.PathLike, got {type(path).__name__}."
        )
    target = None if device is None else resolve_device(device)
    path = os.fspath(path)
    meta_raw, tensor_raw = _read_archive(path)
    metadata = _parse_json(meta_raw, "metadata.json")
    if not isinstance(metadata, dict) or metadata.get("format") != _FORMAT_NAME:
        raise ValueError(f"{path!r} is not an sklearn-gtn model file.")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path!r} has format version {version!r}; this sklearn-gtn reads "
            f"version {FORMAT_VERSION} (the file may come from a newer release)."
        )
    tree = metadata.get("estimator")
    if not isinstance(tree, dict) or "__estimator__" not in tree:
        raise ValueError(f"{path!r} holds no estimator.")
    tensors = _read_safetensors(tensor_raw)
    versions = metadata.get("versions")
    saved = versions.get("sklearn_gtn") if isinstance(versions, dict) else None
    warn_if_other_version(saved, what="model", how="saved", stacklevel=2)
    try:
        return _Decoder(tensors, target).value(tree)
    except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        raise ValueError(f"{path!r} is corrupt: {type(exc).__name__}: {exc}") from None
