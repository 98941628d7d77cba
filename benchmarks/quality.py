"""Sample quality of GTN configurations next to scikit-learn's samplers.

For each data set a model is fitted on ``n_train`` rows and compared with as
many held-out rows: classifier two-sample test accuracy (C2ST, 0.5 = the
classifier cannot tell generated from real), energy distance, and k-NN
precision / recall / coverage (k = 5). Peers in the same run:
``KernelDensity`` (bandwidth by 5-fold cross-validated likelihood) and
``GaussianMixture`` (number of components by BIC).

    python benchmarks/quality.py                      # the full table
    python benchmarks/quality.py --quick              # small smoke run
    python benchmarks/quality.py --datasets moons uniform_square --models gtn_paper kde

Prints a Markdown table (mean C2ST over the seven toy sets last).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from sklearn.datasets import load_breast_cancer, load_digits, load_wine  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.neighbors import KernelDensity  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_gtn import ConvAutoencoder, GTNMixture, GTNSampler  # noqa: E402
from sklearn_gtn.datasets import TOY_DATASETS, make_toy_dataset  # noqa: E402
from sklearn_gtn.metrics import (  # noqa: E402
    c2st_accuracy,
    energy_distance,
    precision_recall_coverage,
)

TOY = list(TOY_DATASETS)
TABULAR = ["wine", "breast_cancer", "digits_ae"]

# GTN configurations: the defaults, the paper's (one parameter away), and the
# candidates the defaults were chosen from
GTN_CONFIGS = {
    "gtn_default": dict(),
    "gtn_paper": dict(labeling="algorithm1"),
    "gtn_assign": dict(labeling="assignment", batch_norm=True, patience=3),
    # the defaults until 2026-11-29: early stopping on the label MSE
    "gtn_assign_p20": dict(
        labeling="assignment",
        batch_norm=False,
        patience=20,
        max_epochs=100,
        validation_fraction=0.1,
    ),
}


def load(name, n_train, seed):
    """Train and held-out rows (standardised for the tabular sets)."""
    if name in TOY_DATASETS:
        X = make_toy_dataset(name, 2 * n_train, random_state=seed)
        return X[:n_train], X[n_train:]
    if name == "wine":
        X = load_wine().data
    elif name == "breast_cancer":
        X = load_breast_cancer().data
    elif name == "digits_ae":
        X = load_digits().data.reshape(-1, 1, 8, 8)
    else:
        raise ValueError(name)
    A, B = train_test_split(X, test_size=0.5, random_state=seed)
    if name == "digits_ae":
        return A, B
    scaler = StandardScaler().fit(A)
    return scaler.transform(A), scaler.transform(B)


class KDEPeer:
    """KernelDensity with its bandwidth chosen by cross-validated likelihood."""

    def fit(self, X):
        grid = {"bandwidth": np.logspace(-2.5, 0.5, 16) * X.std(axis=0).mean()}
        search = GridSearchCV(KernelDensity(), grid, cv=5).fit(X)
        self.model_ = search.best_estimator_
        self.note_ = f"bw={self.model_.bandwidth:.3g}"
        return self

    def sample(self, n, random_state=None):
        return self.model_.sample(n, random_state=random_state)


class GMMPeer:
    """GaussianMixture with the number of components chosen by BIC."""

    def fit(self, X):
        best = None
        for k in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32):
            if k >= len(X) // 2:
                break
            gmm = GaussianMixture(k, random_state=0).fit(X)
            bic = gmm.bic(X)
            if best is None or bic < best[0]:
                best = (bic, gmm)
        self.model_ = best[1]
        self.note_ = f"k={self.model_.n_components}"
        return self

    def sample(self, n, random_state=None):
        self.model_.random_state = random_state
        return self.model_.sample(n)[0]


class GTNPeer:
    def __init__(self, **params):
        self.params = params

    def fit(self, X):
        self.model_ = GTNSampler(device="cpu", random_state=0, **self.params).fit(X)
        self.note_ = f"epochs={self.model_.n_epochs_}"
        return self

    def sample(self, n, random_state=None):
        return self.model_.sample(n, random_state=random_state)


class AEPeer:
    """A model of digits through the paper's conv autoencoder (latent d=5)."""

    def __init__(self, inner):
        self.inner = inner

    def fit(self, X):
        self.ae_ = ConvAutoencoder(latent_dim=5, max_epochs=30, random_state=0).fit(X)
        self.inner.fit(self.ae_.transform(X))
        self.note_ = getattr(self.inner, "note_", "")
        return self

    def sample(self, n, random_state=None):
        Z = self.inner.sample(n, random_state=random_state)
        return self.ae_.inverse_transform(Z).reshape(n, -1)


