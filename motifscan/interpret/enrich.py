"""Known-motif enrichment (``motifscan enrich``): which motifs of a file are over-represented in peaks.

The method is MEME's SEA with FIMO-exact site calls:

1. A sequence **has** a motif when its best window on either strand reaches the motif's
   ``--pvalue`` (the same FIMO-exact integer PSSMs, cutoffs and p-values as ``motifscan scan``).
   All motifs are looked for in one compiled pass over each batch of sequences
   (:func:`motifscan.kernels.presence.motif_presence`), so memory stays flat in the number of
   peaks and there is no per-motif loop.
2. Controls: ``shuffle`` (default, SEA's): ``--controls`` dinucleotide shuffles of each peak,
   which keep its length, composition and dinucleotides, so only the order that makes sites is
   lost; ``genome``: ``--controls`` regions of the genome per peak, of the same length and
   closest GC content, on the same chromosome and away from every peak (HOMER's way); or a
   FASTA/BED file of the user's own control sequences.
3. Per motif, Fisher's exact test, one-sided for enrichment, on (peaks with a site, controls with
   a site) (:mod:`motifscan.stats.enrichment`); E-value = p x motifs tested; Benjamini-Hochberg
   q-values over all motifs tested (:func:`motifscan.stats.multitest.bh_log_qvalues`). All in
   natural-log space, so p-values below 1e-308 keep their order.

``--controls`` defaults to 1, as SEA: Fisher's variance goes as 1/n_pos + 1/n_neg, so a second
shuffle per peak removes a quarter of it (2/n to 1.5/n), while the scan time grows by half.
"""

from __future__ import annotations

import logging
import math
import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..atomic import check_distinct, check_output_path, writes_outputs
from ..data.datasets import is_fasta, iter_records
from ..data.negatives import gc_matched_background, shuffle_copies
from ..errors import InputError, UsageError
from ..io.enrichment import SitesWriter, format_log_value, write_enrichment
from ..io.fasta import IndexedFasta, read_fasta
from ..io.intervals import Interval, parse_region_name, read_intervals
from ..io.motif_formats import read_motifs
from ..kernels.presence import motif_presence, pack_sequences
from ..motifs import jaspar_path
from ..motifs.pwm import Motif
from ..scan.motif_bank import MotifBank
from ..scan.motif_scan import scan_codes, scan_threads
from ..stats.enrichment import enrichment_ratio, fisher_log_pvalues
from ..stats.multitest import bh_log_qvalues
from ..text import plural

__all__ = ["EnrichOptions", "EnrichResult", "PeakSet", "enrich", "enrich_sets", "count_sites", "check_inputs",
           "enrichment_statistics", "build_bank", "set_output_path"]

log = logging.getLogger("motifscan")

BACKGROUNDS = ("shuffle", "genome")


@dataclass(frozen=True)
class EnrichOptions:
    """How ``enrich`` reads, controls and tests (defaults defined here only).

    Attributes
    ----------
    motifs
        Motif file (MEME/JASPAR/TRANSFAC/HOMER, or a model's export); ``None``: the bundled
        JASPAR 2024 CORE vertebrates (879 motifs).
    genome
        Genome FASTA: needed for BED/narrowPeak peaks and for ``background="genome"``.
    background
        ``"shuffle"``, ``"genome"`` or a FASTA/BED file of control sequences.
    controls
        Control sequences per peak (shuffle and genome backgrounds).
    pvalue
        A sequence has a motif when its best site reaches this FIMO p-value.
    length
        BED/narrowPeak: windows of this length centred on the summit (or midpoint); ``None``:
        whole intervals. FASTA records are always taken as they are.
    seed
        Seeds the shuffles and the genome draws.
    batch_size
        Sequences per batch (memory holds one batch).
    top
        Motifs shown by the plot.
    """

    motifs: str | os.PathLike | None = None
    genome: str | os.PathLike | None = None
    background: str | os.PathLike = "shuffle"
    controls: int = 1
    pvalue: float = 1e-4
    length: int | None = None
    seed: int = 0
    batch_size: int = 2000
    top: int = 20

    def __post_init__(self) -> None:
        if self.controls < 1:
            raise UsageError(f"--controls must be at least 1, not {self.controls}")
        if not 0 < self.pvalue <= 1:
            raise UsageError(f"--pvalue must lie in (0, 1], not {self.pvalue}")
        if self.length is not None and self.length < 1:
            raise UsageError(f"--length must be at least 1, not {self.length}")
        if self.batch_size < 1 or self.top < 1:
            raise UsageError("batch size and --top must be at least 1")


