"""FIMO's motif scores and exact p-values (MEME suite 5.5: ``motif-in.c``, ``motif.c``, ``pssm.c``).

What FIMO does, step by step, and what this module reproduces number for number:

1. **Background.** FIMO scans both strands, so it makes the background symmetric: A and T get
   their mean, C and G theirs (``average_freq_with_complement``). :func:`symmetric_background`.
2. **Pseudocounts** (``apply_pseudocount_to_motif``): each probability becomes
   ``(p * nsites + pseudo * bg) / (nsites + pseudo)`` with ``pseudo = 0.1`` (``--motif-pseudo``)
   and ``nsites = 20`` when the motif file gives none. :func:`fimo_probabilities`.
3. **Log-odds** in bits, ``log2(p / bg)``; MEME's ``my_log2`` is ``ln(x) * 1.44269504``, and we use
   the same constant so that roundings fall the same way.
4. **Scaling** (``scale_score_matrix``): with ``small``/``large`` the smallest and largest entry,
   ``offset = floor(small)`` and ``scale = floor(range / (large - offset))`` with ``range = 1000``
   (``PSSM_RANGE``; MEME raised it from 100 to 1000 in 2013 and 5.x uses 1000), and each entry
   becomes the integer ``nint((x - offset) * scale)`` (``nint`` rounds half away from zero). A
   window's scaled score is the sum of its columns' integers, in ``[0, W * range]``.
5. **p-values** (``get_pdf_table`` / ``get_pv_lookup``): the exact distribution of the scaled
   score under the background, by dynamic programming over the columns, turned into
   ``pv[x] = P(score >= x)`` by summing from the top (capped at 1).
6. **Reported score** (``fimo_score_site``): the scaled sum mapped back to bits,
   ``scaled / scale + W * offset`` -- so FIMO's ``score`` column is the log-odds sum *after*
   rounding, and so is ours. The p-value of a window is ``pv[scaled]``; FIMO reports a window
   when ``p <= --thresh``. Because ``pv`` never increases with the score, that is the same as
   ``scaled >= cutoff`` for one integer cutoff per motif (:meth:`ScaledPSSM.cutoff`).

The reverse strand uses the reverse-complement motif; with a symmetric background its scaled
matrix is exactly the reverse complement of the forward one (same scale, offset and table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .pwm import Motif

__all__ = [
    "PSSM_RANGE",
    "DEFAULT_PSEUDOCOUNT",
    "DEFAULT_NSITES",
    "MEME_LOG2_E",
    "ScaledPSSM",
    "symmetric_background",
    "fimo_probabilities",
    "fimo_log_odds",
    "scale_log_odds",
    "pvalue_table",
    "build_pssm",
]

#: Range of the integer score of one column (MEME ``PSSM_RANGE``).
PSSM_RANGE = 1000
#: FIMO's default ``--motif-pseudo``.
DEFAULT_PSEUDOCOUNT = 0.1
#: Site count MEME assumes when a motif gives none (``DEFAULT_SITE_COUNT``).
DEFAULT_NSITES = 20
#: MEME's ``my_log2(x) = ln(x) * 1.44269504`` (9 significant digits of 1/ln 2).
MEME_LOG2_E = 1.44269504
#: log-odds given to a zero probability (only reachable with ``pseudocount == 0``); MEME's
#: ``LOG_ZERO`` would make the scale collapse, so we floor far below any real entry instead.
ZERO_LOG_ODDS_FLOOR = 30.0


def symmetric_background(background) -> np.ndarray:
    """Average each letter with its complement (A with T, C with G), as FIMO does for two strands.

    Parameters
    ----------
    background
        ``(4,)`` frequencies A, C, G, T (normalised here).

    Returns
    -------
    numpy.ndarray
        ``(4,)`` float64 with ``bg[A] == bg[T]`` and ``bg[C] == bg[G]``, summing to 1.
    """
    bg = np.asarray(background, dtype=np.float64).reshape(4)
    bg = bg / bg.sum()
    return (bg + bg[::-1]) / 2.0


def fimo_probabilities(motif: Motif, background, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
    """The motif's probabilities after FIMO's pseudocount.

    ``(p * nsites + pseudocount * bg) / (nsites + pseudocount)``; ``nsites`` is the motif's
    integer site count (``DEFAULT_NSITES`` if not positive), as in MEME's
    ``apply_pseudocount_to_motif``. ``pseudocount == 0`` leaves the matrix unchanged.

    Returns
    -------
    numpy.ndarray
        ``(W, 4)`` float64.
    """
    if pseudocount < 0:
        raise ValueError("pseudocount must be >= 0")
    p = np.asarray(motif.probs, dtype=np.float64)
    if pseudocount == 0:
        return p.copy()
    bg = np.asarray(background, dtype=np.float64).reshape(4)
    sites = int(motif.nsites) if motif.nsites > 0 else DEFAULT_NSITES
    return (p * sites + pseudocount * bg) / (sites + pseudocount)


def fimo_log_odds(probs: np.ndarray, background) -> np.ndarray:
    """``(W, 4)`` log-odds in bits with MEME's ``my_log2``; zero probabilities get a low floor."""
    probs = np.asarray(probs, dtype=np.float64)
    bg = np.asarray(background, dtype=np.float64).reshape(1, 4)
    with np.errstate(divide="ignore"):
        lo = np.log(probs / bg) * MEME_LOG2_E
    finite = np.isfinite(lo)
    if not finite.all():
        floor = (lo[finite].min() if finite.any() else 0.0) - ZERO_LOG_ODDS_FLOOR
        lo = np.where(finite, lo, floor)
    return lo


