"""Scan inputs as one abstraction: a source yields :class:`~motifscan.scan.batching.Piece` objects.

* :class:`FastaSource` -- a FASTA file (plain, gzip, bgzip, ``-`` for stdin), streamed whole, or,
  when restricted by ``--chrom``, ``--regions`` or ``--shard``, read through its index
  (:class:`~motifscan.io.fasta.IndexedFasta`) segment by segment.
* :class:`ReadSource` -- reads of a BAM/CRAM/SAM file (:class:`~motifscan.io.reads.AlignmentReader`).
* :func:`open_source` -- the source for a path and its :class:`~motifscan.scan.options.InputOptions`.

Every source has ``pieces(chunk_size, overlap)``, ``sizes`` (record lengths known up front, or
``None``), ``total`` (bases to scan, or ``None``) and ``stats`` (counters for the log). A FASTA
source also has ``piece_runs(chunk_size, overlap)``: the same pieces, but the records that each
fit in one piece and lie in one block of the file come as
:class:`~motifscan.scan.packing.PieceRun` arrays (10^6 scaffolds without a Python object each),
for packed batches.

Segments: a :class:`Segment` ``(name, lo, hi, data_end)`` owns start positions ``[lo, hi)`` and
supplies bases ``[lo, data_end)``. For a chromosome or a shard of one, ``data_end`` is
``min(hi + overlap, size)`` (windows starting before ``hi`` may run past it); for a ``--regions``
interval ``data_end`` is the interval's end, so windows (and motif hits) lie wholly inside it.

``skip_masked``: soft-masked (lower-case) bases are read as N. They then add nothing to any
filter and count as N for the "mostly N" rule of window scans.

Reads (:class:`ReadSource`)
    Primary alignments and unmapped reads by default; ``include_secondary`` adds secondary and
    supplementary alignments. Reads stored without a sequence (``SEQ`` is ``*``, common for
    secondary alignments) are skipped and counted in ``stats["no_sequence"]``. With ``--tag-bam``
    every record of the input is written back, in input order; only scored reads get the tag.
    Each read is scored **as sequenced**: for a read aligned to the reverse strand (flag 16) the
    stored ``SEQ`` (reference orientation) is reverse-complemented first, as ``samtools fastq``
    does. Scores do not depend on this with the default reverse-complement-shared model, but
    ``best_position`` and ``strand`` are then relative to the read as it came off the sequencer,
    and a read's row equals that of the same read in the FASTA ``samtools fasta`` writes.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from ..codes import N_CODE, encode, reverse_complement, soft_mask
from ..errors import InputError, UsageError
from ..io.fasta import (BGZIP_HINT, FaiFasta, IndexedFasta, RecordRun, RecordSizes, compression, fai_total,
                        fasta_sizes, iter_fasta_pieces, stream_chunks)
from ..io.intervals import Interval, check_chromosomes, check_within, read_intervals
from ..io.reads import AlignmentReader, is_alignment_file
from ..text import plural
from .packing import Piece, PieceRun
from .options import InputOptions
from .shard import RecordFilter, Shard, ShardSpan, record_span, shard_span, split_segments

__all__ = ["Segment", "FastaSource", "ReadSource", "ShardedFasta", "open_source", "chunk_record",
           "is_alignment_file"]

log = logging.getLogger("motifscan")


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
    index
        Streaming: build the ``.fai`` index when it is missing, so that ``sizes`` is known
        before the scan (a bigWig output needs it); otherwise ``sizes`` is ``None`` and an
        existing index gives ``total`` only (10^6 names are not held for nothing).
    """

    def __init__(self, path: str | os.PathLike, segments: list[Segment] | None = None, *, skip_masked: bool = False,
                 index: bool = False) -> None:
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
            if index:
                self.sizes = fasta_sizes(self.path)
                self.total = int(self.sizes.lengths.sum()) if self.sizes else None
            else:
                self.sizes, self.total = None, None if self.path == "-" else fai_total(self.path)

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

    def piece_runs(self, chunk_size: int, overlap: int) -> Iterator[Piece | PieceRun]:
        """:meth:`pieces`, with short records of a streamed file as runs (see the module docstring)."""
        if self._index is None:
            yield from self._stream(chunk_size, overlap, runs=True)
        else:
            yield from self._indexed(chunk_size, overlap)

    def _stream(self, chunk_size: int, overlap: int, runs: bool = False) -> Iterator[Piece | PieceRun]:
        record, name = -1, None
        for ch in stream_chunks(self.path, chunk_size, overlap, with_mask=self.skip_masked, runs=runs):
            if isinstance(ch, RecordRun):
                yield _piece_run(ch, record + 1, self.skip_masked)
                record, name = record + len(ch), ch.names[-1]
                continue
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