@dataclass(frozen=True)
class PeakSet:
    """One set of peaks to test: a name, the file, and optionally its own background and genome."""

    name: str
    peaks: str | os.PathLike
    background: str | os.PathLike | None = None  # None: EnrichOptions.background
    genome: str | os.PathLike | None = None      # None: EnrichOptions.genome


@dataclass
class EnrichResult:
    """Counts and statistics per motif (arrays in motif-file order) and the output order."""

    motifs: list[Motif]
    tp: np.ndarray           # (M,) peaks with a site
    fp: np.ndarray           # (M,) controls with a site
    n_pos: int
    n_neg: int
    log_pvalue: np.ndarray   # (M,) natural logs
    log_evalue: np.ndarray
    log_qvalue: np.ndarray
    order: np.ndarray        # motif indices, best first
    background: str = "shuffle"
    paths: dict[str, Path] = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """The table rows (see :mod:`motifscan.io.enrichment`), best first."""
        ratio = enrichment_ratio(self.tp, self.n_pos, self.fp, self.n_neg)
        out = []
        for rank, i in enumerate(self.order, start=1):
            m = self.motifs[i]
            out.append({
                "rank": rank, "id": m.id, "alt_id": m.alt, "consensus": m.consensus,
                "tp": int(self.tp[i]), "tp_percent": 100.0 * self.tp[i] / self.n_pos,
                "fp": int(self.fp[i]), "fp_percent": 100.0 * self.fp[i] / self.n_neg,
                "enr_ratio": float(ratio[i]), "log_pvalue": float(self.log_pvalue[i]),
                "log_evalue": float(self.log_evalue[i]), "log_qvalue": float(self.log_qvalue[i]),
            })
        return out


# ---------------------------------------------------------------------------- inputs
def load_motifs_path(path: str | os.PathLike | None) -> Path:
    """The motif file to test: ``path``, or (``None`` or ``"jaspar"``) the bundled JASPAR 2024."""
    if path is None or (str(path).lower() == "jaspar" and not Path(path).exists()):
        return jaspar_path()
    path = Path(path)
    if not path.exists():
        raise UsageError(f"--motifs {path}: file not found", hint="give a motif file, or 'jaspar'")
    return path


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _peak_intervals(peaks: Path) -> list[Interval]:
    """Every peak's interval (BED), or those FASTA names give (``chr1:100-200``), for avoidance."""
    if not is_fasta(peaks):
        return read_intervals(peaks)
    out = []
    for rec in read_fasta(peaks):
        region = parse_region_name(rec.name)
        if region:
            out.append(Interval(*region, rec.name))
    return out


def _batch_key(seed: int, *parts: int) -> int:
    return zlib.crc32(np.array([seed, *parts], dtype=np.int64).tobytes())


class _GenomeControls:
    """GC-matched genomic controls for batches of peaks, away from every peak."""

    def __init__(self, fa: IndexedFasta, peaks: Path, copies: int, seed: int) -> None:
        self.fa, self.copies, self.seed = fa, copies, seed
        self.avoid = _peak_intervals(peaks)
        sizes = np.array(list(fa.sizes.values()), dtype=np.float64)
        # peaks without coordinates get a chromosome drawn by size, among the large ones when
        # there are any (unplaced contigs may be too short for a region)
        big = sizes >= 1e6 if (sizes >= 1e6).any() else np.ones(len(sizes), dtype=bool)
        self.chroms = [c for c, b in zip(fa.sizes, big) if b]
        self.weights = sizes[big] / sizes[big].sum()
        self._warned = False

    def __call__(self, batch: list[tuple[str, np.ndarray, Interval | None]], first: int) -> list[np.ndarray]:
        rng = np.random.default_rng(_batch_key(self.seed, first))
        out: list[np.ndarray] = []
        by_length: dict[int, list[int]] = {}
        for j, (_, codes, _) in enumerate(batch):
            by_length.setdefault(len(codes), []).append(j)
        if len(by_length) > 50 and not self._warned:
            self._warned = True
            log.warning("peaks of %d different lengths in a batch: GC-matched regions are drawn for each length "
                        "separately, which is slow; --length L takes windows of one length", len(by_length))
        for length, idx in by_length.items():
            ivs = []
            for j in idx:
                iv = batch[j][2]
                if iv is None or iv.chrom not in self.fa.sizes:
                    # no coordinates: a chromosome by size; an empty span overlaps nothing
                    iv = Interval(self.chroms[rng.choice(len(self.chroms), p=self.weights)], 0, 0)
                ivs.append(iv)
            codes = np.stack([batch[j][1] for j in idx])
            _, ctrl = gc_matched_background(self.fa, ivs, codes, ratio=self.copies,
                                            seed=_batch_key(self.seed, first, length), avoid=self.avoid)
            out.extend(ctrl)
        return out


