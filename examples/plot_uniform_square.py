"""
Uniform square from a two-dimensional normal (paper Figure 3B)
==============================================================

The 2-D uniform distribution on the unit square is generated from a 2-D
standard normal. Each source draw and its image share a colour, here the
*radius* ``||y||`` of the draw: the paper's labeling (Algorithm 1) walks the
normal draws from the smallest norm outwards, so small radii land near the
centre of the square and large ones in its corners.

The figure also shows the known weakness of Algorithm 1 as written: the
greedy pairing leaves the centre of the square thinly covered (see
:doc:`/labeling`). ``GTNSampler(labeling="assignment")``, which pairs by
minimal total squared distance, fills it; set ``LABELING`` below to compare.

Scale: 10,000 training points by default; ``SKLEARN_GTN_FULL=1`` uses the
paper's 100,000.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from sklearn_gtn import GTNSampler, energy_distance
from sklearn_gtn.datasets import make_uniform_square

FULL = os.environ.get("SKLEARN_GTN_FULL") == "1"
QUICK = os.environ.get("SKLEARN_GTN_EXAMPLES_QUICK") == "1"
N_SAMPLES = 100_000 if FULL else (400 if QUICK else 10_000)
MAX_EPOCHS = 100 if FULL else (2 if QUICK else 30)
LABELING = "algorithm1"  # the paper's; or "assignment"

# %%
# Fit
# ---
X = make_uniform_square(N_SAMPLES, random_state=0)
gtn = GTNSampler(max_epochs=MAX_EPOCHS, labeling=LABELING, random_state=0).fit(X)
print(
    f"{gtn.n_epochs_} epochs, labeling {gtn.labeling_time_:.3f} s, "
    f"training {gtn.training_time_:.1f} s"
)

# %%
# Figure 3B: source draws coloured by radius, and their images
# ------------------------------------------------------------
codes = np.random.RandomState(1).standard_normal((4000, 2))
samples = gtn.inverse_transform(codes)
radius = np.linalg.norm(codes, axis=1)
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.2), layout="constrained")
left.scatter(codes[:, 0], codes[:, 1], c=radius, s=2)
left.set(title="y ~ N(0, I), coloured by ||y||", aspect="equal")
art = right.scatter(samples[:, 0], samples[:, 1], c=radius, s=2)
right.set(title="h(y)", aspect="equal")
fig.colorbar(art, ax=right, label="||y||")

# %%
# Quality
# -------
# The energy distance between generated and fresh real points, next to the
# same distance between two real samples (the noise floor for this size).
n_eval = min(2000, N_SAMPLES)
S = gtn.sample(n_eval, random_state=2)
X_test = make_uniform_square(n_eval, random_state=3)
X_ref = make_uniform_square(n_eval, random_state=4)
inside = np.mean(((S > 0) & (S < 1)).all(axis=1))
print(
    f"energy distance to real data: {energy_distance(S, X_test):.4f} "
    f"(two real samples: {energy_distance(X_ref, X_test):.4f}); "
    f"inside the square: {inside:.2%}"
)
plt.show()
