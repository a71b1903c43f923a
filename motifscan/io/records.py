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



class RecordsWriter(_TextWriter):
    """One row per scored record: ``name length score [score_TASK ...] best_position strand top_filter``.

    ``score`` is the probability of the first task; with several tasks each also gets its own
    ``score_TASK`` column. Records that could not be scored are left out (and counted).
    """

    def __init__(self, path, tasks: list[str], filter_names: list[str]) -> None:
        super().__init__(path)
        self.tasks, self.filter_names = list(tasks), filter_names
        extra = [f"score_{t}" for t in self.tasks] if len(self.tasks) > 1 else []
        self.fh.write("\t".join(["name", "length", "score", *extra, "best_position", "strand", "top_filter"]) + "\n")
        self.count = 0

    def write(self, records: Iterable) -> None:
        out = []
        multi = len(self.tasks) > 1
        for r in records:
            if r.score is None:
                continue
            scores = [f"{r.score[0]:.6g}"] + ([f"{x:.6g}" for x in r.score] if multi else [])
            out.append("\t".join([r.name, str(r.length), *scores, str(r.best_position), r.strand,
                                  self.filter_names[r.top_filter]]) + "\n")
        self.count += len(out)
        self.fh.write("".join(out))


class TaggedBamWriter(_Atomic):
    """The input reads written back as BAM, each scored read with its score in tag ``tag`` (float).

    Reads that could not be scored (no sequence, too short) are written unchanged, so the output
    holds exactly the reads that were read.
    """

    def __init__(self, path, header, tag: str = "ms") -> None:
        super().__init__()
        import pysam

        self.path = Path(path)
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._bam = pysam.AlignmentFile(str(tmp), "wb", header=header)
        self._stack.callback(self._bam.close)
        self.tag = tag

    def write(self, records: Iterable) -> None:
        for r in records:
            read = r.payload
            if read is None:
                continue
            if r.score is not None:
                read.set_tag(self.tag, float(r.score[0]), value_type="f")
            self._bam.write(read)
