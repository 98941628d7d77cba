"""The registry that persistence reads: which classes a model file may name.

Estimators (and the few other classes a saved model refers to) join it under
a stable format key that does not depend on module paths, so a private class
can move without breaking saved files. ``persistence`` reads the registry; it
never imports the estimators' modules, and this module imports nothing from
the package.

The registry also holds the one function that writes model files:
``persistence`` installs it when imported (``sklearn_gtn/__init__.py``
imports it), and the estimators' ``save`` method calls it through
:func:`save`, so no estimator imports ``persistence`` and the two modules
do not import each other.
"""

from __future__ import annotations

__all__ = ["register", "registered", "lookup", "key_of", "install_saver", "save"]

# format key -> class, and class -> format key
_BY_KEY: dict[str, type] = {}
_BY_CLASS: dict[type, str] = {}
# keys written by earlier versions -> current key (files keep loading)
_ALIASES: dict[str, str] = {}
# the function that writes a model file (installed by ``persistence``)
_SAVER: list = []


def register(key: str, *, aliases: tuple[str, ...] = ()):
    """Class decorator: ``cls`` may be saved and loaded under ``key``.

    ``aliases`` are keys under which earlier versions wrote the same class.
    """

    def decorate(cls):
        if not isinstance(cls, type):  # e.g. a function placed under it
            raise TypeError(f"register({key!r}) decorates classes, got {cls!r}.")
        for name in (key, *aliases):
            known = lookup(name)
            if known is not None and known is not cls:
                raise ValueError(f"format key {name!r} is taken by {known!r}.")
        _BY_KEY[key] = cls
        _BY_CLASS[cls] = key
        for alias in aliases:
            _ALIASES[alias] = key
        return cls

    return decorate


def registered() -> dict[str, type]:
    """A copy of the registry: format key -> class."""
    return dict(_BY_KEY)


def lookup(key: str):
    """The class saved under ``key`` (or an alias of it), or ``None``."""
    return _BY_KEY.get(_ALIASES.get(key, key))


def key_of(cls) -> str | None:
    """The format key of ``cls`` (exact class, not subclasses), or ``None``."""
    return _BY_CLASS.get(cls)


def install_saver(function) -> None:
    """Make ``function(estimator, path)`` the writer :func:`save` calls."""
    _SAVER[:] = [function]


def save(estimator, path) -> None:
    """Write ``estimator`` to ``path`` with the installed writer."""
    if not _SAVER:  # importing any part of sklearn_gtn installs it
        raise RuntimeError("sklearn_gtn.persistence has not been imported.")
    _SAVER[0](estimator, path)
