"""sklearn-gtn: Generative Topological Networks as scikit-learn estimators."""

from ._version import __version__
from .assignment import assignment_cost, assignment_pairs
from .autoencoder import ConvAutoencoder
from .labeling import label_pairs
from .metrics import energy_distance
from .mixture import GTNMixture
from .persistence import load, save
from .pipeline import GenerativePipeline, make_generative_pipeline
from .sampler import GTNSampler, GTNVersionWarning

__all__ = [
    "__version__",
    "ConvAutoencoder",
    "GTNMixture",
    "GTNSampler",
    "GTNVersionWarning",
    "GenerativePipeline",
    "assignment_cost",
    "assignment_pairs",
    "energy_distance",
    "label_pairs",
    "load",
    "make_generative_pipeline",
    "save",
]
