"""A motif file as a bank of filters: FIMO's integer PSSMs, cutoffs, exact p-values, the lookahead index.

Each motif becomes FIMO's integer PSSM (:func:`motifscan.motifs.pvalues.build_pssm`), its
``--pvalue`` threshold becomes one integer score cutoff, and a window is a hit when its integer
score reaches the cutoff. Hits therefore get exactly FIMO's p-values (the same table) and FIMO's
score (the rounded log-odds in bits). The bank scans each motif on both strands (a reverse
complemented copy of each PSSM).

The **lookahead index** (:meth:`MotifBank.lookahead_index`, the CPU search of
:mod:`motifscan.scan.motif_scan`): for each filter, its most informative block of ``k`` columns
(``k = min(8, W)``, 10 for motifs of 12 columns or more) and the k-mers whose block score plus
the best possible score of the other columns reaches the cutoff (MOODS-style lookahead; found by
branch and bound, so the work follows the number of such k-mers, not ``4**k``), as an inverted
index k-mer -> filters; and 4-column lookup tables, visited most informative block first, for
scoring the candidates exactly.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..errors import InputError, UsageError
from ..io.motif_formats import read_meme_background
from ..motifs.pvalues import DEFAULT_PSEUDOCOUNT, PSSM_RANGE, ScaledPSSM, build_pssm
from ..motifs.pwm import Motif

log = logging.getLogger("motifscan")
#: k-mer length of the lookahead index (4**8 = 65536 rows) ...
LOOKAHEAD_Q = 8
#: ... and for motifs at least LONG_MOTIF wide, whose 8-column blocks filter too little.
LOOKAHEAD_Q_LONG = 10
LONG_MOTIF = 12


@dataclass(frozen=True)
class KmerGroup:
    """The inverted index k-mer -> candidate filters of the filters whose lookahead block is ``k`` long.

    Entry ``e`` of k-mer ``id`` (``indptr[id] <= e < indptr[id] + counts[id]``) packs a filter and
    the offset of its lookahead block as ``entries[e] = filter << shift | offset``. Row ``4**k``
    is the (empty) row of k-mers holding an N. ``prefix`` (only for a sparse index of long
    k-mers) flags the :data:`LOOKAHEAD_Q`-mer prefixes that have any entry, so most positions
    are ruled out by a small, cache-resident table.
    """

    k: int
    n_blocks: int          # the most 4-column scoring blocks of any filter in the group
    counts: np.ndarray     # (4**k + 1,) entries per k-mer (uint8/uint16/int32: small stays in cache)
    indptr: np.ndarray     # (4**k + 1,) int64 first entry of each k-mer
    shift: int
    entries: np.ndarray    # int32 packed (filter, block offset)
    prefix: np.ndarray | None = None


@dataclass(frozen=True)
class LookaheadIndex:
    """Everything the lookahead search needs (see the module docstring).

    Candidates are scored exactly by 4-column tables: ``tables[(f * max_blocks + b) * 256 + id4]``
    is filter ``f``'s score of the 4-mer ``id4`` in its block ``b``. Filter ``f``'s blocks are
    visited in the order ``block_order[:, f]`` (most informative first); after ``j + 1`` blocks a
    candidate needs a partial score of at least ``need[j, f]`` to reach its cutoff.
    """

    groups: list[KmerGroup]
    tables: np.ndarray       # (n_filters * max_blocks * 256,) int32
    max_blocks: int
    width: np.ndarray        # (n_filters,) int32
    block_order: np.ndarray  # (max_blocks, n_filters) int32
    need: np.ndarray         # (max_blocks, n_filters) int32
    n_entries: int
    kmer_lengths: list[int]  # the k-mer ids the search computes at every position


@dataclass(frozen=True)
class DenseBank:
    """The bank for the dense search, on one device: every filter zero-padded to the widest."""

    weight: torch.Tensor  # (n_filters, 4, max_width) float32 integer scores
    width: torch.Tensor   # (n_filters,) int64
    cut: torch.Tensor     # (n_filters,) float32 cutoffs


def hit_dtype(max_width: int) -> np.dtype:
    """Structured dtype of one hit (also the on-disk spill record)."""
    return np.dtype([
        ("motif", "<i4"),      # index into MotifBank.motifs
        ("record", "<i8"),     # serial number of the input record
        ("start", "<i8"),      # 0-based start of the window (forward-strand coordinates)
        ("strand", "i1"),      # 0: '+', 1: '-'
        ("score", "<i4"),      # FIMO's integer (scaled) score
        ("seq", f"S{max(1, max_width)}"),  # matched bases, read on the hit's strand (as FIMO)
    ])


class MotifBank:
    """All motifs of a file as FIMO integer PSSMs with per-motif cutoffs, ready to scan.

    Parameters
    ----------
    motifs
        The motifs, in file order.
    background
        ``(4,)`` background for every motif, or ``None`` to use each motif's own (the motif
        file's background block; uniform for formats without one). Made symmetric, as FIMO does.
    pseudocount
        FIMO's ``--motif-pseudo``.
    pvalue
        Report windows with ``p <= pvalue`` (FIMO's ``--thresh``).

    Attributes
    ----------
    pssms
        One :class:`~motifscan.motifs.pvalues.ScaledPSSM` per motif.
    cutoffs
        ``(M,)`` integer score cutoffs (``max_score + 1`` where unreachable).
    unreachable
        Indices of motifs whose best window has ``p > pvalue`` (they report nothing).
    filter_motif, filter_strand, filter_width, filter_cut, filter_matrix
        The scanned filters: every reachable motif forward (strand 0), then every reachable
        motif's reverse complement (strand 1); ``filter_matrix`` is ``(n, Wmax, 4)`` int64,
        zero-padded on the right.
    """

    def __init__(
        self,
        motifs: Sequence[Motif],
        *,
        background=None,
        pseudocount: float = DEFAULT_PSEUDOCOUNT,
        pvalue: float = 1e-4,
        range_: int = PSSM_RANGE,
    ) -> None:
        if not motifs:
            raise ValueError("a motif bank needs at least one motif")
        if not 0 < pvalue <= 1:
            raise ValueError("pvalue must be in (0, 1]")
        self.motifs = list(motifs)
        self.pvalue = float(pvalue)
        self.pssms: list[ScaledPSSM] = [build_pssm(m, background, pseudocount, range_) for m in self.motifs]
        self.widths = np.array([p.width for p in self.pssms], dtype=np.int64)
        self.max_scores = np.array([p.max_score for p in self.pssms], dtype=np.int64)
        self.cutoffs = np.array([p.cutoff(pvalue) for p in self.pssms], dtype=np.int64)
        reach = self.cutoffs <= self.max_scores
        self.unreachable = np.flatnonzero(~reach)
        active = np.flatnonzero(reach)
        self.filter_motif = np.concatenate([active, active]).astype(np.int64)
        self.filter_strand = np.repeat(np.array([0, 1], dtype=np.int8), len(active))
        self.filter_width = self.widths[self.filter_motif]
        self.filter_cut = self.cutoffs[self.filter_motif]
        self.max_width = int(self.widths.max())
        mats = np.zeros((len(self.filter_motif), self.max_width, 4), dtype=np.int64)
        for i, (m, s) in enumerate(zip(self.filter_motif, self.filter_strand)):
            mat = self.pssms[m].matrix
            mats[i, : len(mat)] = mat[::-1, ::-1] if s else mat
        self.filter_matrix = mats
        self._lookahead: LookaheadIndex | None = None
        self._device_cache: dict[str, DenseBank] = {}
        self._tables: tuple | None = None

    # ------------------------------------------------------------------ info
    @property
    def n_filters(self) -> int:
        """Number of scanned filters (2 per reachable motif)."""
        return len(self.filter_motif)

    def describe_unreachable(self) -> list[str]:
        """One line per motif that cannot reach the p-value (for the log)."""
        return [
            f"motif {self.motifs[i].id}: best possible p-value {self.pssms[i].min_pvalue:.2g} > "
            f"{self.pvalue:g}, so it reports nothing"
            for i in self.unreachable
        ]

    def check_reachable(self, path=None) -> None:
        """Warn (one line, naming them) about motifs that cannot reach the p-value, which report
        nothing; raise :class:`~motifscan.errors.InputError` when no motif can (nothing to scan).

        Parameters
        ----------
        path
            The motif file, named in the error.
        """
        if not len(self.unreachable):
            return
        ids = [self.motifs[i].id for i in self.unreachable]
        if len(ids) == len(self.motifs):
            best = ", ".join(f"{self.motifs[i].id} {self.pssms[i].min_pvalue:.2g}" for i in self.unreachable[:5])
            raise InputError(
                f"no motif can reach p <= {self.pvalue:g} in any window (best possible p-values: {best}"
                + (" ...)" if len(ids) > 5 else ")"),
                path=path, hint="raise --pvalue, or give longer or more specific motifs",
            )
        log.warning("%d motif%s cannot reach p <= %g in any window and report nothing: %s%s", len(ids),
                    "" if len(ids) == 1 else "s", self.pvalue, ", ".join(ids[:5]), " ..." if len(ids) > 5 else "")
        for line in self.describe_unreachable():
            log.debug(line)

    def pvalues(self, motif_idx: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """p-values of hits (scores at or above their motif's cutoff) from the exact tables."""
        tab, base, lo, hi = self._flat_tables()
        motif_idx = np.asarray(motif_idx, dtype=np.int64)
        s = np.clip(np.asarray(scores, dtype=np.int64), lo[motif_idx], hi[motif_idx])
        return tab[base[motif_idx] + s - lo[motif_idx]]

    def raw_scores(self, motif_idx: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """FIMO's reported score in bits, ``scaled / scale + W * offset``, of hits."""
        motif_idx = np.asarray(motif_idx, dtype=np.int64)
        scale = np.array([p.scale for p in self.pssms])[motif_idx]
        offset = np.array([p.offset for p in self.pssms])[motif_idx]
        return np.asarray(scores, dtype=np.float64) / scale + self.widths[motif_idx] * offset

    def _flat_tables(self):
        # only the reportable part of each table, [cutoff, max_score], is kept together
        if self._tables is None:
            lo = np.minimum(self.cutoffs, self.max_scores)
            hi = self.max_scores
            lens = hi - lo + 1
            base = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
            tab = np.concatenate([p.pv[a : b + 1] for p, a, b in zip(self.pssms, lo, hi)])
            self._tables = (tab, base, lo, hi)
        return self._tables

    # ------------------------------------------------------------------ lookahead index
    def lookahead_index(self, q: int = LOOKAHEAD_Q) -> LookaheadIndex:
        """Build (once) the q-mer -> candidate filters index (see the module docstring).

        Filters are grouped by block length ``k = min(q, W)``; each group has a CSR index over
        the ``4**k`` k-mers (plus one empty row for k-mers containing N). Exact scoring uses
        4-column tables ``t4[(i * nbmax + b) * 256 + 4-mer]``, visiting a filter's blocks in
        order of what they add beyond its lookahead block, so that a candidate is dropped as
        soon as its partial score plus the best of its remaining blocks misses the cutoff.
        """
        if self._lookahead is not None:
            return self._lookahead
        mats = self.filter_matrix.astype(np.int32)
        widths, cuts = self.filter_width, self.filter_cut
        n = self.n_filters
        nblocks = -(-widths // 4)
        nbmax = int(nblocks.max())
        padded = np.zeros((n, nbmax * 4, 4), dtype=np.int32)
        padded[:, : mats.shape[1]] = mats
        best = padded.max(axis=2).astype(np.int64)  # (n, 4 * nbmax), 0 beyond the width
        gain = best - padded.mean(axis=2)
        block_len = np.where(widths >= LONG_MOTIF, max(q, LOOKAHEAD_Q_LONG), np.minimum(widths, q))
        # lookahead block: the k columns that gain most over the mean column (a cheap proxy
        # for selectivity), wholly inside the motif
        csum = np.concatenate([np.zeros((n, 1)), np.cumsum(gain, axis=1)], axis=1)
        bsum = np.concatenate([np.zeros((n, 1), dtype=np.int64), np.cumsum(best, axis=1)], axis=1)
        offsets = np.zeros(n, dtype=np.int64)
        rest = np.zeros(n, dtype=np.int64)
        for k in (int(v) for v in np.unique(block_len)):
            sel = np.flatnonzero(block_len == k)
            span = csum[sel, k:] - csum[sel, :-k]
            valid = np.arange(span.shape[1])[None, :] <= (widths[sel] - k)[:, None]
            offsets[sel] = np.argmax(np.where(valid, span, -np.inf), axis=1)
            o = offsets[sel]
            rest[sel] = bsum[sel, -1] - (bsum[sel, o + k] - bsum[sel, o])
        groups = []
        # filter and block offset of an entry in one int32 (one gather instead of two)
        shift = max(1, int(offsets.max()).bit_length())
        if (n << shift) >= 1 << 31:
            raise ValueError("motif bank too large for the lookahead index")
        for k in (int(v) for v in np.unique(block_len)):
            sel = np.flatnonzero(block_len == k)
            counts, indptr, entries = _kmer_index(mats, sel, offsets, k, cuts[sel] - rest[sel], shift)
            top = counts.max(initial=0)  # small tables stay in cache
            counts = counts.astype(np.uint8 if top < 256 else np.uint16 if top < 1 << 16 else np.int32)
            prefix = None
            if k > q:  # ids put the first letter lowest, so the low 2q bits are the q-mer prefix
                flags = (counts[:-1].reshape(-1, 4 ** q) > 0).any(axis=0)
                if flags.mean() < 0.5:
                    prefix = flags.astype(np.uint8)
            groups.append(KmerGroup(k, int(nblocks[sel].max()), counts, indptr, shift, entries, prefix))
        cols = np.arange(nbmax * 4)[None, :]
        inside = (cols >= offsets[:, None]) & (cols < (offsets + block_len)[:, None])
        bgain = np.where(inside, 0.0, gain).reshape(n, nbmax, 4).sum(axis=2)
        bgain[np.arange(nbmax)[None, :] >= nblocks[:, None]] = -np.inf  # empty blocks last
        border = np.argsort(-bgain, axis=1, kind="stable")  # (n, nbmax)
        bmax = np.take_along_axis(best.reshape(n, nbmax, 4).sum(axis=2), border, axis=1)
        after = np.cumsum(bmax[:, ::-1], axis=1)[:, ::-1] - bmax  # best of the blocks after j
        ids4 = np.arange(256)
        t4 = np.zeros((n, nbmax, 256), dtype=np.int32)
        for t in range(4):
            t4 += padded[:, t::4, :][:, :, (ids4 >> (2 * t)) & 3]  # first letter lowest
        self._lookahead = LookaheadIndex(
            groups=groups, tables=t4.reshape(-1), max_blocks=nbmax,
            width=widths.astype(np.int32),
            block_order=border.T.astype(np.int32).copy(),               # [j, i]
            need=(cuts[None, :] - after.T).astype(np.int32).copy(),       # [j, i]
            n_entries=sum(len(g.entries) for g in groups),
            kmer_lengths=sorted({int(v) for v in block_len} | ({q} if any(g.prefix is not None for g in groups) else set())),
        )
        return self._lookahead

    def dense_bank(self, device: torch.device) -> DenseBank:
        """The bank on ``device`` for the dense search (made once per device)."""
        key = str(device)
        if key not in self._device_cache:
            w = torch.as_tensor(self.filter_matrix, dtype=torch.float32, device=device)
            self._device_cache[key] = DenseBank(
                weight=w.permute(0, 2, 1).contiguous(),
                width=torch.as_tensor(self.filter_width, device=device),
                cut=torch.as_tensor(self.filter_cut, dtype=torch.float32, device=device),
            )
        return self._device_cache[key]


#: Filters whose passing k-mers are found at once: the branch and bound's frontier (up to 4x the
#: passing prefixes of each filter) is held for this many filters only, so building the index
#: needs memory for its entries plus a bounded working set, not a frontier of the whole bank.
KMER_CHUNK = 64


def _kmer_index(mats: np.ndarray, filters: np.ndarray, offsets: np.ndarray, k: int, need: np.ndarray,
                shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CSR index k-mer -> packed ``(filter << shift | block offset)`` entries of ``filters``.

    Filters are searched :data:`KMER_CHUNK` at a time and their entries placed by a counting sort
    into one int32 array, ordered by k-mer and then filter (as one search of all would give).

    Returns
    -------
    counts, indptr, entries
        ``(4**k + 1,)`` int64 entries per k-mer, ``(4**k + 1,)`` int64 first entry of each k-mer,
        and the int32 packed entries.
    """
    rows = 4 ** k + 1
    parts = []
    counts = np.zeros(rows, dtype=np.int64)
    for lo in range(0, len(filters), KMER_CHUNK):
        sel = filters[lo : lo + KMER_CHUNK]
        filt, qmer = _passing_kmers(mats, sel, offsets[sel], k, need[lo : lo + KMER_CHUNK])
        qmer = qmer.astype(np.int32)
        parts.append((qmer, (filt.astype(np.int32) << shift) | offsets[filt].astype(np.int32)))
        counts += np.bincount(qmer, minlength=rows)
    indptr = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    entries = np.empty(int(counts.sum()), dtype=np.int32)
    fill = indptr.copy()
    for qmer, packed in parts:  # chunks in filter order, each sorted by k-mer: a stable merge
        c = np.bincount(qmer, minlength=rows)
        run = np.concatenate([[0], np.cumsum(c)[:-1]])
        entries[fill[qmer] + np.arange(len(qmer)) - run[qmer]] = packed
        fill += c
    parts.clear()
    return counts, indptr, entries


def _passing_kmers(
    mats: np.ndarray, filters: np.ndarray, offsets: np.ndarray, k: int, need: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every (filter, k-mer) whose k-column block score reaches ``need`` (branch and bound).

    Prefixes are extended one letter at a time for all filters at once and dropped as soon as
    their partial score plus the best of the block's remaining columns misses ``need``, so the
    work follows the number of passing k-mers, not ``4**k``. K-mer ids put the *first* letter
    in the least significant digit (:func:`_kmer_ids`); children are laid out letter-major,
    so the result comes out sorted by k-mer id (then filter) with no sort.

    Returns
    -------
    filters, kmers
        Parallel int64 arrays, sorted by k-mer.
    """
    cols = offsets[:, None] + np.arange(k)[None, :]
    block = mats[filters[:, None], cols].astype(np.int32)  # (P, k, 4)
    best = block.max(axis=2).astype(np.int64)
    best_after = np.cumsum(best[:, ::-1], axis=1)[:, ::-1] - best  # best of columns after t
    thr = (need[:, None] - best_after).astype(np.int32)  # partial needed after column t
    cols_t = [np.ascontiguousarray(block[:, t, :].T) for t in range(k)]  # (4, P) each
    thr_t = [np.ascontiguousarray(thr[:, t]) for t in range(k)]
    who = np.arange(len(filters), dtype=np.int32)
    kmer = np.zeros(len(filters), dtype=np.int32)
    part = np.zeros(len(filters), dtype=np.int32)
    letters = np.arange(4, dtype=np.int32)[:, None]
    for t in range(k):
        part = (part[None, :] + cols_t[t][:, who]).reshape(-1)
        kmer = (kmer[None, :] | (letters << (2 * t))).reshape(-1)
        who = np.tile(who, 4)
        ok = part >= thr_t[t][who]
        part, who, kmer = part[ok], who[ok], kmer[ok]
    return filters[who], kmer.astype(np.int64)


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


def resolve_background(bg: str | os.PathLike | np.ndarray | None, source=None) -> np.ndarray | None:
    """``--bg``: ``None``/``motif-file`` (each motif's own), ``uniform``, ``input``, a file or an array.

    Returns ``None`` for the motif file's background, else a ``(4,)`` array.
    """
    if isinstance(bg, np.ndarray):
        return bg
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
    if not os.path.exists(bg):
        raise UsageError(f"--bg {bg}: no such file", hint="use motif-file, uniform, input or a MEME background file")
    return read_meme_background(bg)
