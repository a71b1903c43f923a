"""``--shard I/N``: split a scan into N deterministic, near-equal parts for a cluster.

Shards are numbered ``1..N``. The input's owned start positions (all bases of the scanned
chromosomes or regions, in file order) are laid end to end and cut at ``round(k * total / N)``,
each cut moved down to the window grid (a multiple of the stride within its chromosome), so a
window belongs to the shard that holds its start. Concatenating the outputs of shards ``1..N``
in order gives the unsharded output (bedGraph, records TSV, motif hits). Peaks are merged within
a shard, so a peak that straddles a cut appears as two adjacent intervals.

A whole FASTA genome (no ``--chrom``/``--regions``) is cut from its ``.fai`` lengths with numpy
(:func:`shard_span`, :func:`record_span`): a shard is then a run of consecutive records, the
first and last possibly in part, so a draft of 10^6 scaffolds needs no step per record.

For records (reads, FASTA records scored whole) a record belongs to the shard holding its first
base in the same end-to-end layout; finding the total needs one quick pass over the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UsageError

if TYPE_CHECKING:  # sources.py cuts its segments with split_segments
    from .sources import Segment

__all__ = ["Shard", "parse_shard", "split_segments", "RecordFilter", "ShardSpan", "shard_span", "record_span"]


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def bounds(self, total: int) -> tuple[int, int]:
        """Its half-open range ``[a, b)`` of ``total`` units laid end to end."""
        return _cut(self.index - 1, self.count, total), _cut(self.index, self.count, total)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _cut(k: int, n: int, total: int) -> int:
    return (k * total + n // 2) // n


def parse_shard(text: str | None) -> Shard | None:
    """Parse ``"I/N"`` (1 <= I <= N); ``None`` passes through."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m:
        raise UsageError(f"--shard {text!r} is not I/N", hint="e.g. --shard 1/8 (shards are numbered 1..N)")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= i <= n:
        raise UsageError(f"--shard {text}: I must be between 1 and N", hint="shards are numbered 1..N")
    return Shard(i, n)


def split_segments(segments: list[Segment], shard: Shard, overlap: int, grid: int = 1) -> list[Segment]:
    """The parts of ``segments`` that belong to ``shard``.

    Parameters
    ----------
    segments
        Segments in scan order.
    shard
        Which part.
    overlap
        Context bases past an owned start (``window - 1``); a cut segment keeps that much data
        past its last owned start (never past the original ``data_end``).
    grid
        Cuts land on multiples of ``grid`` within a chromosome (the window stride), so windows
        keep their anchor at position 0.
    """
    total = sum(s.owned for s in segments)
    a, b = shard.bounds(total)
    out: list[Segment] = []
    offset = 0
    for seg in segments:
        lo_g, hi_g = offset, offset + seg.owned
        offset = hi_g
        if hi_g <= a:  # wholly in earlier shards (a cut past its end must not snap back into it)
            continue
        lo = _to_pos(seg, max(a, lo_g) - lo_g, grid) if a > lo_g else seg.lo
        hi = _to_pos(seg, min(b, hi_g) - lo_g, grid) if b < hi_g else seg.hi
        if hi > lo:
            out.append(replace(seg, lo=lo, hi=hi, data_end=seg.data_end if hi == seg.hi else min(hi + overlap, seg.data_end)))
    return out


def _to_pos(seg: Segment, k: int, grid: int) -> int:
    """Position of the ``k``-th owned base of ``seg``, moved down onto the grid (not below lo)."""
    pos = seg.lo + max(k, 0)
    return max(seg.lo, pos - pos % grid) if grid > 1 else pos


class RecordFilter:
    """Streaming choice of the records of ``shard``, given the input's ``total`` bases.

    Call :meth:`keep` with each record's length in input order; memory stays constant.
    """

    def __init__(self, total: int, shard: Shard) -> None:
        self.a, self.b = shard.bounds(total)
        self.last = shard.index == shard.count
        self.cum = 0

    def keep(self, length: int) -> bool:
        c = self.cum
        self.cum += length
        return self.a <= c and (c < self.b or self.last)


@dataclass(frozen=True)
class ShardSpan:
    """A shard of a whole genome: records ``first..last`` (inclusive, in file order; empty when
    ``last < first``), owning starts from ``lo`` in record ``first`` to ``hi`` in record ``last``
    (all of every record between), with bases of record ``last`` available up to ``data_end``."""

    first: int
    last: int
    lo: int
    hi: int
    data_end: int

    @property
    def empty(self) -> bool:
        return self.last < self.first


def shard_span(lengths: np.ndarray, shard: Shard, overlap: int, grid: int = 1) -> ShardSpan:
    """The part of a genome of records ``lengths`` (int64, file order) that belongs to ``shard``.

    The same cuts as :func:`split_segments` over one whole segment per record (equal bases per
    shard, each cut moved down onto the grid), found with two binary searches.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    a, b = shard.bounds(int(ends[-1]) if len(ends) else 0)
    first = int(np.searchsorted(ends, a, side="right"))        # the first record ending past a
    last = int(np.searchsorted(starts, b, side="left")) - 1    # the last record starting before b
    if first > last:
        return ShardSpan(0, -1, 0, 0, 0)
    lo = _snap(a - int(starts[first]), grid) if a > starts[first] else 0
    hi = _snap(b - int(starts[last]), grid) if b < ends[last] else int(lengths[last])
    if last > first and hi == 0:  # the cut snaps to the last record's start: it is the next shard's
        last -= 1
        hi = int(lengths[last])
    if last == first and hi <= lo:
        return ShardSpan(0, -1, 0, 0, 0)
    size = int(lengths[last])
    return ShardSpan(first, last, lo, hi, size if hi == size else min(hi + overlap, size))


def record_span(lengths: np.ndarray, shard: Shard) -> tuple[int, int]:
    """Records ``(first, last)`` (inclusive) of ``shard`` when records are scored whole: those whose
    first base lies in the shard's range (what :class:`RecordFilter` keeps, without a pass)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    a, b = shard.bounds(total)
    first = int(np.searchsorted(starts, a, side="left"))
    last = len(lengths) - 1 if shard.index == shard.count else int(np.searchsorted(starts, b, side="left")) - 1
    return first, last


def _snap(k: int, grid: int) -> int:
    return k - k % grid if grid > 1 else k
