"""The ``motifscan`` command line: a thin layer over the library, one module per command."""

from __future__ import annotations

import sys

# Each command module registers its command on ``cli`` when imported.
from . import attribute, calibrate, compare, enrich, export, gather, scan, simulate, train, variants  # noqa: E402,F401
from ._base import cli
from ._base import main as _main

__all__ = ["cli", "main"]


def main(argv=None) -> None:
    """Console-script entry point."""
    sys.exit(_main(argv))
