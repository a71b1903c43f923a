"""Window-score tracks: bedGraph and bigWig writers.

Track values: window ``[q, q + window)`` is drawn as its central ``stride`` bases,
``[q + (window - stride) // 2, ... + stride)``, so consecutive windows tile the genome without
overlapping (bigWig needs that); with ``stride > window`` the whole window is drawn. Skipped
windows (mostly N, too near a chromosome end) leave gaps. Values are the probability of one task
(``column``, the first by default; a multi-task model gives one track per task).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import temporary_file
from ..errors import UsageError
from ..jit import njit
from .bigwig import ZOOM_LEVELS, BigWigStream
from .writer import AtomicWriter, TextWriter, read_array, write_array

__all__ = ["window_bins", "run_firsts", "BedGraphWriter", "BigWigWriter"]


def window_bins(starts: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Drawn interval ``[a, b)`` of each window start (see the module docstring)."""
    if stride <= window:
        a = starts + (window - stride) // 2
        return a, a + stride
    return starts, starts + window


def run_firsts(row: np.ndarray, start: np.ndarray, ids: np.ndarray, stride: int) -> np.ndarray:
    """First window of each fixed-step run: windows ``i - 1`` and ``i`` are in one run when
    ``ids[row[i - 1]] == ids[row[i]]`` and ``start[i] - start[i - 1] == stride``.

    ``row``, ``start``: ``(n,)`` integers, ``n > 0``; ``ids``: an id per row (``int64``). Returns
    ``int64`` ``(R,)`` indices, ``0`` first.
    """
    out = np.empty(len(row), np.int64)
    k = _run_firsts(np.asarray(row, np.int64), np.asarray(start, np.int64), np.asarray(ids, np.int64), stride, out)
    return out[:k]


@njit
def _run_firsts(row, start, ids, stride, out):  # pragma: no cover - compiled
    k = 0
    for i in range(len(row)):
        if i == 0 or ids[row[i]] != ids[row[i - 1]] or start[i] - start[i - 1] != stride:
            out[k] = i
            k += 1
    return k


def _lines(names: list[str], rows: np.ndarray, a: np.ndarray, b: np.ndarray, vals: np.ndarray) -> str:
    """bedGraph lines ``name  a  b  value(%.6g)``; ``rows`` index ``names`` (any order)."""
    out = []
    cuts = [0, *(np.flatnonzero(np.diff(rows)) + 1).tolist(), len(rows)]
    if len(cuts) > 2 and len(rows) < 16 * len(cuts):
        # many short runs (a draft assembly's scaffolds, a few windows each): one format of the
        # whole batch, the name a field of each line, rather than a Python step per run
        named = np.array(names, dtype=object)[rows].tolist()
        fields = [x for t in zip(named, a.tolist(), b.tolist(), vals.tolist()) for x in t]
        return "%s\t%d\t%d\t%.6g\n" * len(rows) % tuple(fields)
    for i, j in zip(cuts[:-1], cuts[1:]):
        if i == j:
            continue
        # one %-format of a repeated template per chromosome run: about twice as fast as a
        # format call per line, and the writer's share of a CPU scan is not small
        fields = [x for t in zip(a[i:j].tolist(), b[i:j].tolist(), vals[i:j].tolist()) for x in t]
        out.append((names[rows[i]].replace("%", "%%") + "\t%d\t%d\t%.6g\n") * (j - i) % tuple(fields))
    return "".join(out)


class BedGraphWriter(TextWriter):
    """Window scores as bedGraph (no header line, so shard outputs concatenate); ``column``: the task."""

    def __init__(self, path, window: int, stride: int, *, column: int = 0) -> None:
        super().__init__(path)
        self.window, self.stride, self.column = window, stride, column

    def write(self, ws) -> None:
        if len(ws):
            a, b = window_bins(ws.start, self.window, self.stride)
            self.fh.write(_lines(ws.names, ws.row, a, b, ws.score[:, self.column]))