def _nint(x: np.ndarray) -> np.ndarray:
    """MEME's ``nint``: round half away from zero, then truncate to int."""
    return np.where(x >= 0, np.trunc(x + 0.5), np.trunc(x - 0.5)).astype(np.int64)


def scale_log_odds(log_odds: np.ndarray, range_: int = PSSM_RANGE) -> tuple[np.ndarray, float, float]:
    """Scale and round log-odds to integers in ``[0, range_]`` as MEME's ``scale_score_matrix``.

    Returns
    -------
    scaled, scale, offset
        ``scaled`` is ``(W, 4)`` int64 with ``scaled = nint((x - offset) * scale)``.
    """
    lo = np.asarray(log_odds, dtype=np.float64)
    small, large = float(lo.min()), float(lo.max())
    if large == small:  # every entry equal
        small = large - 1.0
    offset = float(math.floor(small))
    scale = float(math.floor(range_ / (large - offset)))
    return _nint((lo - offset) * scale), scale, offset


def pvalue_table(scaled: np.ndarray, background, range_: int = PSSM_RANGE) -> np.ndarray:
    """Exact ``pv[x] = P(score >= x)`` for ``x`` in ``[0, W * range_]`` under an order-0 background.

    The dynamic programme of MEME's ``get_pdf_table``: the score distribution after ``i``
    columns, convolved with the next column's four (score, probability) pairs; then summed from
    the top as ``get_pv_lookup_pos_dep`` does (capped at 1).

    Parameters
    ----------
    scaled
        ``(W, 4)`` non-negative integer column scores.
    background
        ``(4,)`` letter probabilities.

    Returns
    -------
    numpy.ndarray
        ``(W * range_ + 1,)`` float64, non-increasing, ``pv[0] == 1``.
    """
    scaled = np.asarray(scaled, dtype=np.int64)
    bg = np.asarray(background, dtype=np.float64).reshape(4)
    w = scaled.shape[0]
    size = w * range_ + 1
    if scaled.min() < 0 or scaled.max() > range_:
        raise ValueError("scaled scores must lie in [0, range]")
    pdf = np.ones(1, dtype=np.float64)
    low = top = 0  # the reachable scores so far lie in [low, top]
    for i in range(w):
        new_low, new_top = low + int(scaled[i].min()), top + int(scaled[i].max())
        new = np.zeros(new_top + 1, dtype=np.float64)
        old = pdf[low : top + 1]
        for a in range(4):
            s = int(scaled[i, a])
            new[low + s : top + s + 1] += old * bg[a]
        pdf, low, top = new, new_low, new_top
    pdf = np.concatenate([pdf, np.zeros(size - len(pdf))])
    # 1 - cdf, summed from the top in the same order as MEME (sequential adds)
    pv = np.cumsum(pdf[::-1])[::-1]
    return np.minimum(pv, 1.0)


