"""TabularEncoder and make_tabular_sampler: round trips, dtypes, errors."""

import numpy as np
import pytest
from _samplers import GaussianSampler

import sklearn_gtn
from sklearn_gtn import (
    GenerativePipeline,
    GTNMixture,
    GTNSampler,
    TabularEncoder,
    make_tabular_sampler,
)

pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _table(n=400, seed=0, missing=False):
    rng = np.random.RandomState(seed)
    colour = rng.choice(["red", "green", "blue"], size=n, p=[0.6, 0.3, 0.1])
    size = rng.gamma(2.0, 1.5, size=n) + (colour == "red") * 2.0
    df = pd.DataFrame(
        {
            "size": size,
            "count": rng.poisson(3, size=n).astype(np.int32),
            "price": rng.randint(100, 5000, size=n),  # many levels: interpolated
            "flag": rng.rand(n) < 0.3,
            "colour": colour,
            "grade": pd.Categorical(
                rng.choice(["low", "mid", "high"], size=n),
                categories=["low", "mid", "high", "unused"],
                ordered=True,
            ),
        }
    )
    if missing:
        df.loc[rng.rand(n) < 0.1, "size"] = np.nan
        df.loc[rng.rand(n) < 0.05, "colour"] = None
    return df


def _total_variation(a, b):
    p = pd.Series(a).value_counts(normalize=True, dropna=False)
    q = pd.Series(b).value_counts(normalize=True, dropna=False)
    return 0.5 * p.subtract(q, fill_value=0).abs().sum()


def test_kinds_come_from_dtypes_and_can_be_overridden():
    df = _table()
    enc = TabularEncoder().fit(df)
    assert enc.kinds_ == [
        "float",
        "integer",
        "integer",
        "boolean",
        "categorical",
        "categorical",
    ]
    enc = TabularEncoder(categorical_features=["count"], integer_features=[0]).fit(
        df.assign(size=np.round(df["size"]))
    )
    assert enc.kinds_[:2] == ["integer", "categorical"]
    with pytest.raises(ValueError, match="both categorical_features"):
        TabularEncoder(categorical_features=[1], integer_features=["count"]).fit(df)


def test_transform_gives_standard_normal_columns_named_after_the_table():
    df = _table(2000)
    enc = TabularEncoder(categorical_encoding="uniform", random_state=0).fit(df)
    Z = enc.transform(df)
    assert Z.shape == (2000, 6) and Z.dtype == np.float64
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=0.1)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, atol=0.1)
    assert list(enc.get_feature_names_out()) == list(df.columns)
    onehot = TabularEncoder(categorical_encoding="onehot").fit(df)
    names = list(onehot.get_feature_names_out())
    assert names[3:5] == ["flag_False", "flag_True"]
    assert "grade_unused" in names and len(names) == onehot.transform(df).shape[1]


def test_set_output_pandas_names_the_encoded_columns():
    df = _table()
    out = TabularEncoder(random_state=0).set_output(transform="pandas").fit(df)
    Z = out.transform(df)
    assert list(Z.columns) == list(out.get_feature_names_out())
    assert list(Z.columns[:4]) == ["size", "count", "price", "flag_False"]


@pytest.mark.parametrize("encoding", ["uniform", "onehot"])
@pytest.mark.parametrize("numeric", ["quantile", "standard"])
def test_round_trip_keeps_values_columns_and_dtypes(encoding, numeric):
    df = _table()
    enc = TabularEncoder(
        categorical_encoding=encoding, numeric_transform=numeric, random_state=0
    ).fit(df)
    back = enc.inverse_transform(enc.transform(df))
    assert list(back.columns) == list(df.columns)
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    assert list(back["grade"].cat.categories) == ["low", "mid", "high", "unused"]
    assert back["grade"].cat.ordered
    for col in ["count", "flag", "colour", "grade"]:  # discrete: exact
        assert (back[col] == df[col]).all(), col
    # continuous: within half the largest gap between neighbouring values
    gap = np.diff(np.sort(df["size"])).max()
    assert np.abs(back["size"] - df["size"]).max() <= gap / 2 + 1e-9
    assert np.abs(back["price"] - df["price"]).max() <= 200


def _decode_normal(enc, n, seed=0):
    width = len(enc.get_feature_names_out())
    return enc.inverse_transform(np.random.RandomState(seed).normal(size=(n, width)))


