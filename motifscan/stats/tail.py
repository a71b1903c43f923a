"""Upper-tail p-values from a null sample: empirical where it has mass, a fitted tail beyond.

A null sample of ``n`` scores resolves p-values down to about ``1/n``. Below that, the top of the
sample is modelled by a generalized Pareto distribution (GPD), as Knijnenburg et al. (2009,
"Fewer permutations, more accurate P-values", Bioinformatics 25:i161) do for permutation tests:

* the exceedances of the ``N_exc`` largest null scores over a threshold ``t`` halfway between the
  ``N_exc``-th and ``N_exc + 1``-th largest are fitted by a GPD (shape ``xi``, scale ``sigma``);
* the fit is accepted when an Anderson-Darling test does not reject it at 5 %; otherwise
  ``N_exc`` drops by 10 (from 250, down to 50) and the fit is tried again; no accepted fit, no tail;
* unlike Knijnenburg et al., a negative shape is replaced by 0 (an exponential tail with its
  maximum-likelihood scale): a bounded fit puts an end point just past the sample and gives
  ``p = 0`` to any score beyond it, wrong by hundreds of orders when the true tail is not bounded
  there (measured on normal and Gumbel nulls); the exponential tail is conservative for every
  lighter tail and right for the Gumbel domain that maxima (window scores) fall in. A positive
  shape (a heavy tail) is kept: forcing 0 there would be anti-conservative;
* a score ``x`` with fewer than ``MIN_COUNT`` null scores at or above it gets
  ``p = N_exc / n * (1 + xi (x - t) / sigma) ** (-1 / xi)``, any other score the empirical
  ``p = (1 + #{null >= x}) / (n + 1)`` (never 0, conservative by one pseudo-count).

The GPD is fitted by Zhang & Stephens' (2009, Technometrics 51:316) estimator: a posterior mean
over a grid of profile likelihoods, in closed form (vectorised, no optimiser per fit) and
well-defined for short tails, where maximum likelihood is irregular (``xi < -0.5``).
The Anderson-Darling critical values for this estimator (parameters estimated, so the standard
tables do not apply) were simulated: 2,000 GPD samples per shape and size, see
``_AD_CRITICAL``; they depend on the shape and barely on the size.

p-values are reported as natural logs so that the tail's smallest values survive; they are
floored at ``LOG_P_FLOOR`` (scores beyond a bounded tail's end would otherwise get ``p = 0``).
Scores should be a continuous statistic (logits, not probabilities that saturate at 1.0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GPDTail", "ScoreNull", "fit_gpd_tail", "MIN_COUNT", "LOG_P_FLOOR"]

#: empirical p-values are used while at least this many null scores lie at or above a score
MIN_COUNT = 10
#: the smallest log p-value reported (the smallest normal double, about 2.2e-308)
LOG_P_FLOOR = float(np.log(np.finfo(np.float64).tiny))

# 5 % critical values of the Anderson-Darling statistic for a GPD whose shape and scale were
# estimated by _zhang_stephens, by shape; simulated with 2,000 samples of 100 and of 250
# exceedances per shape (the two sizes agree within about 0.1; the larger value is kept).
_AD_SHAPES = np.array([-0.5, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.5])
_AD_CRITICAL = np.array([1.182, 1.076, 1.033, 1.033, 0.953, 0.910, 0.910, 0.875, 0.819])


@dataclass(frozen=True)
class GPDTail:
    """A generalized Pareto fit to the top of a null sample.

    Attributes
    ----------
    threshold
        ``t``: the fit describes null scores above it.
    shape, scale
        ``xi`` and ``sigma`` of the GPD of the exceedances ``x - t`` (``xi < 0``: a bounded tail
        ending at ``t - sigma / xi``).
    n_exceed, n_total
        ``N_exc`` null scores lie above ``t``, out of ``n_total``.
    """

    threshold: float
    shape: float
    scale: float
    n_exceed: int
    n_total: int

    def log_sf(self, x: np.ndarray) -> np.ndarray:
        """Natural log of ``P(S >= x)`` under the fit, for scores ``x >= threshold``; shape of ``x``."""
        z = np.maximum(np.asarray(x, dtype=np.float64) - self.threshold, 0.0) / self.scale
        if abs(self.shape) < 1e-12:
            log_tail = -z
        else:
            arg = 1.0 + self.shape * z
            with np.errstate(divide="ignore", invalid="ignore"):
                log_tail = np.where(arg > 0, -np.log(np.where(arg > 0, arg, 1.0)) / self.shape, -np.inf)
        return np.log(self.n_exceed / self.n_total) + log_tail


def _zhang_stephens(excess: np.ndarray) -> tuple[float, float]:
    """GPD shape and scale of positive exceedances (ascending, shape ``(m,)``), Zhang & Stephens 2009."""
    m = len(excess)
    grid = 30 + int(np.sqrt(m))
    b = 1.0 - np.sqrt(grid / (np.arange(1, grid + 1) - 0.5))
    b = b / (3.0 * excess[int(m / 4 + 0.5) - 1]) + 1.0 / excess[-1]
    k = np.log1p(-b[:, None] * excess).mean(axis=1)
    log_lik = m * (np.log(-b / k) - k - 1.0)
    with np.errstate(over="ignore"):  # a far worse grid point weighs 0
        weights = 1.0 / np.exp(log_lik - log_lik[:, None]).sum(axis=1)
    b_post = float(np.sum(b * weights / weights.sum()))
    k_post = float(np.log1p(-b_post * excess).mean())
    return k_post, -k_post / b_post


def _anderson_darling(excess: np.ndarray, shape: float, scale: float) -> float:
    """Anderson-Darling statistic of ascending exceedances against a GPD(shape, scale)."""
    z = excess / scale
    if abs(shape) < 1e-12:
        cdf = -np.expm1(-z)
    else:
        cdf = 1.0 - np.maximum(1.0 + shape * z, 0.0) ** (-1.0 / shape)
    u = np.clip(cdf, 1e-12, 1.0 - 1e-12)
    n = len(u)
    i = np.arange(1, n + 1)
    return float(-n - np.mean((2 * i - 1) * (np.log(u) + np.log1p(-u[::-1]))))


def fit_gpd_tail(scores: np.ndarray, *, max_exceed: int = 250, min_exceed: int = 50,
                 step: int = 10) -> GPDTail | None:
    """Fit a GPD to the top of a null sample (Knijnenburg et al. 2009's threshold search).

    Parameters
    ----------
    scores
        Null scores, shape ``(n,)``, any order; finite.
    max_exceed, min_exceed, step
        ``N_exc`` starts at ``max_exceed`` and drops by ``step`` while the Anderson-Darling test
        rejects the fit at 5 %, down to ``min_exceed``. ``N_exc`` never exceeds ``n / 4``.

    Returns
    -------
    GPDTail or None
        The first accepted fit, or ``None`` when no ``N_exc`` gives one (too few scores, too many
        ties at the top, or a tail that is not GPD-like).
    """
    top = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    n = len(top)
    for n_exc in range(min(max_exceed, n // 4), min_exceed - 1, -step):
        threshold = 0.5 * (top[n_exc - 1] + top[n_exc])
        excess = top[:n_exc][::-1] - threshold
        if excess[0] <= 0 or len(np.unique(excess)) < n_exc // 2:
            continue  # ties straddle the threshold, or a lattice of scores: no continuous tail
        shape, scale = _zhang_stephens(excess)
        if not (np.isfinite(shape) and np.isfinite(scale) and scale > 0):
            continue
        if shape < 0:  # no end point: the exponential tail (its MLE), conservative for light tails
            shape, scale = 0.0, float(excess.mean())
        critical = float(np.interp(shape, _AD_SHAPES, _AD_CRITICAL))
        if _anderson_darling(excess, shape, scale) <= critical:
            return GPDTail(float(threshold), shape, scale, n_exc, n)
    return None


@dataclass(frozen=True, eq=False)
class ScoreNull:
    """The null distribution of a score: a sorted sample plus its fitted upper tail.

    Attributes
    ----------
    scores
        The null sample, ``float64``, ascending, shape ``(n,)``.
    tail
        The GPD fit to its top, or ``None`` (then p-values stop at ``1 / (n + 1)``).
    """

    scores: np.ndarray
    tail: GPDTail | None

    @classmethod
    def fit(cls, scores: np.ndarray, **tail_options) -> ScoreNull:
        """Sort a null sample (shape ``(n,)``, finite) and fit its tail (:func:`fit_gpd_tail` options)."""
        scores = np.sort(np.asarray(scores, dtype=np.float64))
        if len(scores) == 0 or not np.isfinite(scores).all():
            raise ValueError("a null sample must be non-empty and finite")
        return cls(scores, fit_gpd_tail(scores, **tail_options))

    def log_pvalues(self, x: np.ndarray) -> np.ndarray:
        """Natural log of the upper-tail p-value ``P(S >= x)`` of each score, shape of ``x``.

        Empirical ``(1 + #{null >= x}) / (n + 1)`` while at least ``MIN_COUNT`` null scores reach
        ``x``; beyond, the smaller of that and the fitted tail's (so p decreases with ``x``);
        floored at ``LOG_P_FLOOR``. NaN scores give NaN.
        """
        x = np.asarray(x, dtype=np.float64)
        n = len(self.scores)
        count = n - np.searchsorted(self.scores, x, side="left")
        log_p = np.log1p(count) - np.log(n + 1.0)
        if self.tail is not None:
            beyond = (count < MIN_COUNT) & (x > self.tail.threshold)
            if beyond.any():  # the fit only where it is used: a few scores of millions
                log_p = np.array(log_p, ndmin=1)
                idx = np.flatnonzero(beyond)
                log_p.flat[idx] = np.minimum(log_p.flat[idx], self.tail.log_sf(np.ravel(x)[idx]))
                log_p = log_p.reshape(np.shape(x))
        return np.where(np.isnan(x), np.nan, np.maximum(log_p, LOG_P_FLOOR))

    def pvalues(self, x: np.ndarray) -> np.ndarray:
        """Upper-tail p-values ``P(S >= x)``, shape of ``x`` (see :meth:`log_pvalues`)."""
        return np.exp(self.log_pvalues(x))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The null as plain arrays (for HDF5): ``scores`` and ``tail`` (5 numbers, or none)."""
        t = self.tail
        tail = (np.array([t.threshold, t.shape, t.scale, t.n_exceed, t.n_total], dtype=np.float64)
                if t is not None else np.empty(0))
        return {"scores": self.scores, "tail": tail}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ScoreNull:
        """Inverse of :meth:`to_arrays`."""
        scores = np.asarray(arrays["scores"], dtype=np.float64)
        t = np.asarray(arrays["tail"], dtype=np.float64)
        tail = GPDTail(float(t[0]), float(t[1]), float(t[2]), int(t[3]), int(t[4])) if len(t) else None
        return cls(scores, tail)
