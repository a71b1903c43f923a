"""Multiple testing: Benjamini-Hochberg q-values.

A q-value is the smallest false-discovery rate at which a test is called significant under the
Benjamini-Hochberg (1995) step-up procedure: ``q_(i) = min_{j >= i} p_(j) m / j`` over the p-values
sorted ascending. The family size ``m`` can exceed the number of p-values given (tests that were
run but whose p-values are not kept, e.g. windows below a reporting cut-off, all have p-values
larger than those given), which is why it is a parameter.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bh_qvalues", "bh_log_qvalues"]


def bh_log_qvalues(log_p: np.ndarray, m: int | None = None) -> np.ndarray:
    """Benjamini-Hochberg q-values in log space (any base-e log p-values, even below 1e-308).

    Parameters
    ----------
    log_p
        Natural logs of p-values, shape ``(n,)``; ``-inf`` (p = 0) is allowed, NaN is not.
    m
        The family size, ``>= n`` (default ``n``): the number of tests run. Tests not given are
        taken to have p-values above every given one.

    Returns
    -------
    numpy.ndarray
        ``float64`` natural logs of the q-values, shape ``(n,)``, in the input order, each ``<= 0``.
    """
    log_p = np.asarray(log_p, dtype=np.float64)
    n = len(log_p)
    if m is None:
        m = n
    if m < n:
        raise ValueError(f"family size m={m} is smaller than the {n} p-values given")
    if np.isnan(log_p).any():
        raise ValueError("NaN p-value")
    if n == 0:
        return np.empty(0)
    order = np.argsort(log_p, kind="stable")
    ranks = np.arange(1, n + 1, dtype=np.float64)
    step = log_p[order] + np.log(m) - np.log(ranks)
    # step-up: the running minimum from the largest p-value down
    step = np.minimum.accumulate(step[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(step, 0.0)
    return out


def bh_qvalues(p: np.ndarray, m: int | None = None) -> np.ndarray:
    """Benjamini-Hochberg q-values.

    Parameters
    ----------
    p
        p-values in ``[0, 1]``, shape ``(n,)``.
    m
        The family size, ``>= n`` (default ``n``); see :func:`bh_log_qvalues`.

    Returns
    -------
    numpy.ndarray
        ``float64`` q-values in ``[0, 1]``, shape ``(n,)``, in the input order.
    """
    p = np.asarray(p, dtype=np.float64)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    with np.errstate(divide="ignore"):
        return np.exp(bh_log_qvalues(np.log(p), m))
