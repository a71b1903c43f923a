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


WINDOW_FORMATS = ("bedgraph", "bigwig", "peaks")
_EXT = {
    ".bedgraph": "bedgraph", ".bg": "bedgraph", ".bdg": "bedgraph",
    ".bw": "bigwig", ".bigwig": "bigwig",
    ".bed": "peaks", ".narrowpeak": "peaks",
    ".tsv": "tsv", ".txt": "tsv",
}


def output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``bedgraph``, ``bigwig``, ``peaks`` or ``tsv``: ``fmt`` if given, else from the extension."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in (*WINDOW_FORMATS, "tsv"):
            raise UsageError(f"--format {fmt!r} is not known", hint="use bedgraph, bigwig, peaks or tsv")
        return fmt
    name = os.fspath(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = os.path.splitext(name)[1]
    if ext not in _EXT:
        raise UsageError(
            f"cannot tell the output format from {os.fspath(path)!r}",
            hint="use .bedGraph, .bw, .bed (peaks) or .tsv (records), or give --format",
        )
    return _EXT[ext]
