"""``scan_model``: the library function behind ``motifscan scan MODEL INPUT -o OUT``.

Also :func:`open_source`, which turns a path plus ``--chrom`` / ``--regions`` / ``--shard`` /
``--skip-masked`` into a source the engine streams -- the PWM scan uses it too.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch

from ..atomic import check_output_path
from ..device import resolve_device
from ..errors import InputError, UsageError
from ..model import MotifCNN
from ..io.tracks import BedGraphWriter, BigWigWriter
from ..io.hits import HitsWriter
from ..io.peaks import PeakWriter
from ..io.records import RecordsWriter, TaggedBamWriter
from ..io.outputs import output_format
from .progress import Progress
from .batching import default_chunk_size, iter_batches
from .model_scan import ModelScanner
from .shard import RecordFilter, Shard, split_segments
from .sources import FastaSource, Segment, is_alignment_file, open_index, region_segments, whole_segments


log = logging.getLogger("motifscan")


def open_source(
    path: str | os.PathLike,
    *,
    overlap: int,
    grid: int = 1,
    records: bool = False,
    chroms: list[str] | None = None,
    regions: str | os.PathLike | None = None,
    shard: Shard | None = None,
    skip_masked: bool = False,
    reference: str | os.PathLike | None = None,
    include_secondary: bool = False,
    keep_reads: bool = False,
):
    """A source for ``path``: reads for BAM/CRAM/SAM, else FASTA (streamed or by segments).

    Parameters
    ----------
    overlap, grid
        Context past each start, and the window grid (stride), used to cut shards.
    records
        Records mode: shards are whole records (one counting pass) instead of genome ranges;
        with ``regions`` each merged region is a record named ``chrom:start-end``.
    chroms, regions
        Restrict a FASTA scan (needs an indexable FASTA: plain or bgzip).
    """
    if is_alignment_file(path):
        from .sources import ReadSource

        spans = None
        if regions:
            from ..io.intervals import read_intervals

            spans = [(iv.chrom, iv.start, iv.end) for iv in read_intervals(regions)
                     if not chroms or iv.chrom in set(chroms)]
        elif chroms:
            spans = [(c, None, None) for c in chroms]
        return ReadSource(path, reference, include_secondary=include_secondary, keep_reads=keep_reads, shard=shard,
                          regions=spans)
    if records and shard is not None and not (chroms or regions):
        return _ShardedRecords(FastaSource(path, skip_masked=skip_masked), shard)
    if not (chroms or regions or shard):
        return FastaSource(path, skip_masked=skip_masked)
    index = open_index(os.fspath(path), "--chrom/--regions/--shard")
    if regions:
        from ..io.intervals import read_intervals

        ivs = read_intervals(regions)
        if chroms:
            ivs = [iv for iv in ivs if iv.chrom in set(chroms)]
        segments = region_segments([(iv.chrom, iv.start, iv.end) for iv in ivs], index.sizes, regions,
                                   os.fspath(path))
    else:
        segments = whole_segments(index.sizes, chroms, path)
    index.close()
    if records:
        # each region (or chromosome) is one record, named chr:start-end unless it is whole;
        # shards take whole records
        segments = [Segment(s.name, s.lo, s.hi, s.data_end,
                            None if (s.lo == 0 and s.hi == s.data_end and not regions) else f"{s.name}:{s.lo}-{s.hi}")
                    for s in segments]
        if shard is not None:
            keep = RecordFilter(sum(s.owned for s in segments), shard)
            segments = [s for s in segments if keep.keep(s.owned)]
    elif shard is not None:
        segments = split_segments(segments, shard, overlap, grid)
    return FastaSource(path, segments, skip_masked=skip_masked)


class _ShardedRecords:
    """A FASTA scored record by record, keeping only one shard's records (by base count)."""

    def __init__(self, inner: FastaSource, shard: Shard) -> None:
        from ..io.fasta import iter_fasta_pieces

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
