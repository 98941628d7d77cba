"""sklearn-gtn: Generative Topological Networks as scikit-learn estimators."""

from ._version import __version__
from .autoencoder import ConvAutoencoder
from .labeling import label_pairs
from .pipeline import GenerativePipeline, make_generative_pipeline

__all__ = [
    "__version__",
    "ConvAutoencoder",
    "GenerativePipeline",
    "label_pairs",
    "make_generative_pipeline",
]
