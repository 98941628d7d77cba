"""sklearn-gtn: Generative Topological Networks as scikit-learn estimators."""

from ._version import __version__
from .assignment import assignment_cost, assignment_pairs
from .autoencoder import ConvAutoencoder
from .labeling import label_pairs
from .metrics import energy_distance
from .mixture import GTNMixture
from .oversampling import GTNOverSampler
from .persistence import load, save
from .pipeline import GenerativePipeline, make_generative_pipeline
from .sampler import GTNSampler, GTNVersionWarning
from .tabular import TabularEncoder, make_tabular_sampler

__all__ = [
    "__version__",
    "ConvAutoencoder",
    "GTNMixture",
    "GTNOverSampler",
    "GTNSampler",
    "GTNVersionWarning",
    "GenerativePipeline",
    "TabularEncoder",
    "assignment_cost",
    "assignment_pairs",
    "energy_distance",
    "label_pairs",
    "load",
    "make_generative_pipeline",
    "make_tabular_sampler",
    "save",
]
