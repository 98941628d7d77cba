"""
Swiss roll from a one-dimensional normal (paper Figure 3A)
==========================================================

A swiss roll is a curve: a one-dimensional manifold drawn in the plane. A GTN
learns a *homeomorphism* from a standard normal of the same dimension as the
data, and a homeomorphism keeps dimension, so the right source for a curve is
a 1-D normal, applied to the curve's parameter
``theta ~ U(1.5 pi, 4.5 pi)``; the points are
``(theta cos theta, theta sin theta)``.

Each normal draw ``y`` and the point it is mapped to get the same colour: the
map is continuous and monotone, so the colours run smoothly along the roll.

Scale: 10,000 training points by default; ``SKLEARN_GTN_FULL=1`` uses the
paper's 100,000 and its small network (3 hidden layers of width 5).
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from sklearn_gtn import GTNSampler
from sklearn_gtn.datasets import (
    SWISS_ROLL_THETA_RANGE,
    make_swiss_roll_parameter,
    swiss_roll_from_parameter,
)

FULL = os.environ.get("SKLEARN_GTN_FULL") == "1"
QUICK = os.environ.get("SKLEARN_GTN_EXAMPLES_QUICK") == "1"
N_SAMPLES = 100_000 if FULL else (400 if QUICK else 10_000)
MAX_EPOCHS = 100 if FULL else (2 if QUICK else 30)

# %%
# Fit on the parameter
# --------------------
# The data matrix has one column. ``GTNSampler`` standardises it, pairs it with
# 1-D normal draws (in 1-D the paper's labeling is simply "sort both") and
# trains an MLP on the pairs.
theta = make_swiss_roll_parameter(N_SAMPLES, random_state=0)
gtn = GTNSampler(
    hidden_layer_sizes=(5, 5, 5) if FULL else (50,) * 6,
    batch_size=250,
    max_epochs=MAX_EPOCHS,
    random_state=0,
).fit(theta)
print(
    f"{gtn.n_epochs_} epochs, labeling {gtn.labeling_time_:.3f} s, "
    f"training {gtn.training_time_:.1f} s"
)

# %%
# Figure 3A: source draws and their images
# ----------------------------------------
# (:func:`sklearn_gtn.plotting.plot_source_to_samples` draws the same figure
# as a stand-alone :class:`matplotlib.figure.Figure`.)
codes = np.random.RandomState(1).standard_normal((3000, 1))
points = swiss_roll_from_parameter(gtn.inverse_transform(codes))
jitter = np.random.RandomState(2).uniform(-1, 1, len(codes))
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
left.scatter(codes[:, 0], jitter, c=codes[:, 0], s=2)
left.set(title="y ~ N(0, 1)", ylim=(-4, 4), yticks=[])
right.scatter(points[:, 0], points[:, 1], c=codes[:, 0], s=2)
right.set(title="h(y) on the swiss roll", aspect="equal")

# %%
# How close to the uniform parameter?
# -----------------------------------
# Almost every sample falls inside the support, and the quantiles of the
# generated parameter follow those of ``U(1.5 pi, 4.5 pi)``.
low, high = SWISS_ROLL_THETA_RANGE
samples = gtn.sample(20_000, random_state=2)[:, 0]
inside = np.mean((samples > low) & (samples < high))
print(f"inside the support: {inside:.2%}")
q = np.linspace(0.01, 0.99, 99)
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.plot(low + q * (high - low), np.quantile(samples, q), ".", label="GTN samples")
ax.plot([low, high], [low, high], "k--", lw=1, label="exact")
ax.set_xlabel("quantile of U(1.5 pi, 4.5 pi)")
ax.set_ylabel("quantile of the samples")
ax.legend()
plt.show()