def test_decoded_normal_draws_keep_levels_frequencies_bounds_and_integers():
    df = _table(1000)
    enc = TabularEncoder(categorical_encoding="uniform", random_state=0).fit(df)
    new = _decode_normal(enc, 20000)
    assert set(new["colour"]) <= set(df["colour"])
    assert set(new["grade"].astype(object)) <= {"low", "mid", "high"}  # no mass
    for col in ["colour", "grade", "flag", "count"]:
        # 20,000 draws: sampling noise in TV is about 0.01
        assert _total_variation(new[col], df[col]) < 0.02, col
    for col in ["size", "count", "price"]:
        assert new[col].min() >= df[col].min() and new[col].max() <= df[col].max()
    assert new["count"].dtype == np.int32 and new["price"].dtype == np.int64
    # the continuous column follows its training distribution
    from scipy.stats import ks_2samp

    assert ks_2samp(new["size"], df["size"]).statistic < 0.05


def test_standard_transform_enforces_min_max_when_asked():
    df = _table()
    enc = TabularEncoder(numeric_transform="standard").fit(df)
    Z = np.full((5, len(enc.get_feature_names_out())), 8.0)  # far out
    out = enc.inverse_transform(Z)
    assert out["size"].max() == df["size"].max()
    loose = TabularEncoder(
        numeric_transform="standard", enforce_min_max_values=False
    ).fit(df)
    assert loose.inverse_transform(Z)["size"].max() > df["size"].max()


def test_float_columns_come_back_with_their_decimal_places():
    rng = np.random.RandomState(0)
    df = pd.DataFrame(
        {
            "whole": rng.randint(170, 230, 300).astype(float),  # ints read as floats
            "tenths": np.round(rng.normal(40, 5, 300), 1),
            "fine": rng.normal(size=300),  # more than 6 decimals: left alone
            "grams": rng.randint(100, 240, 300) * 25,  # >64 levels, step 25
        }
    )
    enc = TabularEncoder(random_state=0).fit(df)
    assert enc.kinds_ == ["float"] * 3 + ["integer"]
    assert enc.steps_ == [1.0, 0.1, None, 25.0]
    new = _decode_normal(enc, 2000)
    assert new.dtypes.to_dict() == df.dtypes.to_dict()
    assert (new["whole"] == np.round(new["whole"])).all()
    # the same doubles as values written with one decimal
    assert (new["tenths"] == np.round(new["tenths"], 1)).all()
    assert new["tenths"].nunique() > 50
    assert new["fine"].nunique() == len(new)
    assert (new["grams"] % 25 == 0).all() and new["grams"].nunique() > 64
    loose = TabularEncoder(enforce_rounding=False, random_state=0).fit(df)
    assert loose.steps_ == [None] * 4
    assert (_decode_normal(loose, 2000)["whole"] % 1 != 0).any()
    assert (_decode_normal(loose, 2000)["grams"] % 25 != 0).any()
    with pytest.raises(TypeError, match="enforce_rounding must be a bool"):
        TabularEncoder(enforce_rounding="yes").fit(df)


def test_an_encoder_saved_before_rounding_still_decodes():
    # files written before enforce_rounding existed hold no steps_: such an
    # encoder decodes as it did then (no rounding), it does not fail
    rng = np.random.RandomState(1)
    df = pd.DataFrame({"whole": rng.randint(0, 300, 200).astype(float)})
    enc = TabularEncoder(enforce_rounding=False, random_state=0).fit(df)
    Z = enc.transform(df)
    expected = enc.inverse_transform(Z)
    del enc.steps_
    pd.testing.assert_frame_equal(enc.inverse_transform(Z), expected)


def test_missing_values_are_reproduced_with_indicators():
    df = _table(1000, missing=True)
    enc = TabularEncoder(categorical_encoding="uniform", random_state=0).fit(df)
    names = list(enc.get_feature_names_out())
    assert names[:2] == ["size", "size_missing"]
    back = enc.inverse_transform(enc.transform(df))
    pd.testing.assert_series_equal(back["size"].isna(), df["size"].isna())
    pd.testing.assert_series_equal(back["colour"].isna(), df["colour"].isna())
    new = _decode_normal(enc, 20000)
    assert abs(new["size"].isna().mean() - df["size"].isna().mean()) < 0.015
    assert abs(new["colour"].isna().mean() - df["colour"].isna().mean()) < 0.015


