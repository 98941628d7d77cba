"""The package version stored with a model, the warning when it differs, and
the ``save`` method shared by the estimators."""

from __future__ import annotations

import warnings

from . import _registry
from ._version import __version__

__all__ = ["GTNVersionWarning", "SaveMixin", "warn_if_other_version"]


class GTNVersionWarning(UserWarning):
    """A pickled or saved model was made by another version of sklearn-gtn."""


def warn_if_other_version(version, *, what: str, how: str = "pickled", stacklevel=3):
    """Warn with :class:`GTNVersionWarning` if ``version`` is not this version.

    Parameters
    ----------
    version : str or None
        The sklearn-gtn version stored with the model (``None``: unknown).
    what : str
        The kind of model, for the message (``"GTNSampler"``).
    how : str, default="pickled"
        How it was stored, for the message (``"pickled"``, ``"saved"``).
    stacklevel : int, default=3
        Passed to :func:`warnings.warn`.
    """
    if version != __version__:
        warnings.warn(
            f"This {what} was {how} with sklearn-gtn "
            f"{version or '(unknown version)'} and is loaded with "
            f"sklearn-gtn {__version__}; it may not work as expected.",
            GTNVersionWarning,
            stacklevel=stacklevel,
        )


class SaveMixin:
    """Adds ``save(path)``: :func:`sklearn_gtn.save` as a method."""

    def save(self, path):
        """Save this fitted estimator to one file, without pickle.

        Same as :func:`sklearn_gtn.save` (``self, path``), which lists what
        can be saved; rebuild it with :func:`sklearn_gtn.load`. The write is
        atomic.

        Parameters
        ----------
        path : str or os.PathLike
            Destination file (by convention with the suffix ``.gtn``).
        """
        # persistence installs its writer in the registry when imported, so
        # neither module imports the other
        _registry.save(self, path)