def _resolve_background(background, peaks: Path, genome, peaks_are_fasta: bool) -> str:
    bg = os.fspath(background)
    if bg == "genome":
        if genome is None:
            if peaks_are_fasta:
                raise UsageError(f"--background genome draws control regions from a genome, and {peaks} is FASTA: "
                                 "give --genome FASTA (or use --background shuffle)")
            raise UsageError("--background genome needs --genome FASTA")
        return bg
    if bg == "shuffle":
        return bg
    if not Path(bg).exists():
        raise UsageError(f"--background {bg!r} is neither 'shuffle', 'genome' nor an existing file")
    return bg


def check_inputs(peak_set: PeakSet, options: EnrichOptions, motifs: Sequence[Motif]) -> None:
    """Refuse, before any work, what cannot give a table: one clear error per problem.

    Empty or unreadable peaks (or FASTA peaks all shorter than any motif), BED without a genome, a genome background without a genome, a
    background that is no file, and control sequences shorter than the widest motif (a control
    that cannot hold a site would make every motif look enriched).
    """
    genome = peak_set.genome if peak_set.genome is not None else options.genome
    background = peak_set.background if peak_set.background is not None else options.background
    peaks = Path(peak_set.peaks)
    fasta = is_fasta(peaks)  # raises for an empty or corrupt file
    if not fasta and genome is None:
        raise UsageError(f"{peaks} is not FASTA, so it is read as BED and needs --genome FASTA")
    bg = _resolve_background(background, peaks, genome, fasta)
    narrowest = min(m.width for m in motifs)
    if fasta and not any(len(rec) >= narrowest for rec in read_fasta(peaks)):
        raise InputError(f"no sequence is as long as the narrowest motif ({narrowest} bp), so no site can be found",
                         path=peaks, hint="give the peaks' sequences")
    if bg in BACKGROUNDS:
        return
    widest = int(np.argmax([m.width for m in motifs]))
    width = motifs[widest].width
    for name, codes, _ in iter_records(bg, genome=genome, length=options.length):
        if len(codes) < width:
            raise InputError(
                f"control sequence is {len(codes)} bp, shorter than motif {motifs[widest].id} ({width} bp), "
                "so it could never hold a site of it", path=bg, where=f"record {name}",
                hint="give controls as long as the peaks")


# ---------------------------------------------------------------------------- counting
def _sites_of_batch(bank: MotifBank, batch, writer: SitesWriter) -> np.ndarray:
    """Presence per (sequence, motif) from the full hit scan, writing every site on the way."""
    flat, starts, _ = pack_sequences([b[1] for b in batch])
    s, f, sc, _ = scan_codes(bank, flat, "lookahead")
    seq = np.searchsorted(starts, s, side="right") - 1
    motif = bank.filter_motif[f]
    present = np.zeros((len(batch), len(bank.motifs)), dtype=np.uint8)
    present[seq, motif] = 1
    if len(s):
        strand = bank.filter_strand[f]
        order = np.lexsort((strand, motif, s))
        s, seq, motif, strand, sc = s[order], seq[order], motif[order], strand[order], sc[order]
        width = bank.widths[motif]
        letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
        j = np.arange(bank.max_width)[None, :]
        rev = strand[:, None] == 1
        idx = s[:, None] + np.where(rev, width[:, None] - 1 - j, j)
        c = flat[np.clip(idx, 0, len(flat) - 1)]
        c = np.where(rev & (c < 4), 3 - c, np.minimum(c, 4))
        mat = np.where(j < width[:, None], letters[c], 0).astype(np.uint8)
        matched = [row.tobytes().rstrip(b"\0").decode() for row in mat]
        pos = s - starts[seq] + 1
        writer.write([bank.motifs[m].id for m in motif], [bank.motifs[m].alt for m in motif],
                     [batch[i][0] for i in seq], pos, pos + width - 1, strand,
                     bank.raw_scores(motif, sc), bank.pvalues(motif, sc), matched)
    return present


