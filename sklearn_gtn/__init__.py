"""sklearn-gtn: Generative Topological Networks as scikit-learn estimators."""

from ._version import __version__
from .assignment import assignment_cost, assignment_pairs
from .labeling import label_pairs

__all__ = ["__version__", "assignment_cost", "assignment_pairs", "label_pairs"]
