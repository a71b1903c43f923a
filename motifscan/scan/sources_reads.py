"""Reads from BAM / CRAM / SAM (pysam) as a scan source.

Which reads
    Primary alignments and unmapped reads by default; ``include_secondary`` adds secondary and
    supplementary alignments. Reads stored without a sequence (``SEQ`` is ``*``, common for
    secondary alignments) are skipped and counted in ``stats["no_sequence"]``. With ``--tag-bam``
    every record of the input is written back, in input order; only scored reads get the tag.

Orientation
    Each read is scored **as sequenced**: for a read aligned to the reverse strand (flag 16) the
    stored ``SEQ`` (reference orientation) is reverse-complemented first, as ``samtools fastq``
    does. Scores do not depend on this with the default reverse-complement-shared model, but
    ``best_position`` and ``strand`` are then relative to the read as it came off the sequencer,
    and a read's row equals that of the same read in the FASTA ``samtools fasta`` writes.

CRAM needs the reference it was compressed against (``reference``); without it pysam tries the
``M5``/``UR`` tags of the header, which is an error here rather than a network download.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputError, UsageError
from ..codes import encode, reverse_complement



class ReadSource:
    """Every selected read of an alignment file as one record (a :mod:`motifscan.scan` source).

    Parameters
    ----------
    path
        BAM, CRAM or SAM.
    reference
        FASTA for CRAM.
    include_secondary
        Also score secondary and supplementary alignments.
    keep_reads
        Carry each pysam read to the sinks (for ``--tag-bam``).
    shard
        A :class:`~motifscan.scan.shard.Shard`: take only its reads (one extra pass counts bases).
    regions
        Only reads overlapping these ``(chrom, start, end)`` intervals (``--chrom`` / ``--regions``;
        needs a BAM/CRAM index). Each read comes once, in index order; unmapped reads are left out.
    """

    def __init__(self, path, reference=None, *, include_secondary: bool = False, keep_reads: bool = False,
                 shard=None, regions: list[tuple[str, int | None, int | None]] | None = None) -> None:
        self.path = os.fspath(path)
        self.reference = reference
        self.include_secondary = include_secondary
        self.keep_reads = keep_reads
        self.shard = shard
        self.regions = regions
        self.sizes = None
        self.stats: dict[str, int] = {"reads": 0, "no_sequence": 0}
        with open_alignments(self.path, reference) as bam:
            self.header = bam.header
            if regions is not None:
                if not bam.has_index():
                    raise UsageError("--chrom/--regions on reads need an index of the alignment file",
                                     path=self.path, hint=f"run: samtools index {self.path}")
                known = set(bam.references)
                missing = sorted({c for c, _s, _e in regions} - known)
                if missing:
                    raise UsageError(f"--chrom/--regions name {missing[0]!r}, which is not a reference of the "
                                     "alignment file", path=self.path)
        self.total = None
        if shard is not None:
            self.total = self._count_bases()

    def _reads(self, bam) -> Iterator:
        """``(read, selected)`` for every record in file order (or in the regions, once each)."""
        for read in self._records(bam):
            yield read, self.include_secondary or not (read.is_secondary or read.is_supplementary)

    def _records(self, bam) -> Iterator:
        if self.regions is None:
            yield from (bam.fetch(until_eof=True) if bam.has_index() else bam)
            return
        from .sources import merge_intervals

        order = {c: i for i, c in enumerate(bam.references)}
        lengths = dict(zip(bam.references, bam.lengths))
        ivs = [(c, s or 0, lengths[c] if e is None else e) for c, s, e in self.regions]
        prev = None
        for chrom, start, end in merge_intervals(sorted(ivs, key=lambda t: (order[t[0]], t[1]))):
            for read in bam.fetch(chrom, start, end):
                # a read overlapping the previous (merged, disjoint) region was given already
                if prev is not None and prev[0] == chrom and read.reference_start < prev[2] \
                        and (read.reference_end or read.reference_start + 1) > prev[1]:
                    continue
                yield read
            prev = (chrom, start, end)

    def _count_bases(self) -> int:
        total = 0
        with open_alignments(self.path, self.reference) as bam:
            for read, selected in self._reads(bam):
                if selected:
                    total += len(read.query_sequence or "")
        return total

    def pieces(self, chunk_size: int, overlap: int):
        """Yield each read (split like a chromosome when longer than a chunk), in file order."""
        from .shard import RecordFilter
        from .sources import chunk_record

        keep = RecordFilter(self.total, self.shard) if self.shard is not None else None
        serial = 0
        with open_alignments(self.path, self.reference) as bam:
            try:
                for read, selected in self._reads(bam):
                    seq = read.query_sequence if selected else None
                    if keep is not None and not keep.keep(len(seq) if seq else 0):
                        continue
                    name = read.query_name or f"read{serial}"
                    payload = read if self.keep_reads else None
                    if not selected:  # passed through to --tag-bam untouched
                        if payload is not None:
                            yield _empty(name, serial, payload)
                            serial += 1
                        continue
                    if not seq:
                        self.stats["no_sequence"] += 1
                        if payload is not None:
                            yield _empty(name, serial, payload)
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
            except OSError as exc:
                raise InputError(f"cannot read alignments: {exc}", path=self.path) from None


def _empty(name: str, serial: int, payload):
    from .batching import Piece

    return Piece(name, serial, 0, np.zeros(0, np.uint8), 0, True, 0, payload)