def test_missing_integers_come_back_as_nullable_integers():
    df = pd.DataFrame({"n": pd.array([1, 2, None, 4, 5, 2] * 20, dtype="Int64")})
    enc = TabularEncoder(random_state=0).fit(df)
    back = enc.inverse_transform(enc.transform(df))
    assert back["n"].dtype == "Int64"
    assert back["n"].isna().sum() == 20 and (back["n"] == df["n"]).sum() == 100


def test_missing_values_error_names_the_column():
    df = _table(missing=True)
    with pytest.raises(ValueError, match="column 'size' has .* missing values"):
        TabularEncoder(handle_missing="error").fit(df)
    enc = TabularEncoder().fit(_table())
    with pytest.raises(ValueError, match="column 'size' has missing values"):
        enc.transform(df)


def test_bad_input_errors_name_the_column_or_parameter():
    df = _table()
    enc = TabularEncoder().fit(df)
    bad = df.copy()
    bad.loc[0, "colour"] = "purple"
    with pytest.raises(ValueError, match="column 'colour' holds the value 'purple'"):
        enc.transform(bad)
    with pytest.raises(ValueError, match="missing columns \\['grade'\\]"):
        enc.transform(df.drop(columns="grade"))
    with pytest.raises(ValueError, match="another order"):
        enc.transform(df[df.columns[::-1]])
    with pytest.raises(ValueError, match="infinite"):
        TabularEncoder().fit(df.assign(size=np.inf))
    with pytest.raises(ValueError, match="column 'size' is treated as integer"):
        TabularEncoder(integer_features=["size"]).fit(df)
    with pytest.raises(ValueError, match="column 'colour' is treated as integer"):
        TabularEncoder(integer_features=["colour"]).fit(df)
    with pytest.raises(TypeError, match="column 'when' has dtype"):
        TabularEncoder().fit(pd.DataFrame({"when": pd.date_range("2020", periods=3)}))
    with pytest.raises(ValueError, match="categorical_encoding must be one of"):
        TabularEncoder(categorical_encoding="ordinal").fit(df)
    with pytest.raises(ValueError, match="numeric_transform must be one of"):
        TabularEncoder(numeric_transform="log").fit(df)
    with pytest.raises(ValueError, match="handle_missing must be one of"):
        TabularEncoder(handle_missing="drop").fit(df)
    with pytest.raises(ValueError, match="unknown column 'nope'"):
        TabularEncoder(categorical_features=["nope"]).fit(df)
    with pytest.raises(ValueError, match="encoded columns"):
        enc.inverse_transform(np.zeros((3, 2)))
    width = len(enc.get_feature_names_out())
    with pytest.raises(ValueError, match="NaN or infinite.*'size'"):
        enc.inverse_transform(np.full((3, width), np.nan))


def test_ndarray_in_ndarray_out():
    rng = np.random.RandomState(0)
    X = np.c_[rng.normal(size=100), rng.randint(0, 3, size=100)]
    enc = TabularEncoder(random_state=0).fit(X)
    assert enc.kinds_ == ["float", "float"] and enc.frame_ is False
    assert not hasattr(enc, "feature_names_in_")
    back = enc.inverse_transform(enc.transform(X))
    assert isinstance(back, np.ndarray) and back.dtype == np.float64
    mixed = np.array([[1.5, "a"], [2.5, "b"], [0.5, "a"]], dtype=object)
    enc = TabularEncoder(random_state=0).fit(mixed)
    assert enc.kinds_ == ["float", "categorical"]
    back = enc.inverse_transform(enc.transform(mixed))
    assert back.dtype == object and list(back[:, 1]) == ["a", "b", "a"]


def test_transform_is_reproducible_with_random_state():
    df = _table()
    a = TabularEncoder(random_state=3).fit(df)
    np.testing.assert_array_equal(a.transform(df), a.transform(df))
    b = TabularEncoder(random_state=4).fit(df)
    assert not np.allclose(a.transform(df), b.transform(df))


def _small_gtn():
    return GTNSampler(hidden_layer_sizes=(16,), max_epochs=3, device="cpu")


def test_make_tabular_sampler_samples_dataframes():
    df = _table(300)
    pipe = make_tabular_sampler(_small_gtn(), random_state=0).fit(df)
    assert isinstance(pipe, GenerativePipeline)
    assert list(pipe.named_steps) == ["tabularencoder", "gtnsampler"]
    new = pipe.sample(50, random_state=1)
    assert isinstance(new, pd.DataFrame) and new.shape == (50, 6)
    assert new.dtypes.to_dict() == df.dtypes.to_dict()
    pd.testing.assert_frame_equal(new, pipe.sample(50, random_state=1))
    assert not new.equals(pipe.sample(50, random_state=2))
    assert isinstance(pipe.inverse_transform(pipe.transform(df)), pd.DataFrame)
    assert pipe.score(df) <= 0.0


