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


def _is_bgzf(p: Path) -> bool:
    with open(p, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"
