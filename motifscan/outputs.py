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

from .atomic import atomic_open, atomic_path
from .errors import UsageError

__all__ = [
    "WINDOW_FORMATS",
    "output_format",
    "BedGraphWriter",
    "BigWigWriter",
    "PeakWriter",
    "HitsWriter",
    "RecordsWriter",
    "TaggedBamWriter",
    "window_bins",
]

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


def window_bins(starts: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Drawn interval ``[a, b)`` of each window start (see the module docstring)."""
    if stride <= window:
        a = starts + (window - stride) // 2
        return a, a + stride
    return starts, starts + window


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


def _lines(names: list[str], rows: np.ndarray, a: np.ndarray, b: np.ndarray, vals: np.ndarray) -> str:
    """bedGraph lines ``name  a  b  value(%.6g)``; ``rows`` index ``names`` (any order)."""
    out = []
    cuts = [0, *(np.flatnonzero(np.diff(rows)) + 1).tolist(), len(rows)]
    for i, j in zip(cuts[:-1], cuts[1:]):
        if i == j:
            continue
        # one %-format of a repeated template per chromosome run: about twice as fast as a
        # format call per line, and the writer's share of a CPU scan is not small
        fields = [x for t in zip(a[i:j].tolist(), b[i:j].tolist(), vals[i:j].tolist()) for x in t]
        out.append((names[rows[i]].replace("%", "%%") + "\t%d\t%d\t%.6g\n") * (j - i) % tuple(fields))
    return "".join(out)


class BedGraphWriter(_TextWriter):
    """Window scores as bedGraph (no header line, so shard outputs concatenate)."""

    def __init__(self, path, window: int, stride: int) -> None:
        super().__init__(path)
        self.window, self.stride = window, stride

    def write(self, ws) -> None:
        if len(ws):
            a, b = window_bins(ws.start, self.window, self.stride)
            self.fh.write(_lines(ws.names, ws.row, a, b, ws.score[:, 0]))


class BigWigWriter(_Atomic):
    """Window scores as bigWig (pyBigWig).

    bigWig needs every chromosome size before the first value. With ``sizes`` (from the FASTA
    index) values go straight in; without, they go to a temporary bedGraph beside the target and
    are converted at the end from the sizes seen while scanning (memory stays bounded).
    """

    def __init__(self, path, window: int, stride: int, sizes: dict[str, int] | None = None) -> None:
        super().__init__()
        import pyBigWig

        self._pbw = pyBigWig
        self.path = Path(path)
        self.window, self.stride = window, stride
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        self.sizes = dict(sizes) if sizes else None
        self._seen: dict[str, int] = {}
        self._bg = None
        if self.sizes:
            self._bw = self._open(self.sizes)
        else:
            fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".bedGraph", dir=self.path.parent)
            os.close(fd)
            self._bg_path = Path(name)
            self._stack.callback(lambda: self._bg_path.unlink(missing_ok=True))
            self._bg = open(self._bg_path, "w")
            self._stack.callback(self._bg.close)

    def _open(self, sizes: dict[str, int]):
        bw = self._pbw.open(str(self._tmp), "w")
        bw.addHeader(list(sizes.items()), maxZooms=10)
        self._stack.callback(bw.close)
        return bw

    def write(self, ws) -> None:
        self._seen.update(ws.finished)
        if not len(ws):
            return
        a, b = window_bins(ws.start, self.window, self.stride)
        if self._bg is not None:
            self._bg.write(_lines(ws.names, ws.row, a, b, ws.score[:, 0]))
            return
        vals = ws.score[:, 0].astype(np.float64)
        # fixed-step runs (numpy values, no per-window Python objects): a run breaks at a new
        # row (chromosome) or a gap (skipped windows)
        cut = np.flatnonzero((np.diff(ws.row) != 0) | (np.diff(ws.start) != self.stride)) + 1
        span = int(b[0] - a[0])
        for lo, hi in zip(np.r_[0, cut].tolist(), np.r_[cut, len(ws.row)].tolist()):
            self._bw.addEntries(ws.names[ws.row[lo]], int(a[lo]), values=vals[lo:hi], span=span, step=self.stride)

    def finish(self) -> None:
        if self._bg is None:
            return
        self._bg.close()
        sizes = self._seen
        if not sizes:
            raise UsageError("no sequences were scanned, so there is nothing to write to a bigWig")
        bw = self._open(sizes)
        with open(self._bg_path) as fh:
            while True:
                lines = fh.readlines(1 << 22)
                if not lines:
                    break
                f = [ln.rstrip("\n").split("\t") for ln in lines]
                bw.addEntries([x[0] for x in f], [int(x[1]) for x in f], ends=[int(x[2]) for x in f],
                              values=[float(x[3]) for x in f])


class PeakWriter(_TextWriter):
    """Windows scoring ``>= threshold``, merged into narrowPeak-like intervals as they stream."""

    def __init__(self, path, window: int, threshold: float) -> None:
        super().__init__(path)
        self.window, self.threshold = window, threshold
        self._cur: list | None = None  # [chrom, start, end, best, summit]
        self.count = 0

    def write(self, ws) -> None:
        if not len(ws):
            return
        sel = np.flatnonzero(ws.score[:, 0] >= self.threshold)
        out = []
        for k in sel.tolist():
            chrom, q, v = ws.names[ws.row[k]], int(ws.start[k]), float(ws.score[k, 0])
            cur = self._cur
            if cur is not None and cur[0] == chrom and q <= cur[2]:
                cur[2] = max(cur[2], q + self.window)
                if v > cur[3]:
                    cur[3], cur[4] = v, q + self.window // 2
            else:
                if cur is not None:
                    out.append(self._line(cur))
                self._cur = [chrom, q, q + self.window, v, q + self.window // 2]
        if out:
            self.fh.write("".join(out))

    def _line(self, p) -> str:
        self.count += 1
        chrom, s, e, v, summit = p
        return f"{chrom}\t{s}\t{e}\t{chrom}:{s}-{e}\t{min(1000, round(1000 * v))}\t.\t{v:.6g}\t-1\t-1\t{summit - s}\n"

    def finish(self) -> None:
        if self._cur is not None:
            self.fh.write(self._line(self._cur))
            self._cur = None


class HitsWriter(_TextWriter):
    """Motif or filter hits as BED6 + matched sequence."""

    def __init__(self, path) -> None:
        super().__init__(path)
        self.count = 0

    def write(self, hits: Iterable) -> None:
        text = "".join(f"{h.chrom}\t{h.start}\t{h.end}\t{h.name}\t{h.score:.4g}\t{h.strand}\t{h.sequence}\n" for h in hits)
        self.count += text.count("\n")
        self.fh.write(text)


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