def test_make_tabular_sampler_passes_encoder_params_and_default_sampler():
    pipe = make_tabular_sampler(random_state=5, categorical_encoding="uniform")
    encoder, sampler = pipe[0], pipe[-1]
    assert encoder.categorical_encoding == "uniform" and encoder.random_state == 5
    assert isinstance(sampler, GTNMixture) and sampler.random_state == 5
    # 3 pieces, at most one per 50 rows, each GTNSampler's own budget in
    # batches of 32 without inverse (docs/tabular.rst)
    assert sampler.n_components == 3 and sampler.rows_per_component == 50
    piece = sampler.estimator
    assert isinstance(piece, GTNSampler)
    assert piece.max_epochs == "auto" and piece.batch_size == 32
    assert piece.hidden_layer_sizes == (64,) * 4
    assert piece.fit_inverse is False
    with pytest.raises(TypeError, match="sampler must be an estimator"):
        make_tabular_sampler(object())
    with pytest.raises(TypeError, match="unexpected keyword"):
        make_tabular_sampler(colour="red")


@pytest.mark.parametrize("n_rows, pieces", [(60, 1), (160, 3)])
def test_the_default_sampler_takes_fewer_pieces_on_small_tables(n_rows, pieces):
    df = _table(n_rows)
    pipe = make_tabular_sampler(random_state=0)
    pipe.set_params(
        gtnmixture__estimator__max_epochs=2,
        gtnmixture__estimator__hidden_layer_sizes=(8,),
    ).fit(df)
    assert pipe[-1].n_components_ == pieces
    new = pipe.sample(20, random_state=0)
    assert new.dtypes.to_dict() == df.dtypes.to_dict()
    assert pipe.interpolate(df.iloc[0], df.iloc[1], n_steps=3).shape == (3, 6)


def test_interpolate_between_rows_returns_dataframes():
    df = _table(300)
    pipe = make_tabular_sampler(GaussianSampler(), random_state=0).fit(df)
    path = pipe.interpolate(df.iloc[0], df.iloc[1], n_steps=4)
    assert isinstance(path, pd.DataFrame) and path.shape == (4, 6)
    assert path.dtypes.to_dict() == df.dtypes.to_dict()
    paths = pipe.interpolate(df.iloc[:3], df.iloc[3:6], n_steps=5)
    assert paths.shape == (15, 6) and paths.index.names == ["pair", "step"]


def test_the_encoder_and_the_tabular_sampler_are_exported():
    assert {"TabularEncoder", "make_tabular_sampler"} <= set(sklearn_gtn.__all__)


def test_single_rows_round_trip_to_their_own_rare_levels():
    # the clip that keeps normal scores finite is sized by the training
    # data, not by the rows encoded: a 1-row transform of the rarest level
    # at either end decodes to that level (it fell to the neighbour before)
    rng = np.random.RandomState(0)
    df = pd.DataFrame(
        {
            "n": rng.choice([0, 1, 2], 1000, p=[0.02, 0.49, 0.49]),
            "c": rng.choice(["a", "b", "c"], 1000, p=[0.02, 0.49, 0.49]),
        }
    )
    enc = TabularEncoder(categorical_encoding="uniform", random_state=0).fit(df)
    rare = df[(df["n"] == 0) | (df["c"] == "a")]
    for i in range(len(rare)):
        row = rare.iloc[[i]]
        back = enc.inverse_transform(enc.transform(row))
        assert back["n"].iloc[0] == row["n"].iloc[0]
        assert back["c"].iloc[0] == row["c"].iloc[0]


def test_nullable_int32_keeps_its_dtype_and_a_lone_missing_row_encodes():
    rng = np.random.RandomState(1)
    values = np.where(rng.rand(300) < 0.1, None, rng.randint(0, 100, 300))
    df = pd.DataFrame({"k": pd.array(values, dtype="Int32")})
    enc = TabularEncoder(random_state=0).fit(df)
    back = enc.inverse_transform(enc.transform(df))
    assert back["k"].dtype == pd.Int32Dtype()
    lone = df[df["k"].isna()].iloc[[0]]
    assert enc.inverse_transform(enc.transform(lone))["k"].isna().all()
