"""The base of every output writer: a context manager around an atomic output.

A writer writes a temporary file beside its target and renames it on success
(:mod:`motifscan.atomic`); an error or interrupt inside the ``with`` block leaves no output.
Writers stream: nothing genome-wide is held in memory.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..atomic import atomic_open

__all__ = ["AtomicWriter", "TextWriter"]


class AtomicWriter:
    """Hold an atomic output open for the life of the ``with`` block; :meth:`finish` runs last."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        if exc[0] is None:
            self.finish()
        return self._stack.__exit__(*exc)

    def finish(self) -> None:
        """Hook: last writes before the rename."""


class TextWriter(AtomicWriter):
    """A text output (``self.fh``), renamed into place at the end."""

    def __init__(self, path) -> None:
        super().__init__()
        self.path = Path(path)
        self.fh = self._stack.enter_context(atomic_open(self.path, "w"))
