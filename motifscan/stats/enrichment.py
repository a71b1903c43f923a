"""Motif enrichment: Fisher's exact test on sequences with a site, peaks against controls.

Each motif gives a 2 x 2 table: ``tp`` of ``n_pos`` primary sequences and ``fp`` of ``n_neg``
control sequences have a site. Under the null (a sequence's label is independent of whether it
has a site), with the margins fixed, ``tp`` follows the hypergeometric distribution of
``n_pos`` draws without replacement from ``n_pos + n_neg`` sequences of which ``tp + fp`` have
a site; the one-sided (enrichment) p-value is ``P(X >= tp)``, Fisher's exact test with
``alternative='greater'``, as MEME's SEA computes it. All logs are natural logs, so p-values
far below the smallest double (1e-308) keep their value.

Fisher's p-value on counts is discrete, hence conservative: under the null
``P(p <= a) <= a``, not ``= a``. :func:`fisher_randomised_pvalues` gives the randomised
p-value ``P(X > tp) + U P(X = tp)`` (``U`` uniform on [0, 1]), which is exactly uniform under
the null and serves to check calibration; :func:`fisher_mid_pvalues` is its mean (the mid-p).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import hypergeom

__all__ = ["enrichment_ratio", "fisher_log_pvalues", "fisher_mid_pvalues", "fisher_randomised_pvalues"]


def _check(tp, n_pos: int, fp, n_neg: int) -> tuple[np.ndarray, np.ndarray]:
    tp = np.asarray(tp, dtype=np.int64)
    fp = np.asarray(fp, dtype=np.int64)
    if tp.shape != fp.shape:
        raise ValueError("tp and fp must have the same shape")
    if n_pos < 1 or n_neg < 1:
        raise ValueError("need at least one primary and one control sequence")
    if (tp < 0).any() or (tp > n_pos).any() or (fp < 0).any() or (fp > n_neg).any():
        raise ValueError("counts must lie in [0, n_pos] and [0, n_neg]")
    return tp, fp


def fisher_log_pvalues(tp, n_pos: int, fp, n_neg: int) -> np.ndarray:
    """Natural log of Fisher's one-sided (enrichment) p-value per motif.

    Parameters
    ----------
    tp, fp
        ``(M,)`` integer counts: primary and control sequences with a site of each motif.
    n_pos, n_neg
        Number of primary and control sequences.

    Returns
    -------
    numpy.ndarray
        ``(M,)`` float64 ``log P(X >= tp)``, ``X ~ Hypergeom(n_pos + n_neg, tp + fp, n_pos)``;
        ``<= 0``, finite even where the p-value is below double range.
    """
    tp, fp = _check(tp, n_pos, fp, n_neg)
    out = hypergeom.logsf(tp - 1, n_pos + n_neg, tp + fp, n_pos)
    return np.minimum(np.asarray(out, dtype=np.float64), 0.0)


def fisher_mid_pvalues(tp, n_pos: int, fp, n_neg: int) -> np.ndarray:
    """Lancaster's mid-p: ``P(X > tp) + P(X = tp) / 2`` (same arguments as :func:`fisher_log_pvalues`)."""
    tp, fp = _check(tp, n_pos, fp, n_neg)
    dist = hypergeom(n_pos + n_neg, tp + fp, n_pos)
    return dist.sf(tp) + 0.5 * dist.pmf(tp)


def fisher_randomised_pvalues(tp, n_pos: int, fp, n_neg: int, rng: np.random.Generator) -> np.ndarray:
    """Randomised p-values ``P(X > tp) + U P(X = tp)``: exactly uniform on [0, 1] under the null.

    For calibration checks only (a reported p-value should not depend on a coin): the discrete
    Fisher p-value is ``P(X >= tp)``, the largest value this can take.
    """
    tp, fp = _check(tp, n_pos, fp, n_neg)
    dist = hypergeom(n_pos + n_neg, tp + fp, n_pos)
    return dist.sf(tp) + rng.random(tp.shape) * dist.pmf(tp)


def enrichment_ratio(tp, n_pos: int, fp, n_neg: int) -> np.ndarray:
    """SEA's enrichment ratio ``((tp + 1) / (n_pos + 1)) / ((fp + 1) / (n_neg + 1))``.

    The pseudocounts keep it finite when no control has a site.
    """
    tp, fp = _check(tp, n_pos, fp, n_neg)
    return ((tp + 1) / (n_pos + 1)) / ((fp + 1) / (n_neg + 1))