def count_sites(
    peaks: str | os.PathLike,
    bank: MotifBank,
    options: EnrichOptions = EnrichOptions(),
    *,
    background: str | os.PathLike | None = None,
    genome: str | os.PathLike | None = None,
    sites: SitesWriter | None = None,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Peaks and controls with a site of each motif, streaming in batches.

    Returns
    -------
    tp, fp, n_pos, n_neg
        ``(M,)`` int64 counts of peaks and of controls with a site, and the numbers of each.
    """
    peaks = Path(peaks)
    genome = genome if genome is not None else options.genome
    fa = IndexedFasta(genome) if genome is not None else None
    peaks_fasta = is_fasta(peaks)
    bg = _resolve_background(background if background is not None else options.background, peaks, fa, peaks_fasta)
    m = len(bank.motifs)
    tp = np.zeros(m, dtype=np.int64)
    fp = np.zeros(m, dtype=np.int64)
    n_pos = n_neg = 0
    threads = scan_threads()
    index = bank.lookahead_index()
    make_controls = None
    if bg == "shuffle":
        def make_controls(batch, first):
            return shuffle_copies([b[1] for b in batch], options.controls, options.seed, first)
    elif bg == "genome":
        make_controls = _GenomeControls(fa, peaks, options.controls, options.seed)
    for batch in _batches(iter_records(peaks, genome=fa, length=options.length), options.batch_size):
        if sites is not None:
            present = _sites_of_batch(bank, batch, sites)
        else:
            present = motif_presence([b[1] for b in batch], index, bank.filter_motif, m, threads=threads)
        tp += present.sum(axis=0, dtype=np.int64)
        if make_controls is not None:
            ctrl = make_controls(batch, n_pos)
            fp += motif_presence(ctrl, index, bank.filter_motif, m, threads=threads).sum(axis=0, dtype=np.int64)
            n_neg += len(ctrl)
        n_pos += len(batch)
    if make_controls is None:  # the user's own control sequences (their lengths checked by check_inputs)
        for batch in _batches(iter_records(bg, genome=fa, length=options.length), options.batch_size):
            fp += motif_presence([b[1] for b in batch], index, bank.filter_motif, m,
                                 threads=threads).sum(axis=0, dtype=np.int64)
            n_neg += len(batch)
    return tp, fp, n_pos, n_neg


# ---------------------------------------------------------------------------- the job
def enrichment_statistics(motifs: list[Motif], tp, fp, n_pos: int, n_neg: int, background: str = "shuffle") -> EnrichResult:
    """Fisher p-values, E-values and BH q-values from the counts; the output order."""
    log_p = fisher_log_pvalues(tp, n_pos, fp, n_neg)
    log_e = log_p + math.log(len(motifs))
    log_q = bh_log_qvalues(log_p)
    ratio = enrichment_ratio(tp, n_pos, fp, n_neg)
    order = np.lexsort((np.arange(len(motifs)), -ratio, log_p))
    return EnrichResult(motifs, np.asarray(tp), np.asarray(fp), n_pos, n_neg, log_p, log_e, log_q, order,
                        background=background)


def _comments(result: EnrichResult, options: EnrichOptions, motif_file: Path) -> list[str]:
    bg = {"shuffle": f"{options.controls} dinucleotide shuffle(s) of each peak",
          "genome": f"{options.controls} GC-matched genomic region(s) per peak, away from the peaks"}
    return [
        f"motifscan enrich: {result.n_pos} peaks, {result.n_neg} controls "
        f"({bg.get(result.background, Path(result.background).name)}); motifs: {motif_file.name} "
        f"({len(result.motifs)} tested)",
        f"a sequence has a motif when its best site (either strand) has FIMO p <= {options.pvalue:g}",
        "pvalue: Fisher's exact test, one-sided (enrichment), peaks vs controls with a site; "
        "evalue = pvalue x motifs tested; qvalue: Benjamini-Hochberg over the motifs tested",
        "log_pvalue, log_evalue, log_qvalue: natural logarithms; "
        "enr_ratio = ((tp + 1) / (peaks + 1)) / ((fp + 1) / (controls + 1))",
    ]


def set_output_path(path: str | os.PathLike, name: str) -> Path:
    """The output of one set among several: ``enrichment.tsv`` -> ``enrichment.NAME.tsv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{name}{path.suffix}")


def enrich(
    peaks: str | os.PathLike,
    output: str | os.PathLike,
    options: EnrichOptions = EnrichOptions(),
    *,
    plot: str | os.PathLike | None = None,
    sites: str | os.PathLike | None = None,
    name: str | None = None,
    background: str | os.PathLike | None = None,
    genome: str | os.PathLike | None = None,
) -> EnrichResult:
    """Test every motif for enrichment in ``peaks`` and write the table (and plot, sites).

    Parameters
    ----------
    peaks
        FASTA, or BED/narrowPeak with ``options.genome`` (or ``genome``).
    output
        The table (:mod:`motifscan.io.enrichment`), written atomically.
    options
        :class:`EnrichOptions`.
    plot
        ``.png``/``.svg``: the top ``options.top`` motifs as bars of ``-log10 q`` with logos.
    sites
        TSV of every site in the peaks (FIMO's columns without q-values).
    name
        The set's name (plot title; default: the file's stem).
    background, genome
        Override ``options.background`` / ``options.genome`` for this set.

    Returns
    -------
    EnrichResult
    """
    peak_set = PeakSet(name or Path(peaks).name.split(".")[0], peaks, background, genome)
    return enrich_sets([peak_set], output, options, plot=plot, sites=sites)[0]


def _enrich_one(peak_set: PeakSet, bank: MotifBank, output: Path, options: EnrichOptions, motif_file: Path, *,
                plot: Path | None, sites: Path | None) -> EnrichResult:
    t0 = time.perf_counter()
    peaks = peak_set.peaks
    kw = {"background": peak_set.background, "genome": peak_set.genome}
    if sites is not None:
        with SitesWriter(sites) as writer:
            tp, fp, n_pos, n_neg = count_sites(peaks, bank, options, sites=writer, **kw)
    else:
        tp, fp, n_pos, n_neg = count_sites(peaks, bank, options, **kw)
    bg = os.fspath(peak_set.background if peak_set.background is not None else options.background)
    result = enrichment_statistics(bank.motifs, tp, fp, n_pos, n_neg, bg)
    write_enrichment(result.rows(), output, _comments(result, options, motif_file))
    result.paths["table"] = output
    if sites is not None:
        result.paths["sites"] = sites
    if plot is not None:
        from ..motifs.logos import plot_enrichment

        top = result.order[: options.top]
        result.paths["plot"] = plot_enrichment(
            [bank.motifs[i] for i in top], -result.log_qvalue[top] / math.log(10), plot,
            title=f"{peak_set.name}: {n_pos} peaks vs {n_neg} controls")
    best = result.order[0]
    log.info("%s: %d peaks vs %d controls, %d motifs in %.1f s; %d with q <= 0.05; top: %s %s (q = %s)",
             peak_set.name, n_pos, n_neg, len(bank.motifs), time.perf_counter() - t0,
             int((result.log_qvalue <= math.log(0.05)).sum()), bank.motifs[best].id, bank.motifs[best].alt,
             format_log_value(float(result.log_qvalue[best])))
    return result


def build_bank(motifs: Sequence[Motif], options: EnrichOptions) -> MotifBank:
    """The motif bank at ``options.pvalue`` (each motif's own background, as ``scan``'s default)."""
    bank = MotifBank(motifs, pvalue=options.pvalue)
    if len(bank.unreachable):
        log.info("%s cannot reach p <= %g (no sequence can have them): %s", plural(len(bank.unreachable), "motif"),
                 options.pvalue, ", ".join(bank.motifs[i].id for i in bank.unreachable[:5]))
    return bank


@writes_outputs
def enrich_sets(
    sets: Sequence[PeakSet],
    output: str | os.PathLike,
    options: EnrichOptions = EnrichOptions(),
    *,
    plot: str | os.PathLike | None = None,
    sites: str | os.PathLike | None = None,
) -> list[EnrichResult]:
    """:func:`enrich` for several peak sets, each against its own background; one bank for all.

    With one set the outputs are the paths given; with several, each set's are the paths with
    its name before the suffix (:func:`set_output_path`: ``enrichment.ctcf.tsv``, ...). Every
    output of every set appears together, or none does (a later set's failure included); an
    output that is the same file as an input is refused before any work.
    """
    if not sets:
        raise UsageError("no peak sets given")
    names = [s.name for s in sets]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"peak set names must be unique: {', '.join(dup)}",
                         hint="name the files differently, or give names in a --samplesheet")
    one = len(sets) == 1

    def out(p, n):
        return None if p is None else (Path(p) if one else set_output_path(p, n))

    written = []
    for s in sets:  # every output path checked before any work
        for opt, p in (("-o", out(output, s.name)), ("--plot", out(plot, s.name)), ("--sites", out(sites, s.name))):
            if p is not None:
                check_output_path(p, option=opt)
                written.append((opt, p))
    motif_file = load_motifs_path(options.motifs)
    read = [("--motifs", motif_file), ("--genome", options.genome), ("--background", options.background)]
    for s in sets:
        read += [(f"PEAKS ({s.name})", s.peaks), ("--background", s.background), ("--genome", s.genome)]
    check_distinct(read, written)
    motifs = read_motifs(motif_file)  # refuses a file without motifs
    for s in sets:
        check_inputs(s, options, motifs)
    bank = build_bank(motifs, options)
    return [_enrich_one(s, bank, out(output, s.name), options, motif_file, plot=out(plot, s.name),
                        sites=out(sites, s.name)) for s in sets]