class BigWigWriter(AtomicWriter):
    """Window scores as bigWig (:class:`~motifscan.io.bigwig.BigWigStream`), in flat memory.

    bigWig needs every chromosome size before the first value. With ``sizes`` (from the FASTA
    index) fixed-step runs go straight into the file as the scan produces them; without (standard
    input, plain gzip, reads) they are spooled as **binary** arrays (float32 values and an int64
    run table) to two temporary files beside the target, and written at the end from the sizes
    seen while scanning.

    Parameters
    ----------
    path
        The ``.bw`` output.
    window, stride
        The scan's window and stride (see :func:`window_bins`).
    sizes
        Chromosome sizes in scan order, or ``None``.
    column
        Which score column (task) the track shows.
    zoom_levels
        bigWig zoom levels (see :data:`motifscan.io.bigwig.ZOOM_LEVELS`).
    """

    def __init__(self, path, window: int, stride: int, sizes: dict[str, int] | None = None, *, column: int = 0,
                 zoom_levels: int = ZOOM_LEVELS) -> None:
        super().__init__()
        self.path = Path(path)
        self.window, self.stride, self.column = window, stride, column
        self.zoom_levels = zoom_levels
        self._tmp = self._stack.enter_context(self.outputs.path(self.path))
        self._seen: dict[str, int] = {}
        self._bw: BigWigStream | None = None
        self._spool = None
        if sizes:
            # a RecordSizes (a draft assembly's 10^6 names) goes as its columns, not as pairs
            self._open(sizes if hasattr(sizes, "names") and hasattr(sizes, "lengths") else list(sizes.items()))
        else:
            self._spool = _RunSpool(self.path, self._stack)

    def _open(self, sizes) -> None:
        fh = self._stack.enter_context(open(self._tmp, "w+b"))
        self._bw = BigWigStream(fh, sizes, zoom_levels=self.zoom_levels)
        self._stack.callback(self._bw.abort)

    def write(self, ws) -> None:
        if self._spool is not None:  # sizes seen while scanning, for the bigWig written at the end
            self._seen.update(ws.finished)
        if not len(ws):
            return
        # a batch's rows hold pieces of sequences (a chromosome fills all of a batch's rows): one
        # id per row, and fixed-step runs broken at a new sequence or a gap (skipped windows), in
        # one compiled pass (the writer would join the rows' runs again: one step each)
        ids = self._bw.chrom_ids(ws.names) if self._bw is not None else self._spool.ids(ws.names)
        first = run_firsts(ws.row, ws.start, ids, self.stride)
        counts = np.diff(np.r_[first, len(ws.row)])
        tids = ids[ws.row[first]]
        a, b = window_bins(ws.start[first], self.window, self.stride)
        span = int(b[0] - a[0])
        vals = ws.score[:, self.column]
        if self._bw is not None:
            if (tids < 0).any():
                name = ws.names[int(ws.row[first[np.argmax(tids < 0)]])]
                raise ValueError(f"chromosome {name!r} is not in the bigWig's chromosome list")
            self._bw.add_runs(tids, a, counts, span, self.stride, vals)
        else:
            self._spool.add_runs(tids, a, span, counts, vals)

    def finish(self) -> None:
        if self._spool is not None:
            if not self._seen:
                raise UsageError("no sequences were scanned, so there is nothing to write to a bigWig")
            self._open(list(self._seen.items()))
            for name, start, span, vals in self._spool.replay(self.stride):
                self._bw.add(name, start, span, self.stride, vals)
        self._bw.close()


class _RunSpool:
    """Fixed-step runs kept in two binary temporary files beside ``target`` until the sizes are known.

    The files are marked temporaries of ``target`` (``.STEM.tmp-PID-HOST-X.bw.runs``/``.values``):
    removed when the writer closes, and by the next run writing ``target`` if this one is killed.
    """

    CHUNK = 1 << 20  # values read back at a time

    def __init__(self, target: Path, stack) -> None:
        self.names: dict[str, int] = {}
        self._files = []
        for suffix in (".runs", ".values"):
            name = temporary_file(target, suffix)
            stack.callback(lambda p=name: p.unlink(missing_ok=True))
            fh = open(name, "w+b")
            stack.callback(fh.close)
            self._files.append(fh)
        self.runs, self.values = self._files

    def ids(self, names: list[str]) -> np.ndarray:
        """``int64`` id of each of ``names`` (numbered as first seen)."""
        return np.array([self.names.setdefault(n, len(self.names)) for n in names], dtype=np.int64)

    def add_runs(self, ids: np.ndarray, starts: np.ndarray, span: int, counts: np.ndarray, vals: np.ndarray) -> None:
        """Runs ``i`` of record id ``ids[i]`` (:meth:`ids`): ``counts[i]`` values from ``starts[i]``."""
        table = np.empty((len(ids), 4), dtype=np.int64)
        table[:, 0], table[:, 1], table[:, 2], table[:, 3] = ids, starts, span, counts
        write_array(self.runs, table)
        write_array(self.values, np.asarray(vals, dtype=np.float32))

    def replay(self, step: int):
        """Yield ``(name, start, span, values)`` in the order they were added (long runs in pieces)."""
        names = list(self.names)
        self.runs.flush()
        self.values.flush()
        self.runs.seek(0)
        self.values.seek(0)
        while True:
            table = read_array(self.runs, np.int64, 4 * 4096).reshape(-1, 4)
            if not len(table):
                return
            for idx, start, span, n in table.tolist():
                done = 0
                while done < n:
                    k = min(self.CHUNK, n - done)
                    yield names[idx], start + done * step, span, read_array(self.values, np.float32, k)
                    done += k