class ReadSource:
    """Every selected read of an alignment file as one record (see the module docstring).

    Parameters
    ----------
    reader
        The alignment file (:class:`~motifscan.io.reads.AlignmentReader`).
    keep_reads
        Carry each pysam read to the sinks (for ``--tag-bam``).
    shard
        Take only this shard's reads (one extra pass counts their bases).
    """

    def __init__(self, reader: AlignmentReader, *, keep_reads: bool = False, shard: Shard | None = None) -> None:
        self.reader = reader
        self.path = reader.path
        self.header = reader.header
        self.keep_reads = keep_reads
        self.shard = shard
        self.sizes = None
        self.stats: dict[str, int] = {"reads": 0, "no_sequence": 0}
        self.total = reader.selected_bases() if shard is not None else None

    def pieces(self, chunk_size: int, overlap: int) -> Iterator[Piece]:
        """Yield each read (split like a chromosome when longer than a chunk), in file order."""
        keep = RecordFilter(self.total, self.shard) if self.shard is not None else None
        serial = 0
        for read, selected in self.reader:
            seq = read.query_sequence if selected else None
            if keep is not None and not keep.keep(len(seq) if seq else 0):
                continue
            name = read.query_name or f"read{serial}"
            payload = read if self.keep_reads else None
            if selected and not seq:
                self.stats["no_sequence"] += 1
            if not seq:  # unselected or without a sequence: passed through to --tag-bam untouched
                if payload is not None:
                    yield Piece(name, serial, 0, np.zeros(0, np.uint8), 0, True, 0, payload)
                    serial += 1
                continue
            try:
                codes = encode(seq)
            except InputError as exc:
                raise exc.located(self.path, f"read {name}") from None
            if read.is_reverse:
                codes = reverse_complement(codes)
            self.stats["reads"] += 1
            yield from chunk_record(name, serial, codes, chunk_size, overlap, payload)
            serial += 1


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


def region_segments(regions: list[Interval], sizes: dict[str, int], regions_path,
                    genome_path="") -> list[Segment]:
    """Segments for ``--regions`` intervals: overlapping ones merged (and logged); one that ends past
    its chromosome is refused (naming its line), never clipped silently.

    Each segment's ``label`` is the BED name of its interval (names joined by ``+`` for merged
    intervals; ``None`` when the BED gives no names), which records mode uses as the row name.
    """
    check_chromosomes(regions, sizes, regions_path, genome_path)
    check_within(regions, sizes, regions_path, genome_path)
    order = {c: i for i, c in enumerate(sizes)}
    groups: list[tuple[str, int, int, list[Interval]]] = []
    for iv in sorted(regions, key=lambda iv: (order[iv.chrom], iv.start, iv.end)):
        if groups and groups[-1][0] == iv.chrom and iv.start <= groups[-1][2]:
            chrom, start, end, members = groups[-1]
            groups[-1] = (chrom, start, max(end, iv.end), members + [iv])
        else:
            groups.append((iv.chrom, iv.start, iv.end, [iv]))
    merged = [g for g in groups if len(g[3]) > 1]
    if merged:
        log.info("--regions %s: %s merged into %s (each base is scanned once)", regions_path,
                 plural(sum(len(g[3]) for g in merged), "overlapping interval"), plural(len(merged), "region"))
    segments = []
    for c, s, e, members in groups:
        end = min(e, sizes[c])
        if s < end:
            names = list(dict.fromkeys(iv.name for iv in members if iv.name not in ("", ".")))
            segments.append(Segment(c, s, end, end, label="+".join(names) or None))
    return segments


def selected_segments(sizes: dict[str, int], inputs: InputOptions, path) -> list[Segment]:
    """The parts of a genome of ``sizes`` that ``--chrom``/``--regions`` select (every sequence without them)."""
    if inputs.regions:
        ivs = read_intervals(inputs.regions)
        if inputs.chroms:
            ivs = [iv for iv in ivs if iv.chrom in set(inputs.chroms)]
        return region_segments(ivs, sizes, inputs.regions, os.fspath(path))
    return whole_segments(sizes, list(inputs.chroms) if inputs.chroms else None, path)


