"""The null of variant effects: random SNVs of the same genome, per GC stratum and REF base.

``motifscan variants MODEL VCF`` tests each SNV's ``logit_delta`` (logit of the ALT window minus
logit of the REF window) against the deltas of random SNVs of the same genome: positions drawn
uniformly over its non-N bases (with a seed), the window centred as for the file's variants and
scored by the same local updates. Each drawn position gives three null SNVs, one per other base:
the ALT of a null SNV is then uniform among the three by construction (no sampling noise in it),
and the three share the position's window, so the null costs a third of the windows. Their
deltas are correlated (a position inside a site changes binding whichever base replaces it), so
the null is worth somewhat fewer than ``n`` independent SNVs in its tails; the default size
allows for that. Deltas depend
on the base changed and on the sequence around it, so the null is kept apart per stratum:

* **window GC**: :data:`GC_STRATA` bins of the window's GC fraction (of its non-N bases), with
  edges at the null's own quantiles, so each bin holds the same share of the null (the window
  null's fixed 0.04-wide strata, :data:`motifscan.stats.null.GC_EDGES`, suit its millions of
  windows; a few thousand SNVs per stratum need wider bins, placed where the genome's windows are);
* **REF base**: A, C, G, T; for a model with reverse-complement sharing the two bases of a pair
  (A/T, C/G) are one class, since such a model scores a window and its reverse complement alike
  (and genomes hold complementary bases in equal numbers), which doubles the null per stratum.

Within a stratum the test is two-sided and uses two upper-tail nulls,
:class:`~motifscan.stats.tail.ScoreNull` of ``D`` and of ``-D`` (empirical, with a generalized
Pareto tail below the empirical resolution): ``p = min(1, 2 min(P(D >= d), P(-D >= -d)))``. The
null of ``|D|`` would be simpler but is not right: random SNVs lose binding far more often than
they gain it (a site is broken by most changes of it, made by few), so the two tails differ.
Most random SNVs change nothing (a filter's maximum elsewhere in the window is untouched), so
``D`` has an atom at 0; its p-value is 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..io.fasta import IndexedFasta
from ..stats.null import assign_strata
from ..stats.tail import ScoreNull

__all__ = ["VariantNull", "NullSNVs", "sample_null_snvs", "build_variant_null", "GC_STRATA"]

#: Bins of window GC (equal shares of the null).
GC_STRATA = 4


@dataclass(frozen=True)
class NullSNVs:
    """Random SNVs of a genome, sorted by contig (genome order) and position.

    Attributes
    ----------
    contigs
        The genome's contig names.
    contig
        ``(n,)`` int64 index into ``contigs`` of each SNV.
    pos0
        ``(n,)`` int64 0-based positions.
    ref, alt
        ``(n,)`` uint8 codes (A, C, G, T = 0..3).
    """

    contigs: list[str]
    contig: np.ndarray
    pos0: np.ndarray
    ref: np.ndarray
    alt: np.ndarray


def sample_null_snvs(fa: IndexedFasta, n: int, seed: int) -> NullSNVs:
    """``n`` SNVs at positions drawn uniformly over the non-N bases of ``fa``, three per position.

    ``ceil(n / 3)`` positions are drawn uniformly over the whole genome (those on N or another
    IUPAC code drawn again, so the same ``seed`` gives the same SNVs), each with its three
    other bases as ALTs (the last position's are cut to make ``n``). Raises ``ValueError`` when
    the genome holds no A, C, G or T.
    """
    names = list(fa.sizes)
    bounds = np.cumsum([0, *(fa.sizes[c] for c in names)]).astype(np.int64)
    total = int(bounds[-1])
    rng = np.random.default_rng(seed)
    flat_kept: list[np.ndarray] = []
    ref_kept: list[np.ndarray] = []
    n_pos = -(-n // 3)
    have, tries = 0, 0
    while have < n_pos:
        tries += 1
        if tries > 64:
            raise ValueError(f"{fa.path}: too few A, C, G or T bases to draw {n} random SNVs from")
        flat = rng.integers(0, total, size=int((n_pos - have) * 1.1) + 64)
        ref = _bases_at(fa, names, bounds, flat)
        ok = ref < 4
        flat_kept.append(flat[ok][: n_pos - have])
        ref_kept.append(ref[ok][: n_pos - have])
        have += len(flat_kept[-1])
    flat = np.concatenate(flat_kept)
    ref = np.concatenate(ref_kept)
    order = np.argsort(flat, kind="stable")
    flat, ref = np.repeat(flat[order], 3)[:n], np.repeat(ref[order], 3)[:n]
    alt = ((ref + np.tile(np.arange(1, 4, dtype=np.uint8), n_pos)[:n]) % 4).astype(np.uint8)
    contig = np.searchsorted(bounds, flat, side="right") - 1
    return NullSNVs(names, contig.astype(np.int64), flat - bounds[contig], ref, alt)


def _bases_at(fa: IndexedFasta, names: Sequence[str], bounds: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Codes at genome-wide positions ``flat`` (any order), read all at once (:meth:`IndexedFasta.windows`)."""
    contig = np.searchsorted(bounds, flat, side="right") - 1
    return fa.windows([names[c] for c in contig.tolist()], flat - bounds[contig], 1)[:, 0]


@dataclass(frozen=True)
class VariantNull:
    """Null distributions of SNV logit changes, per task and stratum (GC bin x REF class).

    Attributes
    ----------
    gc_edges
        ``(GC_STRATA - 1,)`` inner edges of the GC bins (window GC fractions; a value equal to an
        edge goes to the upper bin).
    strand_pairs
        REF classes are base pairs (A/T, C/G) rather than bases (RC-shared models).
    up, down
        ``[task][stratum]`` :class:`ScoreNull` of ``D`` and of ``-D``.
    n, seed
        Random SNVs scored, and their seed.
    """

    gc_edges: np.ndarray
    strand_pairs: bool
    up: tuple[tuple[ScoreNull, ...], ...]
    down: tuple[tuple[ScoreNull, ...], ...]
    n: int
    seed: int

    @property
    def n_classes(self) -> int:
        return 2 if self.strand_pairs else 4

    def strata(self, gc: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """Stratum ``(n,)`` int64 of windows of GC fraction ``gc`` ``(n,)`` with REF base codes ``ref`` ``(n,)``."""
        return _strata(self.gc_edges, self.strand_pairs, gc, ref)

    @classmethod
    def fit(cls, delta: np.ndarray, gc: np.ndarray, ref: np.ndarray, *, strand_pairs: bool, seed: int) -> "VariantNull":
        """The null from scored random SNVs: logit changes ``delta`` ``(n, T)``, window GC ``(n,)``, REF codes ``(n,)``.

        Rows with a NaN delta (not scored) are dropped. GC bin edges are the null's own quantiles;
        a stratum left with fewer than :data:`_MIN_STRATUM` SNVs (a genome of one GC, say) uses
        the null of its GC bin, or failing that the whole null.
        """
        keep = ~np.isnan(delta).any(axis=1)
        delta, gc, ref = delta[keep], gc[keep], ref[keep]
        if not len(delta):
            raise ValueError("no random SNV could be scored")
        edges = np.quantile(gc, np.arange(1, GC_STRATA) / GC_STRATA)
        st = _strata(edges, strand_pairs, gc, ref)
        n_cls = 2 if strand_pairs else 4
        gc_bin = st // n_cls
        up, down = [], []
        for t in range(delta.shape[1]):
            d = delta[:, t]
            ups, downs = [], []
            for s in range(GC_STRATA * n_cls):
                sel = st == s
                if sel.sum() < _MIN_STRATUM:
                    sel = gc_bin == s // n_cls
                if sel.sum() < _MIN_STRATUM:
                    sel = np.ones(len(d), dtype=bool)
                ups.append(ScoreNull.fit(d[sel]))
                downs.append(ScoreNull.fit(-d[sel]))
            up.append(tuple(ups))
            down.append(tuple(downs))
        return cls(edges, strand_pairs, tuple(up), tuple(down), int(len(delta)), seed)

    def log_pvalues(self, delta: np.ndarray, gc: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """Natural logs of two-sided p-values ``(n, T)`` of logit changes ``delta`` ``(n, T)``.

        ``gc`` ``(n,)`` is each window's GC fraction and ``ref`` ``(n,)`` the REF base code;
        ``p = min(1, 2 min(P(D >= d), P(-D >= -d)))`` in the SNV's own stratum.
        """
        delta = np.asarray(delta, dtype=np.float64)
        out = np.zeros(delta.shape)
        if not len(delta):
            return out
        st = self.strata(gc, ref)
        for s in np.unique(st).tolist():
            sel = np.flatnonzero(st == s)
            for t in range(delta.shape[1]):
                d = delta[sel, t]
                one = np.minimum(self.up[t][s].log_pvalues(d), self.down[t][s].log_pvalues(-d))
                out[sel, t] = np.minimum(one + np.log(2.0), 0.0)
        return out


#: Fewest null SNVs a stratum keeps its own null with.
_MIN_STRATUM = 200


def _strata(edges: np.ndarray, strand_pairs: bool, gc: np.ndarray, ref: np.ndarray) -> np.ndarray:
    ref = np.asarray(ref, dtype=np.int64)
    cls_ = np.minimum(ref, 3 - ref) if strand_pairs else ref  # A/T -> 0, C/G -> 1
    n_cls = 2 if strand_pairs else 4
    return assign_strata(gc, edges) * n_cls + cls_


def build_variant_null(
    fa: IndexedFasta,
    score: Callable[[NullSNVs], tuple[np.ndarray, np.ndarray]],
    *,
    n: int,
    seed: int,
    strand_pairs: bool,
) -> VariantNull:
    """Draw ``n`` random SNVs of ``fa`` and fit their null.

    Parameters
    ----------
    fa
        The genome.
    score
        Scores SNVs exactly as the file's are scored: returns logit changes ``(n, T)`` (NaN:
        not scored) and window GC fractions ``(n,)``.
    n, seed
        Random SNVs and their seed.
    strand_pairs
        One REF class per base pair (RC-shared models).
    """
    snvs = sample_null_snvs(fa, n, seed)
    delta, gc = score(snvs)
    return VariantNull.fit(delta, gc, snvs.ref, strand_pairs=strand_pairs, seed=seed)
