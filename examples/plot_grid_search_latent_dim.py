"""
Choosing the latent dimension with a grid search
================================================

How many latent dimensions should the autoencoder have? Too few and the
decoder cannot represent the images; too many and the GTN has to learn a map
onto a thin manifold in a large space. A
:class:`~sklearn_gtn.GenerativePipeline` is an ordinary scikit-learn
estimator, so :class:`~sklearn.model_selection.GridSearchCV` answers the
question. Its ``score`` is minus the energy distance between held-out images
and generated ones, measured in *image* space, so pipelines with different
latent dimensions are compared on the same footing (a score in latent space
would simply prefer the smallest dimension).

``SKLEARN_GTN_FULL=1`` searches more dimensions, with more epochs and folds.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sklearn_gtn import ConvAutoencoder, GTNSampler, make_generative_pipeline

FULL = os.environ.get("SKLEARN_GTN_FULL") == "1"
QUICK = os.environ.get("SKLEARN_GTN_EXAMPLES_QUICK") == "1"
LATENT_DIMS = [2, 3, 5, 8, 12, 20] if FULL else [2, 5, 10]
AE_EPOCHS = 100 if FULL else (1 if QUICK else 6)
GTN_EPOCHS = 100 if FULL else (1 if QUICK else 10)
N_IMAGES = None if FULL else (200 if QUICK else 600)
CV = 5 if FULL else 2

images = load_digits().images[:N_IMAGES, None, :, :] / 16.0

# %%
# The search
# ----------
# Step names come from the classes: ``convautoencoder__latent_dim``.
pipe = make_generative_pipeline(
    ConvAutoencoder(max_epochs=AE_EPOCHS, random_state=0),
    GTNSampler(max_epochs=GTN_EPOCHS, random_state=0),
)
search = GridSearchCV(pipe, {"convautoencoder__latent_dim": LATENT_DIMS}, cv=CV)
search.fit(images)
scores = search.cv_results_["mean_test_score"]
for d, s in zip(LATENT_DIMS, scores, strict=True):
    print(f"latent_dim={d:>3}: energy distance {-s:.3f}")
print("best:", search.best_params_)

# %%
# Scores, and samples of the refitted best pipeline
# -------------------------------------------------
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
left.errorbar(
    LATENT_DIMS,
    -scores,
    yerr=search.cv_results_["std_test_score"],
    marker="o",
    capsize=3,
)
left.set(
    xlabel="latent_dim",
    ylabel="energy distance to held-out images",
    title="lower is better",
)
samples = search.best_estimator_.sample(36, random_state=0)[:, 0]
padded = np.pad(samples, ((0, 0), (1, 1), (1, 1)))  # a blank pixel around each
grid = padded.reshape(6, 6, 10, 10).swapaxes(1, 2).reshape(60, 60)
right.imshow(grid, cmap="gray_r", vmin=0)
best_dim = search.best_params_["convautoencoder__latent_dim"]
right.set(title=f"samples, latent_dim={best_dim}", xticks=[], yticks=[])
print("sample range:", np.round([samples.min(), samples.max()], 2))
plt.show()