def open_source(path: str | os.PathLike, inputs: InputOptions, *, overlap: int, grid: int = 1,
                records: bool = False, keep_reads: bool = False, sizes: bool = False):
    """The source for ``path``: reads for BAM/CRAM/SAM, else FASTA (streamed or by segments).

    Parameters
    ----------
    path
        FASTA (plain, gzip, bgzip, ``-``) or BAM/CRAM/SAM.
    inputs
        Which part of it (``--chrom``, ``--regions``, ``--shard`` need an indexable FASTA: plain
        or bgzip).
    overlap, grid
        Context past each start, and the window grid (stride), used to cut shards.
    records
        Records mode: shards are whole records (one counting pass) instead of genome ranges;
        with ``regions`` each merged region is a record named by the BED (``chrom:start-end``
        when the BED has no names).
    keep_reads
        Reads: carry each pysam read to the sinks (``--tag-bam``).
    sizes
        Know the chromosome sizes before the scan where the input allows (a streamed FASTA
        gets its ``.fai`` built when missing): a bigWig is then written as it goes.
    """
    chroms, regions, shard = inputs.chroms, inputs.regions, inputs.shard
    if is_alignment_file(path):
        spans = None
        if regions:
            spans = [(iv.chrom, iv.start, iv.end) for iv in read_intervals(regions)
                     if not chroms or iv.chrom in set(chroms)]
        elif chroms:
            spans = [(c, None, None) for c in chroms]
        reader = AlignmentReader(path, inputs.reference, include_secondary=inputs.include_secondary, regions=spans)
        return ReadSource(reader, keep_reads=keep_reads, shard=shard)
    if shard is not None and not (chroms or regions):
        fai = FaiFasta.open(path)
        if fai is not None:  # a whole indexed genome: cut from its .fai, consecutive records read in blocks
            return ShardedFasta(fai, shard, overlap, grid, records=records, skip_masked=inputs.skip_masked)
    if records and shard is not None and not (chroms or regions):
        return _ShardedRecords(FastaSource(path, skip_masked=inputs.skip_masked), shard)
    if not (chroms or regions or shard):
        return FastaSource(path, skip_masked=inputs.skip_masked, index=sizes)
    with open_index(os.fspath(path), "--chrom/--regions/--shard") as index:
        sizes = dict(index.sizes)
    segments = selected_segments(sizes, inputs, path)
    if records:
        # each region (or chromosome) is one record, named by the BED (or chr:start-end) unless it
        # is a whole chromosome; shards take whole records
        segments = [replace(s, label=None if (s.lo == 0 and s.hi == s.data_end and not regions)
                            else s.label or f"{s.name}:{s.lo}-{s.hi}") for s in segments]
        if shard is not None:
            keep = RecordFilter(sum(s.owned for s in segments), shard)
            segments = [s for s in segments if keep.keep(s.owned)]
    else:
        segments = [replace(s, label=None) for s in segments]  # windows: pieces are named by chromosome
        if shard is not None:
            segments = split_segments(segments, shard, overlap, grid)
    return FastaSource(path, segments, skip_masked=inputs.skip_masked)


