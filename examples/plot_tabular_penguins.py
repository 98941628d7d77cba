"""
Synthetic rows of a mixed table: Palmer penguins
================================================

The penguins table mixes categories (species, island, sex), measurements in
millimetres and grams, an integer year, and a few missing values.
:func:`~sklearn_gtn.make_tabular_sampler` puts a
:class:`~sklearn_gtn.TabularEncoder` in front of a GTN: every column becomes
one continuous, normal-looking column, the GTN learns how they depend on each
other, and ``sample`` returns a DataFrame with the same columns, dtypes and
categories, missing values included.

We fit on half of the rows and compare synthetic rows with the other half:
marginals side by side, a pair plot coloured by species, and a classifier
two-sample test (0.5: real and synthetic rows cannot be told apart).

``SKLEARN_GTN_FULL=1`` runs the full training of the default sampler; the
gallery build runs a shorter one.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from palmerpenguins import load_penguins
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_gtn import GTNSampler, make_tabular_sampler
from sklearn_gtn.metrics import c2st_accuracy

FULL = os.environ.get("SKLEARN_GTN_FULL") == "1"
QUICK = os.environ.get("SKLEARN_GTN_EXAMPLES_QUICK") == "1"
MAX_EPOCHS = "auto" if FULL else (3 if QUICK else 150)

penguins = load_penguins()
penguins["species"] = penguins["species"].astype("category")
train = penguins.sample(frac=0.5, random_state=0)
test = penguins.drop(train.index)
print(penguins.dtypes.to_string())
print(f"train {train.shape}, held out {test.shape}")

# %%
# Fit and sample
# --------------
# The default sampler (``make_tabular_sampler()``) trains GTNSampler's own
# budget (at least 4,000 updates) in batches of 32; here the epochs follow the
# settings above ("auto" is that default).
gtn = GTNSampler(
    max_epochs=MAX_EPOCHS, batch_size=32, fit_inverse=False, random_state=0
)
pipe = make_tabular_sampler(gtn, random_state=0).fit(train)
synthetic = pipe.sample(len(test), random_state=1)
print(synthetic.head().to_string())
print(synthetic.dtypes.to_string())
print("categories:", list(synthetic["species"].cat.categories))
print("missing values per column:", synthetic.isna().sum().to_dict())

# %%
# A classifier two-sample test
# ----------------------------
# One-hot categories, standardised numbers (fitted on the training half),
# rows with missing values dropped.
categorical = ["species", "island", "sex"]
numeric = [c for c in penguins.columns if c not in categorical]
features = ColumnTransformer(
    [
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ("num", StandardScaler(), numeric),
    ],
    sparse_threshold=0,
).fit(train.dropna())
score = c2st_accuracy(
    features.transform(test.dropna()),
    features.transform(synthetic.dropna()),
    random_state=0,
)
print(f"C2ST accuracy, synthetic vs held-out rows: {score:.3f} (0.5 is ideal)")

# %%
# Marginals side by side
# ----------------------
columns = ["bill_length_mm", "flipper_length_mm", "body_mass_g", "island"]
fig, axes = plt.subplots(1, len(columns), figsize=(14, 3.2), layout="constrained")
for ax, col in zip(axes, columns, strict=True):
    if col == "island":
        real = test[col].value_counts(normalize=True).sort_index()
        fake = synthetic[col].value_counts(normalize=True).reindex(real.index)
        x = np.arange(len(real))
        ax.bar(x - 0.2, real.to_numpy(), 0.4, label="real (held out)")
        ax.bar(x + 0.2, fake.fillna(0).to_numpy(), 0.4, label="synthetic")
        ax.set_xticks(x, real.index)
    else:
        bins = np.linspace(penguins[col].min(), penguins[col].max(), 20)
        ax.hist(test[col].dropna(), bins, alpha=0.6, density=True, label="real")
        ax.hist(synthetic[col].dropna(), bins, alpha=0.6, density=True, label="synth.")
    ax.set_title(col)
axes[0].legend()

# %%
# Pairs, coloured by species
# --------------------------
# Real rows on the left, synthetic rows on the right. Gentoo penguins keep
# their own region; Adelie and Chinstrap overlap more than the real birds do
# (the bill length that separates them is learned only roughly from 172
# rows), which is what the classifier above picks up.
pairs = [("bill_length_mm", "bill_depth_mm"), ("flipper_length_mm", "body_mass_g")]
fig, axes = plt.subplots(2, 2, figsize=(9, 7.5), layout="constrained", sharex="row")
for row, (a, b) in enumerate(pairs):
    for col, (title, frame) in enumerate([("real", test), ("synthetic", synthetic)]):
        ax = axes[row, col]
        for species, part in frame.groupby("species", observed=True):
            ax.scatter(part[a], part[b], s=10, label=species)
        ax.set(xlabel=a, ylabel=b, title=title if row == 0 else None)
axes[0, 0].legend()
plt.show()

# %%
# The synthetic table is a plain DataFrame: write it with ``to_csv``, or
# append it to real data. For imbalanced classification, see
# :class:`~sklearn_gtn.GTNOverSampler` on the :doc:`/tabular` page.
pd.testing.assert_index_equal(synthetic.columns, penguins.columns)
