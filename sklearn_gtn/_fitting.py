"""Fits that either complete or leave the estimator as it was.

``fit`` of the estimators is wrapped by :func:`restore_on_failure`: if it
raises (an error, ``KeyboardInterrupt``, out of memory), the estimator, and
every step of a pipeline, gets back the attributes it had before the call,
so it is never half-fitted: unfitted if it was, the previous model otherwise.

skorch swallows ``KeyboardInterrupt`` inside ``NeuralNet.fit`` (its early
stopping raises one to end training) and returns a partly trained net.
:func:`raise_if_interrupted` tells a user's Ctrl-C from early stopping and
raises it again.
"""

from __future__ import annotations

import functools

__all__ = ["restore_on_failure", "raise_if_interrupted"]


def _estimators(est):
    """``est`` and, recursively, the estimators of its pipeline steps."""
    yield est
    for step in getattr(est, "steps", None) or ():
        if isinstance(step, tuple) and len(step) >= 2 and hasattr(step[1], "__dict__"):
            yield from _estimators(step[1])


def restore_on_failure(fit):
    """Decorate ``fit`` so that a failure restores the estimator's attributes."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        # lists are copied: Pipeline.fit replaces entries of ``steps`` in place
        saved = [
            (est, {k: list(v) if type(v) is list else v for k, v in vars(est).items()})
            for est in _estimators(self)
        ]
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            for est, attributes in saved:
                vars(est).clear()
                vars(est).update(attributes)
            raise

    return wrapper


def raise_if_interrupted(net):
    """Raise ``KeyboardInterrupt`` if skorch's ``net.fit`` swallowed one.

    Training ended normally when it ran ``max_epochs`` complete epochs or
    when an ``EarlyStopping`` callback stopped it (it raises the
    ``KeyboardInterrupt`` that skorch catches). Any other ending, an epoch
    left without its end-of-epoch record or fewer epochs without early
    stopping, was an interruption.
    """
    history = net.history
    complete_last = len(history) > 0 and "dur" in history[-1]
    stoppers = [
        cb
        for _, cb in getattr(net, "callbacks_", [])
        if type(cb).__name__ == "EarlyStopping"
    ]
    stopped_early = any(cb.misses_ >= cb.patience for cb in stoppers)
    if not complete_last or (len(history) < net.max_epochs and not stopped_early):
        raise KeyboardInterrupt(
            f"training was interrupted after {len(history)} epoch(s)"
        )
