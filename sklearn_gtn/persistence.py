"""Safe persistence: one file per model, no pickle, no code run on load.

:func:`save` writes a fitted (or unfitted) estimator to a single file and
:func:`load` rebuilds it. The file is a zip archive (stored, not compressed)
with exactly two members:

``metadata.json``
    UTF-8 JSON: the format name and version, the versions of sklearn-gtn,
    scikit-learn, torch, skorch and NumPy that wrote it, and the estimator as
    a tree: its class (by format key), its constructor parameters and its
    fitted attributes. Values that JSON cannot hold are tagged objects such
    as ``{"__tuple__": [...]}`` or ``{"__array__": "t3"}`` (a reference to a
    tensor).
``tensors.safetensors``
    Every numeric array and network weight, in the `safetensors
    <https://github.com/huggingface/safetensors>`_ layout: an 8-byte
    little-endian header length, a JSON header
    ``{name: {"dtype", "shape", "data_offsets"}}`` and the raw little-endian
    buffers. It is written and read by the small NumPy code below (no
    dependency on the ``safetensors`` package).

Which classes a file may name comes from two places. The classes of this
package join :mod:`sklearn_gtn._registry` where they are defined, under keys
such as ``"sklearn_gtn.GTNSampler"`` that never name a private module (keys
written by earlier versions stay as aliases); this module reads the registry
and imports no estimator. Third-party classes (scikit-learn transformers,
skorch nets, torch losses and optimisers) are on the fixed allow-lists
below, under their public import paths. Anything else is refused with a
``ValueError`` before an object is built. A pickle, a ``torch.save`` file or
any archive with other members is refused.

Loading checks before it allocates: the zip directory, the members' data
ranges, every tensor's size and data range (inside the member, no two
sharing bytes, together no larger than the file) and the expected size of
each parsed JSON text, and it builds a network only after checking its
constructor arguments against the stored weights on the ``meta`` device
(which allocates no memory). Refusing a crafted file therefore costs about
its own size in memory, plus at most :data:`_JSON_BUDGET` bytes for parsing
its JSON (see ``docs/persistence.rst``).

Writes are atomic: the file is written to a temporary file with a short name
in the same directory, flushed to disk, and renamed over the destination, so
a failure at any point leaves a previous file of that name intact.
"""

from __future__ import annotations

import inspect
import json
import math
import numbers
import os
import struct
import tempfile
import zipfile
import zlib
from collections import UserList
from collections.abc import Mapping

import numpy as np
import sklearn
import skorch
import torch
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
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
from skorch import NeuralNet, NeuralNetRegressor
from skorch.dataset import Dataset
from skorch.history import History

from . import _registry
from ._modules import MLP, ConvAutoencoderModule
from ._runtime import _fused_adam
from ._utils import resolve_device
from ._version import __version__
from ._versioning import warn_if_other_version

__all__ = ["save", "load", "SUPPORTED_ESTIMATORS", "FORMAT_VERSION"]

#: Version of the file layout written by :func:`save`.
FORMAT_VERSION = 1
_FORMAT_NAME = "sklearn-gtn"
_METADATA = "metadata.json"
_TENSORS = "tensors.safetensors"
_MAX_HEADER_BYTES = 100 * 2**20  # a safetensors header longer than this is corrupt
_MAX_NDIM = 32  # NumPy's limit is 64; no stored array comes close
# Parsing JSON builds Python objects several times larger than the text. A
# cheap count of its brackets, separators and quotes bounds their size before
# parsing; the texts of one file may together cost at most the file's size
# or this many bytes, whichever is larger. A history of 10^5 batches (about
# 8 MB of JSON) stays under it.
_JSON_BUDGET = 128 * 2**20
# The zip directory of a model file: two entries, a few hundred bytes.
_MAX_DIRECTORY_BYTES = 2**16
_TEMP_PREFIX, _TEMP_SUFFIX = ".gtn", ".tmp"

# Third-party estimators, stored through their parameters and fitted
# attributes and rebuilt from them (see docs/persistence.rst for why an
# allow-list rather than skops' trusted types). FunctionTransformer is
# allowed only as the identity (func and inverse_func None): that is how
# ColumnTransformer stores passed-through columns, and it runs no code.
_THIRD_PARTY_ESTIMATORS = {
    f"{cls.__module__.split('._')[0]}.{cls.__name__}": cls
    for cls in (
        Pipeline,
        ColumnTransformer,
        FunctionTransformer,
        StandardScaler,
        MinMaxScaler,
        MaxAbsScaler,
        RobustScaler,
        QuantileTransformer,
        PowerTransformer,
        OneHotEncoder,
        OrdinalEncoder,
        SimpleImputer,
        PCA,
        KMeans,
    )
}

