"""Mixed tables for a GTN: an invertible encoder and a ready-made table sampler.

A GTN maps a standard normal onto continuous data. :class:`TabularEncoder`
turns every column of a mixed table (floats, integers, booleans, categories,
missing values) into continuous, well-scaled numbers and maps generated
numbers back to a table with the original columns, dtypes and categories.
:func:`make_tabular_sampler` puts it in front of a sampler in a
:class:`~sklearn_gtn.GenerativePipeline`.

Numeric columns become one column each, "uniform on an interval" followed by
the normal quantile function: a value that holds a fraction
``p_k`` of the training rows owns an interval of width ``p_k`` of ``[0, 1]``;
a row gets a uniform draw in its value's interval, and ``norm.ppf`` makes it a
normal score (for continuous columns this is their empirical distribution
function, linearly interpolated), so every encoded column is close to
``N(0, 1)`` and the GTN mostly has to learn the dependence between columns.
On the way back a score falls in one interval: integer columns with few
values decode to the value that owns it, continuous ones to the interpolated
quantile (always within the observed range), rounded to the grid of the
training values (their decimal places, or a coarser step such as 25 g that
all of them share). Categorical columns are one-hot
encoded and decoded by the largest value (the C2ST of
``benchmarks/tabular.py`` was lower than with the same "uniform" encoding on
two of its three tables, 0.03 to 0.05 lower on penguins over three splits);
``categorical_encoding="uniform"`` encodes them like integers instead.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import ndtr, ndtri
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._registry import register
from ._utils import is_dataframe

__all__ = ["TabularEncoder", "make_tabular_sampler"]

_KINDS = ("float", "integer", "boolean", "categorical")
_CATEGORICAL_ENCODINGS = ("uniform", "onehot")
_NUMERIC_TRANSFORMS = ("quantile", "standard")
_HANDLE_MISSING = ("indicator", "error")
# integer columns with at most this many distinct values decode to one of
# them (frequencies kept); wider ones are interpolated and rounded
_DISCRETE_MAX_LEVELS = 64
# make_tabular_sampler's default sampler (see _default_sampler): GTNMixture
# pieces of GTNSampler(hidden_layer_sizes=(64,) * 4, batch_size=32,
# noise_scale=0), 3 of them, at most one per 50 rows
_DEFAULT_HIDDEN = (64,) * 4
_DEFAULT_BATCH_SIZE = 32
_DEFAULT_PIECES = 3
_DEFAULT_ROWS_PER_PIECE = 50
# enforce_rounding: numeric columns with at most this many decimal places are
# rounded to their grid on the way back
_MAX_DECIMALS = 6
# uniform scores are kept this far (relative to one training row) from 0 and
# 1 before the normal quantile function, so the encoded values stay finite
# (+-3.5 at 1,000 rows)
_EDGE = 0.25


def _decimal_places(x):
    """The fewest decimal places (0 to ``_MAX_DECIMALS``) that hold every value
    of ``x`` exactly, or ``None`` when there are more."""
    for decimals in range(_MAX_DECIMALS + 1):
        if np.array_equal(np.round(x, decimals), x):
            return decimals
    return None


def _grid_step(x):
    """The largest step ``m * 10**-d`` (``d`` the decimal places of ``x``, ``m``
    a whole number) of which every value of ``x`` is a multiple, or ``None``
    when ``x`` has more than ``_MAX_DECIMALS`` decimal places."""
    decimals = _decimal_places(x)
    if decimals is None:
        return None
    if np.abs(x).max() * 10.0**decimals > 2.0**53:  # beyond exact integers
        return None
    units = np.abs(np.round(x * 10.0**decimals)).astype(np.int64)
    step = int(np.gcd.reduce(units))
    return step / 10.0**decimals if step > 0 else None


def _pandas():
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is installed in CI
        return None
    return pd


def _as_key(value):
    """A category value as a plain Python value (for sets and dict keys)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_missing(values):
    """Boolean mask of missing entries (None, NaN, pandas NA/NaT)."""
    pd = _pandas()
    if pd is not None:
        return np.asarray(pd.isna(values), dtype=bool)
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.array(
            [v is None or (isinstance(v, float) and v != v) for v in values],
            dtype=bool,
        )
    return np.zeros(values.shape, dtype=bool)


