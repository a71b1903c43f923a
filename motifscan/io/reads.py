"""Reads from BAM / CRAM / SAM (pysam): opening, selecting and iterating alignments.

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

import gzip
import os
from pathlib import Path
from typing import Iterator

from ..errors import InputError, UsageError
from .fasta import compression
from .intervals import merge_intervals

__all__ = ["open_alignments", "is_alignment_file", "AlignmentReader"]


#: A region of an alignment file: ``(chrom, start, end)``, ``None`` for a whole chromosome's bound.
Region = tuple[str, "int | None", "int | None"]


def open_alignments(path: str | os.PathLike, reference: str | os.PathLike | None = None):
    """Open a BAM/CRAM/SAM with pysam, with errors that name the file and the fix."""
    import pysam

    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=p)
    is_cram = False
    with open(p, "rb") as fh:
        is_cram = fh.read(4) == b"CRAM"
    if is_cram and reference is None:
        raise UsageError("reading CRAM needs the reference it was compressed against", path=p,
                         hint="give --reference GENOME.fa")
    if reference is not None and not Path(reference).exists():
        raise InputError("reference FASTA not found", path=reference)
    kwargs = {"check_sq": False}
    if reference is not None:
        kwargs["reference_filename"] = os.fspath(reference)
    if is_cram:
        # never fetch reference sequences from the network
        os.environ.setdefault("REF_PATH", ":")
    try:
        return pysam.AlignmentFile(os.fspath(p), "r" + ("c" if is_cram else "b" if _is_bgzf(p) else ""), **kwargs)
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read alignments: {exc}", path=p,
                         hint="give a BAM, CRAM (with --reference) or SAM file") from None


def _sam_line(path: str, records_read: int) -> str | None:
    """``"line K"`` of the record after ``records_read`` good ones in a text SAM (``None`` for BAM/CRAM)."""
    p = Path(path)
    with open(p, "rb") as fh:
        if fh.read(4) == b"CRAM" or _is_bgzf(p):
            return None
        fh.seek(0)
        header = 0
        for line in fh:
            if not line.startswith(b"@"):
                break
            header += 1
    return f"line {header + records_read + 1}"


def _is_bgzf(p: Path) -> bool:
    with open(p, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


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
        try:
            with gzip.open(s, "rb") as fh:
                return fh.read(4) == b"BAM\x01"
        except OSError:
            return False
    return False


class AlignmentReader:
    """The records of an alignment file, each with whether it is selected for scoring.

    Parameters
    ----------
    path
        BAM, CRAM or SAM.
    reference
        FASTA for CRAM.
    include_secondary
        Also select secondary and supplementary alignments.
    regions
        Only records overlapping these ``(chrom, start, end)`` intervals (``None`` bounds: the
        whole chromosome); needs a BAM/CRAM index. Each record comes once, in index order;
        unmapped reads are left out.

    Attributes
    ----------
    header
        The pysam header (for writing the reads back).
    """

    def __init__(self, path: str | os.PathLike, reference: str | os.PathLike | None = None, *,
                 include_secondary: bool = False, regions: list[Region] | None = None) -> None:
        self.path = os.fspath(path)
        self.reference = reference
        self.include_secondary = include_secondary
        self.regions = regions
        with open_alignments(self.path, reference) as bam:
            self.header = bam.header
            if regions is not None:
                if not bam.has_index():
                    raise UsageError("--chrom/--regions on reads need an index of the alignment file",
                                     path=self.path, hint=f"run: samtools index {self.path}")
                missing = sorted({c for c, _s, _e in regions} - set(bam.references))
                if missing:
                    raise UsageError(f"--chrom/--regions name {missing[0]!r}, which is not a reference of the "
                                     "alignment file", path=self.path)

    def __iter__(self) -> Iterator[tuple[object, bool]]:
        """``(read, selected)`` for every record in file order (or in the regions, once each)."""
        with open_alignments(self.path, self.reference) as bam:
            n = 0
            try:
                for read in self._records(bam):
                    n += 1
                    yield read, self.include_secondary or not (read.is_secondary or read.is_supplementary)
            except OSError as exc:
                where = _sam_line(self.path, n) if self.regions is None else None
                what = "cannot parse this SAM record" if where else "cannot read alignments"
                raise InputError(f"{what}: {exc}", path=self.path, where=where) from None

    def selected_bases(self) -> int:
        """Bases of all selected reads (one pass; for ``--shard`` over reads)."""
        return sum(len(read.query_sequence or "") for read, selected in self if selected)

    def _records(self, bam) -> Iterator:
        if self.regions is None:
            yield from (bam.fetch(until_eof=True) if bam.has_index() else bam)
            return
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
