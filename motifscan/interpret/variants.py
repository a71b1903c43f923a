"""Variant effects: what does each VCF allele do to binding, by a model or by a motif file.

:func:`score_variants` (``motifscan variants MODEL VCF --genome FASTA -o effects.tsv``)
    For every ALT: the model's probability for the window centred on the variant, with the
    reference and with the alternative allele. SNVs and MNVs are local updates of cached
    activations (:class:`~motifscan.kernels.mutations.MutationScorer`): the activations of the
    genome around a batch of variants are computed once per stretch (windows of nearby variants
    share them), and each allele costs its ``W + k - 1`` touched outputs plus range-maximum
    queries for the rest of its window; indels score the reference and alternative windows with
    full forward passes.
:func:`motif_variants` (``motifscan variants MOTIFS.meme VCF ...``)
    For every ALT and motif, the best site overlapping the variant in the reference and in the
    alternative sequence, with FIMO-exact p-values (:mod:`motifscan.motifs.pvalues`); rows where
    either allele reaches ``--pvalue``.

Both stream the VCF in batches (memory does not grow with the file) and write rows in input
order. A REF that disagrees with the genome is a ``mismatch`` row without scores, unless
``--ref-from vcf``; a contig the genome lacks is a ``contig_missing`` row, but when *no* contig
matches it is one error with the fix (the ``chr`` prefix, usually).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch

from ..atomic import check_distinct, check_output_path, writes_outputs
from ..codes import LETTERS, N_CODE, encode
from ..device import set_threads
from ..errors import InputError, UsageError
from ..io.fasta import IndexedFasta
from ..io.intervals import Interval, check_chromosomes
from ..io.variants import (
    REF_CHECKS, Allele, AlleleStats, AnnotatedVcfWriter, BreaksWriter, EffectsWriter, iter_alleles, vcf_contigs,
)
from ..jit import njit
from ..model import MotifCNN
from ..kernels.methods import resolve_compute
from ..kernels.mutations import MutationScorer
from ..scan.options import MotifOptions, RunOptions, VariantOptions
from ..stats.multitest import bh_log_qvalues
from ..text import plural
from .variant_null import NullSNVs, VariantNull, build_variant_null

__all__ = ["score_variants", "motif_variants", "VariantBatchResult", "DEFAULT_BATCH"]

log = logging.getLogger("motifscan")

#: Alleles per batch (bounds memory: a batch holds ``batch * (window - W + 1) * C`` activations).
DEFAULT_BATCH = 1024
#: Positions of the null (three random SNVs each) scored per call of the scorer (bounds memory: their
#: windows' bases and pooled vectors are held at once).
NULL_BATCH = 2048
#: Windows of consecutive variants closer than this share one stretch of activations.
SPAN_GAP = 64
#: Longest stretch of genome convolved at once.
MAX_SPAN = 1 << 16


def _batches(alleles: Iterable[Allele], size: int) -> Iterator[list[Allele]]:
    """Lists of about ``size`` alleles; the alleles of one record stay together."""
    it = iter(alleles)
    carry: list[Allele] = []
    while True:
        batch = carry + list(islice(it, size - len(carry)))  # taken in C, not allele by allele
        if not batch:
            return
        carry = []
        if len(batch) >= size:  # the rest of the last record's alleles join it
            last = batch[-1].serial
            for a in it:
                if a.serial != last:
                    carry = [a]
                    break
                batch.append(a)
        yield batch


def _check_contigs(vcf, fa: IndexedFasta) -> None:
    """One error with the fix when the VCF header's contigs and the genome's share no name."""
    declared = vcf_contigs(vcf)
    if declared and not any(c in fa.sizes for c in declared):
        check_chromosomes([Interval(c, 0, 0) for c in declared], fa.sizes, vcf, fa.path, "VCF")


def _ref_check(fa: IndexedFasta, a: Allele) -> tuple[str, np.ndarray | None]:
    """``ok``/``mismatch``/``contig_missing`` of an allele's REF, and the genome's bases there."""
    if a.chrom not in fa.sizes:
        return "contig_missing", None
    start = a.pos - 1
    if start + len(a.ref) > fa.sizes[a.chrom]:
        return "mismatch", None
    genome = fa.fetch(a.chrom, start, start + len(a.ref))
    ref = encode(a.ref)
    ok = np.array_equal(genome, ref) and not (genome == N_CODE).any()
    return ("ok" if ok else "mismatch"), genome


@dataclass
class VariantBatchResult:
    """Scores of one batch, one row per allele (NaN rows: not scored)."""

    checks: list[str]
    ref_logit: np.ndarray   # (n, T) float64
    alt_logit: np.ndarray   # (n, T)
    top: np.ndarray         # (n,) filter with the largest pooled change (-1: none)
    filter_delta: np.ndarray  # (n,)
    gc: np.ndarray          # (n,) GC fraction of the window's non-N bases (NaN: not scored)
    snv_ref: np.ndarray     # (n,) uint8 REF base of each scored SNV (N_CODE: not a scored SNV)
    stats: dict[str, int] = field(default_factory=dict)


class _ModelVariantScorer:
    """Model-mode scoring of batches of alleles against an indexed genome."""

    def __init__(self, model: MotifCNN, fa: IndexedFasta, window: int, device: torch.device,
                 conv_method: str, ref_from: str) -> None:
        self.scorer = MutationScorer(model, device, conv_method)
        self.fa = fa
        self.window = window
        self.ref_from = ref_from
        self.T = len(model.config.tasks)
        self.P = window - model.config.filter_width + 1

    def _window_start(self, pos0: int, k: int) -> int:
        """Start of the window centred on bases ``pos0 .. pos0 + k - 1``."""
        return pos0 + (k - 1) // 2 - self.window // 2

    def score(self, alleles: Sequence[Allele]) -> VariantBatchResult:
        n = len(alleles)
        T = self.T
        checks = ["ok"] * n
        ref_logit = np.full((n, T), np.nan)
        alt_logit = np.full((n, T), np.nan)
        top = np.full(n, -1, dtype=np.int64)
        fdelta = np.zeros(n)
        gc = np.full(n, np.nan)
        snv_ref = np.full(n, N_CODE, dtype=np.uint8)
        # each allele's fields read once, the checks on arrays (a loop with branches per allele
        # was a tenth of the command's time)
        refs = [a.ref for a in alleles]
        alts = [a.alt for a in alleles]
        chroms = [a.chrom for a in alleles]
        n_ref = np.fromiter(map(len, refs), dtype=np.int64, count=n)
        n_alt = np.fromiter(map(len, alts), dtype=np.int64, count=n)
        known = np.fromiter(map(self.fa.sizes.__contains__, chroms), dtype=bool, count=n)
        same = known & (n_ref == n_alt)
        too_long = same & (n_ref >= self.window)  # no window both holds the allele and has context
        for i in np.flatnonzero(~known).tolist():
            checks[i] = "contig_missing"
        for i in too_long.nonzero()[0].tolist():
            checks[i] = "longer_than_window"
        subs = np.flatnonzero(same & ~too_long)
        full = np.flatnonzero(known & ~same).tolist()
        if len(subs):
            fields = (refs, alts, chroms, n_ref) if len(subs) == n else \
                ([refs[i] for i in subs], [alts[i] for i in subs], [chroms[i] for i in subs], n_ref[subs])
            full += self._fast(alleles, subs, fields, checks, ref_logit, alt_logit, top, fdelta, gc, snv_ref)
        if full:
            full.sort()
            todo = [i for i in full if checks[i] == "ok"]  # indels: their REF is checked here
            for i, check in zip(todo, self._ref_checks([alleles[i] for i in todo])):
                checks[i] = check
            trusted = [i for i in full if checks[i] == "ok" or (checks[i] == "mismatch" and self.ref_from == "vcf")]
            if trusted:
                self._full(alleles, trusted, checks, ref_logit, alt_logit, top, fdelta, gc)
                for i in trusted:  # SNVs whose REF is taken from the VCF
                    if len(alleles[i].ref) == 1 and len(alleles[i].alt) == 1:
                        snv_ref[i] = encode(alleles[i].ref)[0]
        return VariantBatchResult(checks, ref_logit, alt_logit, top, fdelta, gc, snv_ref)

    def score_null(self, snvs: NullSNVs) -> tuple[np.ndarray, np.ndarray]:
        """Logit changes ``(n, T)`` and window GC ``(n,)`` (NaN: REF not A/C/G/T) of random SNVs.

        Windows centred as for the file's SNVs, in batches of :data:`NULL_BATCH` positions. The
        positions are scattered over the genome, so their windows rarely share activations: each
        is read on its own, the windows laid end to end (the values are those of the file's path,
        :meth:`_substitutions`, bit for bit). The SNVs of one position (its other bases) share its window: the window's
        untouched maxima, reference logit and GC are computed once, and each SNV costs only its
        touched outputs and the head.
        """
        n = len(snvs.pos0)
        delta = np.full((n, self.T), np.nan)
        gc = np.full(n, np.nan)
        if not n:
            return delta, gc
        new = np.r_[True, (np.diff(snvs.pos0) != 0) | (np.diff(snvs.contig) != 0)]
        site = np.cumsum(new) - 1  # each SNV's position
        first = np.flatnonzero(new)
        ref = snvs.ref[first]
        alts = ((ref[:, None] + np.arange(1, 4, dtype=np.uint8)) % 4).astype(np.uint8)  # (sites, 3): every other base
        slot = (snvs.alt.astype(np.int64) - snvs.ref - 1) % 4  # each SNV's column of alts
        L, s = self.window, self.scorer
        for a in range(0, len(first), NULL_BATCH):
            b = min(a + NULL_BATCH, len(first))
            pos0 = snvs.pos0[first[a:b]]
            starts = pos0 - L // 2  # as _window_start for one base
            codes = self._windows(snvs.contigs, snvs.contig[first[a:b]], starts)
            r, al = s.substitute_codes(codes.reshape(-1), np.arange(b - a, dtype=np.int64) * L, self.P, pos0 - starts,
                                       np.ones(b - a, dtype=np.int64), ref[a:b, None], alts[a:b, :, None])
            lr = s.logits(s.combine(r)).cpu().numpy()  # (m, T)
            la = s.logits(s.combine(al)).cpu().numpy()  # (m, 3, T)
            rows = np.flatnonzero((site >= a) & (site < b))
            j = site[rows] - a
            delta[rows] = la[j, slot[rows]] - lr[j]
            n_acgt, n_gc = _window_counts(codes.reshape(-1), np.arange(b - a, dtype=np.int64) * L, L)
            gc[rows] = np.where(n_acgt > 0, n_gc / np.maximum(n_acgt, 1), 0.5)[j]
        return delta, gc

    def _windows(self, contigs: list[str], chrom_id: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Codes ``(n, L)`` of the windows at ``starts`` of contigs ``chrom_id`` (N off a contig's ends)."""
        return self.fa.windows([contigs[c] for c in chrom_id.tolist()], starts, self.window)

    def _finish(self, idx, ref_ch, alt_ch, ref_logit, alt_logit, top, fdelta) -> None:
        s = self.scorer
        ref_f, alt_f = s.combine(ref_ch), s.combine(alt_ch)
        ref_logit[idx] = s.logits(ref_f).cpu().numpy()
        alt_logit[idx] = s.logits(alt_f).cpu().numpy()
        d = (alt_f - ref_f).cpu().numpy()
        best = np.abs(d).argmax(axis=1)
        val = d[np.arange(len(idx)), best]
        top[idx] = np.where(val != 0, best, -1)
        fdelta[idx] = val

    def _fast(self, alleles, idx, fields, checks, ref_logit, alt_logit, top, fdelta, gc, snv_ref) -> list[int]:
        """SNVs and MNVs: shared stretches of genome, local updates; returns the alleles for the full path.

        ``idx`` (sorted) are the rows of ``alleles`` scored here and ``fields`` their REFs, ALTs,
        contigs (lists) and REF lengths (array). REFs are checked against the stretches' bases (a
        mismatch is left unscored, or sent to the full path with ``--ref-from vcf``).
        """
        refs, alts, chroms, k = fields
        n = len(idx)
        sel = alleles if n == len(alleles) else [alleles[i] for i in idx]
        pos0 = np.fromiter((a.pos for a in sel), dtype=np.int64, count=n) - 1
        names = {c: j for j, c in enumerate(dict.fromkeys(chroms))}
        chrom_id = np.fromiter(map(names.__getitem__, chroms), dtype=np.int64, count=n)
        kmax = int(k.max())
        ref = _codes_of(refs, kmax)
        sub = self._substitutions(list(names), chrom_id, pos0, k, ref, _codes_of(alts, kmax))
        to_full = []
        for j in np.flatnonzero(sub.bad):
            checks[idx[j]] = "mismatch"
            if self.ref_from == "vcf":
                to_full.append(int(idx[j]))
        for j in np.flatnonzero(sub.has_n & ~sub.bad):
            checks[idx[j]] = "n_in_window"
        if len(sub.good):
            rows = np.asarray(idx)[sub.good]
            gc[rows] = sub.gc
            one = k[sub.good] == 1
            snv_ref[rows[one]] = ref[sub.good[one], 0]
            self._finish(rows, sub.ref_ch, sub.alt_ch, ref_logit, alt_logit, top, fdelta)
        return to_full

    def _substitutions(self, contigs: list[str], chrom_id: np.ndarray, pos0: np.ndarray, k: np.ndarray,
                       ref: np.ndarray, alt: np.ndarray) -> "_Substituted":
        """The fast path on arrays: stretches of genome shared by nearby windows, local updates.

        ``chrom_id`` ``(n,)`` indexes ``contigs``; ``pos0`` ``(n,)`` 0-based first base; ``k``
        ``(n,)`` bases replaced; ``ref``, ``alt`` ``(n, max k)`` codes (N-padded). Rows must be
        sorted by contig and position for stretches to be shared (any order gives the same values).
        """
        L, P = self.window, self.P
        starts = pos0 + (k - 1) // 2 - L // 2
        which, span_a, span_b, first = _stretches_jit(chrom_id, starts, L, SPAN_GAP, MAX_SPAN)
        codes = self.fa.ranges([contigs[c] for c in chrom_id[first].tolist()], span_a, span_b)
        offsets = np.cumsum(span_b - span_a) - (span_b - span_a)  # each stretch's first base in codes
        woff = offsets[which] + starts - np.asarray(span_a, dtype=np.int64)[which]  # window start in codes
        # REF check against the genome's bases, every allele length at once
        kmax = ref.shape[1]
        col = np.arange(kmax)[None, :]
        at = np.minimum(woff[:, None] + (pos0 - starts)[:, None] + col, len(codes) - 1)
        genome_ref = np.where(col < k[:, None], codes[at], N_CODE)
        bad = ((genome_ref != ref) | ((genome_ref == N_CODE) & (col < k[:, None]))).any(axis=1)
        # windows holding N (or running off the contig), and their GC, from one running count
        n_acgt, n_gc = _window_counts(codes, woff, L)
        has_n = n_acgt < L
        good = np.flatnonzero(~bad)
        s = self.scorer
        if not len(good):
            empty = torch.empty((0, s.channels))
            return _Substituted(bad, has_n, good, np.empty(0), empty, empty)
        ref_ch, alt_ch = s.substitute_codes(codes, woff[good], P, (pos0 - starts)[good], k[good], ref[good],
                                            alt[good][:, None])
        alt_ch = alt_ch[:, 0]
        gc = np.where(n_acgt[good] > 0, n_gc[good] / np.maximum(n_acgt[good], 1), 0.5)
        return _Substituted(bad, has_n, good, gc, ref_ch, alt_ch)

    def _ref_checks(self, alleles: Sequence[Allele]) -> list[str]:
        """``ok`` or ``mismatch`` of each allele's REF against the genome (on a known contig), read at once."""
        if not alleles:
            return []
        start = np.fromiter((a.pos - 1 for a in alleles), dtype=np.int64, count=len(alleles))
        k = np.fromiter((len(a.ref) for a in alleles), dtype=np.int64, count=len(alleles))
        chroms = [a.chrom for a in alleles]
        sizes = self.fa.sizes
        fits = start + k <= np.fromiter((sizes[c] for c in chroms), dtype=np.int64, count=len(alleles))
        k_read = np.where(fits, k, 0)
        genome = self.fa.ranges(chroms, start, start + k_read)
        ref = encode("".join(a.ref for a, f in zip(alleles, fits.tolist()) if f))
        same = (genome == ref) & (genome != N_CODE)
        ok = np.zeros(len(alleles), dtype=bool)
        read = np.flatnonzero(k_read)
        ok[read] = np.logical_and.reduceat(same, (np.cumsum(k_read) - k_read)[read]) if len(read) else ok[read]
        return ["ok" if x else "mismatch" for x in ok.tolist()]

    def _allele_windows(self, alleles: Sequence[Allele], which: str) -> np.ndarray:
        """Codes ``(n, L)``: the window centred on each allele's ``which`` (``ref`` or ``alt``) put
        in place of its REF, the genome around it read at once."""
        L = self.window
        seqs, chroms, starts, ends = [], [], [], []
        for a in alleles:
            seq = encode(getattr(a, which))
            left = L // 2 - (len(seq) - 1) // 2  # genome bases before the allele
            if left < 0:
                seq, left = seq[-left:], 0
            rest = max(L - left - len(seq), 0)
            pos0, end = a.pos - 1, a.pos - 1 + len(a.ref)
            seqs.append(seq)
            chroms += [a.chrom, a.chrom]
            starts += [pos0 - left, end]
            ends += [pos0, end + rest]
        a_, b_ = np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)
        flank = self.fa.ranges(chroms, a_, b_)
        cut = np.cumsum(b_ - a_).tolist()
        rows = np.empty((len(alleles), L), dtype=np.uint8)
        for j, seq in enumerate(seqs):
            lo, mid, hi = (cut[2 * j - 1] if j else 0), cut[2 * j], cut[2 * j + 1]
            rows[j] = np.concatenate([flank[lo:mid], seq, flank[mid:hi]])[:L]
        return rows

    def _full(self, alleles, idx, checks, ref_logit, alt_logit, top, fdelta, gc) -> None:
        """Indels (and REFs trusted from the VCF): both windows by full forward passes."""
        sel = [alleles[i] for i in idx]
        ref_rows = self._allele_windows(sel, "ref")
        alt_rows = self._allele_windows(sel, "alt")
        for j, i in enumerate(idx):
            if checks[i] == "ok" and (ref_rows[j] == N_CODE).any():
                checks[i] = "n_in_window"
        n_acgt, n_gc = _window_counts(ref_rows.reshape(-1), np.arange(len(idx)) * self.window, self.window)
        gc[idx] = np.where(n_acgt > 0, n_gc / np.maximum(n_acgt, 1), 0.5)
        s = self.scorer
        both = s.pool(s.activations(torch.from_numpy(np.concatenate([ref_rows, alt_rows]))))
        n = len(idx)
        self._finish(np.asarray(idx), both[:n], both[n:], ref_logit, alt_logit, top, fdelta)


