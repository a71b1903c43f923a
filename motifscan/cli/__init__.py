"""The ``motifscan`` command line: a thin layer over the library, one module per command."""

from __future__ import annotations

# Each command module registers its command on ``cli`` when imported, which ``cli`` does when
# the command is asked for (``_base._Commands``).
from ._base import cli
from ._base import main as _main
from .quick_exit import exit_now

__all__ = ["cli", "main"]


def main(argv=None) -> None:
    """Console-script entry point: run the command, then leave the process at once (:mod:`.quick_exit`)."""
    exit_now(_main(argv))
