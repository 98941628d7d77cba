"""
Interpolating between real images (paper Figure 6)
==================================================

A GTN's map ``h`` is continuous, and so is its learned inverse. To move from
one real image to another, the pipeline encodes both (autoencoder), finds
their normal codes ``y_a = h^{-1}(z_a)`` and ``y_b`` (the GTN's inverse
network), walks the straight line ``(1 - t) y_a + t y_b`` in the source space,
and decodes each point: ``decoder(h((1 - t) y_a + t y_b))``.

:meth:`sklearn_gtn.GenerativePipeline.interpolate` does all of that for
batches of pairs. The end points of each strip are the pipeline's
reconstructions of the two real images, shown in the outer columns.

``SKLEARN_GTN_FULL=1`` trains longer.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_gtn import ConvAutoencoder, GTNSampler, make_generative_pipeline

FULL = os.environ.get("SKLEARN_GTN_FULL") == "1"
QUICK = os.environ.get("SKLEARN_GTN_EXAMPLES_QUICK") == "1"
AE_EPOCHS = 200 if FULL else (1 if QUICK else 15)
# "auto": GTNSampler's budget in updates (about 2,000 batches of 256 codes here);
# an int counts passes, and 30 passes of 1,797 codes are only 240 updates
GTN_EPOCHS = 1 if QUICK else "auto"
N_STEPS = 10

digits = load_digits()
images = digits.images[:, None, :, :] / 16.0
if QUICK:
    images = images[:300]

pipe = make_generative_pipeline(
    ConvAutoencoder(latent_dim=5, max_epochs=AE_EPOCHS, random_state=0),
    GTNSampler(max_epochs=GTN_EPOCHS, random_state=0),
).fit(images)

# %%
# Strips between pairs of real digits
# -----------------------------------
# Pairs of different classes: 0 -> 1, 2 -> 3, and so on.
labels = digits.target[: len(images)]
starts = [np.flatnonzero(labels == k)[0] for k in (0, 2, 4, 6, 8)]
ends = [np.flatnonzero(labels == k)[0] for k in (1, 3, 5, 7, 9)]
paths = pipe.interpolate(images[starts], images[ends], n_steps=N_STEPS)
print("paths:", paths.shape)  # (n_pairs, n_steps, 1, 8, 8)

fig, axes = plt.subplots(
    len(starts),
    N_STEPS + 2,
    figsize=(N_STEPS + 2, len(starts) * 1.1),
    layout="constrained",
)
for row, (a, b, path) in enumerate(zip(starts, ends, paths, strict=True)):
    strip = [images[a], *path, images[b]]
    for col, image in enumerate(strip):
        ax = axes[row, col]
        ax.imshow(image[0], cmap="gray_r", vmin=0, vmax=1)
        ax.set(xticks=[], yticks=[])
        if row == 0:
            ax.set_title(
                "real" if col in (0, N_STEPS + 1) else f"t={col - 1}", fontsize=8
            )

# %%
# The path is continuous
# ----------------------
# Consecutive images differ by small steps; no step is much larger than the
# average (a jump would show a discontinuity of the learned maps).
steps = np.linalg.norm(np.diff(paths.reshape(len(starts), N_STEPS, -1), axis=1), axis=2)
print(
    "largest step / mean step per strip:",
    np.round(steps.max(axis=1) / steps.mean(axis=1), 2),
)
plt.show()
