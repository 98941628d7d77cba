"""What every command of the command line shares: errors, option types, output."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys

import numpy as np

__all__ = ["PROG", "UsageError"]

PROG = "sklearn-gtn"
_MAX_SEED = 2**32 - 1  # NumPy's RandomState accepts seeds up to this


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose user errors are one line on stderr, exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class UsageError(Exception):
    """A mistake in the command line or its files; one line, exit code 2."""


def one_line(exc):
    """An exception's message on one line."""
    return " ".join(str(exc).split())


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def two_or_more(text):
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {value}")
    return value


def seed(text):
    """A ``--random-state``: an integer from 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value <= _MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected an integer from 0 to {_MAX_SEED}, got {value}"
        )
    return value


def _finite_float(text, *, zero_ok):
    """A finite number above 0 (or at least 0 when ``zero_ok``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(value) and (value > 0 or (zero_ok and value == 0))):
        bound = ">= 0" if zero_ok else "> 0"
        raise argparse.ArgumentTypeError(f"expected a number {bound}, got {text}")
    return value


def positive_float(text):
    return _finite_float(text, zero_ok=False)


def nonnegative_float(text):
    return _finite_float(text, zero_ok=True)


def int_tuple(text):
    """``"50,50,50"`` -> ``(50, 50, 50)``; every entry an integer >= 1."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers >= 1, got {text!r}"
        )
    return values


def check_device(device):
    from .._utils import resolve_device

    try:
        resolve_device(device, name="--device")
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def progress(iterable, *, verbose, desc, total=None):
    """``iterable`` wrapped in a tqdm bar on stderr when ``verbose``."""
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, leave=False)


# colours and cursor moves (skorch's epoch table is coloured, tqdm moves lines)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _PlainText:
    """A text stream that drops ANSI escape sequences on their way through."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        return self._stream.write(_ANSI.sub("", text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def plain_unless_terminal():
    """Drop colour codes from stdout and stderr that are not terminals."""
    saved = sys.stdout, sys.stderr
    if not _is_terminal(sys.stdout):
        sys.stdout = _PlainText(sys.stdout)
    if not _is_terminal(sys.stderr):
        sys.stderr = _PlainText(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