@dataclass(frozen=True)
class ScaledPSSM:
    """One motif as FIMO scores it: integer matrix, scale/offset and the exact p-value table.

    Attributes
    ----------
    matrix
        ``(W, 4)`` int64 scaled column scores (A, C, G, T), each in ``[0, range]``.
    scale, offset
        ``raw = scaled / scale + W * offset`` (bits).
    pv
        ``(W * range + 1,)`` float64, ``pv[x] = P(score >= x)``.
    background
        The (symmetric) background the table was computed under.
    """

    matrix: np.ndarray
    scale: float
    offset: float
    pv: np.ndarray
    background: np.ndarray

    @property
    def width(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def max_score(self) -> int:
        """Largest reachable scaled score."""
        return int(self.matrix.max(axis=1).sum())

    @property
    def min_pvalue(self) -> float:
        """Smallest p-value any window can get (FIMO's ``get_min_pvalue``)."""
        return float(self.pv[self.max_score])

    def cutoff(self, pvalue: float) -> int:
        """Smallest scaled score whose p-value is ``<= pvalue``.

        Returns ``max_score + 1`` when no window can reach ``pvalue`` (the motif reports nothing).
        """
        ok = np.flatnonzero(self.pv[: self.max_score + 1] <= pvalue)
        return int(ok[0]) if ok.size else self.max_score + 1

    def pvalues(self, scaled_scores) -> np.ndarray:
        """p-values of integer scaled scores (clipped to the table as FIMO does)."""
        s = np.clip(np.asarray(scaled_scores, dtype=np.int64), 0, len(self.pv) - 1)
        return self.pv[s]

    def raw_scores(self, scaled_scores) -> np.ndarray:
        """FIMO's reported score in bits: ``scaled / scale + W * offset``."""
        return np.asarray(scaled_scores, dtype=np.float64) / self.scale + self.width * self.offset

    def score_codes(self, codes: np.ndarray) -> np.ndarray:
        """Scaled scores of every full window of uint8 ``codes`` (no N); a slow reference.

        Windows containing an N (code 4) get -1.
        """
        codes = np.asarray(codes, dtype=np.int64)
        w = self.width
        n = len(codes) - w + 1
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        win = np.lib.stride_tricks.sliding_window_view(codes, w)
        bad = (win > 3).any(axis=1)
        cols = np.arange(w)[None, :]
        vals = self.matrix[cols, np.minimum(win, 3)].sum(axis=1)
        return np.where(bad, -1, vals)

    def reverse_complement(self) -> "ScaledPSSM":
        """The same PSSM for the opposite strand (valid for a symmetric background)."""
        return ScaledPSSM(self.matrix[::-1, ::-1].copy(), self.scale, self.offset, self.pv,
                          self.background)


def build_pssm(
    motif: Motif,
    background=None,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    range_: int = PSSM_RANGE,
    symmetric: bool = True,
) -> ScaledPSSM:
    """Build FIMO's scaled PSSM and p-value table for ``motif``.

    Parameters
    ----------
    motif
        The motif (probabilities and site count).
    background
        ``(4,)`` background; ``None`` takes ``motif.background`` (the motif file's block).
    pseudocount
        FIMO's ``--motif-pseudo`` (0.1).
    range_
        Integer range of one column (MEME's ``PSSM_RANGE`` = 1000).
    symmetric
        Average the background with its complement first, as FIMO does when it scans both
        strands (the default and the only mode of ``motifscan scan``).

    Returns
    -------
    ScaledPSSM
    """
    bg = motif.background if background is None else background
    bg = np.asarray(bg, dtype=np.float64).reshape(4)
    bg = symmetric_background(bg) if symmetric else bg / bg.sum()
    probs = fimo_probabilities(motif, bg, pseudocount)
    scaled, scale, offset = scale_log_odds(fimo_log_odds(probs, bg), range_)
    return ScaledPSSM(scaled, scale, offset, pvalue_table(scaled, bg, range_), bg)