# Third-party classes that may appear as values of skorch net parameters
# (criterion, optimizer, iterators, dataset); the package's own (the torch
# modules, the batch iterator) come from the registry.
_THIRD_PARTY_CLASSES = {
    "torch.nn.MSELoss": torch.nn.MSELoss,
    "torch.optim.Adam": torch.optim.Adam,
    "torch.utils.data.DataLoader": torch.utils.data.DataLoader,
    "skorch.dataset.Dataset": Dataset,
}

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


def _effective_threads():
    try:  # what KMeans.fit itself uses
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        return int(_openmp_effective_n_threads())
    except (ImportError, AttributeError):  # pragma: no cover - moved
        return os.cpu_count() or 1


# Fitted attributes that describe the machine, not the model: not stored,
# set from this machine on load (a file cannot ask for 10^6 threads).
_MACHINE_ATTRIBUTES = {KMeans: {"_n_threads": _effective_threads}}

# Type objects that may be parameter values (``OneHotEncoder(dtype=...)``).
_TYPES = {
    f"{cls.__module__}.{cls.__name__}": cls
    for cls in (
        float,
        int,
        bool,
        str,
        object,
        np.float16,
        np.float32,
        np.float64,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.bool_,
        np.str_,
        np.object_,
    )
}
_TYPE_NAMES = {cls: name for name, cls in _TYPES.items()}
# dtype kinds a ``{"__dtype__": ...}`` value may have
_DTYPE_KINDS = "biufOU"


# --------------------------------------------------------------------------
# what may be named: the registry and the allow-lists
# --------------------------------------------------------------------------


def _estimator_key(cls):
    key = _registry.key_of(cls)
    if key is not None and issubclass(cls, BaseEstimator):
        return key
    for name, known in _THIRD_PARTY_ESTIMATORS.items():
        if known is cls:
            return name
    return None


def _estimator_class(key):
    if not isinstance(key, str):
        return None
    cls = _registry.lookup(key)
    if cls is not None and issubclass(cls, BaseEstimator):
        return cls
    return _THIRD_PARTY_ESTIMATORS.get(key)


def _class_key(cls):
    """Key of a class allowed as a parameter value (not an estimator)."""
    key = _registry.key_of(cls)
    if key is not None and not issubclass(cls, BaseEstimator):
        return key
    for name, known in _THIRD_PARTY_CLASSES.items():
        if known is cls:
            return name
    return None


def _class_for(key):
    if not isinstance(key, str):
        return None
    cls = _registry.lookup(key)
    if cls is not None and not issubclass(cls, BaseEstimator):
        return cls
    return _THIRD_PARTY_CLASSES.get(key)


class _Supported(Mapping):
    """Live view: format key -> estimator class that :func:`save` writes."""

    def _items(self):
        own = {
            k: c
            for k, c in _registry.registered().items()
            if issubclass(c, BaseEstimator)
        }
        return {**own, **_THIRD_PARTY_ESTIMATORS}

    def __getitem__(self, key):
        return self._items()[key]

    def __iter__(self):
        return iter(sorted(self._items()))

    def __len__(self):
        return len(self._items())

    def __repr__(self):
        return f"SUPPORTED_ESTIMATORS({sorted(self._items())})"


#: Estimators :func:`save` can write, by the format key stored in the file:
#: the registered classes of this package and the scikit-learn allow-list (a
#: live view of the registry).
SUPPORTED_ESTIMATORS = _Supported()


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
        "batch_norm": sum(isinstance(m, torch.nn.BatchNorm1d) for m in module.layers),
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


# torch modules stored on their own (not inside a skorch net): the function
# that reads their constructor arguments back from an instance.
_MODULE_KWARGS = {MLP: _mlp_kwargs, ConvAutoencoderModule: _conv_ae_kwargs}


def _attribute_allowed(cls, key, params):
    """Whether ``key`` may be a stored attribute of a ``cls`` instance.

    Fitted attributes end in ``_``, private state starts with ``_``; neither
    may be a dunder, a constructor parameter, or shadow a method, property
    or other non-data member of the class (``"_run": 1`` would hide a
    method and break the model later).
    """
    if not (
        isinstance(key, str)
        and key.isidentifier()
        and not key.startswith("__")
        and (key.endswith("_") or key.startswith("_"))
        and key not in params
    ):
        return False
    member = inspect.getattr_static(cls, key, None)
    return member is None or isinstance(member, (bool, int, float, str, tuple))


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


