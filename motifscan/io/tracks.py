"""Window-score tracks: bedGraph and bigWig writers.

Track values: window ``[q, q + window)`` is drawn as its central ``stride`` bases,
``[q + (window - stride) // 2, ... + stride)``, so consecutive windows tile the genome without
overlapping (bigWig needs that); with ``stride > window`` the whole window is drawn. Skipped
windows (mostly N, too near a chromosome end) leave gaps. Values are the probability of the
first task.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import UsageError
from .writer import AtomicWriter, TextWriter

__all__ = ["window_bins", "BedGraphWriter", "BigWigWriter"]


def window_bins(starts: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Drawn interval ``[a, b)`` of each window start (see the module docstring)."""
    if stride <= window:
        a = starts + (window - stride) // 2
        return a, a + stride
    return starts, starts + window


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


class BedGraphWriter(TextWriter):
    """Window scores as bedGraph (no header line, so shard outputs concatenate)."""

    def __init__(self, path, window: int, stride: int) -> None:
        super().__init__(path)
        self.window, self.stride = window, stride

    def write(self, ws) -> None:
        if len(ws):
            a, b = window_bins(ws.start, self.window, self.stride)
            self.fh.write(_lines(ws.names, ws.row, a, b, ws.score[:, 0]))


class BigWigWriter(AtomicWriter):
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
