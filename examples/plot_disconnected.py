"""
Disconnected and curved data: one map per piece (Appendix C)
============================================================

A continuous map sends the connected normal onto a connected set, so a single
GTN cannot leave the gaps between separate pieces (the two moons, the squares
of a checkerboard) empty: some samples land between them. The paper's remedy
(its Appendix C) is one map per piece. :class:`~sklearn_gtn.GTNMixture` splits
the data by k-means (by default one piece per 600 rows, at most 8), fits one
:class:`~sklearn_gtn.GTNSampler` per piece and samples the pieces in their
proportions. Pieces of curved sets (the two spirals) are also closer to
convex, where the assignment labeling gives a smooth map.

Each panel reports the classifier two-sample accuracy of the samples against
held-out real points (:func:`~sklearn_gtn.metrics.c2st_accuracy`: 0.5 means
a classifier cannot tell them apart).

Scale: 5,000 training points per data set, the defaults of both estimators
(about a minute and a half in all on a 2-core CPU); ``SKLEARN_GTN_FULL=1``
uses 10,000 and adds the eight gaussians and the 2-D swiss roll.
"""

# %%
import os

import matplotlib.pyplot as plt

from sklearn_gtn import GTNMixture, GTNSampler
from sklearn_gtn.datasets import make_toy_dataset
from sklearn_gtn.metrics import c2st_accuracy

FULL = os.environ.get("SKLEARN_GTN_FULL") == "1"
QUICK = os.environ.get("SKLEARN_GTN_EXAMPLES_QUICK") == "1"
N_SAMPLES = 10_000 if FULL else (1_300 if QUICK else 5_000)
EPOCHS = {"max_epochs": 2} if QUICK else {}  # the default: 60
DATASETS = ["moons", "checkerboard", "two_spirals"]
if FULL:
    DATASETS += ["eight_gaussians", "swiss_roll_2d"]

# %%
# Fit one map and one map per piece on each data set
# --------------------------------------------------
results = {}
for name in DATASETS:
    X = make_toy_dataset(name, 2 * N_SAMPLES, random_state=0)
    X_train, X_test = X[:N_SAMPLES], X[N_SAMPLES:]
    one = GTNSampler(random_state=0, **EPOCHS).fit(X_train)
    mix = GTNMixture(GTNSampler(**EPOCHS), random_state=0).fit(X_train)
    row = {"real": X_test}
    for label, model in [("one map", one), (f"{mix.n_components_} pieces", mix)]:
        S = model.sample(len(X_test), random_state=1)
        row[label] = S
        acc = c2st_accuracy(X_test, S, random_state=0)
        print(f"{name:<13} {label:<9} two-sample accuracy {acc:.3f}")
        row[label + " acc"] = acc
    results[name] = (row, mix)

# %%
# Real points, one map, and one map per piece
# -------------------------------------------
# The pieces' own colours show where k-means cut the data.
fig, axes = plt.subplots(
    len(DATASETS), 3, figsize=(10, 3.3 * len(DATASETS)), layout="constrained"
)
for (name, (row, mix)), ax_row in zip(results.items(), axes, strict=True):
    real = row["real"]
    ax_row[0].scatter(real[:, 0], real[:, 1], s=1, c="0.3")
    ax_row[0].set_title(f"{name}: held-out real points")
    labels = [k for k in row if k != "real" and not k.endswith(" acc")]
    for ax, label in zip(ax_row[1:], labels, strict=True):
        S = row[label]
        if label == "one map":
            ax.scatter(S[:, 0], S[:, 1], s=1, c="tab:blue")
        else:
            ax.scatter(S[:, 0], S[:, 1], s=1, c=mix.predict(S), cmap="tab10")
        ax.set_title(f"{label}: two-sample acc. {row[label + ' acc']:.3f}")
    for ax in ax_row:
        ax.set(xlim=ax_row[0].get_xlim(), ylim=ax_row[0].get_ylim(), aspect="equal")
        ax.set_xticks([])
        ax.set_yticks([])
plt.show()