def _read_safetensors(buf, *, json_budget=None):
    """Parse a safetensors buffer into ``{name: (code, ndarray)}``; validate all.

    Every entry's dtype, shape and data range is checked, and the ranges
    must tile the data exactly (no gaps, no two entries sharing bytes),
    before any array exists. The arrays are views into ``buf`` (no copy).
    """
    if len(buf) < 8:
        raise ValueError("the tensor data is truncated (no header).")
    (n,) = struct.unpack("<Q", bytes(buf[:8]))
    if n > min(len(buf) - 8, _MAX_HEADER_BYTES):
        raise ValueError("the tensor data is truncated or corrupt (header length).")
    if json_budget is not None:  # before copying the header out
        json_budget.spend(buf, "the tensor header", 8, 8 + n)
    raw = bytes(memoryview(buf)[8 : 8 + n])
    header = _parse_json(raw, "the tensor header")
    del raw
    if not isinstance(header, dict):
        raise ValueError("the tensor header is not a JSON object.")
    data_start, data_size = 8 + n, len(buf) - 8 - n
    entries = {}
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
        if not isinstance(code, str) or code not in _DTYPES:
            raise ValueError(f"tensor {name!r}: unsupported dtype {code!r}.")
        if not (
            isinstance(shape, list)
            and len(shape) <= _MAX_NDIM
            and all(_is_count(s) for s in shape)
        ):
            raise ValueError(f"tensor {name!r}: malformed shape {shape!r}.")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(map(_is_count, offsets))
        ):
            raise ValueError(f"tensor {name!r}: malformed data_offsets.")
        begin, end = offsets
        if (
            not begin <= end <= data_size
            or end - begin != math.prod(shape) * _DTYPES[code].itemsize
        ):
            raise ValueError(f"tensor {name!r}: data out of bounds (truncated file?).")
        entries[name] = (code, shape, begin, end)
    # the ranges tile the data: together no larger than the file, and no
    # two entries share a byte (checked before anything is allocated)
    position = 0
    for _, _, begin, end in sorted(entries.values(), key=lambda e: (e[2], e[3])):
        if begin != position:
            raise ValueError("the tensor data has gaps or overlaps (corrupt file).")
        position = end
    if position != data_size:
        raise ValueError("the tensor data has trailing bytes (corrupt file).")
    tensors = {}
    for name, (code, shape, begin, end) in entries.items():
        dtype = _DTYPES[code]
        arr = np.frombuffer(
            buf,
            dtype=dtype,
            count=(end - begin) // dtype.itemsize,
            offset=data_start + begin,
        )
        tensors[name] = (code, arr.reshape(shape))
    return tensors


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _json_cost(raw, start=0, end=None):
    """An upper bound on the bytes of Python objects ``json.loads(raw)`` makes.

    Counts bytes, not tokens: brackets, separators and quotes inside strings
    are counted too, which only overestimates. Per token: a dict (up to its
    first resize) 240 bytes, a list 64, an element or dict entry 48 (its
    slot and a float or int), a string 50 plus its text.
    """
    end = len(raw) if end is None else end

    def count(token):
        return raw.count(token, start, end)

    return (
        240 * count(b"{")
        + 64 * count(b"[")
        + 48 * (count(b",") + count(b":") + 1)
        + 25 * count(b'"')
        + (end - start)
    )


class _Budget:
    """Bytes the JSON texts of one file may still cost to parse."""

    def __init__(self, file_size):
        self.left = max(int(file_size), _JSON_BUDGET)

    def spend(self, raw, what, start=0, end=None):
        cost = _json_cost(raw, start, end)
        if cost > self.left:
            raise ValueError(
                f"{what} is too large to parse safely (its parsed form could "
                f"take about {cost} bytes; corrupt or crafted file)."
            )
        self.left -= cost

    def charge(self, nbytes, what):
        """Spend ``nbytes`` on something built from the parsed JSON."""
        if nbytes > self.left:
            raise ValueError(
                f"{what} would take {nbytes} bytes (corrupt or crafted file)."
            )
        self.left -= nbytes


def _parse_json(raw, what, budget=None):
    def refuse_constant(name):
        raise ValueError(f"{what} holds the non-standard JSON constant {name}.")

    if budget is not None:
        budget.spend(raw, what)
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None


# --------------------------------------------------------------------------
# encoding
# --------------------------------------------------------------------------


def _is_sklearn_user_list(v):
    """scikit-learn 1.6's ``ColumnTransformer`` keeps its remainder columns in
    a ``_RemainderColsList`` (a ``UserList`` that warns about a future dtype);
    later versions keep a plain list, which it is saved and loaded as."""
    return isinstance(v, UserList) and type(v).__module__.startswith("sklearn.")