class ShardedFasta:
    """One ``--shard`` of a whole FASTA genome, cut from its ``.fai`` (balanced by bases).

    The shard is a run of consecutive records (:func:`~motifscan.scan.shard.shard_span`; in
    records mode, whole records: :func:`~motifscan.scan.shard.record_span`): the records wholly
    inside it are streamed from the first one's file offset a block at a time, as an unsharded
    scan reads them; a record the shard holds in part (a chromosome cut by the shard) is fetched
    chunk by chunk. Neither needs a step per record of the genome, so 10^6 scaffolds shard as
    cheaply as a few chromosomes.
    """

    def __init__(self, fai: FaiFasta, shard: Shard, overlap: int, grid: int, *, records: bool = False,
                 skip_masked: bool = False) -> None:
        self.fai = fai
        self.path = str(fai.path)
        self.shard = shard
        self.skip_masked = skip_masked
        self.stats: dict[str, int] = {}
        lengths = fai.lengths
        self.sizes = RecordSizes(fai.names, lengths)
        if records:
            first, last = record_span(lengths, shard)
            size = int(lengths[last]) if last >= first else 0
            self.span = ShardSpan(first, last, 0, size, size)
        else:
            self.span = shard_span(lengths, shard, overlap, grid)
        sp = self.span
        self.total = 0 if sp.empty else int(lengths[sp.first : sp.last + 1].sum()) - sp.lo - (int(lengths[sp.last]) - sp.hi)

    def pieces(self, chunk_size: int, overlap: int) -> Iterator[Piece]:
        """Pieces of the shard's records, cut as :class:`FastaSource` cuts them."""
        return self._pieces(chunk_size, overlap, False)

    def piece_runs(self, chunk_size: int, overlap: int) -> Iterator[Piece | PieceRun]:
        """:meth:`pieces`, with short records as runs (see the module docstring)."""
        return self._pieces(chunk_size, overlap, True)

    def _pieces(self, chunk_size: int, overlap: int, runs: bool) -> Iterator[Piece | PieceRun]:
        sp, lengths = self.span, self.fai.lengths
        if sp.empty:
            return
        first_part = sp.lo > 0 or (sp.first == sp.last and sp.hi < lengths[sp.first])
        last_part = sp.hi < lengths[sp.last] and not (first_part and sp.first == sp.last)
        serial = 0
        try:
            if first_part:
                end = sp.hi if sp.first == sp.last else int(lengths[sp.first])
                yield from self._fetched(sp.first, serial, sp.lo, end, sp.data_end if sp.first == sp.last else end,
                                         chunk_size, overlap)
                serial += 1
            name = None
            for ch in self.fai.stream(sp.first + first_part, sp.last - last_part, chunk_size, overlap,
                                      with_mask=self.skip_masked, runs=runs):
                if isinstance(ch, RecordRun):
                    serial += name is not None
                    yield _piece_run(ch, serial, self.skip_masked)
                    serial, name = serial + len(ch) - 1, ch.names[-1]
                    continue
                if ch.name != name:
                    serial += name is not None
                    name = ch.name
                end = ch.start + len(ch.codes)
                yield Piece(ch.name, serial, ch.start, _masked(ch.codes, ch.masked, self.skip_masked),
                            end if ch.last else ch.start + chunk_size, ch.last, end if ch.last else None)
            serial += name is not None
            if last_part:
                yield from self._fetched(sp.last, serial, 0, sp.hi, sp.data_end, chunk_size, overlap)
        finally:
            self.fai.close()

    def _fetched(self, i: int, serial: int, lo: int, hi: int, data_end: int, chunk_size: int, overlap: int
                 ) -> Iterator[Piece]:
        name, size = self.fai.names[i], int(self.fai.lengths[i])
        s = lo
        while s < hi:
            e = min(s + chunk_size + overlap, data_end)
            last = s + chunk_size >= hi
            codes, mask = self.fai.fetch(i, s, e, with_mask=self.skip_masked)
            yield Piece(name, serial, s, _masked(codes, mask, self.skip_masked), min(s + chunk_size, hi), last,
                        size if last else None)
            s += chunk_size


def _piece_run(run: RecordRun, first: int, skip_masked: bool) -> PieceRun:
    """The pieces of a run of whole records, serials from ``first``."""
    records = np.arange(first, first + len(run), dtype=np.int64)
    if skip_masked and run.masked is not None:
        a, b = int(run.bounds[0]), int(run.bounds[-1])
        return PieceRun(run.names, records, _masked(run.codes[a:b], run.masked[a:b], True), run.bounds - a)
    return PieceRun(run.names, records, run.codes, run.bounds)


def _masked(codes: np.ndarray, mask: np.ndarray | None, skip_masked: bool) -> np.ndarray:
    """``codes`` with soft-masked bases read as N when ``skip_masked``."""
    if skip_masked and mask is not None and mask.any():
        codes = codes.copy()
        codes[mask] = N_CODE
    return codes


class _ShardedRecords:
    """A FASTA scored record by record, keeping only one shard's records (by base count)."""

    def __init__(self, inner: FastaSource, shard: Shard) -> None:
        self.inner, self.shard = inner, shard
        self.stats = inner.stats
        self.sizes = None
        total = 0
        for _name, _desc, piece in iter_fasta_pieces(inner.path):
            if piece is not None:
                total += len(piece)
        self.total = total

    def pieces(self, chunk_size: int, overlap: int):
        keep = RecordFilter(self.total, self.shard)
        # a record's length is known at its last piece only, so buffer one record's pieces
        held: list = []
        for p in self.inner.pieces(chunk_size, overlap):
            held.append(p)
            if p.last:
                if keep.keep(p.end):
                    yield from held
                held = []
