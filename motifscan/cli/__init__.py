"""The ``motifscan`` command line: a thin layer over the library, one module per command."""

from __future__ import annotations

import sys

from ._base import cli, main as _main

# Each module registers its command on ``cli``.
# (command modules are imported below)

__all__ = ["cli", "main"]


def main(argv=None) -> None:
    """Console-script entry point."""
    sys.exit(_main(argv))
from . import simulate  # noqa: F401
from . import export  # noqa: F401

from . import train  # noqa: E402,F401
from . import compare  # noqa: F401
from . import scan  # noqa: F401
