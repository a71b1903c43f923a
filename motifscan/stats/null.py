"""The null of window scores per GC stratum, and genome-wide q-values from p-value counts.

A window's p-value is the upper-tail probability of its score among windows of the same
composition with nothing to find: windows sampled from the genome, each shuffled with its
dinucleotides kept, scored by the same model (:mod:`motifscan.interpret.calibrate` builds them).
Scores depend strongly on a window's GC content, so the null is kept **per GC stratum** (bins of
the window's GC fraction among its non-N bases) and a window is compared with its own stratum's
null (:class:`WindowNull`). Each stratum and task holds a :class:`~motifscan.stats.tail.ScoreNull`:
empirical p-values where the null has mass, a generalized Pareto tail below its resolution.

Scores are compared on the logit scale (:func:`score_statistic`): monotone in the probability a
scan writes, so p-values rank windows as the scores do within a stratum, and unbounded, so the
tail fit does not meet the ceiling of 1 (float32 probabilities round to 1 above a logit of ~16.6:
such windows share the p-value of logit :data:`LOGIT_CEILING`).

Peaks are counted as discoveries (:func:`peak_log_q_table`): windows overlapping a site come in
runs (a 200 bp window at stride 50: four windows per site) while a null window passes alone, so a
false-discovery rate over windows would let about three times as many false *peaks* through. The
q-value of a peak is ``min_{j <= k} t_j m / P(t_j)`` with ``P(t)`` the peaks (merged runs) that
windows with ``p <= t`` make and ``m`` still every window scanned (each could be a false peak): at
most ``Q`` of the peaks called at ``q <= Q`` are expected to be false. ``P(t)`` is known exactly
from the candidate windows (``p <=`` :data:`CANDIDATE_P` or the FDR asked), which a scan holds;
for ``t`` above that, where every q-value is larger anyway, windows stand in for peaks.

Genome-wide Benjamini-Hochberg without holding every window (:class:`PValueCounts`): every
window's ``-log10 p`` falls in a bin of a fixed grid (:data:`BINS_PER_DECADE` bins per decade);
exact integer counts per bin add up over batches and shards in any order, so a sharded scan
gathers the same q-values as the whole scan. The q-value of a window in the bin with upper edge
``t_k`` is ``min_{j <= k} t_j m / R(t_j)`` (``R(t)``: windows with ``p <= t``, ``m``: windows
scanned): never below the exact BH q-value and at most one grid step (a factor
``10 ** (1 / BINS_PER_DECADE)``, 1.2%) above it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numba
import numpy as np

from .tail import MIN_COUNT, ScoreNull

__all__ = [
    "GC_EDGES", "MIN_STRATUM", "LOGIT_CEILING", "MIN_LOG_P", "BINS_PER_DECADE", "MAX_DECADES",
    "score_statistic", "window_gc", "merge_strata", "assign_strata", "WindowNull", "PValueCounts",
    "CANDIDATE_P", "candidate_bin", "peak_log_q_table",
]

#: Default interior edges of the GC strata (window GC fraction): 0.04 wide where most of a
#: mammalian genome lies (a 200 bp window of a 35% isochore spreads +-3.4% around it), so a
#: 35% and a 60% isochore never share a tail; the outer strata catch the extremes.
GC_EDGES: tuple[float, ...] = (0.26, 0.30, 0.34, 0.38, 0.42, 0.46, 0.50, 0.54, 0.58, 0.62, 0.66)
#: A stratum with fewer null windows than this is merged with a neighbour (see :func:`merge_strata`).
MIN_STRATUM = 5000
#: Logit given to probabilities that float32 rounds to 1 (just above the largest float32 below 1).
LOGIT_CEILING = math.log((1 - 2.0**-25) / 2.0**-25)
#: The smallest natural-log p-value given (1e-300): a score beyond a bounded tail's end gets it.
MIN_LOG_P = math.log(1e-300)
#: Grid of ``-log10 p`` for the genome-wide counts: bins per decade, and decades (p down to 1e-400;
#: smaller p-values share the last bin).
BINS_PER_DECADE = 200
MAX_DECADES = 400


def score_statistic(prob: np.ndarray) -> np.ndarray:
    """The logit of scan probabilities (float32 or float64, any shape), in float64."""
    p = np.asarray(prob, dtype=np.float64)
    with np.errstate(divide="ignore"):
        z = np.log(p) - np.log1p(-p)
    return np.clip(z, -745.0, LOGIT_CEILING)


def _window_gc(codes, rows, offsets, window, out):
    # prefix sums of a row, made when its first window comes (windows come row by row)
    L = codes.shape[1]
    gc = np.zeros(L + 1, dtype=np.int32)
    acgt = np.zeros(L + 1, dtype=np.int32)
    current = -1
    for i in range(rows.shape[0]):
        r, o = rows[i], offsets[i]
        if r != current:
            current = r
            for j in range(L):
                c = codes[r, j]
                gc[j + 1] = gc[j] + (1 if c == 1 or c == 2 else 0)
                acgt[j + 1] = acgt[j] + (1 if c < 4 else 0)
        n = acgt[o + window] - acgt[o]
        out[i] = (gc[o + window] - gc[o]) / n if n > 0 else 0.5


try:  # compiled, cached on disk when a cache folder is writable (as motifscan.jit.njit)
    _window_gc_jit = numba.njit(nogil=True, cache=True)(_window_gc)
except RuntimeError:
    _window_gc_jit = numba.njit(nogil=True)(_window_gc)


def window_gc(codes: np.ndarray, rows: np.ndarray, offsets: np.ndarray, window: int) -> np.ndarray:
    """GC fraction among the non-N bases of windows ``codes[rows[i], offsets[i]:offsets[i] + window]``.

    Parameters
    ----------
    codes
        ``uint8`` codes ``(B, L)`` (0-3 ACGT, 4 N).
    rows, offsets
        ``(n,)`` integer row and start column of each window.
    window
        Window length.

    Returns
    -------
    numpy.ndarray
        ``float64`` ``(n,)``; 0.5 for a window of N only. One compiled pass over the windows'
        bases (a scan's windows cost a tenth of a microsecond each).
    """
    out = np.empty(len(rows), dtype=np.float64)
    if len(rows):
        _window_gc_jit(np.ascontiguousarray(codes), np.asarray(rows, dtype=np.int64),
                       np.asarray(offsets, dtype=np.int64), int(window), out)
    return out


def assign_strata(gc: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Stratum of each GC fraction: ``k`` for ``edges[k-1] <= gc < edges[k]`` (``int64``)."""
    return np.searchsorted(np.asarray(edges, dtype=np.float64), np.asarray(gc, dtype=np.float64), side="right")


def merge_strata(edges: Sequence[float], gc: np.ndarray, min_count: int = MIN_STRATUM) -> np.ndarray:
    """Drop edges until every stratum holds at least ``min_count`` of the windows ``gc``.

    The rule: while some stratum is short, take the one with the fewest windows (the lowest GC
    on ties) and merge it with its neighbour with fewer windows (the lower one on ties); stop
    when every stratum has ``min_count`` windows or one stratum is left. Sparse extremes thus join
    the strata next to them, and well-filled strata keep their own tails.

    Returns
    -------
    numpy.ndarray
        The interior edges kept, ``float64``, ascending.
    """
    edges = list(np.sort(np.asarray(edges, dtype=np.float64)))
    counts = list(np.bincount(assign_strata(gc, np.asarray(edges)), minlength=len(edges) + 1))
    while len(counts) > 1 and min(counts) < min_count:
        k = int(np.argmin(counts))
        if k == 0:
            j = 1
        elif k == len(counts) - 1:
            j = k - 1
        else:
            j = k - 1 if counts[k - 1] <= counts[k + 1] else k + 1
        lo = min(j, k)
        counts[lo] += counts[lo + 1]
        del counts[lo + 1]
        del edges[lo]  # the edge between strata lo and lo + 1
    return np.asarray(edges, dtype=np.float64)


#: Buckets of the score range per null: a score's count of null scores above it is searched
#: only among the few null scores of its bucket (about 10 for a stratum of 40,000), not all.
LOOKUP_BUCKETS = 4096


@dataclass(frozen=True)
class _NullLookup:
    """Every (stratum, task) null's sorted scores end to end, with a bucket index over each.

    ``flat[offsets[j]:offsets[j + 1]]`` are null ``j``'s scores (``j = stratum * T + task``);
    ``index[j, k]`` is the insertion point (left) of ``lo[j] + k / inv_h[j]``, the ``k``-th of
    :data:`LOOKUP_BUCKETS` + 1 equal steps from its smallest score to its largest; ``log_n1[j]``
    is ``log(n_j + 1)``.
    """

    flat: np.ndarray
    offsets: np.ndarray
    lo: np.ndarray
    inv_h: np.ndarray
    index: np.ndarray
    log_n1: np.ndarray

    @classmethod
    def build(cls, nulls: Sequence[np.ndarray]) -> "_NullLookup":
        nb = LOOKUP_BUCKETS
        offsets = np.concatenate([[0], np.cumsum([len(x) for x in nulls])]).astype(np.int64)
        lo = np.array([x[0] for x in nulls], dtype=np.float64)
        span = np.array([x[-1] - x[0] for x in nulls], dtype=np.float64)
        inv_h = np.where(span > 0, nb / np.where(span > 0, span, 1.0), 0.0)
        index = np.empty((len(nulls), nb + 1), dtype=np.int64)
        for j, x in enumerate(nulls):
            h = span[j] / nb
            index[j] = np.searchsorted(x, lo[j] + np.arange(nb + 1) * h, side="left")
        log_n1 = np.array([math.log(len(x) + 1.0) for x in nulls])  # as ScoreNull.log_pvalues's
        return cls(np.concatenate(nulls).astype(np.float64), offsets, lo, inv_h, index, log_n1)


def _null_counts(stat, gc, edges, flat, offsets, lo, inv_h, index, stratum, count):
    # count[i, t] = #{null scores of (stratum of gc[i], t) >= stat[i, t]}, as
    # n - np.searchsorted(null, x, side="left") (NaN sorts last: it counts 0)
    n, T = stat.shape
    nb = index.shape[1] - 1
    for i in range(n):
        g = gc[i]
        s = 0
        while s < edges.shape[0] and edges[s] <= g:  # np.searchsorted(edges, g, side="right")
            s += 1
        stratum[i] = s
        for t in range(T):
            j = s * T + t
            a = offsets[j]
            m = offsets[j + 1] - a
            x = stat[i, t]
            if x != x:
                count[i, t] = 0
                continue
            u = (x - lo[j]) * inv_h[j]
            # the insertion point lies in x's bucket; rounding may put x one bucket off
            if inv_h[j] == 0.0:  # every null score equal: no buckets
                k = nb + 2
            elif u < 0.0:
                k = -1
            elif u >= nb:
                k = nb
            else:
                k = int(u)
            left = index[j, k - 1] if 1 <= k <= nb else 0
            right = index[j, k + 2] if k + 2 <= nb else m
            while left < right:
                mid = (left + right) >> 1
                if flat[a + mid] < x:
                    left = mid + 1
                else:
                    right = mid
            count[i, t] = m - left


try:  # compiled, cached on disk when a cache folder is writable (as motifscan.jit.njit)
    _null_counts_jit = numba.njit(nogil=True, cache=True)(_null_counts)
except RuntimeError:
    _null_counts_jit = numba.njit(nogil=True)(_null_counts)


@dataclass(frozen=True)
class WindowNull:
    """One score null per (GC stratum, task).

    Attributes
    ----------
    edges
        Interior stratum edges ``(S - 1,)`` (window GC fraction), ascending.
    tasks
        Task names, ``T``.
    nulls
        ``nulls[s][t]``: the :class:`~motifscan.stats.tail.ScoreNull` of stratum ``s``, task ``t``,
        on the logit scale (:func:`score_statistic`).
    sizes
        Null windows per stratum, ``(S,)``.
    """

    edges: np.ndarray
    tasks: tuple[str, ...]
    nulls: tuple[tuple[ScoreNull, ...], ...]
    sizes: np.ndarray

    @classmethod
    def fit(cls, scores: np.ndarray, gc: np.ndarray, tasks: Sequence[str], *,
            edges: Sequence[float] = GC_EDGES, min_count: int = MIN_STRATUM) -> "WindowNull":
        """Fit from null windows' probabilities ``(n, T)`` and GC fractions ``(n,)``.

        ``edges`` are merged by :func:`merge_strata` with ``min_count``.
        """
        scores = np.asarray(scores)
        if scores.ndim != 2 or scores.shape[1] != len(tasks) or len(gc) != len(scores):
            raise ValueError(f"scores {scores.shape} do not match {len(gc)} GC values and {len(tasks)} tasks")
        kept = merge_strata(edges, gc, min_count)
        stratum = assign_strata(gc, kept)
        stat = score_statistic(scores)
        nulls = []
        sizes = np.bincount(stratum, minlength=len(kept) + 1)
        for s in range(len(kept) + 1):
            sel = stratum == s
            nulls.append(tuple(ScoreNull.fit(stat[sel, t]) for t in range(len(tasks))))
        return cls(kept, tuple(tasks), tuple(nulls), sizes.astype(np.int64))

    @property
    def n_strata(self) -> int:
        return len(self.edges) + 1

    def stratum_labels(self) -> list[str]:
        """``"GC < 0.30"``, ``"0.30 <= GC < 0.34"`` ... one per stratum (for logs and plots)."""
        e = [f"{x:.2f}" for x in self.edges]
        if not e:
            return ["all GC"]
        return [f"GC < {e[0]}"] + [f"{a} <= GC < {b}" for a, b in zip(e, e[1:])] + [f"GC >= {e[-1]}"]

    def log_pvalues(self, scores: np.ndarray, gc: np.ndarray) -> np.ndarray:
        """Natural logs of the p-values of windows with probabilities ``(n, T)`` and GC ``(n,)``.

        ``P(S >= s)`` under the window's stratum's null, per task: ``float64`` ``(n, T)``, ``<= 0``.
        """
        scores = np.asarray(scores)
        if scores.ndim != 2 or scores.shape[1] != len(self.tasks):
            raise ValueError(f"scores {scores.shape} do not have {len(self.tasks)} task columns")
        out = np.empty(scores.shape, dtype=np.float64)
        if not len(scores):
            return out
        stat = score_statistic(scores)
        # ScoreNull.log_pvalues's empirical p where MIN_COUNT null scores reach x (most windows),
        # counted by one compiled pass; the rest through the tail fit
        T = len(self.tasks)
        look = self._lookup
        stratum = np.empty(len(stat), dtype=np.int64)
        count = np.empty(stat.shape, dtype=np.int64)
        _null_counts_jit(stat, np.asarray(gc, dtype=np.float64), self.edges, look.flat, look.offsets, look.lo,
                         look.inv_h, look.index, stratum, count)
        out = np.log1p(count) - look.log_n1.reshape(self.n_strata, T)[stratum]
        few = count < MIN_COUNT
        if few.any():
            rows, cols = np.nonzero(few)
            for s, t in {(int(stratum[r]), int(c)) for r, c in zip(rows, cols)}:
                sel = rows[(stratum[rows] == s) & (cols == t)]
                out[sel, t] = self.nulls[s][t].log_pvalues(stat[sel, t])
        return np.clip(out, MIN_LOG_P, 0.0)

    @functools.cached_property
    def _lookup(self) -> "_NullLookup":
        return _NullLookup.build([null.scores for row in self.nulls for null in row])

    def digest(self) -> str:
        """sha256 of the null's arrays and tasks (the same null gives the same digest)."""
        import hashlib

        h = hashlib.sha256("\t".join(self.tasks).encode())
        for key, value in sorted(self.to_arrays().items()):
            h.update(key.encode())
            h.update(np.ascontiguousarray(value).tobytes())
        return h.hexdigest()

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays (for HDF5): ``edges``, ``sizes`` and ``s{S}/t{T}/...`` of each null."""
        d: dict[str, np.ndarray] = {"edges": self.edges, "sizes": self.sizes}
        for s, row in enumerate(self.nulls):
            for t, null in enumerate(row):
                for key, value in null.to_arrays().items():
                    d[f"s{s}/t{t}/{key}"] = np.asarray(value)
        return d

    @classmethod
    def from_arrays(cls, d: dict[str, np.ndarray], tasks: Sequence[str]) -> "WindowNull":
        """Inverse of :meth:`to_arrays`."""
        edges = np.asarray(d["edges"], dtype=np.float64)
        nulls = []
        for s in range(len(edges) + 1):
            row = []
            for t in range(len(tasks)):
                prefix = f"s{s}/t{t}/"
                row.append(ScoreNull.from_arrays({k[len(prefix):]: v for k, v in d.items() if k.startswith(prefix)}))
            nulls.append(tuple(row))
        return cls(edges, tuple(tasks), tuple(nulls), np.asarray(d["sizes"], dtype=np.int64))


N_BINS = BINS_PER_DECADE * MAX_DECADES + 1


class PValueCounts:
    """Counts of windows per bin of ``-log10 p``, per task, for genome-wide BH q-values.

    Bin ``k`` holds ``k / R <= -log10 p < (k + 1) / R`` (``R`` = :data:`BINS_PER_DECADE`), the
    last bin everything smaller; its upper p edge is ``t_k = 10 ** (-k / R)``. Counts are exact
    integers: counts of shards add up to those of the whole scan (:meth:`add_counts`).

    Parameters
    ----------
    n_tasks
        Task columns counted.
    """

    def __init__(self, n_tasks: int) -> None:
        self.counts = np.zeros((n_tasks, N_BINS), dtype=np.int64)

    @staticmethod
    def bins(log_p: np.ndarray) -> np.ndarray:
        """The bin of each natural-log p-value (``int64``, same shape)."""
        x = -np.asarray(log_p, dtype=np.float64) * (BINS_PER_DECADE / math.log(10))
        return np.clip(np.floor(np.nan_to_num(x, posinf=N_BINS)), 0, N_BINS - 1).astype(np.int64)

    def add(self, log_p: np.ndarray) -> None:
        """Count windows with natural-log p-values ``(n, T)``."""
        if not len(log_p):
            return
        b = self.bins(log_p)
        for t in range(self.counts.shape[0]):
            self.counts[t] += np.bincount(b[:, t], minlength=N_BINS)

    def add_counts(self, counts: np.ndarray) -> None:
        """Add another scan part's counts ``(T, N_BINS)``."""
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape != self.counts.shape:
            raise ValueError(f"p-value counts of shape {counts.shape}, expected {self.counts.shape}")
        self.counts += counts

    @property
    def total(self) -> np.ndarray:
        """Windows counted, per task (the BH family size ``m``)."""
        return self.counts.sum(axis=1)

    def log_q_table(self) -> np.ndarray:
        """Natural-log q-value of each bin, per task: ``(T, N_BINS)``, ``<= 0``.

        ``log q_k = min(0, min_{j <= k} log t_j + log m - log R_j)`` with ``R_j`` the windows in
        bins ``>= j``; bins no window reaches only inherit the minimum (never looked up).
        """
        T = self.counts.shape[0]
        out = np.zeros((T, N_BINS))
        log_t = -np.arange(N_BINS) * (math.log(10) / BINS_PER_DECADE)
        for t in range(T):
            r = np.cumsum(self.counts[t][::-1])[::-1]
            m = r[0]
            if m == 0:
                continue
            with np.errstate(divide="ignore"):
                step = log_t + math.log(m) - np.log(r)  # +inf where no window lies at or below t_j
            out[t] = np.minimum(np.minimum.accumulate(step), 0.0)
        return out

    def log_qvalues(self, log_p: np.ndarray, table: np.ndarray | None = None) -> np.ndarray:
        """Natural-log q-values of windows with natural-log p-values ``(n, T)`` (counted already)."""
        table = self.log_q_table() if table is None else table
        b = self.bins(log_p)
        return np.stack([table[t][b[:, t]] for t in range(b.shape[1])], axis=1) if len(b) else np.zeros(b.shape)


#: Windows with p-values at most this (or the FDR asked, if larger) are held as candidates of
#: peaks: peak-level q-values below it are exact.
CANDIDATE_P = 0.05


def candidate_bin(fdr: float | None) -> int:
    """The first grid bin whose windows are all candidates: ``t_k <= max(fdr, CANDIDATE_P)``."""
    cap = max(fdr or 0.0, CANDIDATE_P)
    return int(math.ceil(-math.log10(cap) * BINS_PER_DECADE - 1e-9))


def _linked_bins(bins: np.ndarray, chrom: np.ndarray, start: np.ndarray, window: int) -> np.ndarray:
    """For each window, the largest bin among earlier windows of its chromosome starting within
    ``window`` before it (-1 if none): window ``j`` extends an earlier peak at levels up to it."""
    n = len(bins)
    linked = np.full(n, -1, dtype=np.int64)
    lag = 1
    while lag < n:
        near = (chrom[lag:] == chrom[:-lag]) & (start[lag:] - start[:-lag] <= window)
        if not near.any():
            break
        idx = np.flatnonzero(near) + lag
        linked[idx] = np.maximum(linked[idx], bins[idx - lag])
        lag += 1
    return linked


def peak_log_q_table(window_counts: np.ndarray, bins: np.ndarray, chrom: np.ndarray, start: np.ndarray,
                     window: int, first_bin: int) -> np.ndarray:
    """Natural-log q-value of each grid bin, with peaks counted as discoveries.

    Parameters
    ----------
    window_counts
        ``(N_BINS,)`` windows per bin over the whole scan (:class:`PValueCounts`, one task).
    bins, chrom, start
        ``(n,)`` bin, chromosome id and start of every candidate window (all windows of bins
        ``>= first_bin``, maybe more), in genome order.
    window
        Window length: windows starting ``<= window`` apart join one peak.
    first_bin
        Bins from here on are all among the candidates (:func:`candidate_bin`).

    Returns
    -------
    numpy.ndarray
        ``(N_BINS,)`` ``log q_k = min(0, min_{j <= k} log t_j + log m - log P_j)``; ``P_j`` the
        peaks of windows in bins ``>= j`` (bins ``>= first_bin``), else the windows.
    """
    r = np.cumsum(window_counts[::-1])[::-1].astype(np.float64)
    m = r[0]
    if m == 0:
        return np.zeros(N_BINS)
    keep = bins >= first_bin
    b = bins[keep]
    linked = _linked_bins(b, chrom[keep], start[keep], window)
    # window j starts a peak at levels k with linked_j < k <= bin_j
    diff = np.zeros(N_BINS + 1, dtype=np.int64)
    lo = np.maximum(linked + 1, first_bin)
    ok = lo <= b
    np.add.at(diff, lo[ok], 1)
    np.add.at(diff, b[ok] + 1, -1)
    peaks = np.cumsum(diff[:-1]).astype(np.float64)
    count = np.where(np.arange(N_BINS) >= first_bin, peaks, r)
    log_t = -np.arange(N_BINS) * (math.log(10) / BINS_PER_DECADE)
    with np.errstate(divide="ignore"):
        step = log_t + math.log(m) - np.log(count)
    return np.minimum(np.minimum.accumulate(step), 0.0)