@dataclass
class _Substituted:
    """What :meth:`_ModelVariantScorer._substitutions` gives back (rows ``good`` are scored)."""

    bad: np.ndarray      # (n,) bool: REF disagrees with the genome (or holds N)
    has_n: np.ndarray    # (n,) bool: the window holds N or runs off its contig
    good: np.ndarray     # (m,) rows scored
    gc: np.ndarray       # (m,) GC fraction of the window's non-N bases (0.5 when all N)
    ref_ch: torch.Tensor  # (m, C) per-channel maxima, reference
    alt_ch: torch.Tensor  # (m, C) per-channel maxima, substituted ((m, A, C) with A alternatives per row)


def _window_counts_loop(codes, woff, L):  # pragma: no cover - compiled
    run_acgt = np.empty(len(codes) + 1, np.int64)
    run_gc = np.empty(len(codes) + 1, np.int64)
    a = g = 0
    run_acgt[0] = run_gc[0] = 0
    for i in range(len(codes)):
        c = codes[i]
        if c < 4:
            a += 1
            if c == 1 or c == 2:
                g += 1
        run_acgt[i + 1] = a
        run_gc[i + 1] = g
    n = len(woff)
    n_acgt = np.empty(n, np.int64)
    n_gc = np.empty(n, np.int64)
    for j in range(n):
        n_acgt[j] = run_acgt[woff[j] + L] - run_acgt[woff[j]]
        n_gc[j] = run_gc[woff[j] + L] - run_gc[woff[j]]
    return n_acgt, n_gc


