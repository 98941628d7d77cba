"""The registry that persistence reads: which classes a model file may name.

Estimators (and the few other classes a saved model refers to) join it under
a stable format key that does not depend on module paths, so a private class
can move without breaking saved files. ``persistence`` reads the registry; it
never imports the estimators' modules, and this module imports nothing from
the package.
"""

from __future__ import annotations

__all__ = ["register", "registered", "lookup", "key_of"]

# format key -> class, and class -> format key
_BY_KEY: dict[str, type] = {}
_BY_CLASS: dict[type, str] = {}
# keys written by earlier versions -> current key (files keep loading)
_ALIASES: dict[str, str] = {}


def register(key: str, *, aliases: tuple[str, ...] = ()):
    """Class decorator: ``cls`` may be saved and loaded under ``key``.

    ``aliases`` are keys under which earlier versions wrote the same class.
    """

    def decorate(cls):
        known = _BY_KEY.get(key)
        if known is not None and known is not cls:
            raise ValueError(f"format key {key!r} is taken by {known!r}.")
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
