"""The package version stored with a model, and the warning when it differs."""

from __future__ import annotations

import warnings

from ._version import __version__

__all__ = ["GTNVersionWarning", "warn_if_other_version"]


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