class GTNMixturePeer:
    """One GTN per k-means cluster (Appendix C); ``GTNMixture()``'s default
    ``n_components="auto"``: 8 pieces from 4,800 rows on."""

    def __init__(self, n_components="auto", **params):
        self.n_components = n_components
        self.params = params

    def fit(self, X):
        base = GTNSampler(device="cpu", **self.params)
        self.model_ = GTNMixture(
            base, n_components=self.n_components, random_state=0
        ).fit(X)
        self.note_ = f"k={self.model_.n_components_}"
        return self

    def sample(self, n, random_state=None):
        return self.model_.sample(n, random_state=random_state)


def make_model(name):
    if name == "kde":
        return KDEPeer()
    if name == "gmm":
        return GMMPeer()
    if name == "gtn_mixture":  # GTNMixture(): n_components="auto", GTNSampler() maps
        return GTNMixturePeer()
    if name.startswith("gtn_mix"):  # gtn_mix4: 4 clusters of GTNSampler() maps
        return GTNMixturePeer(int(name[7:]))
    return GTNPeer(**GTN_CONFIGS[name])


def evaluate(dataset, model_name, n_train, seed):
    X_train, X_test = load(dataset, n_train, seed)
    model = make_model(model_name)
    if dataset == "digits_ae":
        model = AEPeer(model)
    tic = time.perf_counter()
    model.fit(X_train)
    fit_s = time.perf_counter() - tic
    real = X_test.reshape(len(X_test), -1)
    fake = model.sample(len(real), random_state=seed + 1)
    prc = precision_recall_coverage(real, fake, random_state=0)
    return {
        "c2st": c2st_accuracy(real, fake, random_state=0),
        "energy": energy_distance(real, fake),
        **prc,
        "fit_s": fit_s,
        "note": getattr(model, "note_", ""),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=TOY + TABULAR)
    p.add_argument(
        "--models",
        nargs="+",
        default=["gtn_default", "gtn_mixture", "gtn_paper", "kde", "gmm"],
    )
    p.add_argument("--n-train", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    n_train = 500 if args.quick else args.n_train
    datasets = args.datasets[:2] if args.quick else args.datasets
    print(f"n_train={n_train} seed={args.seed} threads={args.threads}")
    print(
        "| data set | model | C2ST | energy | precision | recall | coverage | fit s | |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    c2st = {m: [] for m in args.models}
    for dataset in datasets:
        for model in args.models:
            r = evaluate(dataset, model, n_train, args.seed)
            if dataset in TOY:
                c2st[model].append(r["c2st"])
            print(
                f"| {dataset} | {model} | {r['c2st']:.3f} | {r['energy']:.4f} | "
                f"{r['precision']:.3f} | {r['recall']:.3f} | {r['coverage']:.3f} | "
                f"{r['fit_s']:.1f} | {r['note']} |",
                flush=True,
            )
    print()
    print("| model | mean C2ST over the toy sets |")
    print("|---|---|")
    for model, values in c2st.items():
        if values:
            print(f"| {model} | {np.mean(values):.3f} ({len(values)} sets) |")


if __name__ == "__main__":
    main()
