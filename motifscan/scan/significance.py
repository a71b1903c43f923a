"""p-values and genome-wide q-values of a window scan against a null (``scan --null`` / ``--fdr``).

:class:`WindowSignificance` gives each batch's windows their p-values (their GC fraction picks
the stratum of the :class:`~motifscan.stats.null.WindowNull`), counts every window's p-value on
the fixed grid of :class:`~motifscan.stats.null.PValueCounts` (the Benjamini-Hochberg family is
every window scanned), and, once the scan is done, turns p-values into q-values. A shard hands
its counts and candidate windows to gather (:func:`gather_significant_peaks`): their sums are the
whole scan's, so gathered peaks, q-values included, equal the unsharded scan's byte for byte.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

from ..atomic import atomic_open
from ..errors import InputError
from ..io.peaks import PeakCandidates, read_sidecar, sidecar_path, write_significant_peaks
from ..stats.null import PValueCounts, WindowNull, candidate_bin, peak_log_q_table, window_gc
from .batching import Batch
from .model_scan import WindowScores

__all__ = ["WindowSignificance", "mlog10", "peak_log_q", "gather_significant_peaks", "has_sidecars"]


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


def has_sidecars(peaks: Sequence[str | os.PathLike]) -> bool:
    """Whether shard peak files carry p-values for gather (all do, or none: else one clear line)."""
    there = [sidecar_path(p).exists() for p in peaks]
    if any(there) and not all(there):
        missing = peaks[there.index(False)]
        raise InputError("this shard has no peak p-values but others have (shards of one scan?)", path=missing,
                         hint="scan every shard with the same --null/--fdr")
    return bool(there) and all(there)


def gather_significant_peaks(peaks: Sequence[str | os.PathLike], out: str | os.PathLike) -> int:
    """Peaks of shards ``1..N`` (scanned with a null) from their sidecars, as the unsharded scan writes them.

    The p-value counts of the shards add up to the whole scan's and their candidate windows,
    in shard order, are the whole scan's: the same peaks, p- and q-values, byte for byte.
    Returns the number of peaks.
    """
    sides = [read_sidecar(sidecar_path(p)) for p in peaks]
    first = sides[0]
    for p, s in zip(peaks, sides):
        if (s.window, s.threshold, s.fdr, s.counts.shape) != (first.window, first.threshold, first.fdr,
                                                              first.counts.shape):
            raise InputError("its window, threshold or FDR differs from the first shard's (shards of one scan?)",
                             path=sidecar_path(p))
    counts = np.sum([s.counts for s in sides], axis=0)
    c = PeakCandidates.concat([s.candidates for s in sides])
    with atomic_open(out, "w") as fh:
        return write_significant_peaks(fh, c, peak_log_q(counts, first.window, first.fdr), first.window,
                                       threshold=first.threshold, fdr=first.fdr)
