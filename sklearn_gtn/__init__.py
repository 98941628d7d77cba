"""sklearn-gtn: Generative Topological Networks as scikit-learn estimators."""

from ._version import __version__
from .autoencoder import ConvAutoencoder
from .labeling import label_pairs

__all__ = ["__version__", "ConvAutoencoder", "label_pairs"]