def _check_choice(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")


class _Columns:
    """The columns of ``X`` (DataFrame or 2-D array) as 1-D arrays with names."""

    def __init__(self, X, *, name="X"):
        if hasattr(X, "toarray"):
            raise TypeError(f"{name} is a sparse matrix; pass a dense array.")
        if is_dataframe(X):
            self.frame = True
            self.names = [str(c) for c in X.columns]
            self.raw_names = list(X.columns)
            self.arrays = [X.iloc[:, j] for j in range(X.shape[1])]
            self.dtypes = [X.dtypes.iloc[j] for j in range(X.shape[1])]
        else:
            if isinstance(X, (str, bytes)):
                raise TypeError(
                    f"{name} must be a DataFrame or a 2-D array, got "
                    f"{type(X).__name__}."
                )
            A = np.asarray(X)
            if A.ndim != 2:
                raise ValueError(
                    f"{name} must be 2-D (rows, columns), got shape {A.shape}. "
                    "Reshape your data: X.reshape(-1, 1) for a single column, "
                    "X.reshape(1, -1) for a single row."
                )
            self.frame = False
            self.names = [f"x{j}" for j in range(A.shape[1])]
            self.raw_names = list(range(A.shape[1]))
            self.arrays = [A[:, j] for j in range(A.shape[1])]
            self.dtypes = [A.dtype] * A.shape[1]
        self.n_rows = len(X) if self.frame else A.shape[0]
        if not self.arrays:
            raise ValueError(
                f"0 feature(s) (shape=({self.n_rows}, 0)) while a minimum of 1 is "
                f"required: {name} has no column."
            )
        if self.n_rows == 0:
            raise ValueError(
                f"0 sample(s) (shape=(0, {len(self.arrays)})) while a minimum of 1 "
                f"is required: {name} has no row."
            )


def _dtype_kind(dtype, values):
    """The column kind implied by a dtype (object arrays: by their values)."""
    pd = _pandas()
    if pd is not None:
        from pandas.api import types

        if isinstance(dtype, pd.CategoricalDtype):
            return "categorical"
        if types.is_bool_dtype(dtype):
            return "boolean"
        if types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype):
            return None
        if types.is_integer_dtype(dtype):
            return "integer"
        if types.is_float_dtype(dtype):
            return "float"
        if types.is_complex_dtype(dtype):
            return None
    else:  # numpy dtypes only
        dtype = np.dtype(dtype)
        if dtype.kind == "b":
            return "boolean"
        if dtype.kind in "iu":
            return "integer"
        if dtype.kind == "f":
            return "float"
        if dtype.kind in "cmM":
            return None
    # object / string: numbers stored as objects (an ndarray of mixed types)
    # stay numeric, anything else is categorical
    present = [v for v, m in zip(values, _is_missing(values), strict=True) if not m]
    if present and all(
        isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
        for v in present
    ):
        return "float"
    if present and all(isinstance(v, (bool, np.bool_)) for v in present):
        return "boolean"
    return "categorical"


def _selected(spec, cols, name):
    """Column positions named by a feature selector (names, indices or a mask)."""
    if spec is None or (isinstance(spec, str) and spec == "from_dtype"):
        return None
    if isinstance(spec, str):
        raise ValueError(
            f"{name} must be 'from_dtype', None, or a list of column names, indices "
            f"or a boolean mask, got {spec!r}."
        )
    items = list(spec)
    n = len(cols.names)
    if items and all(isinstance(v, (bool, np.bool_)) for v in items):
        if len(items) != n:
            raise ValueError(
                f"{name} as a boolean mask must have {n} entries, got {len(items)}."
            )
        return {j for j, v in enumerate(items) if v}
    out = set()
    for v in items:
        if isinstance(v, str):
            if v not in cols.names:
                raise ValueError(f"{name} names an unknown column {v!r}.")
            out.add(cols.names.index(v))
        elif isinstance(v, numbers.Integral) and not isinstance(v, bool):
            if not -n <= v < n:
                raise ValueError(f"{name} holds the index {v}, out of range for {n}.")
            out.add(int(v) % n)
        else:
            raise TypeError(f"{name} must hold column names or indices, got {v!r}.")
    return out


