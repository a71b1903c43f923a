"""``scan_motifs``: the library function behind ``motifscan scan MOTIFS INPUT -o hits.tsv``.

Reads the motif file, builds the :class:`~motifscan.scan.pwm_scan.MotifBank` (FIMO's integer
PSSMs, exact p-value tables, one cutoff per motif), streams the input through the shared scan
engine (:func:`~motifscan.scan.engine.iter_batches`, so ``--shard``, ``--chrom``, ``--regions``,
reads and the progress bar behave as in the model scan) and writes FIMO-style hits with
q-values through :class:`~motifscan.outputs_motifs.HitSink` (bounded memory: hits are spilled
to disk until the q-values are known).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Sequence

import numpy as np

from ..errors import InputError, UsageError
from ..motifs.pvalues import DEFAULT_PSEUDOCOUNT, PSSM_RANGE
from ..motifs.pwm import Motif
from ..io.fimo import HitSink
from .progress import Progress
from .batching import iter_batches
from .motif_scan import METHODS, scan_batch
from .motif_bank import MotifBank
from .shard import Shard

__all__ = ["scan_motifs", "resolve_background", "input_composition", "BACKGROUNDS"]

log = logging.getLogger("motifscan")

#: ``--bg`` keywords (anything else is a MEME background file).
BACKGROUNDS = ("motif-file", "uniform", "input")
#: Bases per chunk of the lookahead (CPU) scan; rows are packed up to LOOKAHEAD_BATCH bases.
LOOKAHEAD_CHUNK = 1 << 17
LOOKAHEAD_BATCH = 1 << 19


def input_composition(source) -> np.ndarray:
    """A/C/G/T frequencies of everything a source yields (one extra pass; N ignored)."""
    counts = np.zeros(5, dtype=np.int64)
    for piece in source.pieces(1 << 22, 0):
        own = piece.codes[: max(0, piece.own_end - piece.start)]
        counts += np.bincount(np.minimum(own, 4), minlength=5)[:5]
    if counts[:4].sum() == 0:
        raise InputError("no A/C/G/T bases in the input, so --bg input has nothing to count",
                         path=getattr(source, "path", None))
    return counts[:4] / counts[:4].sum()


def resolve_background(bg: str | os.PathLike | None, motifs: Sequence[Motif], source=None) -> np.ndarray | None:
    """``--bg``: ``None``/``motif-file`` (each motif's own), ``uniform``, ``input`` or a file.

    Returns ``None`` for the motif file's background, else a ``(4,)`` array.
    """
    if bg is None or str(bg) == "motif-file":
        return None
    if str(bg) == "uniform":
        return np.full(4, 0.25)
    if str(bg) == "input":
        if source is None:
            raise UsageError("--bg input needs the input sequences")
        if getattr(source, "path", None) == "-":
            raise UsageError("--bg input reads the input twice, so it cannot come from standard input",
                             hint="give a file, or --bg uniform / a background file")
        return input_composition(source)
    from ..io.motif_formats import read_meme_background

    if not os.path.exists(bg):
        raise UsageError(f"--bg {bg}: no such file", hint="use motif-file, uniform, input or a MEME background file")
    return read_meme_background(bg)


def scan_motifs(
    motifs: str | os.PathLike | Sequence[Motif],
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    pvalue: float = 1e-4,
    background: str | os.PathLike | np.ndarray | None = None,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    pssm_range: int = PSSM_RANGE,
    motif_format: str | None = None,
    fmt: str | None = None,
    method: str = "auto",
    chroms: list[str] | None = None,
    regions: str | os.PathLike | None = None,
    shard: Shard | None = None,
    skip_masked: bool = False,
    reference: str | os.PathLike | None = None,
    include_secondary: bool = False,
    chunk_size: int | None = None,
    batch_size: int | None = None,
    device="cpu",
    quiet: bool = False,
) -> dict:
    """Scan ``input_path`` with every motif of ``motifs``; write FIMO-style hits to ``output``.

    Parameters
    ----------
    motifs
        A motif file (MEME, JASPAR, TRANSFAC, HOMER) or a list of :class:`Motif`.
    input_path
        FASTA (plain, gzip, bgzip, ``-``) or BAM/CRAM/SAM reads.
    output
        ``.tsv`` (FIMO columns), ``.bed`` or ``.gff3`` (see :mod:`motifscan.outputs_motifs`).
    pvalue
        Report windows with ``p <= pvalue`` (FIMO ``--thresh``).
    background
        ``None``/``"motif-file"`` (the motif file's background), ``"uniform"``, ``"input"``
        (the input's composition), a MEME background file, or a ``(4,)`` array. Always made
        symmetric (both strands are scanned), as FIMO does.
    pseudocount
        FIMO ``--motif-pseudo``.
    pssm_range
        Integer range of one PSSM column (MEME's ``PSSM_RANGE``): 1000 as MEME 5 (raised from 100 in 2013);
        100 reproduces the p-values of older FIMO releases.
    method
        ``auto`` (dense convolution on CUDA, lookahead index on CPU), ``lookahead`` or ``dense``.
    chroms, regions, shard, skip_masked, reference, include_secondary
        Input restrictions, as for the model scan (:func:`motifscan.scan.run.open_source`).
    chunk_size, batch_size, device, quiet
        Engine settings; results never depend on them.

    Returns
    -------
    dict
        ``hits``, ``bases``, ``seconds``, ``motifs``, ``unreachable`` (ids), ``output``.
    """
    from ..device import resolve_device
    from ..io.motif_formats import read_motifs
    from .sources import open_source

    if method not in METHODS:
        raise UsageError(f"--motif-method {method}: choose one of {', '.join(METHODS)}")
    if not 0 < pvalue <= 1:
        raise UsageError(f"--pvalue {pvalue} must be in (0, 1]")
    if pssm_range < 10:
        raise UsageError(f"--pssm-range {pssm_range} is too coarse", hint="use 1000 (MEME 5) or 100 (older FIMO)")
    if pseudocount < 0:
        raise UsageError(f"--motif-pseudo {pseudocount} must be >= 0")
    motif_list = list(motifs) if not isinstance(motifs, (str, os.PathLike)) else read_motifs(motifs, motif_format)
    if not motif_list:
        raise InputError("no motifs", path=None if not isinstance(motifs, (str, os.PathLike)) else motifs)
    dev = resolve_device(device)
    overlap = max(m.width for m in motif_list) - 1
    source = open_source(input_path, overlap=overlap, chroms=chroms, regions=regions, shard=shard,
                         skip_masked=skip_masked, reference=reference, include_secondary=include_secondary)
    if isinstance(background, np.ndarray):
        bg = background
    else:
        bg = resolve_background(background, motif_list, source)
    t0 = time.perf_counter()
    bank = MotifBank(motif_list, background=bg, pseudocount=pseudocount, pvalue=pvalue, range_=pssm_range)
    if len(bank.unreachable):
        ids = [motif_list[i].id for i in bank.unreachable]
        log.warning("%d motif(s) cannot reach p <= %g in any window and report nothing: %s%s",
                    len(ids), pvalue, ", ".join(ids[:5]), " ..." if len(ids) > 5 else "")
        for line in bank.describe_unreachable():
            log.debug(line)
    lookahead = method == "lookahead" or (method == "auto" and dev.type != "cuda")
    if lookahead:
        bank.lookahead_index()
    log.info("%d motifs (%d cannot reach p <= %g) ready in %.1f s", len(motif_list), len(bank.unreachable),
             pvalue, time.perf_counter() - t0)
    if shard is not None:
        log.info("shard %s: %s bases", shard, f"{source.total:,}" if source.total is not None else "?")
    sink = HitSink(bank, output, fmt)
    kind = "lookahead" if lookahead else "dense"
    with contextlib.ExitStack() as stack:
        stack.callback(sink.close)
        progress = stack.enter_context(Progress(source.total, quiet, desc="motifs"))
        engine_kw = {}
        if lookahead:
            engine_kw["max_bases"] = LOOKAHEAD_BATCH
        for batch in iter_batches(source, overlap=overlap,
                                  chunk_size=chunk_size or (LOOKAHEAD_CHUNK if lookahead else None),
                                  batch_size=batch_size, device=dev if not lookahead else "cpu",
                                  **engine_kw):
            hits, names, tests = scan_batch(bank, batch, kind)
            sink.add(hits, names, tests)
            progress.update(batch.bases)
        seconds = time.perf_counter() - t0
        bases = progress.done
        stats = getattr(source, "stats", {})
        if stats.get("no_sequence") and not stats.get("reads"):
            raise InputError(
                f"none of the {stats['no_sequence']:,} selected reads has a stored sequence (SEQ is '*')",
                path=input_path,
                hint="scan a BAM/CRAM that keeps read sequences, or a FASTA of the reads",
            )
        summary = sink.finish()
    mbps = bases / max(seconds, 1e-9) / 1e6
    log.info("scanned %s bases with %d motifs in %.1f s (%.2f Mbp/s), %s hits -> %s",
             f"{bases:,}", len(motif_list), seconds, mbps, f"{summary['hits']:,}", output)
    return {"hits": summary["hits"], "bases": bases, "seconds": seconds, "motifs": len(motif_list),
            "unreachable": [motif_list[i].id for i in bank.unreachable], "output": str(output)}
