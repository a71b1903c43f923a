"""Pieces of records laid out as the rows of a batch (host arrays), for :mod:`.batching`.

A source hands on :class:`Piece` objects (a stretch of one record) and, where it reads many
short records at once (a draft assembly's scaffolds from one block of a FASTA), :class:`PieceRun`
objects: whole records end to end, as arrays, with no Python object per record. Both are
grouped into batches (:func:`group` one piece per row, :func:`group_packed` end to end in rows
of one width) and laid out as host arrays (:func:`pack`); a run's records are placed and copied
by two compiled loops (numba), so 10^6 scaffolds cost about what their bases cost.

Packed layout: every row is ``width`` columns; pieces are laid one after another in a row, each
at a column that is a multiple of ``align``, until the next does not fit (it starts the next
row); a batch has at most ``rows`` rows. A record of a run is laid out exactly as the same
record as a :class:`Piece` would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np

from ..codes import N_CODE

__all__ = ["Piece", "PieceRun", "round_up", "group", "group_packed", "pack"]


def round_up(n: int, multiple: int) -> int:
    """Smallest multiple of ``multiple`` that is >= ``n``."""
    return -(-n // multiple) * multiple


@dataclass
class Piece:
    """A stretch of one record on the host, produced by a source.

    Attributes
    ----------
    name
        Record (chromosome, read) name.
    record
        Serial number of the record in the input (read names can repeat; serials do not).
    start
        Position of ``codes[0]`` in the record (0-based).
    codes
        uint8 codes.
    own_end
        Start positions ``[start, own_end)`` belong to this piece (see :mod:`.batching`).
    last
        True for the final piece of its record (or of its segment).
    length
        The record's full length when known.
    payload
        Anything the source wants carried to the sinks (e.g. the pysam read for ``--tag-bam``).
    """

    name: str
    record: int
    start: int
    codes: np.ndarray
    own_end: int
    last: bool = True
    length: int | None = None
    payload: Any = None

    @property
    def end(self) -> int:
        return self.start + len(self.codes)


@dataclass
class PieceRun:
    """Consecutive whole records, each one piece (no longer than a chunk plus its overlap).

    Record ``i`` is ``names[i]`` (serial ``records[i]``, int64) with codes
    ``codes[bounds[i]:bounds[i + 1]]`` (``bounds`` int64 ``(n + 1,)``; ``codes`` may be longer and
    shared with other runs). Each is the :class:`Piece` ``(names[i], records[i], 0, its codes,
    own_end=length, last=True, length=length)``.
    """

    names: list[str]
    records: np.ndarray
    codes: np.ndarray
    bounds: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.bounds)

    def part(self, i: int, j: int) -> "PieceRun":
        """Records ``i`` to ``j - 1``."""
        return PieceRun(self.names[i:j], self.records[i:j], self.codes, self.bounds[i : j + 1])

    def pieces(self) -> Iterator[Piece]:
        """The same records as :class:`Piece` objects."""
        bounds = self.bounds.tolist()
        for name, rec, a, b in zip(self.names, self.records.tolist(), bounds[:-1], bounds[1:]):
            yield Piece(name, rec, 0, self.codes[a:b], b - a, True, b - a)


def _place(needs, width, rows, align, row, col, at_row, at_col):  # pragma: no cover - compiled
    """Lay pieces of ``needs`` columns from ``(row, col)`` as :func:`group_packed` does; stops at
    the first piece that would start row ``rows``. Returns ``(pieces placed, row, col)``."""
    for i in range(len(needs)):
        need = needs[i]
        if col > 0 and col + need > width:
            row += 1
            col = 0
        if row >= rows:
            return i, row, col
        at_row[i] = row
        at_col[i] = col
        col = -(-(col + need) // align) * align
    return len(needs), row, col


def _copy_run(arr, codes, bounds, rows, cols):  # pragma: no cover - compiled
    """``arr[rows[i], cols[i]:...] = codes[bounds[i]:bounds[i + 1]]`` for every record ``i``."""
    for i in range(len(rows)):
        a = bounds[i]
        b = bounds[i + 1]
        row = arr[rows[i]]
        c = cols[i]
        row[c : c + b - a] = codes[a:b]  # a slice copy: 3x faster than indexing byte by byte


_JIT: dict[str, Any] = {}


def _jit(name: str):
    """The compiled loop ``name``, compiled (or loaded from numba's cache) on first use: scans
    that never see a run import no numba."""
    if not _JIT:
        from ..jit import njit

        _JIT.update(place=njit(_place), copy=njit(_copy_run))
    return _JIT[name]


Place = tuple[np.ndarray, np.ndarray, int, int]


def group(pieces: Iterable[Piece], rows: int | None, max_bases: int, width_multiple: int, align: int
          ) -> Iterator[list[Piece]]:
    """Group pieces into batches of one piece per row: at most ``rows`` rows, and rows * width
    <= ``max_bases``."""
    batch: list[Piece] = []
    widest = 0
    for p in pieces:
        w = round_up(len(p.codes) + (p.start % align), width_multiple)
        new_widest = max(widest, w)
        if batch and (
            (rows is not None and len(batch) >= rows)
            or (rows is None and new_widest * (len(batch) + 1) > max_bases)
        ):
            yield batch
            batch, new_widest = [], w
        batch.append(p)
        widest = new_widest
    if batch:
        yield batch


def group_packed(items: Iterable[Piece | PieceRun], width: int, rows: int, align: int
                 ) -> Iterator[tuple[list[Piece | PieceRun], Place]]:
    """Lay pieces end to end in rows of ``width`` columns (each at a multiple of ``align``), at
    most ``rows`` rows a batch; yields ``(items, (rows, cols, n_rows, width))`` with ``rows`` and
    ``cols`` per piece (a run's records in order). A run may be split between batches."""
    batch: list[Piece | PieceRun] = []
    parts: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, cols) of the batch's runs and pieces, in order
    at_row: list[int] = []  # of the pieces since the last run
    at_col: list[int] = []
    row, col = 0, 0

    def flush() -> None:
        if at_row:
            parts.append((np.array(at_row, np.int64), np.array(at_col, np.int64)))
            at_row.clear()
            at_col.clear()

    def done(n_rows: int) -> tuple[list[Piece | PieceRun], Place]:
        flush()
        r = np.concatenate([p[0] for p in parts]) if len(parts) != 1 else parts[0][0]
        c = np.concatenate([p[1] for p in parts]) if len(parts) != 1 else parts[0][1]
        return batch, (r, c, n_rows, width)

    for item in items:
        if isinstance(item, PieceRun):
            flush()
            needs = item.lengths
            place = _jit("place")
            i = 0
            while i < len(needs):
                r = np.empty(len(needs) - i, np.int64)
                c = np.empty(len(needs) - i, np.int64)
                k, row, col = place(needs[i:], width, rows, align, row, col, r, c)
                if k:
                    batch.append(item.part(i, i + k) if (i, k) != (0, len(needs)) else item)
                    parts.append((r[:k], c[:k]))
                    i += k
                if i < len(needs):  # the batch is full
                    yield done(rows)
                    batch, parts, row, col = [], [], 0, 0
            continue
        p = item
        need = len(p.codes) + (p.start % align)
        if col and col + need > width:  # the next row
            row, col = row + 1, 0
        if row >= rows:
            yield done(rows)
            batch, parts, row, col = [], [], 0, 0
        batch.append(p)
        at_row.append(row)
        at_col.append(col)
        col = round_up(col + need, align)
    if batch:
        yield done(row + 1)


def _columns(items: list[Piece | PieceRun]) -> tuple[list, list[np.ndarray], list]:
    """Per piece, in order: ``names``, the int64/bool arrays ``records, begins, ends, own_ends,
    last``, and ``lengths``, ``payloads`` lists."""
    names: list[str] = []
    arrays: list[list[np.ndarray]] = [[], [], [], [], []]
    lengths: list = []
    payloads: list = []
    singles: list[Piece] = []

    def flush() -> None:
        if singles:
            names.extend(p.name for p in singles)
            for k, v in enumerate((
                    np.array([p.record for p in singles], np.int64), np.array([p.start for p in singles], np.int64),
                    np.array([p.end for p in singles], np.int64), np.array([p.own_end for p in singles], np.int64),
                    np.array([p.last for p in singles], bool))):
                arrays[k].append(v)
            lengths.extend(p.length for p in singles)
            payloads.extend(p.payload for p in singles)
            singles.clear()

    for item in items:
        if isinstance(item, Piece):
            singles.append(item)
            continue
        flush()
        n, ln = len(item), item.lengths
        names.extend(item.names)
        for k, v in enumerate((item.records, np.zeros(n, np.int64), ln, ln, np.ones(n, bool))):
            arrays[k].append(v)
        lengths.extend(ln.tolist())
        payloads.extend([None] * n)
    flush()
    return names, [np.concatenate(a) if len(a) != 1 else a[0] for a in arrays], [lengths, payloads]


def pack(items: list[Piece | PieceRun], align: int, width_multiple: int, pin: bool, min_width: int = 1,
         place: Place | None = None) -> dict:
    """Host arrays of a batch: one piece per row, or laid out by ``place`` = ``(rows, cols,
    n_rows, width)`` (packed batches, :func:`group_packed`; runs need one). The codes (``host``)
    are a numpy array, or with ``pin`` a pinned torch tensor (for a CUDA copy)."""
    names, (records, begins, ends, own, last), (lengths, payloads) = _columns(items)
    starts = begins - begins % align
    if place is None:
        rows, cols = np.arange(len(names)), np.zeros(len(names), dtype=np.int64)
        n_rows, width = len(names), max(min_width, round_up(int((ends - starts).max()), width_multiple))
    else:
        rows, cols, n_rows, width = place
    pieces = all(isinstance(item, Piece) for item in items)
    # N written around the pieces needs them in row order, left to right (as group and
    # group_packed lay them); any other placement gets the whole batch filled first
    around = pieces and not pin and bool(np.all(np.diff(np.asarray(rows, np.int64) * width + cols) > 0))
    if pin:
        import torch

        host = torch.full((n_rows, width), N_CODE, dtype=torch.uint8, pin_memory=True)
        arr = host.numpy()
    elif around:  # N written around the pieces only (a chromosome's rows are nearly all bases)
        host = arr = np.empty((n_rows, width), dtype=np.uint8)
    else:  # numpy's fill starts no OpenMP region (torch's does, on this background thread)
        host = arr = np.full((n_rows, width), N_CODE, dtype=np.uint8)
    if pieces:
        at_row, at_col = 0, 0  # arr is written up to here (pieces lie in row order, left to right)
        for p, r, c, s in zip(items, rows.tolist(), cols.tolist(), starts.tolist()):
            o = c + p.start - s
            if around:
                if r != at_row:
                    arr[at_row, at_col:] = N_CODE
                    arr[at_row + 1 : r] = N_CODE
                    at_row, at_col = r, 0
                arr[r, at_col:o] = N_CODE
            arr[r, o : o + len(p.codes)] = p.codes
            at_col = o + len(p.codes)
        if around:
            arr[at_row, at_col:] = N_CODE
            arr[at_row + 1 :] = N_CODE
    else:
        k = 0
        for item in items:
            if isinstance(item, Piece):
                o = int(cols[k]) + item.start - int(starts[k])
                arr[int(rows[k]), o : o + len(item.codes)] = item.codes
                k += 1
            else:  # a run's records start at 0: column cols[i] holds position 0
                _jit("copy")(arr, item.codes, item.bounds, rows[k : k + len(item)], cols[k : k + len(item)])
                k += len(item)
    return dict(
        names=names,
        records=records,
        starts=starts,
        begins=begins,
        ends=ends,
        own_ends=own,
        last=last,
        lengths=lengths,
        payloads=payloads,
        host=host,
        bases=int(np.maximum(own - begins, 0).sum()),
        rows=None if place is None else rows,
        cols=None if place is None else cols,
    )