@register("sklearn_gtn.TabularEncoder")
class TabularEncoder(TransformerMixin, BaseEstimator):
    """Invertible encoding of a mixed table into well-scaled continuous columns.

    Each column gets a kind, from its dtype unless overridden:

    - ``"float"`` (float dtypes): continuous; decoded values stay within the
      observed minimum and maximum (with ``enforce_min_max_values``) and
      on the grid of the training values (with ``enforce_rounding``);
    - ``"integer"`` (integer dtypes): as float, then rounded (to the grid of
      the training values, with ``enforce_rounding``) and returned with
      the column's integer dtype; with at most 64 distinct values, decoded
      to one of the observed values, in their frequencies;
    - ``"boolean"`` (bool dtypes): two levels;
    - ``"categorical"`` (``category``, object and string dtypes): decoded only
      to categories seen in ``fit``, in their training frequencies when the
      encoded values are standard normal.

    Numeric columns become one column each: a value holding a fraction ``p``
    of the training rows owns an interval of width ``p`` of ``[0, 1]``; a row
    becomes a uniform draw in its value's interval, mapped through the normal
    quantile function (the randomisation is what makes a discrete column
    continuous: ``transform`` draws it with ``random_state``). With
    ``categorical_encoding="onehot"`` (the default) each categorical or
    boolean column becomes one 0/1 column per level, decoded by the largest
    value (always an observed level); with ``"uniform"``, one column encoded
    like the integers (decoded levels then keep their training frequencies
    exactly when the encoded values are standard normal).

    Parameters
    ----------
    categorical_features : "from_dtype", list of str or int, or bool mask, \
default="from_dtype"
        Columns to treat as categorical whatever their dtype (for example an
        integer code). ``"from_dtype"``: category, object, string columns.
    integer_features : "from_dtype", list of str or int, or bool mask, \
default="from_dtype"
        Columns to treat as integers (rounded on the way back) whatever their
        dtype, for example a float column of counts. ``"from_dtype"``: integer
        columns.
    categorical_encoding : {"onehot", "uniform"}, default="onehot"
        How categorical and boolean columns are encoded (see above). One-hot
        gave the lower C2ST on two of the three tables of
        ``benchmarks/tabular.py`` (penguins, Wages); "uniform" keeps one
        column per variable and the frequencies of levels more closely.
    numeric_transform : {"quantile", "standard"}, default="quantile"
        ``"quantile"``: float and integer columns go through their empirical
        distribution function and the normal quantile function (outputs close
        to ``N(0, 1)``; skewed or bounded columns come back with their shape).
        ``"standard"``: centred and divided by their standard deviation.
    enforce_min_max_values : bool, default=True
        Clip decoded float and integer values to the training minimum and
        maximum (SDV's parameter of the same name). The quantile transform
        never leaves that range anyway.
    enforce_rounding : bool, default=True
        Round decoded float and integer values to the grid of the training
        values: the largest step of which they are all multiples, a whole
        number of units of their last decimal place (at most 6 places). Like
        SDV's parameter of the same name, which rounds to the decimal
        places, a float column of whole numbers (an integer column with
        missing values, as pandas reads it) comes back whole and a column
        measured to 0.1 comes back to 0.1; beyond it, weights recorded to
        25 g come back as multiples of 25. Without it, such values come back
        continuous, which a classifier tells from real rows
        (``benchmarks/tabular.py`` on penguins; see :doc:`/tabular`).
    handle_missing : {"indicator", "error"}, default="indicator"
        ``"indicator"``: a float or integer column with missing values in
        ``fit`` gets an extra 0/1 column ``"<name>_missing"`` (encoded like a
        boolean) and its missing entries are replaced by random observed
        values; a missing value in a categorical or boolean column is one more
        level. Decoding puts the missing values back (NaN, or ``pd.NA`` in
        integer columns, which come back as the nullable ``Int64`` dtype).
        ``"error"``: a missing value is a ``ValueError`` naming the column.
    random_state : int, RandomState instance or None, default=None
        Seeds the uniform draws of ``transform`` (an int gives the same
        encoding on every call) and the values that fill missing entries.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names, when ``fit`` got a DataFrame.
    kinds_ : list of str
        The kind of each column (``"float"``, ``"integer"``, ``"boolean"``,
        ``"categorical"``).
    dtypes_ : list of str
        The dtype of each column as pandas or NumPy names it (``"category"``
        for the category dtype).
    categories_ : list of ndarray or None
        Per column: the levels (categories, booleans, or the values of an
        integer column with few levels) in encoding order; ``None`` for
        continuous columns.
    frequencies_ : list of ndarray or None
        Per column: the training fraction of each level (the missing level
        last, when there is one); ``None`` for continuous columns.
    quantiles_ : list of ndarray or None
        Per continuous column: the sorted distinct training values and their
        distribution function, shape ``(2, n_values)``.
    min_, max_, mean_, scale_ : list of float or None
        Per numeric column: observed range, mean and standard deviation.
    steps_ : list of float or None
        Per float or integer column: the step of the grid that decoded values
        are rounded to (``None``: not rounded, for other kinds, for training
        values with more than 6 decimal places, or with
        ``enforce_rounding=False``).
    n_samples_fit_ : int
        Rows seen by ``fit`` (it sizes the margin that keeps normal scores
        finite, so encoding does not depend on how many rows are encoded).
    has_missing_ : list of bool
        Per column: whether ``fit`` saw missing values.
    missing_fraction_ : list of float
        Per column: the fraction of missing values in ``fit``.
    ordered_ : list of bool
        Per column: whether its category dtype is ordered.
    frame_ : bool
        Whether ``fit`` got a DataFrame (then ``inverse_transform`` returns
        one).

    See Also
    --------
    make_tabular_sampler : this encoder in front of a GTN.

    Notes
    -----
    ``transform`` is randomised for numeric values seen in ``fit`` (and for
    categories with ``categorical_encoding="uniform"``): each row gets its own
    draw in its value's interval, so the encoding of a row depends on the
    other rows of the call and on ``random_state``, and a round trip returns
    a continuous value within half the gap to its neighbours. This smoothing
    gave better samples (``_quantile_scores``). scikit-learn's
    ``check_methods_sample_order_invariance`` and
    ``check_methods_subset_invariance`` fail for that reason; the other 43
    common checks pass. One-hot categories and values not seen in ``fit``
    are encoded deterministically.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_gtn import TabularEncoder
    >>> df = pd.DataFrame({"size": [1.5, 2.0, 3.5, 2.2],
    ...                    "rooms": [1, 2, 3, 2],
    ...                    "city": pd.Categorical(["a", "b", "a", "a"])})
    >>> enc = TabularEncoder(random_state=0).fit(df)
    >>> enc.kinds_
    ['float', 'integer', 'categorical']
    >>> Z = enc.transform(df)
    >>> Z.shape
    (4, 4)
    >>> enc.get_feature_names_out().tolist()
    ['size', 'rooms', 'city_a', 'city_b']
    >>> back = enc.inverse_transform(Z)
    >>> back.dtypes.astype(str).tolist()
    ['float64', 'int64', 'category']
    >>> back["city"].tolist()
    ['a', 'b', 'a', 'a']
    """

    def __init__(
        self,
        *,
        categorical_features="from_dtype",
        integer_features="from_dtype",
        categorical_encoding="onehot",
        numeric_transform="quantile",
        enforce_min_max_values=True,
        enforce_rounding=True,
        handle_missing="indicator",
        random_state=None,
    ):
        self.categorical_features = categorical_features
        self.integer_features = integer_features
        self.categorical_encoding = categorical_encoding
        self.numeric_transform = numeric_transform
        self.enforce_min_max_values = enforce_min_max_values
        self.enforce_rounding = enforce_rounding
        self.handle_missing = handle_missing
        self.random_state = random_state

    # ------------------------------------------------------------------- fit
    def _check_params(self):
        _check_choice(
            self.categorical_encoding, "categorical_encoding", _CATEGORICAL_ENCODINGS
        )
        _check_choice(self.numeric_transform, "numeric_transform", _NUMERIC_TRANSFORMS)
        _check_choice(self.handle_missing, "handle_missing", _HANDLE_MISSING)
        for name in ("enforce_min_max_values", "enforce_rounding"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {value!r}.")

    def fit(self, X, y=None):
        """Learn each column's kind, levels, quantiles and range.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table.
        y : None
            Ignored.

        Returns
        -------
        self : TabularEncoder
        """
        self._check_params()
        cols = _Columns(X)
        categorical = _selected(self.categorical_features, cols, "categorical_features")
        integer = _selected(self.integer_features, cols, "integer_features")
        if categorical and integer and categorical & integer:
            both = [cols.names[j] for j in sorted(categorical & integer)]
            raise ValueError(
                f"columns {both} are in both categorical_features and integer_features."
            )
        state = {
            key: []
            for key in (
                "kinds_",
                "dtypes_",
                "categories_",
                "frequencies_",
                "quantiles_",
                "min_",
                "max_",
                "mean_",
                "scale_",
                "steps_",
                "has_missing_",
                "missing_fraction_",
                "ordered_",
            )
        }
        for j, (name, values, dtype) in enumerate(
            zip(cols.names, cols.arrays, cols.dtypes, strict=True)
        ):
            kind = _dtype_kind(dtype, np.asarray(values, dtype=object))
            if categorical is not None and j in categorical:
                kind = "categorical"
            elif integer is not None and j in integer:
                kind = "integer"
            if kind is None and getattr(dtype, "kind", "") == "c":
                raise ValueError(
                    f"Complex data not supported: column {name!r} has dtype {dtype}."
                )
            if kind is None:
                raise TypeError(
                    f"column {name!r} has dtype {dtype}, which TabularEncoder does "
                    "not encode; convert it to numbers or strings first."
                )
            for key, value in self._fit_column(name, values, dtype, kind).items():
                state[key].append(value)
        self.__dict__.update(state)
        self.n_features_in_ = len(cols.names)
        self.n_samples_fit_ = int(cols.n_rows)
        self.frame_ = cols.frame
        if cols.frame:
            self.feature_names_in_ = np.asarray(cols.names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self._raw_names = cols.raw_names
        return self

    def _fit_column(self, name, values, dtype, kind):
        missing = _is_missing(values)
        if missing.all():
            raise ValueError(f"column {name!r} has no observed value.")
        if missing.any() and self.handle_missing == "error":
            raise ValueError(
                f"column {name!r} has {int(missing.sum())} missing values; pass "
                "handle_missing='indicator' to model them, or fill them first."
            )
        pd = _pandas()
        is_category = pd is not None and isinstance(dtype, pd.CategoricalDtype)
        out = {
            "kinds_": kind,
            "dtypes_": "category" if is_category else str(dtype),
            "categories_": None,
            "frequencies_": None,
            "quantiles_": None,
            "min_": None,
            "max_": None,
            "mean_": None,
            "scale_": None,
            "steps_": None,
            "has_missing_": bool(missing.any()),
            "missing_fraction_": float(missing.mean()),
            "ordered_": bool(is_category and dtype.ordered),
        }
        present = np.asarray(values, dtype=object)[~missing]
        if kind in ("categorical", "boolean"):
            if is_category:
                # the dtype's categories, in its order; unseen ones get no mass
                levels = _plain_levels(list(dtype.categories))
            else:
                levels = _sorted_levels(present)
            if kind == "boolean":
                levels = np.array([False, True])
                present = np.array([bool(v) for v in present], dtype=object)
            index = {_as_key(v): k for k, v in enumerate(levels)}
            codes = np.array([index[_as_key(v)] for v in present], dtype=np.int64)
            counts = np.bincount(codes, minlength=len(levels)).astype(np.float64)
            if missing.any():
                counts = np.r_[counts, missing.sum()]
            out["categories_"] = levels
            out["frequencies_"] = counts / counts.sum()
            return out
        try:
            x = np.asarray(present, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"column {name!r} is treated as {kind} but holds values that are "
                f"not numbers, e.g. {present[0]!r}; list it in categorical_features."
            ) from None
        if not np.isfinite(x).all():
            raise ValueError(f"column {name!r} holds infinite values.")
        out["min_"], out["max_"] = float(x.min()), float(x.max())
        out["mean_"] = float(x.mean())
        scale = float(x.std())
        out["scale_"] = scale if scale > 0 else 1.0
        if self.enforce_rounding:
            out["steps_"] = _grid_step(x)
        uniques, counts = np.unique(x, return_counts=True)
        if kind == "integer":
            if not np.allclose(x, np.round(x)):
                raise ValueError(
                    f"column {name!r} is treated as integer but holds fractions, "
                    f"e.g. {x[~np.isclose(x, np.round(x))][0]!r}."
                )
            if len(uniques) <= _DISCRETE_MAX_LEVELS:
                out["categories_"] = np.round(uniques).astype(np.int64)
                out["frequencies_"] = counts / counts.sum()
                return out
        cdf = np.cumsum(counts) / counts.sum()
        out["quantiles_"] = np.vstack([uniques, cdf])
        return out

    # ------------------------------------------------------------- transform
    def _n_out(self, j):
        if self._onehot(j):
            return len(self.categories_[j]) + int(self.has_missing_[j])
        return 1 + int(self._indicator(j))

    def _onehot(self, j):
        return self.categorical_encoding == "onehot" and self.kinds_[j] in (
            "categorical",
            "boolean",
        )

    def _indicator(self, j):
        return self.has_missing_[j] and self.kinds_[j] in ("float", "integer")

    def _check_columns(self, cols, name):
        if cols.frame and hasattr(self, "feature_names_in_"):
            expected = list(self.feature_names_in_)
            if cols.names != expected:
                missing = [c for c in expected if c not in cols.names]
                extra = [c for c in cols.names if c not in expected]
                if missing or extra:
                    detail = f"missing columns {missing}, unknown columns {extra}"
                else:
                    detail = "the columns are in another order"
                raise ValueError(
                    f"{name} does not have the columns seen in fit: {detail}; "
                    f"expected {expected}."
                )
        if len(cols.names) != self.n_features_in_:
            raise ValueError(
                f"{name} has {len(cols.names)} features, but TabularEncoder is "
                f"expecting {self.n_features_in_} features as input."
            )

    def transform(self, X):
        """Encode a table into continuous columns.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features_in_)
            Rows with the columns seen in ``fit``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_out)
            The encoded rows (float64; see :meth:`get_feature_names_out`).
        """
        check_is_fitted(self)
        cols = _Columns(X)
        self._check_columns(cols, "X")
        rng = check_random_state(self.random_state)
        blocks = []
        for j, values in enumerate(cols.arrays):
            blocks.append(self._transform_column(j, values, rng))
        return np.hstack(blocks)

    def _column_name(self, j):
        if hasattr(self, "feature_names_in_"):
            return str(self.feature_names_in_[j])
        return f"x{j}"

    def _transform_column(self, j, values, rng):
        name, kind = self._column_name(j), self.kinds_[j]
        missing = _is_missing(values)
        if missing.any() and not self.has_missing_[j]:
            raise ValueError(
                f"column {name!r} has missing values, which it had not in fit."
            )
        n = len(missing)
        levels = self.categories_[j]
        if kind in ("categorical", "boolean"):
            index = {_as_key(v): k for k, v in enumerate(levels)}
            codes = np.full(n, len(levels), dtype=np.int64)  # the missing level
            for i, v in enumerate(np.asarray(values, dtype=object)):
                if missing[i]:
                    continue
                key = bool(v) if kind == "boolean" else _as_key(v)
                k = index.get(key)
                if k is None:
                    raise ValueError(
                        f"column {name!r} holds the value {v!r}, not seen in fit; "
                        f"known: {list(levels)[:10]}."
                    )
                codes[i] = k
            if self._onehot(j):
                out = np.zeros((n, self._n_out(j)))
                out[np.arange(n), codes] = 1.0
                return out
            return _uniform_scores(
                codes, self.frequencies_[j], rng, self.n_samples_fit_
            )[:, None]
        x = np.empty(n)
        try:
            x[~missing] = np.asarray(
                np.asarray(values, dtype=object)[~missing], dtype=np.float64
            )
        except (TypeError, ValueError):
            raise ValueError(
                f"column {name!r} must hold numbers, got e.g. "
                f"{np.asarray(values, dtype=object)[~missing][0]!r}."
            ) from None
        if not np.isfinite(x[~missing]).all():
            raise ValueError(f"column {name!r} holds infinite values.")
        if missing.any():  # fill with random observed values of the column
            # (the training mean when the batch has none: a single missing
            # row); the indicator column marks these rows, they decode to NaN
            pool = x[~missing] if (~missing).any() else [self.mean_[j]]
            x[missing] = rng.choice(pool, missing.sum())
        if self.numeric_transform == "standard":
            z = (x - self.mean_[j]) / self.scale_[j]
        elif levels is not None:  # an integer column with few levels
            codes = np.searchsorted(levels, np.round(x))
            codes = np.clip(codes, 0, len(levels) - 1)
            exact = levels[codes] == np.round(x)
            freq = self.frequencies_[j]
            z = _uniform_scores(codes, freq, rng, self.n_samples_fit_)
            if not exact.all():  # unseen values: at the edge of their neighbours
                u = np.interp(x[~exact], levels, np.cumsum(freq))
                z[~exact] = _normal_scores(u, self.n_samples_fit_)
        else:
            z = _quantile_scores(x, self.quantiles_[j], rng)
        if self._indicator(j):
            freq = self._missing_freq(j)
            flags = missing.astype(np.int64)
            return np.c_[z, _uniform_scores(flags, freq, rng, self.n_samples_fit_)]
        return z[:, None]

    # ----------------------------------------------------- inverse transform
    def inverse_transform(self, X):
        """Decode continuous columns back into a table.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out)
            Encoded rows (from :meth:`transform` or from a sampler).

        Returns
        -------
        table : DataFrame or ndarray of shape (n_samples, n_features_in_)
            A DataFrame with the training columns in order, with their dtypes
            (``category`` with its categories), when ``fit`` got a DataFrame;
            otherwise an ndarray (of objects when there are categorical
            columns).
        """
        check_is_fitted(self)
        if is_dataframe(X):
            X = X.to_numpy()
        Z = np.asarray(X, dtype=np.float64)
        n_out = sum(self._n_out(j) for j in range(self.n_features_in_))
        if Z.ndim != 2 or Z.shape[1] != n_out:
            raise ValueError(
                f"X must have shape (n_samples, {n_out}) (the encoded columns), "
                f"got {Z.shape}."
            )
        if not np.isfinite(Z).all():
            bad = np.flatnonzero(~np.isfinite(Z).all(axis=0))[0]
            raise ValueError(
                f"X holds NaN or infinite values (encoded column "
                f"{self.get_feature_names_out()[bad]!r})."
            )
        columns, start = [], 0
        for j in range(self.n_features_in_):
            width = self._n_out(j)
            columns.append(self._inverse_column(j, Z[:, start : start + width]))
            start += width
        return self._assemble(columns, len(Z))

    def _inverse_column(self, j, block):
        kind, levels = self.kinds_[j], self.categories_[j]
        if self._onehot(j):
            codes = block.argmax(axis=1)
            missing = codes == len(levels)
            return _take_levels(levels, np.minimum(codes, len(levels) - 1), missing)
        z = block[:, 0]
        if kind in ("categorical", "boolean"):
            codes = _decode_levels(z, self.frequencies_[j])
            missing = codes == len(levels)
            return _take_levels(levels, np.minimum(codes, len(levels) - 1), missing)
        if self.numeric_transform == "standard":
            x = z * self.scale_[j] + self.mean_[j]
            if levels is not None:  # nearest observed level
                x = levels[np.abs(x[:, None] - levels[None, :]).argmin(axis=1)]
        elif levels is not None:
            x = levels[_decode_levels(z, self.frequencies_[j])].astype(np.float64)
        else:
            values, cdf = self.quantiles_[j]
            x = _quantile_values(z, values, cdf)
        if self.enforce_min_max_values:
            x = np.clip(x, self.min_[j], self.max_[j])
        # encoders saved before enforce_rounding existed have no steps_
        steps = getattr(self, "steps_", None)
        step = None if steps is None else steps[j]
        if step is not None and levels is None:
            # multiples of the step; the last rounding removes float noise
            # (0.07 * 3 = 0.21000000000000002)
            x = np.round(np.round(x / step) * step, _MAX_DECIMALS)
        if kind == "integer":
            x = np.round(x)
        if self._indicator(j):
            x = x.astype(np.float64)
            x[_decode_levels(block[:, 1], self._missing_freq(j)) == 1] = np.nan
        return x

    def _missing_freq(self, j):
        p = self.missing_fraction_[j]
        return np.array([1.0 - p, p])

    def _assemble(self, columns, n_rows):
        pd = _pandas()
        if self.frame_ and pd is not None:
            data = {}
            for j, values in enumerate(columns):
                data[j] = self._as_series(j, values, pd)
            frame = pd.DataFrame(data)
            frame.columns = self._raw_names
            return frame
        if all(k in ("float", "integer") for k in self.kinds_):
            return np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
        out = np.empty((n_rows, len(columns)), dtype=object)
        for j, values in enumerate(columns):
            out[:, j] = values
        return out

    def _as_series(self, j, values, pd):
        dtype, kind = self.dtypes_[j], self.kinds_[j]
        if dtype == "category":
            cat = pd.CategoricalDtype(self.categories_[j], ordered=self.ordered_[j])
            return pd.Series(pd.Categorical(values, dtype=cat))
        if kind in ("float", "integer"):
            series = pd.Series(np.asarray(values, dtype=np.float64))
            nullable = dtype.startswith(("Int", "UInt"))
            if nullable or (series.isna().any() and kind == "integer"):
                # NaN does not fit a NumPy integer: the nullable dtype does
                return series.astype(dtype if nullable else "Int64")
            return series.astype(dtype)
        series = pd.Series(values, dtype=object)
        try:
            return series.astype(dtype)
        except (TypeError, ValueError):
            return series

    # ------------------------------------------------------------------ names
    def get_feature_names_out(self, input_features=None):
        """Names of the encoded columns.

        One name per column (the column's own name), ``"<name>_missing"`` for
        missing-value indicators, and ``"<name>_<level>"`` for one-hot levels.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored beyond a check against the names seen in ``fit``.

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self)
        if input_features is not None and hasattr(self, "feature_names_in_"):
            if list(input_features) != list(self.feature_names_in_):
                raise ValueError(
                    "input_features is not equal to feature_names_in_: "
                    f"{list(input_features)} vs {list(self.feature_names_in_)}."
                )
        names = []
        for j in range(self.n_features_in_):
            base = self._column_name(j)
            if self._onehot(j):
                names += [f"{base}_{v}" for v in self.categories_[j]]
                if self.has_missing_[j]:
                    names.append(f"{base}_missing")
            else:
                names.append(base)
                if self._indicator(j):
                    names.append(f"{base}_missing")
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def _sorted_levels(present):
    """Distinct values in a stable order: sorted when comparable."""
    keys = {}
    for v in present:
        keys.setdefault(_as_key(v), v)
    levels = list(keys)
    try:
        levels = sorted(levels)
    except TypeError:
        levels = sorted(levels, key=lambda v: (type(v).__name__, str(v)))
    return _plain_levels(levels)


def _plain_levels(levels):
    """Levels as an int64 array when they are integers, else an object array."""
    if levels and all(
        isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
        for v in levels
    ):
        return np.asarray(levels, dtype=np.int64)  # saved as a plain array
    return np.asarray(levels, dtype=object)


def _normal_scores(u, n_rows):
    """``norm.ppf(u)`` kept finite: u at least a fraction of one of ``n_rows``
    training rows from 0 and 1 (so a level at either end keeps its interval,
    whatever the number of rows encoded)."""
    eps = _EDGE / max(n_rows, 1)
    return ndtri(np.clip(u, eps, 1.0 - eps))


def _uniform_scores(codes, freq, rng, n_rows):
    """Normal scores of level codes: uniform in each level's interval, then ppf."""
    upper = np.cumsum(freq)
    lower = upper - freq
    u = lower[codes] + rng.uniform(size=len(codes)) * freq[codes]
    return _normal_scores(u, n_rows)


def _decode_levels(z, freq):
    """The level whose interval holds ``norm.cdf(z)``."""
    upper = np.cumsum(freq)
    codes = np.searchsorted(upper, ndtr(z), side="right")
    # levels of zero mass are never returned
    return np.minimum(codes, len(freq) - 1)


def _quantile_knots(values, cdf):
    """Piecewise-linear map between u and x: each training value owns its mass.

    The value ``v_k`` owns ``[F(v_k-), F(v_k)]`` of ``[0, 1]``, mapped linearly
    onto ``[(v_{k-1} + v_k) / 2, (v_k + v_{k+1}) / 2]`` (the range ends at the
    extremes), so ties decode near their value and the map stays monotone.
    """
    edges_x = np.r_[values[0], (values[:-1] + values[1:]) / 2, values[-1]]
    edges_u = np.r_[0.0, cdf]
    edges_u[-1] = 1.0
    return edges_u, edges_x


def _quantile_scores(x, table, rng):
    """Normal scores of continuous values through their training distribution.

    A training value gets a uniform draw in its own interval (ties spread
    out; for values held by one row too, which measured better than mapping
    them deterministically: benchmarks/results/tabular-2026-12-04.md,
    "Encoder choices"); any other value goes through the piecewise-linear map.
    """
    values, cdf = table
    lower = np.r_[0.0, cdf[:-1]]
    k = np.clip(np.searchsorted(values, x), 0, len(values) - 1)
    exact = values[k] == x
    u = np.empty(len(x))
    u[exact] = lower[k[exact]] + rng.uniform(size=exact.sum()) * (
        cdf[k[exact]] - lower[k[exact]]
    )
    edges_u, edges_x = _quantile_knots(values, cdf)
    u[~exact] = np.interp(x[~exact], edges_x, edges_u)
    return _normal_scores(u, len(values))


def _quantile_values(z, values, cdf):
    """Inverse of :func:`_quantile_scores`: within the observed range."""
    edges_u, edges_x = _quantile_knots(values, cdf)
    return np.interp(ndtr(z), edges_u, edges_x)


def _take_levels(levels, codes, missing):
    out = np.asarray(levels, dtype=object)[codes]
    if missing.any():
        out = out.copy()
        out[missing] = np.nan
    return out


def _default_sampler(random_state):
    """The sampler of :func:`make_tabular_sampler` when none is given."""
    from .mixture import GTNMixture
    from .sampler import GTNSampler

    # One GTNSampler per k-means piece of the encoded rows: a single map from
    # one normal puts rows between the category-combination clusters of a
    # table (penguins: species x island x sex). On penguins (6 splits) 3
    # pieces and 2 are even on the median C2ST, 2 worse on split 0; 4, 6 or
    # a number chosen by BIC do no better and memorise more; on diamonds and
    # Wages 3 pieces help a little. Each piece: 4 layers of 64 (GTNSampler's
    # own width, 256 on these tables, fitted penguins slower than CTGAN for
    # no better median), GTNSampler's own training budget (at least 4,000
    # updates, with its relabeling) in batches of 32, no inverse network
    # (half the fit time). Figures: benchmarks/results/tabular-2026-12-04.md,
    # docs/tabular.rst, "Quality against other synthesizers".
    piece = GTNSampler(
        hidden_layer_sizes=_DEFAULT_HIDDEN,
        batch_size=_DEFAULT_BATCH_SIZE,
        # measured without the noise term (which pieces of 2,000 rows or more
        # would otherwise get)
        noise_scale=0.0,
        fit_inverse=False,
    )
    return GTNMixture(
        piece,
        n_components=_DEFAULT_PIECES,
        rows_per_component=_DEFAULT_ROWS_PER_PIECE,
        random_state=random_state,
    )


def make_tabular_sampler(sampler=None, *, random_state=None, **encoder_params):
    """A GTN for mixed tables: :class:`TabularEncoder` then a sampler.

    Parameters
    ----------
    sampler : estimator with ``sample(n_samples, random_state)``, default=None
        The generative model of the encoded columns. ``None``:
        ``GTNMixture(GTNSampler(hidden_layer_sizes=(64,) * 4, batch_size=32,
        noise_scale=0, fit_inverse=False), n_components=3,
        rows_per_component=50)`` seeded
        with ``random_state``: three k-means pieces of the encoded rows (fewer
        below 150 rows), one GTN of 4 layers of 64 each with GTNSampler's own
        training budget (at least 4,000 updates) in batches of 32. A table's category
        combinations form separate clusters, and a single map from one
        normal also puts rows between them; the pieces lowered the median
        C2ST on penguins (6 splits), and a little on diamonds and Wages
        (``benchmarks/results/tabular-2026-12-04.md``; see :doc:`/tabular`,
        "Quality against other synthesizers"). The fit costs one GTN per
        piece. ``interpolate`` runs on a straight line between encoded rows
        (the pieces have no common code space), and the pipeline has no
        ``transform`` or ``inverse_transform``; pass
        ``GTNSampler(batch_size=32, fit_inverse=False)``, the previous
        default, for a single GTN with ``inverse_transform``.
    random_state : int, RandomState instance or None, default=None
        Seeds the encoder (its uniform draws) and the default sampler.
    **encoder_params : dict
        Parameters of :class:`TabularEncoder` (``categorical_features``,
        ``handle_missing``, ...).

    Returns
    -------
    pipe : GenerativePipeline
        Unfitted; ``fit(df)`` then ``sample(n_samples, random_state)``
        returns a DataFrame with ``df``'s columns and dtypes.

    See Also
    --------
    TabularEncoder : the column encoding.
    GTNOverSampler : synthetic rows for the minority classes.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_gtn import GTNSampler, make_tabular_sampler
    >>> rng = np.random.RandomState(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=200),
    ...                    "n": rng.poisson(3, size=200),
    ...                    "colour": rng.choice(["red", "blue"], size=200)})
    >>> pipe = make_tabular_sampler(
    ...     GTNSampler(hidden_layer_sizes=(16,), max_epochs=3), random_state=0
    ... ).fit(df)
    >>> new = pipe.sample(5, random_state=0)
    >>> list(new.columns), new["n"].dtype.name
    (['x', 'n', 'colour'], 'int64')
    >>> set(new["colour"]) <= {"red", "blue"}
    True
    """
    from .pipeline import GenerativePipeline

    encoder = TabularEncoder(random_state=random_state, **encoder_params)
    if sampler is None:
        sampler = _default_sampler(random_state)
    elif not hasattr(sampler, "sample") or not hasattr(sampler, "fit"):
        raise TypeError(
            "sampler must be an estimator with fit and sample methods, got "
            f"{type(sampler).__name__}."
        )
    return GenerativePipeline(
        [("tabularencoder", encoder), (type(sampler).__name__.lower(), sampler)]
    )
