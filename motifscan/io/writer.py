"""Scan result writers: bedGraph, bigWig, BED peaks, BED motif hits, records TSV, tagged BAM.

Every writer is a context manager that writes a temporary file beside the target and renames it
on success (:mod:`motifscan.atomic`); an error inside the ``with`` block leaves no output.
Writers stream: nothing genome-wide is held in memory.

Track values (bedGraph, bigWig): window ``[q, q + window)`` is drawn as its central ``stride``
bases, ``[q + (window - stride) // 2, ... + stride)``, so consecutive windows tile the genome
without overlapping (bigWig needs that); with ``stride > window`` the whole window is drawn.
Skipped windows (mostly N, too near a chromosome end) leave gaps. Values are the probability of
the first task.

Peaks (``.bed`` / ``.narrowPeak``): windows scoring ``>= threshold`` whose spans overlap or touch
are merged into one interval; narrowPeak columns: chrom, start, end, name (``chrom:start-end``),
score (``round(1000 * max)``), strand ``.``, signalValue (max probability), pValue ``-1``, qValue
``-1``, peak (summit offset from start: the centre of the best window, the first on ties).

Motif hits: BED6 (chrom, start, end, filter or motif name, score, strand) plus a 7th column with
the matched sequence read 5'->3' on the hit's strand.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np

from ..atomic import atomic_open, atomic_path
from ..errors import UsageError



class _Atomic:
    """Base: hold an atomic output open for the life of the ``with`` block."""

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


class _TextWriter(_Atomic):
    def __init__(self, path) -> None:
        super().__init__()
        self.path = Path(path)
        self.fh = self._stack.enter_context(atomic_open(self.path, "w"))
