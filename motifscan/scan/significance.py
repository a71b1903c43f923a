"""p-values and genome-wide q-values of a window scan against a null (``scan --null`` / ``--fdr``).

:class:`WindowSignificance` gives each batch's windows their p-values (their GC fraction picks
the stratum of the :class:`~motifscan.stats.null.WindowNull`), counts every window's p-value on
the fixed grid of :class:`~motifscan.stats.null.PValueCounts` (the Benjamini-Hochberg family is
every window scanned), and, once the scan is done, turns p-values into q-values. A shard hands
its counts to gather (:mod:`motifscan.scan.gather_null`), whose sum is the whole scan's.
"""

from __future__ import annotations

import math

import numpy as np

from ..io.peaks import PeakCandidates
from ..stats.null import PValueCounts, WindowNull, candidate_bin, peak_log_q_table, window_gc
from .batching import Batch
from .model_scan import WindowScores

__all__ = ["WindowSignificance", "mlog10", "peak_log_q"]


def mlog10(log_p: np.ndarray) -> np.ndarray:
    """``-log10 p`` as float32 (a track value) from natural-log p-values."""
    return (-np.asarray(log_p) / math.log(10)).astype(np.float32) + np.float32(0.0)


class WindowSignificance:
    """p-values of scanned windows, and the counts behind their q-values.

    Parameters
    ----------
    null
        The null (its tasks must be the model's, in order).
    window
        The scan's window length.
    """

    def __init__(self, null: WindowNull, window: int) -> None:
        self.null, self.window = null, window
        self.counts = PValueCounts(len(null.tasks))

    def annotate(self, batch: Batch, ws: WindowScores) -> WindowScores:
        """Set ``ws.log_p`` ``(n, T)`` and count the windows."""
        gc = window_gc(batch.host_codes, ws.row, ws.start - batch.starts[ws.row], self.window)
        ws.log_p = self.null.log_pvalues(ws.score, gc)
        self.counts.add(ws.log_p)
        return ws

    def candidate(self, fdr: float | None):
        """``f(log_p) -> bool``: the windows a peak writer holds for the q-values."""
        first = candidate_bin(fdr)
        return lambda log_p: PValueCounts.bins(log_p) >= first

    def peak_log_q(self, column: int, fdr: float | None):
        """``f(candidates) -> log_q``: each candidate's peak-level q-value (call it once the scan is done)."""
        return peak_log_q(self.counts.counts[column], self.window, fdr)


def peak_log_q(window_counts: np.ndarray, window: int, fdr: float | None):
    """``f(candidates) -> log_q`` from one task's p-value counts over the whole scan (or its shards)."""
    first = candidate_bin(fdr)

    def f(c: PeakCandidates) -> np.ndarray:
        bins = PValueCounts.bins(c.log_p)
        return peak_log_q_table(window_counts, bins, c.chrom, c.start, window, first)[bins]
    return f