def _scalar_for_object_array(v):
    return v is None or isinstance(v, (bool, str, numbers.Number, np.generic))


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
        if isinstance(v, np.str_):
            return str(v)
        if isinstance(v, numbers.Integral):
            return int(v)
        if isinstance(v, float):
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(v, tuple) and type(v) is tuple:
            return {
                "__tuple__": [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]
            }
        if type(v) is list or _is_sklearn_user_list(v):
            return [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if type(v) is dict:
            if all(isinstance(k, str) for k in v):
                return {
                    "__dict__": {
                        k: self.value(x, f"{where}[{k!r}]") for k, x in v.items()
                    }
                }
            items = []
            for k, x in v.items():
                if not (_scalar_for_object_array(k) or type(k) is tuple):
                    raise TypeError(
                        f"{where}: dicts with {type(k).__name__} keys cannot be saved."
                    )
                items.append([self.value(k, where), self.value(x, f"{where}[{k!r}]")])
            return {"__mapping__": items}
        if type(v) is slice:
            return {
                "__slice__": [self.value(x, where) for x in (v.start, v.stop, v.step)]
            }
        if isinstance(v, np.ndarray):
            return self.ndarray(v, where)
        if isinstance(v, np.dtype):
            if v.kind not in _DTYPE_KINDS:
                raise TypeError(f"{where}: dtype {v} cannot be saved.")
            return {"__dtype__": v.str}
        if isinstance(v, type) and v in _TYPE_NAMES:
            return {"__type__": _TYPE_NAMES[v]}
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
        if isinstance(v, type) and _class_key(v) is not None:
            return {"__class__": _class_key(v)}
        raise TypeError(
            f"{where} is a {type(v).__module__}.{type(v).__qualname__}, which "
            "sklearn-gtn cannot save."
        )

    def ndarray(self, v, where):
        if v.dtype.kind in "biuf":
            return {"__array__": self.array(v)}
        if v.dtype.kind == "U":
            return {
                "__strings__": v.ravel().tolist(),
                "dtype": v.dtype.str,
                "shape": list(v.shape),
            }
        if v.dtype.kind == "O":
            items = v.ravel().tolist()
            for x in items:
                if not _scalar_for_object_array(x):
                    raise TypeError(
                        f"{where}: object arrays holding {type(x).__name__} "
                        "cannot be saved."
                    )
            return {
                "__objects__": [self.value(x, where) for x in items],
                "shape": list(v.shape),
            }
        raise TypeError(f"{where}: arrays of dtype {v.dtype} cannot be saved.")

    def module(self, module, where):
        name = _class_key(type(module))
        read_kwargs = _MODULE_KWARGS.get(type(module))
        if name is None or read_kwargs is None:
            raise TypeError(
                f"{where}: torch module {type(module).__name__} cannot be saved."
            )
        kwargs = read_kwargs(module)
        # the stored arguments must rebuild exactly these weights
        if _meta_shapes(type(module), kwargs) != {
            k: tuple(v.shape) for k, v in module.state_dict().items()
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
        cls = type(est)
        name = _estimator_key(cls)
        if name is None:
            raise TypeError(
                f"{where} is a {cls.__module__}.{cls.__qualname__}, which "
                "sklearn-gtn cannot save; supported estimators: "
                f"{', '.join(SUPPORTED_ESTIMATORS)}."
            )
        params = est.get_params(deep=False)
        cls_name = cls.__name__
        if isinstance(est, Pipeline) and params.get("memory") is not None:
            raise TypeError(
                f"{where}: a pipeline with memory={params['memory']!r} cannot be "
                "saved; set memory=None first."
            )
        if cls is FunctionTransformer and not (
            params["func"] is None and params["inverse_func"] is None
        ):
            raise TypeError(
                f"{where}: a FunctionTransformer with a func or inverse_func runs "
                "code, which sklearn-gtn cannot save (only the identity)."
            )
        machine = _MACHINE_ATTRIBUTES.get(cls, {})
        attributes = {
            k: v for k, v in vars(est).items() if k not in params and k not in machine
        }
        for key in attributes:
            if not _attribute_allowed(cls, key, params):
                raise TypeError(
                    f"{where}: attribute {key!r} of {cls_name} cannot be saved "
                    "(fitted attributes end in '_', private ones start with it, "
                    "and neither may hide a method or property)."
                )
        return {
            "__estimator__": name,
            "params": {
                k: self.value(None if k in _RUNTIME_PARAMS else v, f"{cls_name}.{k}")
                for k, v in params.items()
            },
            "attributes": {
                k: self.value(v, f"{cls_name}.{k}") for k, v in attributes.items()
            },
        }


def _meta_shapes(cls, kwargs):
    """Shapes of the state of ``cls(**kwargs)``, built on the meta device.

    The meta device allocates no memory, so this costs the same for
    ``hidden_layer_sizes=(12000,) * 3`` as for ``(8,)``.
    """
    with torch.device("meta"):
        twin = cls(**kwargs)
    return {k: tuple(v.shape) for k, v in twin.state_dict().items()}


# --------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------


def _tags(obj, *keys):
    if set(obj) != set(keys):
        raise ValueError(f"malformed tagged object with keys {sorted(obj)}.")


def _hashable(key):
    if key is None or isinstance(key, (bool, str, numbers.Number, np.generic)):
        return key
    if type(key) is tuple and all(_hashable(k) is k for k in key):
        return key
    raise ValueError(f"malformed mapping key {key!r}.")


class _Decoder:
    """Rebuilds values from the JSON tree; ``device`` maps stored devices."""

    def __init__(self, tensors, device, budget=None):
        self.tensors = tensors
        self.device = device
        self.budget = _Budget(0) if budget is None else budget
        self.taken = set()

    def target(self, stored):
        """The device to put something on that was saved on ``stored``."""
        if self.device is not None:
            return self.device
        stored = _device(stored)
        if stored.type == "cuda" and (
            not torch.cuda.is_available()
            or (stored.index or 0) >= torch.cuda.device_count()
        ):
            return torch.device("cpu")
        return stored

    def _take(self, ref):
        if not isinstance(ref, str) or ref not in self.tensors:
            raise ValueError(f"reference to a missing tensor {ref!r}.")
        # each tensor is used once (save never shares one): otherwise a
        # small file could ask for many copies of one large tensor
        if ref in self.taken:
            raise ValueError(f"tensor {ref!r} is referenced twice.")
        self.taken.add(ref)
        return self.tensors[ref]

    def array(self, ref):
        code, arr = self._take(ref)
        if code == "BF16":
            raise ValueError(f"tensor {ref!r} is bfloat16 where an array is expected.")
        return arr.copy()

    def tensor(self, ref, *, copy=True):
        """A tensor; ``copy=False``: a view of the file's buffer (to be copied
        into a module by ``load_state_dict``)."""
        code, arr = self._take(ref)
        t = torch.from_numpy(arr.copy() if copy else arr)
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
        if "__mapping__" in v:
            _tags(v, "__mapping__")
            out = {}
            for item in _as_list(v["__mapping__"]):
                if not (isinstance(item, list) and len(item) == 2):
                    raise ValueError("malformed mapping.")
                out[_hashable(self.value(item[0]))] = self.value(item[1])
            return out
        if "__slice__" in v:
            _tags(v, "__slice__")
            bounds = _as_list(v["__slice__"])
            if len(bounds) != 3 or not all(
                b is None or (isinstance(b, int) and not isinstance(b, bool))
                for b in bounds
            ):
                raise ValueError("malformed slice.")
            return slice(*bounds)
        if "__float__" in v:
            _tags(v, "__float__")
            if v["__float__"] not in ("nan", "inf", "-inf"):
                raise ValueError(f"malformed float {v['__float__']!r}.")
            return float(v["__float__"])
        if "__scalar__" in v:
            _tags(v, "__scalar__", "value")
            dtype = _numeric_dtype(v["__scalar__"])
            value = self.value(v["value"])
            if not isinstance(value, (bool, int, float)):
                raise ValueError("malformed scalar.")
            # NumPy before 2.0 wraps out-of-range integers silently
            if dtype.kind in "iu" and not isinstance(value, bool):
                info = np.iinfo(dtype)
                if not (isinstance(value, int) and info.min <= value <= info.max):
                    raise ValueError(
                        f"corrupt scalar: {value!r} does not fit {dtype.name}."
                    )
            if dtype.kind == "f" and math.isfinite(value):
                with np.errstate(over="ignore"):
                    if not np.isfinite(dtype.type(value)):
                        raise ValueError(
                            f"corrupt scalar: {value!r} does not fit {dtype.name}."
                        )
            return dtype.type(value)
        if "__array__" in v:
            _tags(v, "__array__")
            return self.array(v["__array__"])
        if "__strings__" in v:
            return self.strings(v)
        if "__objects__" in v:
            _tags(v, "__objects__", "shape")
            items = [self.value(x) for x in _as_list(v["__objects__"])]
            shape = _shape(v["shape"], len(items))
            for x in items:
                if not (
                    x is None or isinstance(x, (bool, str, float, int, np.generic))
                ):
                    raise ValueError("malformed object array.")
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape(shape)
        if "__dtype__" in v:
            _tags(v, "__dtype__")
            try:
                dtype = (
                    np.dtype(v["__dtype__"])
                    if isinstance(v["__dtype__"], str)
                    else None
                )
            except TypeError:
                dtype = None
            if dtype is None or dtype.kind not in _DTYPE_KINDS:
                raise ValueError(f"unsupported dtype {v['__dtype__']!r}.")
            return dtype
        if "__type__" in v:
            _tags(v, "__type__")
            if not isinstance(v["__type__"], str) or v["__type__"] not in _TYPES:
                raise ValueError(f"type {v['__type__']!r} is not allowed.")
            return _TYPES[v["__type__"]]
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
            cls = _class_for(v["__class__"])
            if cls is None:
                raise ValueError(
                    f"class {v['__class__']!r} is not allowed in a model file."
                )
            return cls
        if "__module__" in v:
            return self.module(v)
        if "__net__" in v:
            return self.net(v)
        if "__estimator__" in v:
            return self.estimator(v)
        raise ValueError(f"unknown tagged object with keys {sorted(v)}.")

    def strings(self, v):
        if "shape" in v:
            _tags(v, "__strings__", "dtype", "shape")
        else:  # written by the first version: 1-D
            _tags(v, "__strings__", "dtype")
        items = _as_list(v["__strings__"])
        shape = _shape(v.get("shape", [len(items)]), len(items))
        code = v["dtype"]
        if not all(isinstance(x, str) for x in items) or not (
            code == "object"
            or isinstance(code, str)
            and code.lstrip("<>=|").startswith("U")
        ):
            raise ValueError("malformed string array.")
        if code == "object":
            out = np.empty(len(items), dtype=object)
            out[:] = items
        else:
            # a str array pads every item to the longest: charge its size
            longest = max(map(len, items), default=0)
            self.budget.charge(4 * longest * len(items), "a string array")
            out = np.array(items, dtype=str)
        return out.reshape(shape)

    def check_weights(self, cls, kwargs, refs, what):
        """Refuse ``cls(**kwargs)`` unless its state has the stored shapes;
        checked on the meta device, before anything is allocated."""
        if not isinstance(refs, dict):
            raise ValueError(f"{what}: malformed state.")
        # a cheap bound first: a network has at least one stored tensor per
        # entry of its sequence arguments (layer sizes)
        n_items = sum(len(x) for x in kwargs.values() if isinstance(x, (list, tuple)))
        if n_items > len(refs):
            raise ValueError(f"{what}: the arguments do not fit the stored weights.")
        stored = {}
        for key, ref in refs.items():
            if not isinstance(ref, str) or ref not in self.tensors:
                raise ValueError(f"{what}: reference to a missing tensor {ref!r}.")
            stored[key] = tuple(self.tensors[ref][1].shape)
        try:
            expected = _meta_shapes(cls, kwargs)
        except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
            raise ValueError(
                f"{what}: cannot be built from the stored arguments: {exc}"
            ) from None
        if expected != stored:
            raise ValueError(
                f"{what}: the stored arguments do not match the stored weights "
                "(corrupt or crafted file)."
            )

    def _load_state(self, module, refs, what):
        state = {k: self.tensor(ref, copy=False) for k, ref in refs.items()}
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ValueError(f"{what}: the stored weights do not fit: {exc}") from None

    def module(self, v):
        _tags(v, "__module__", "kwargs", "state", "training")
        name = v["__module__"]
        cls = _class_for(name)
        if cls is None or cls not in _MODULE_KWARGS:
            raise ValueError(f"torch module {name!r} is not allowed.")
        kwargs = self.value(v["kwargs"])
        if not isinstance(kwargs, dict):
            raise ValueError(f"{name}: malformed arguments.")
        self.check_weights(cls, kwargs, v["state"], name)
        module = _construct(cls, kwargs, name)
        self._load_state(module, v["state"], name)
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
        for key, value in params.items():
            if isinstance(value, type) and not _net_class_allowed(key, value):
                raise ValueError(
                    f"{v['__net__']}: {value.__name__} is not allowed as {key}."
                )
        params["device"] = str(self.target(params["device"]))
        if params.get("optimizer__fused") and not _fused_adam(
            torch.device(params["device"]).type
        ):
            # trained with a fused Adam that this torch lacks on this device
            # (the CPU before torch 2.4): the plain one serves a further fit
            del params["optimizer__fused"]
        name = v["__net__"]
        if v["initialized"]:
            module = params.get("module")
            if not (isinstance(module, type) and module in _MODULE_KWARGS):
                raise ValueError(f"{name}: module {module!r} is not allowed.")
            kwargs = {
                k[len("module__") :]: x
                for k, x in params.items()
                if k.startswith("module__")
            }
            self.check_weights(module, kwargs, v["state"], name)
        net = _construct(_NETS[name], {**params, "train_split": None}, name)
        if v["initialized"]:
            try:
                net.initialize()
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"{name}: cannot be built from the stored arguments: {exc}"
                ) from None
            self._load_state(net.module_, v["state"], name)
            net.module_.train(bool(v["training"]))
            net.history_ = History(self.value(v["history"]))
        return net

    def estimator(self, v):
        _tags(v, "__estimator__", "params", "attributes")
        name = v["__estimator__"]
        cls = _estimator_class(name)
        if cls is None:
            raise ValueError(
                f"class {name!r} is not an estimator sklearn-gtn loads; supported: "
                f"{', '.join(SUPPORTED_ESTIMATORS)}."
            )
        if not isinstance(v["params"], dict) or not isinstance(v["attributes"], dict):
            raise ValueError(f"{name}: malformed parameters or attributes.")
        known = set(cls._get_param_names())
        unknown = sorted(set(v["params"]) - known)
        if unknown:
            raise ValueError(
                f"{name} has no parameter(s) {unknown}; the file was written by "
                "another version of the estimator."
            )
        machine = _MACHINE_ATTRIBUTES.get(cls, {})
        for key in v["attributes"]:
            if key in machine or not _attribute_allowed(cls, key, known):
                raise ValueError(f"{name}: attribute name {key!r} is not allowed.")
        params = {k: self.value(x) for k, x in v["params"].items()}
        if issubclass(cls, Pipeline) and params.get("memory") is not None:
            raise ValueError(f"{name}: memory must be None in a model file.")
        if cls is FunctionTransformer and not (
            params.get("func") is None and params.get("inverse_func") is None
        ):
            raise ValueError(f"{name}: only the identity FunctionTransformer loads.")
        est = _construct(cls, params, name)
        for key, raw in v["attributes"].items():
            value = self.value(raw)
            if key == "device_":  # where the networks now run
                where = self.target(value)
                value = where if isinstance(value, torch.device) else str(where)
            setattr(est, key, value)
        if v["attributes"]:  # fitted: what the machine decides
            for key, current in _MACHINE_ATTRIBUTES.get(cls, {}).items():
                setattr(est, key, current())
        module = getattr(est, "module_", None)
        if isinstance(module, torch.nn.Module) and hasattr(est, "device_"):
            module.to(est.device_)
        return est


def _net_class_allowed(key, cls):
    """Whether a class may be the skorch parameter ``key`` (each role its
    own kind: a file cannot make skorch build a network as its loss)."""
    if key == "module":
        return cls in _MODULE_KWARGS
    if key == "criterion":
        return issubclass(cls, torch.nn.modules.loss._Loss)
    if key == "optimizer":
        return issubclass(cls, torch.optim.Optimizer)
    if key == "dataset":
        return issubclass(cls, Dataset)
    if key in ("iterator_train", "iterator_valid"):
        return not issubclass(cls, (torch.nn.Module, torch.optim.Optimizer))
    return False


def _as_list(v):
    if not isinstance(v, list):
        raise ValueError("malformed list.")
    return v


def _shape(shape, size):
    if not (
        isinstance(shape, list)
        and len(shape) <= _MAX_NDIM
        and all(map(_is_count, shape))
        and math.prod(shape) == size
    ):
        raise ValueError(f"malformed array shape {shape!r}.")
    return tuple(shape)


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
    """Write ``path`` through ``write(fileobj)`` into a temporary file, then rename.

    The temporary file has a short name (``.gtn<random>.tmp``, 16
    characters) whatever the length of ``path``'s own, and is removed on any
    exception, ``KeyboardInterrupt`` included.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX)
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

    Supported (see :data:`SUPPORTED_ESTIMATORS`): every estimator of this
    package (:class:`GTNSampler`, :class:`ConvAutoencoder`,
    :class:`GenerativePipeline`, :class:`GTNMixture`, ...) and scikit-learn's
    ``Pipeline``, ``ColumnTransformer``, ``StandardScaler``,
    ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``,
    ``QuantileTransformer``, ``PowerTransformer``, ``OneHotEncoder``,
    ``OrdinalEncoder``, ``SimpleImputer``, ``PCA`` and ``KMeans``, nested in
    any order, fitted or not. Anything else (a ``FunctionTransformer`` with
    a function, a ``KernelDensity``, a subclass) is refused with a
    ``TypeError`` naming it, before the file is touched.

    The networks are stored with their weights, parameters and training
    history; the optimiser state and the training callbacks are not (``fit``
    builds them anew). An ``accelerator`` parameter is stored as ``None``: it
    belongs to the processes that trained the model, which loads as one that
    trains in a single process. The write is atomic: a previous file at
    ``path`` is replaced only once the new one is completely on disk, and a
    replaced file keeps its permissions.

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

    Notes
    -----
    The data goes to a temporary file ``.gtn<random>.tmp`` in the same
    directory, renamed over ``path`` at the end; any exception (and
    ``KeyboardInterrupt``) removes it. Only a process killed outright
    (``SIGKILL``, a power cut) can leave one behind; it is safe to delete
    when no save is running.

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


_registry.install_saver(save)


def _check_directory(f, size, path):
    """Refuse a zip whose directory is not that of a small two-member archive,
    before :mod:`zipfile` parses it into objects."""
    tail = min(size, zipfile.sizeEndCentDir + 2**16)
    f.seek(size - tail)
    raw = f.read(tail)
    at = raw.rfind(b"PK\x05\x06")
    if at < 0 or len(raw) - at < zipfile.sizeEndCentDir:
        raise ValueError(f"{path!r} is truncated or corrupt (no zip directory).")
    record = struct.unpack(
        zipfile.structEndArchive, raw[at : at + zipfile.sizeEndCentDir]
    )
    n_entries, directory_size = record[4], record[5]
    if n_entries > 16 or directory_size > _MAX_DIRECTORY_BYTES:
        raise ValueError(
            f"{path!r} is not an sklearn-gtn model file (a zip archive of "
            f"{n_entries} members)."
        )


def _read_member(f, info, size, path):
    """The bytes of one stored member, read straight into one buffer after
    checking its local header and range; its CRC is checked."""
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        raise ValueError(f"{path!r}: unexpected member {info.filename!r}.")
    if info.compress_size != info.file_size or info.header_offset + 30 > size:
        raise ValueError(f"{path!r} is truncated or corrupt ({info.filename}).")
    f.seek(info.header_offset)
    header = struct.unpack(zipfile.structFileHeader, f.read(30))
    if header[0] != zipfile.stringFileHeader:
        raise ValueError(f"{path!r} is truncated or corrupt ({info.filename}).")
    name_size, extra_size = header[10], header[11]
    if f.read(name_size) != info.filename.encode("utf-8"):
        raise ValueError(f"{path!r} is truncated or corrupt ({info.filename}).")
    start = info.header_offset + 30 + name_size + extra_size
    if start + info.file_size > size:
        raise ValueError(f"{path!r} is truncated or corrupt ({info.filename}).")
    return start, start + info.file_size


def _read_archive(f, path):
    """The two members of a model file and the file's size, after checking
    what the file is. Everything is read through ``f``; each member once,
    into a buffer no larger than the file."""
    size = os.fstat(f.fileno()).st_size
    head = f.read(4)
    if head[:1] == b"\x80" or head[:1] in (b"(", b"c", b"]", b"}"):
        raise ValueError(
            f"{path!r} looks like a pickle file; sklearn-gtn never loads "
            "pickles (they can run code). Only files written by "
            "sklearn_gtn.save load."
        )
    if head != b"PK\x03\x04":
        raise ValueError(
            f"{path!r} is not an sklearn-gtn model file (not a zip archive); "
            "only files written by sklearn_gtn.save load."
        )
    _check_directory(f, size, path)
    try:
        infos = zipfile.ZipFile(f).infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise ValueError(f"{path!r} is truncated or corrupt: {exc}") from None
    names = [info.filename for info in infos]
    if sorted(names) != sorted([_METADATA, _TENSORS]):
        raise ValueError(
            f"{path!r} is not an sklearn-gtn model file: it holds "
            f"{names[:5]} instead of {[_METADATA, _TENSORS]} (pickles, "
            "e.g. torch.save files, are never loaded)."
        )
    spans = {info.filename: _read_member(f, info, size, path) for info in infos}
    (_, end), (begin, _) = sorted(spans.values())
    if end > begin:
        raise ValueError(f"{path!r} is corrupt (its members overlap).")
    out = []
    for info in sorted(infos, key=lambda i: i.filename != _METADATA):
        begin, end = spans[info.filename]
        buf = bytearray(end - begin)
        f.seek(begin)
        if f.readinto(buf) != len(buf):
            raise ValueError(f"{path!r} is truncated ({info.filename}).")
        if zlib.crc32(buf) != info.CRC:
            raise ValueError(
                f"{path!r} is truncated or corrupt (bad CRC in {info.filename})."
            )
        out.append(buf)
    return out[0], out[1], size


def load(path, *, device=None):
    """Load an estimator written by :func:`save`; no code from the file runs.

    Only the classes of :data:`SUPPORTED_ESTIMATORS` (and the torch modules
    and skorch nets of this package) can be rebuilt; the file holds JSON and
    raw numbers, and pickles are refused. The file is opened once. Sizes,
    data ranges and network shapes are checked before memory is allocated
    for them, so refusing a crafted file costs about its own size in memory
    (see ``docs/persistence.rst`` for the bound).

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
        another archive), is truncated or corrupt, or names a class, a
        parameter or an attribute that is not allowed. This is the only
        error a file's content can cause.
    OSError
        If the file cannot be opened (it does not exist, no permission).

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
    # opened once (OSError if it cannot be); from here on, whatever the
    # content, the only error is a ValueError
    with open(path, "rb") as f:
        try:
            tensors, tree, saved, budget = _parse(f, path)
            warn_if_other_version(saved, what="model", how="saved", stacklevel=2)
            return _Decoder(tensors, target, budget).value(tree)
        except (ValueError, MemoryError, Warning):
            raise
        except Exception as exc:  # a corrupt file can break any parser
            raise ValueError(
                f"{path!r} is corrupt: {type(exc).__name__}: {exc}"
            ) from None


def _parse(f, path):
    """The tensors, the estimator tree, the version that saved it and what
    is left of the parsing budget."""
    meta_raw, tensor_raw, size = _read_archive(f, path)
    budget = _Budget(size)
    metadata = _parse_json(meta_raw, "metadata.json", budget)
    del meta_raw
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
    tensors = _read_safetensors(tensor_raw, json_budget=budget)
    versions = metadata.get("versions")
    saved = versions.get("sklearn_gtn") if isinstance(versions, dict) else None
    return tensors, tree, saved, budget