_window_counts_jit = njit(_window_counts_loop)


def _window_counts(codes: np.ndarray, woff: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """A/C/G/T bases and C/G bases ``(n,)`` each of windows ``codes[woff : woff + L]`` (one running
    count of both, compiled: the null's windows hold ~10^6 bases a batch)."""
    return _window_counts_jit(np.ascontiguousarray(codes, dtype=np.uint8), np.asarray(woff, dtype=np.int64), int(L))


def _stretches(chrom_id, starts, L, gap, max_span):
    """Stretches of genome shared by consecutive windows: each window's stretch, and their ranges.

    A window joins the current stretch when it is on the same contig, starts inside it or at most
    ``gap`` bases after its end, and the stretch stays within ``max_span`` bases; otherwise it
    opens a new one. Returns ``which`` ``(n,)``, ``span_a``, ``span_b`` (stretch starts and ends)
    and ``first`` (each stretch's first window).
    """
    n = starts.shape[0]
    which = np.empty(n, dtype=np.int64)
    span_a = np.empty(n, dtype=np.int64)
    span_b = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    m = -1
    for j in range(n):
        st = starts[j]
        if m >= 0 and chrom_id[j] == chrom_id[j - 1] and span_a[m] <= st <= span_b[m] + gap \
                and st + L - span_a[m] <= max_span:
            span_b[m] = max(span_b[m], st + L)
        else:
            m += 1
            span_a[m] = st
            span_b[m] = st + L
            first[m] = j
        which[j] = m
    return which, span_a[: m + 1].copy(), span_b[: m + 1].copy(), first[: m + 1].copy()


_stretches_jit = njit(_stretches)


def _codes_of(alleles: Sequence[str], width: int) -> np.ndarray:
    """``(n, width)`` uint8 codes of DNA strings (already validated), right-padded with N."""
    if width == 1:
        return encode("".join(alleles))[:, None].copy()
    out = np.full((len(alleles), width), N_CODE, dtype=np.uint8)
    for j, a in enumerate(alleles):
        out[j, : len(a)] = encode(a)
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@writes_outputs
def score_variants(
    model: MotifCNN,
    vcf: str | os.PathLike,
    genome: str | os.PathLike | IndexedFasta,
    output: str | os.PathLike,
    *,
    vcf_out: str | os.PathLike | None = None,
    options: VariantOptions = VariantOptions(),
    run: RunOptions = RunOptions(),
    command: str | None = None,
) -> dict:
    """Score every ALT of a VCF/BCF with a model; write the effects TSV (and an annotated VCF).

    Parameters
    ----------
    model
        The model.
    vcf
        VCF, VCF.gz or BCF (streamed; no index needed).
    genome
        Genome FASTA (plain or bgzip; indexed on first use) or an open :class:`IndexedFasta`.
    output
        Effects TSV: ``chrom pos id ref alt ref_check``, per task ``ref_score alt_score delta
        logit_delta`` (suffixed ``_<task>`` with several tasks), ``top_filter filter_delta``
        (see :func:`motifscan.io.variants.effect_columns`), then ``pvalue qvalue`` (per task
        ``pvalue_<task> qvalue_<task>``) unless ``options.null_variants`` is 0. One row per ALT,
        input order.
    vcf_out
        Also write the input VCF with ``MS_REF``/``MS_ALT``/``MS_DELTA``/``MS_CHECK`` INFO fields,
        and ``MS_P``/``MS_Q`` with p-values (bgzipped and tabix-indexed when the name ends in ``.gz``).
    options
        Window, ``ref_from``, size and seed of the null (:class:`~motifscan.scan.options.VariantOptions`).
    run
        Device, threads, alleles per batch (``batch_size``), convolution method.
    command
        The command line, recorded in the annotated VCF's header (``##motifscanCommand``).

    Returns
    -------
    dict
        Counts: ``records``, ``alleles``, ``symbolic`` (skipped), one per ``ref_check`` value,
        ``seconds``, ``variants_per_s``; with p-values ``null_variants`` and ``tested`` (SNVs
        with a p-value: the q-values' family).

    Notes
    -----
    p-values (:mod:`motifscan.interpret.variant_null`): each scored SNV's ``logit_delta`` is tested,
    two-sided, against the logit changes of ``options.null_variants`` random SNVs of the same
    genome in its stratum (window GC bin x REF base, or base pair for RC-shared models), scored
    by the same local updates; empirical p-values with a generalized Pareto tail below their
    resolution. q-values: Benjamini-Hochberg per task over the file's SNVs with a p-value. MNVs
    and indels get neither (a null of SNVs says nothing about them). The q-values need every
    p-value, so rows are staged in a temporary file beside the output and 8 bytes per allele and
    task are held in memory.
    """
    outputs = [(output, "-o")] + ([(vcf_out, "--vcf-out")] if vcf_out else [])
    for path, opt in outputs:
        check_output_path(path, option=opt)
    index = [("--vcf-out's index", os.fspath(vcf_out) + ".tbi")] if vcf_out and os.fspath(vcf_out).endswith(".gz") else []
    check_distinct(_variant_inputs(model.source, vcf, genome), [(opt, path) for path, opt in outputs] + index)
    set_threads(run.threads)
    window = int(options.window or model.config.seq_length)
    if window < model.config.filter_width:
        raise UsageError(f"--window {window} is shorter than the filter width {model.config.filter_width}")
    fa = genome if isinstance(genome, IndexedFasta) else IndexedFasta(genome)
    _check_contigs(vcf, fa)
    compute = resolve_compute(run.device, "substitutions", method=run.conv_method, precision=run.precision)
    scorer = _ModelVariantScorer(model.to(compute.device).eval(), fa, window, compute.device, compute.method, options.ref_from)
    stats = AlleleStats()
    counts = {c: 0 for c in REF_CHECKS}
    t0 = time.perf_counter()
    null = _null(scorer, fa, options, model.config.rc_sharing)

    tasks = model.config.tasks
    pvalues = null is not None
    tested = _Tested()
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(EffectsWriter(output, tasks, model.filter_names(), pvalues=pvalues))
        annotated = stack.enter_context(AnnotatedVcfWriter(vcf_out, vcf, tasks, command, pvalues=pvalues)) \
            if vcf_out else None
        alleles = iter_alleles(vcf, keep_records=annotated is not None, stats=stats)
        for batch in _batches(alleles, run.batch_size or DEFAULT_BATCH):
            scored = [a for a in batch if a.alt]
            if not scored:  # records with symbolic ALTs only: written back unchanged
                for a in batch:
                    annotated.add(a.record, {})
                continue
            res = scorer.score(scored)
            for c, n in Counter(res.checks).items():
                counts[c] += n
            ref_p, alt_p = _sigmoid(res.ref_logit), _sigmoid(res.alt_logit)
            first_row = writer.count
            writer.write(scored, res.checks, ref_p, alt_p, res.ref_logit, res.alt_logit, res.top,
                         res.filter_delta)
            if pvalues:
                tested.add(first_row, res)
            if annotated is not None:
                _annotate(annotated, batch, scored, res.checks, ref_p, alt_p, first_row if pvalues else None)
        if stats.alleles and counts["contig_missing"] == stats.alleles:
            seen = sorted({a for a in _missing_contigs(vcf, fa)})
            check_chromosomes([Interval(c, 0, 0) for c in seen], fa.sizes, vcf, fa.path, "VCF")
        if pvalues:
            lp = tested.log_pvalues(null, writer.count, len(tasks))
            lq = _bh_per_task(lp)
            writer.significance(lp, lq)
            if annotated is not None:
                annotated.significance(lp, lq, *_descriptions(null, tasks, lp, model.config.rc_sharing))
    seconds = time.perf_counter() - t0
    out = {"records": stats.records, "alleles": stats.alleles, "symbolic": stats.symbolic, **counts,
           "seconds": seconds, "variants_per_s": stats.alleles / max(seconds, 1e-9)}
    if pvalues:
        out["null_variants"] = null.n
        out["tested"] = int((~np.isnan(lp[:, 0])).sum()) if len(lp) else 0
    _log_counts(out, output)
    return out


def _null(scorer: "_ModelVariantScorer", fa: IndexedFasta, options: VariantOptions, rc: bool) -> VariantNull | None:
    """The null of SNV effects (``None`` with ``null_variants=0``), logged with its size and time."""
    if not options.null_variants:
        return None
    t = time.perf_counter()
    try:
        null = build_variant_null(fa, scorer.score_null, n=options.null_variants, seed=options.seed, strand_pairs=rc)
    except ValueError as exc:
        raise InputError(f"cannot build the null of variant effects: {exc}", path=fa.path) from None
    log.info("p-values: null of %s random SNVs (seed %d, %d GC strata x REF %s) in %.1f s", f"{null.n:,}",
             options.seed, len(null.gc_edges) + 1, "base pair" if rc else "base", time.perf_counter() - t)
    return null


@dataclass
class _Tested:
    """What the p-values need of every scored SNV of the file, gathered batch by batch."""

    rows: list[np.ndarray] = field(default_factory=list)   # row of each SNV in the output
    delta: list[np.ndarray] = field(default_factory=list)  # (m, T) logit changes
    gc: list[np.ndarray] = field(default_factory=list)
    ref: list[np.ndarray] = field(default_factory=list)

    def add(self, first_row: int, res: VariantBatchResult) -> None:
        j = np.flatnonzero(res.snv_ref < N_CODE)
        self.rows.append(first_row + j)
        self.delta.append(res.alt_logit[j] - res.ref_logit[j])
        self.gc.append(res.gc[j])
        self.ref.append(res.snv_ref[j])

    def log_pvalues(self, null: VariantNull, n_rows: int, T: int) -> np.ndarray:
        """Natural log p-values ``(n_rows, T)``: the SNVs' in their rows, NaN in the others."""
        out = np.full((n_rows, T), np.nan)
        if self.rows:
            rows = np.concatenate(self.rows)
            out[rows] = null.log_pvalues(np.concatenate(self.delta), np.concatenate(self.gc), np.concatenate(self.ref))
        return out


def _bh_per_task(log_p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg log q-values ``(n, T)`` per task over the rows with a p-value (NaN elsewhere)."""
    out = np.full(log_p.shape, np.nan)
    for t in range(log_p.shape[1]):
        m = ~np.isnan(log_p[:, t])
        out[m, t] = bh_log_qvalues(log_p[m, t])
    return out


def _descriptions(null: VariantNull, tasks: Sequence[str], log_p: np.ndarray, rc: bool) -> tuple[list[str], list[str]]:
    """What ``MS_P`` and ``MS_Q`` mean, per task (the annotated VCF's header)."""
    tested = int((~np.isnan(log_p[:, 0])).sum()) if len(log_p) else 0
    ref = "REF base pair (A/T or C/G)" if rc else "REF base"
    p = [f"two-sided p-value of the SNV's logit change ({t}) against {null.n} random SNVs of the same genome "
         f"(seed {null.seed}) with the same {ref} and window GC stratum ({len(null.gc_edges) + 1} bins); "
         f"empirical with a generalized Pareto tail; SNVs only" for t in tasks]
    q = [f"Benjamini-Hochberg q-value of MS_P ({t}) over the {tested} SNVs of this file with a p-value"
         for t in tasks]
    return p, q


def _variant_inputs(model_file, vcf, genome) -> list[tuple[str, object]]:
    """The files a variants run reads, named by their argument or option."""
    return [("MODEL", model_file), ("VCF", vcf), ("--genome", genome if isinstance(genome, (str, os.PathLike)) else
                                                   getattr(genome, "path", None))]


def _missing_contigs(vcf, fa: IndexedFasta) -> set[str]:
    return {a.chrom for a in iter_alleles(vcf) if a.chrom not in fa.sizes}


def _annotate(writer: AnnotatedVcfWriter, batch: Sequence[Allele], scored: Sequence[Allele],
              checks: Sequence[str], ref_p: np.ndarray, alt_p: np.ndarray, first_row: int | None) -> None:
    """Write each record of a batch once, with the values of its scored alleles (rows from ``first_row``)."""
    values: dict[int, dict[int, tuple]] = {}
    for j, a in enumerate(scored):
        p = None if np.isnan(ref_p[j, 0]) else np.stack([ref_p[j], alt_p[j]])
        values.setdefault(a.serial, {})[a.alt_index] = (checks[j], p) if first_row is None else \
            (checks[j], p, first_row + j)
    done = set()
    for a in batch:
        if a.serial not in done:
            done.add(a.serial)
            writer.add(a.record, values.get(a.serial, {}))


def _log_counts(out: dict, output) -> None:
    log.info("%s of %s in %.1f s (%.0f variants/s) -> %s", plural(out["alleles"], "allele", commas=True),
             plural(out["records"], "record", commas=True), out["seconds"], out.get("variants_per_s", 0), output)
    if out.get("symbolic"):
        log.info("%s (<DEL>, *, breakends, N) skipped", plural(out["symbolic"], "symbolic ALT"))
    for key, text in (("mismatch", "REF disagrees with the genome (ref_check=mismatch)"),
                      ("contig_missing", "contig not in the genome (ref_check=contig_missing)"),
                      ("n_in_window", "window holds N or runs off the contig (ref_check=n_in_window)"),
                      ("longer_than_window", "MNV as long as the window or longer, not scored "
                                             "(ref_check=longer_than_window; give a longer --window)")):
        if out.get(key):
            (log.info if key == "n_in_window" else log.warning)("%s: %s", plural(out[key], "allele"), text)


# ---------------------------------------------------------------------------- motif files
#: Candidate (allele, motif) pairs scored exactly at once (bounds the gather's memory).
PAIR_BLOCK = 1 << 14
#: (pair, window, motif column) cells held at once by the exact scoring of long alleles.
PAIR_CELLS = 1 << 22


def _variant_fields(a: Allele, check: str) -> dict[str, str]:
    """The columns of a motif-mode row that name the allele (:data:`~motifscan.io.variants.BREAK_COLUMNS`)."""
    return {"chrom": a.chrom, "pos": str(a.pos), "id": a.id, "ref": a.ref, "alt": a.alt, "ref_check": check}


class _MotifVariantScorer:
    """Motif-mode scoring: lookahead (or dense) hits select (allele, motif) pairs; those are scored exactly."""

    def __init__(self, bank, fa: IndexedFasta, device: torch.device, method: str, ref_from: str) -> None:
        self.bank = bank
        self.fa = fa
        self.device = device
        self.method = method
        self.ref_from = ref_from
        self.flank = bank.max_width - 1
        # full p-value tables of every motif, flat (scores below the cutoff are reported too)
        self._pv = np.concatenate([p.pv for p in bank.pssms])
        self._pv_base = np.concatenate([[0], np.cumsum([len(p.pv) for p in bank.pssms])[:-1]]).astype(np.int64)
        # per motif: its forward and reverse filters (unreachable motifs have none, and never hit)
        n_motifs = len(bank.motifs)
        self.motif_filters = np.full((n_motifs, 2), -1, dtype=np.int64)
        for f, (m, s) in enumerate(zip(bank.filter_motif, bank.filter_strand)):
            self.motif_filters[m, s] = f
        self.mats = bank.filter_matrix.astype(np.int32)  # (n_filters, Wmax, 4)

    def _segment(self, a: Allele, allele: str, ref_bases: str) -> np.ndarray:
        """``flank`` genome bases, the allele, ``flank`` genome bases (N off the contig)."""
        pos0 = a.pos - 1
        end = pos0 + len(ref_bases)
        left, right = np.split(self.fa.ranges([a.chrom, a.chrom], np.array([pos0 - self.flank, end]),
                                              np.array([pos0, end + self.flank])), [self.flank])
        return np.concatenate([left, encode(allele), right])

    def _candidates(self, segs: list[np.ndarray], spans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(segment, motif) pairs with a hit overlapping the segment's allele span."""
        lens = np.array([len(s) for s in segs], dtype=np.int64)
        offs = np.concatenate([[0], np.cumsum(lens + 1)[:-1]])
        flat = np.full(int((lens + 1).sum()), N_CODE, dtype=np.uint8)
        for s, o in zip(segs, offs):
            flat[o : o + len(s)] = s
        from ..scan.motif_scan import scan_codes

        if self.method == "dense":
            start, filt, _score, _ = scan_codes(self.bank, torch.from_numpy(flat).to(self.device), "dense")
        else:
            start, filt, _score, _ = scan_codes(self.bank, flat, "lookahead")
        seg = np.searchsorted(offs, start, side="right") - 1
        local = start - offs[seg]
        width = self.bank.filter_width[filt]
        over = (local < spans[seg, 1]) & (local + width > spans[seg, 0])
        pairs = np.unique(np.stack([seg[over], self.bank.filter_motif[filt[over]]], 1), axis=0)
        return pairs[:, 0], pairs[:, 1]

    def _best(self, segs: list[np.ndarray], spans: np.ndarray, seg_idx: np.ndarray, motif: np.ndarray):
        """Best window overlapping the allele span, per pair: (score, start, strand); score -1 if none."""
        n = len(seg_idx)
        score = np.full(n, -1, dtype=np.int64)
        start = np.zeros(n, dtype=np.int64)
        strand = np.zeros(n, dtype=np.int8)
        Wmax = self.bank.max_width
        maxlen = max(len(s) for s in segs)
        padded = np.full((len(segs), maxlen + Wmax), N_CODE, dtype=np.uint8)
        for i, s in enumerate(segs):
            padded[i, : len(s)] = s
        widths = self.bank.widths[motif]
        seg_len = np.array([len(x) for x in segs], dtype=np.int64)
        # pairs by motif width: a block's windows are as wide as its widest motif, not the bank's
        order = np.argsort(widths, kind="stable")
        for a in range(0, n, PAIR_BLOCK):
            b = min(n, a + PAIR_BLOCK)
            sel = order[a:b]
            si, w = seg_idx[sel], widths[sel]
            Wb = int(w.max())
            cols = np.arange(Wb)[None, None, :]
            lo = spans[si, 0] - w + 1  # first window start overlapping the span
            n_win = spans[si, 1] - spans[si, 0] + w - 1
            inside = cols < w[:, None, None]
            # windows in pieces of about PAIR_CELLS (pair, window, column) cells: a long allele
            # (a 30 kb indel) costs its length in time, not its length x the block in memory
            step = max(1, PAIR_CELLS // ((b - a) * Wb))
            best_s = np.full((2, b - a), -1, dtype=np.int64)
            start_s = np.zeros((2, b - a), dtype=np.int64)
            for o0 in range(0, int(n_win.max()), step):
                offs = np.arange(o0, min(int(n_win.max()), o0 + step))
                starts = lo[:, None] + offs[None, :]  # (p, O)
                ok = (offs[None, :] < n_win[:, None]) & (starts >= 0)
                idx = np.clip(starts[..., None] + cols, 0, padded.shape[1] - 1)
                codes = padded[si[:, None, None], idx]  # (p, O, Wb)
                has_n = ((codes > 3) & inside).any(axis=2)
                ok &= ~has_n & (starts + w[:, None] <= seg_len[si][:, None])
                c4 = np.minimum(codes, 3).astype(np.int64)
                for s in (0, 1):
                    f = self.motif_filters[motif[sel], s]
                    vals = np.take_along_axis(self.mats[f][:, None, :Wb, :], c4[..., None], axis=3)[..., 0]
                    tot = np.where(ok, vals.sum(axis=2), -1)  # zero-padded columns add nothing
                    arg = tot.argmax(axis=1)
                    top = tot[np.arange(b - a), arg]
                    better = top > best_s[s]  # strict: the first best window of the strand stays
                    best_s[s] = np.where(better, top, best_s[s])
                    start_s[s] = np.where(better, starts[np.arange(b - a), arg], start_s[s])
            rev = best_s[1] > best_s[0]  # the forward strand wins ties
            score[sel] = np.where(rev, best_s[1], best_s[0])
            start[sel] = np.where(rev, start_s[1], start_s[0])
            strand[sel] = rev.astype(np.int8)
        return score, start, strand

    def _matched(self, seg: np.ndarray, start: int, width: int, strand: int) -> str:
        codes = seg[start : start + width]
        if strand:
            codes = np.where(codes < 4, 3 - codes, codes)[::-1]
        return LETTERS[np.minimum(codes, N_CODE)].tobytes().decode()

    def rows(self, alleles: Sequence[Allele], pvalue: float, counts: dict) -> list[list[str]]:
        """Output rows of a batch, in input order (motif file order within an allele)."""
        bank = self.bank
        checks, ref_segs, alt_segs, keep = [], [], [], []
        for a in alleles:
            check, genome = _ref_check(self.fa, a)
            if check == "mismatch" and self.ref_from == "vcf" and genome is not None:
                ref_bases = a.ref
            elif check == "ok":
                ref_bases = a.ref
            else:
                checks.append(check)
                continue
            rs, as_ = self._segment(a, ref_bases, ref_bases), self._segment(a, a.alt, ref_bases)
            if check == "ok" and (rs == N_CODE).any():
                check = "n_in_window"
            checks.append(check)
            keep.append(len(checks) - 1)
            ref_segs.append(rs)
            alt_segs.append(as_)
        for c in checks:
            counts[c] = counts.get(c, 0) + 1
        found: dict[int, list[list[str]]] = {}
        if keep:
            segs = ref_segs + alt_segs
            F = self.flank
            spans = np.array([[F, F + len(alleles[i].ref)] for i in keep]
                             + [[F, F + len(alleles[i].alt)] for i in keep], dtype=np.int64)
            seg_idx, motif = self._candidates(segs, spans)
            nk = len(keep)
            pair_j = np.where(seg_idx >= nk, seg_idx - nk, seg_idx)
            pairs = np.unique(np.stack([pair_j, motif], 1), axis=0) if len(pair_j) else np.zeros((0, 2), np.int64)
            j, m = pairs[:, 0], pairs[:, 1]
            rsc, rst, rstr = self._best(segs, spans, j, m)
            asc, ast, astr = self._best(segs, spans, j + nk, m)
            rp = np.where(rsc >= 0, self._pv[self._pv_base[m] + np.maximum(rsc, 0)], 1.0)
            ap = np.where(asc >= 0, self._pv[self._pv_base[m] + np.maximum(asc, 0)], 1.0)
            keep_row = (rp <= pvalue) | (ap <= pvalue)
            rbits, abits = bank.raw_scores(m, np.maximum(rsc, 0)), bank.raw_scores(m, np.maximum(asc, 0))
            for q in np.flatnonzero(keep_row):
                jj, mm = int(j[q]), int(m[q])
                i = keep[jj]
                a = alleles[i]
                w = int(bank.widths[mm])
                r_ok, a_ok = rp[q] <= pvalue, ap[q] <= pvalue
                if r_ok and a_ok:
                    effect = "strengthened" if asc[q] > rsc[q] else "weakened" if asc[q] < rsc[q] else "unchanged"
                else:
                    effect = "broken" if r_ok else "created"
                use_alt = ap[q] < rp[q]
                st = int(ast[q] if use_alt else rst[q])
                if use_alt and st >= F + len(a.alt):  # past the allele: back to reference coordinates
                    st += len(a.ref) - len(a.alt)
                site = a.pos - F + st  # 1-based: segment position 0 is genome position pos - F (1-based)
                strand = int(astr[q] if use_alt else rstr[q])
                mot = bank.motifs[mm]
                found.setdefault(i, []).append({
                    **_variant_fields(a, checks[i]), "motif_id": mot.id, "motif_alt_id": mot.alt or "",
                    "strand": "-" if strand else "+", "site_start": str(site),
                    "ref_pvalue": f"{rp[q]:.3g}", "alt_pvalue": f"{ap[q]:.3g}",
                    "ref_score": f"{rbits[q]:g}" if rsc[q] >= 0 else "",
                    "alt_score": f"{abits[q]:g}" if asc[q] >= 0 else "", "effect": effect,
                    "matched_ref": self._matched(segs[jj], int(rst[q]), w, int(rstr[q])) if rsc[q] >= 0 else ".",
                    "matched_alt": self._matched(segs[jj + nk], int(ast[q]), w, int(astr[q])) if asc[q] >= 0 else "."})
        out: list[dict[str, str]] = []
        for i, a in enumerate(alleles):
            if checks[i] in ("mismatch", "contig_missing") and not (checks[i] == "mismatch" and self.ref_from == "vcf"):
                out.append(_variant_fields(a, checks[i]))  # the motif columns stay empty
            else:
                out.extend(found.get(i, []))
        return out


@writes_outputs
def motif_variants(
    motifs,
    vcf: str | os.PathLike,
    genome: str | os.PathLike | IndexedFasta,
    output: str | os.PathLike,
    *,
    options: MotifOptions = MotifOptions(),
    variant: VariantOptions = VariantOptions(),
    run: RunOptions = RunOptions(),
) -> dict:
    """Which motif sites does each ALT create or break (motifbreakR's question, FIMO-exact p-values)?

    For every ALT and motif: the best site (both strands) overlapping the variant in the
    reference and in the alternative sequence, scored with FIMO's integer PSSM and exact p-value
    (:class:`~motifscan.scan.motif_bank.MotifBank`); a row when either allele reaches
    ``options.pvalue``. Candidate pairs come from the motif scan's lookahead index on CPU (the
    dense convolution on a GPU) over both alleles' local sequences; each candidate is then
    scored exactly, so the p-value of the other allele is reported even above the threshold.

    Columns (:data:`motifscan.io.variants.BREAK_COLUMNS`): ``chrom pos id ref alt ref_check motif_id
    motif_alt_id strand site_start ref_pvalue alt_pvalue ref_score alt_score effect matched_ref
    matched_alt``. ``strand`` and ``site_start`` (1-based, reference coordinates) are those of
    the allele with the smaller p-value (the reference on ties); ``matched_*`` is each allele's
    best site read on its strand. ``effect``: ``created`` (only ALT reaches the threshold),
    ``broken`` (only REF), ``strengthened``/``weakened`` (both; ALT scores higher/lower) or
    ``unchanged`` (both, equal scores). Alleles without scores (``mismatch``,
    ``contig_missing``) get one row with empty motif columns.

    Returns
    -------
    dict
        ``records``, ``alleles``, ``symbolic``, ``rows``, counts per ``ref_check``, ``seconds``,
        ``variants_per_s``, ``motifs``.
    """
    from ..io.motif_formats import read_motifs
    from ..scan.motif_bank import MotifBank, resolve_background

    check_output_path(output)
    check_distinct(_variant_inputs(motifs if isinstance(motifs, (str, os.PathLike)) else None, vcf, genome),
                   [("-o", output)])
    set_threads(run.threads)
    motif_list = read_motifs(motifs, options.motif_format) if isinstance(motifs, (str, os.PathLike)) else list(motifs)
    if not motif_list:
        raise InputError("no motifs", path=motifs if isinstance(motifs, (str, os.PathLike)) else None)
    if str(options.background) == "input":
        raise UsageError("--bg input is not defined for variants", hint="use motif-file, uniform or a background file")
    fa = genome if isinstance(genome, IndexedFasta) else IndexedFasta(genome)
    _check_contigs(vcf, fa)
    bank = MotifBank(motif_list, background=resolve_background(options.background), pseudocount=options.pseudocount,
                     pvalue=options.pvalue, range_=options.pssm_range)
    bank.check_reachable(motifs if isinstance(motifs, (str, os.PathLike)) else None)
    compute = resolve_compute(run.device, "motifs", method=options.method)
    if compute.method == "lookahead":
        bank.lookahead_index()
    scorer = _MotifVariantScorer(bank, fa, compute.device, compute.method, variant.ref_from)
    stats = AlleleStats()
    counts: dict[str, int] = {c: 0 for c in ("ok", "mismatch", "n_in_window", "contig_missing")}
    t0 = time.perf_counter()
    with BreaksWriter(output) as writer:
        for batch in _batches(iter_alleles(vcf, stats=stats), run.batch_size or 4 * DEFAULT_BATCH):
            writer.write(scorer.rows(batch, options.pvalue, counts))
        if stats.alleles and counts["contig_missing"] == stats.alleles:
            check_chromosomes([Interval(c, 0, 0) for c in sorted(_missing_contigs(vcf, fa))], fa.sizes, vcf, fa.path,
                              "VCF")
        rows = writer.count
    seconds = time.perf_counter() - t0
    out = {"records": stats.records, "alleles": stats.alleles, "symbolic": stats.symbolic, "rows": rows, **counts,
           "seconds": seconds, "variants_per_s": stats.alleles / max(seconds, 1e-9), "motifs": len(motif_list)}
    _log_counts(out, output)
    return out
