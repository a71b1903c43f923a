"""Scan inputs as one abstraction: a :class:`Source` yields :class:`~.engine.Piece` objects.

* :class:`FastaSource` -- a FASTA file (plain, gzip, bgzip, ``-`` for stdin), streamed whole, or,
  when restricted by ``--chrom``, ``--regions`` or ``--shard``, read through its index
  (:class:`~motifscan.sequences.fasta.IndexedFasta`) segment by segment.
* :class:`~motifscan.sequences.alignments.ReadSource` -- reads of a BAM/CRAM/SAM file.

Every source has ``pieces(chunk_size, overlap)``, ``sizes`` (record lengths known up front, or
``None``), ``total`` (bases to scan, or ``None``) and ``stats`` (counters for the log).

Segments: a :class:`Segment` ``(name, lo, hi, data_end)`` owns start positions ``[lo, hi)`` and
supplies bases ``[lo, data_end)``. For a chromosome or a shard of one, ``data_end`` is
``min(hi + overlap, size)`` (windows starting before ``hi`` may run past it); for a ``--regions``
interval ``data_end`` is the interval's end, so windows (and motif hits) lie wholly inside it.

``skip_masked``: soft-masked (lower-case) bases are read as N. They then add nothing to any
filter and count as N for the "mostly N" rule of window scans.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputError, UsageError
from ..codes import N_CODE, encode, soft_mask
from ..io.fasta import BGZIP_HINT, IndexedFasta, compression, stream_chunks
from .batching import Piece

__all__ = ["Segment", "FastaSource", "chunk_record", "read_fai", "merge_intervals", "is_alignment_file"]


@dataclass(frozen=True)
class Segment:
    """Start positions ``[lo, hi)`` of record ``name``, with bases available up to ``data_end``.

    ``label`` names the pieces instead of ``name`` (records mode over regions: ``chr:lo-hi``).
    """

    name: str
    lo: int
    hi: int
    data_end: int
    label: str | None = None

    @property
    def owned(self) -> int:
        return max(0, self.hi - self.lo)


def chunk_record(
    name: str, record: int, codes: np.ndarray, chunk_size: int, overlap: int, payload=None
) -> Iterator[Piece]:
    """Cut one in-memory record (a read) into pieces as a streamed chromosome would be cut."""
    n = len(codes)
    if n <= chunk_size + overlap:
        yield Piece(name, record, 0, codes, n, True, n, payload)
        return
    s = 0
    while True:
        last = s + chunk_size + overlap >= n
        yield Piece(name, record, s, codes[s : s + chunk_size + overlap], n if last else s + chunk_size,
                    last, n if last else None, payload if last else None)
        if last:
            return
        s += chunk_size


def read_fai(path: str | os.PathLike) -> dict[str, int] | None:
    """Record sizes from an existing ``PATH.fai`` (newer than the FASTA), else ``None``."""
    p = Path(path)
    fai = Path(str(p) + ".fai")
    try:
        if not fai.exists() or fai.stat().st_mtime < p.stat().st_mtime:
            return None
        sizes = {}
        with open(fai) as fh:
            for line in fh:
                f = line.split("\t")
                if len(f) >= 2:
                    sizes[f[0]] = int(f[1])
        return sizes or None
    except (OSError, ValueError):
        return None


def merge_intervals(intervals) -> list[tuple[str, int, int]]:
    """Sort ``(chrom, start, end)`` per chromosome (first-seen chromosome order) and merge overlaps."""
    order: dict[str, int] = {}
    for iv in intervals:
        order.setdefault(iv[0], len(order))
    merged: list[tuple[str, int, int]] = []
    for chrom, start, end in sorted(intervals, key=lambda t: (order[t[0]], t[1], t[2])):
        if merged and merged[-1][0] == chrom and start <= merged[-1][2]:
            merged[-1] = (chrom, merged[-1][1], max(end, merged[-1][2]))
        else:
            merged.append((chrom, start, end))
    return merged


def is_alignment_file(path: str | os.PathLike) -> bool:
    """True for BAM/CRAM/SAM (by extension, or BAM/CRAM magic bytes)."""
    s = os.fspath(path)
    if s == "-":
        return False
    if s.lower().endswith((".bam", ".cram", ".sam")):
        return True
    try:
        with open(s, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    if head == b"CRAM":
        return True
    if head[:2] == b"\x1f\x8b" and compression(s) == "bgzip":
        import gzip

        try:
            with gzip.open(s, "rb") as fh:
                return fh.read(4) == b"BAM\x01"
        except OSError:
            return False
    return False


class FastaSource:
    """A FASTA input, streamed whole or read through its index segment by segment.

    Parameters
    ----------
    path
        FASTA file (plain, gzip, bgzip) or ``"-"``.
    segments
        Restrict the scan to these segments (needs an indexable file); ``None`` streams every
        record.
    skip_masked
        Read soft-masked bases as N.
    """

    def __init__(self, path: str | os.PathLike, segments: list[Segment] | None = None, *, skip_masked: bool = False) -> None:
        self.path = os.fspath(path)
        self.segments = segments
        self.skip_masked = skip_masked
        self.stats: dict[str, int] = {}
        self._index: IndexedFasta | None = None
        if self.path != "-" and not Path(self.path).exists():
            raise InputError("file not found", path=self.path)
        if segments is not None:
            self._index = open_index(self.path, "--chrom/--regions/--shard")
            self.sizes = dict(self._index.sizes)
            self.total = sum(s.owned for s in segments)
        else:
            self.sizes = None if self.path == "-" else read_fai(self.path)
            self.total = sum(self.sizes.values()) if self.sizes else None

    def _codes(self, raw_codes: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        if self.skip_masked and mask is not None and mask.any():
            raw_codes = raw_codes.copy()
            raw_codes[mask] = N_CODE
        return raw_codes

    def pieces(self, chunk_size: int, overlap: int) -> Iterator[Piece]:
        """Yield pieces: chunk ``k`` of a segment covers ``[lo + kC, lo + kC + C + overlap)``."""
        if self._index is None:
            yield from self._stream(chunk_size, overlap)
        else:
            yield from self._indexed(chunk_size, overlap)

    def _stream(self, chunk_size: int, overlap: int) -> Iterator[Piece]:
        record, name = -1, None
        for ch in stream_chunks(self.path, chunk_size, overlap, with_mask=self.skip_masked):
            if ch.name != name:
                record, name = record + 1, ch.name
            end = ch.start + len(ch.codes)
            yield Piece(ch.name, record, ch.start, self._codes(ch.codes, ch.masked),
                        end if ch.last else ch.start + chunk_size, ch.last, end if ch.last else None)

    def _indexed(self, chunk_size: int, overlap: int) -> Iterator[Piece]:
        assert self._index is not None and self.segments is not None
        for serial, seg in enumerate(self.segments):
            size = self.sizes[seg.name]
            s = seg.lo
            while s < seg.hi:
                e = min(s + chunk_size + overlap, seg.data_end)
                last = s + chunk_size >= seg.hi
                if self.skip_masked:
                    raw = self._index.fetch_raw(seg.name, s, e)
                    try:
                        codes = encode(raw, offset=s)
                    except InputError as exc:
                        raise exc.located(self.path, f"record {seg.name}") from None
                    codes = self._codes(codes, soft_mask(raw))
                else:
                    codes = self._index.fetch(seg.name, s, e)
                yield Piece(seg.label or seg.name, serial, s, codes, min(s + chunk_size, seg.hi), last,
                            (size if seg.label is None else seg.data_end - seg.lo) if last else None)
                s += chunk_size


def open_index(path: str, why: str) -> IndexedFasta:
    """Open ``path`` through its index, or explain why an index is needed and how to get one."""
    if path == "-":
        raise UsageError(f"{why} need an indexed FASTA file, not standard input", hint="give the file path")
    if compression(path) == "gzip":
        raise InputError(f"{why} need random access, and plain gzip cannot be indexed", path=path, hint=BGZIP_HINT)
    return IndexedFasta(path)


def whole_segments(sizes: dict[str, int], chroms: list[str] | None, path) -> list[Segment]:
    """One segment per chromosome (all, or the named ones, in genome order)."""
    if chroms:
        missing = [c for c in chroms if c not in sizes]
        if missing:
            raise UsageError(
                f"--chrom {missing[0]!r} is not a sequence in {path}",
                hint="names available: " + ", ".join(list(sizes)[:5]) + (" ..." if len(sizes) > 5 else ""),
            )
        wanted = set(chroms)
        return [Segment(c, 0, n, n) for c, n in sizes.items() if c in wanted]
    return [Segment(c, 0, n, n) for c, n in sizes.items()]


def region_segments(regions: list[tuple[str, int, int]], sizes: dict[str, int], regions_path,
                    genome_path="") -> list[Segment]:
    """Segments for ``--regions`` intervals (merged; clipped to the chromosome)."""
    from ..io.intervals import Interval, check_chromosomes

    check_chromosomes([Interval(c, s, e) for c, s, e in regions], sizes, regions_path, genome_path)
    order = {c: i for i, c in enumerate(sizes)}
    merged = merge_intervals(sorted(regions, key=lambda t: order[t[0]]))
    return [Segment(c, s, min(e, sizes[c]), min(e, sizes[c])) for c, s, e in merged if s < min(e, sizes[c])]
