"""The base of every output writer: a context manager around atomic outputs.

A writer writes temporary files beside its targets and renames them on success
(:mod:`motifscan.atomic`); an error or interrupt inside the ``with`` block -- or in
:meth:`~AtomicWriter.finish` -- leaves no output and no temporary. A writer's files (a VCF and its
index) are one output set, part of the run's set when there is one (:func:`~motifscan.atomic.output_set`).
Writers stream: nothing genome-wide is held in memory.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..atomic import output_set

__all__ = ["AtomicWriter", "TextWriter", "write_array", "read_array"]


def write_array(fh: BinaryIO, values: np.ndarray) -> None:
    """Append ``values``' bytes to a binary spill file. Not ``ndarray.tofile``: given a file object,
    numpy turns a Ctrl-C that lands inside it into a ``TypeError`` (an internal error instead of an
    interrupt)."""
    fh.write(np.ascontiguousarray(values).reshape(-1).view(np.uint8))


def read_array(fh: BinaryIO, dtype, count: int) -> np.ndarray:
    """Up to ``count`` items of ``dtype`` from a binary spill file, as a writable array (fewer at
    its end). Not ``np.fromfile``, for the reason given in :func:`write_array`."""
    out = np.empty(count, dtype=dtype)
    got = fh.readinto(out.view(np.uint8))
    return out[: got // out.itemsize]


class AtomicWriter:
    """Hold atomic outputs open for the life of the ``with`` block; :meth:`finish` runs last.

    ``self.outputs`` is the :class:`~motifscan.atomic.OutputSet` the writer's files join
    (``self.outputs.path(target)``, ``self.outputs.stage(tmp, target)``).
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self.outputs = self._stack.enter_context(output_set(ambient=False))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        if exc[0] is None:
            try:
                self.finish()
            except BaseException as err:  # the temporaries go too: unwind the stack with the error
                if not self._stack.__exit__(type(err), err, err.__traceback__):
                    raise
                return False
        return self._stack.__exit__(*exc)

    def finish(self) -> None:
        """Hook: last writes before the rename."""


class TextWriter(AtomicWriter):
    """A text output (``self.fh``), renamed into place at the end."""

    def __init__(self, path) -> None:
        super().__init__()
        self.path = Path(path)
        tmp = self._stack.enter_context(self.outputs.path(self.path))
        self.fh = self._stack.enter_context(open(tmp, "w", encoding="utf-8", newline="\n"))
