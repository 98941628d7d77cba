"""sklearn-gtn: Generative Topological Networks as scikit-learn estimators."""

from ._version import __version__
from .assignment import assignment_cost, assignment_pairs
from .labeling import label_pairs
from .metrics import energy_distance
from .sampler import GTNSampler, GTNVersionWarning

__all__ = [
    "__version__",
    "GTNSampler",
    "GTNVersionWarning",
    "assignment_cost",
    "assignment_pairs",
    "energy_distance",
    "label_pairs",
]
