"""``python -m sklearn_gtn``: see :mod:`sklearn_gtn.cli`."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
