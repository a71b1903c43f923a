"""Zoom records of a bigWig (min, max, sum, sum of squares per bin) and its totals, in compiled passes.

The records are those :mod:`motifscan.io.bigwig` always wrote with numpy (``np.add.reduceat``
and friends), bit for bit: each bin's sums are float64, added in numpy's order (a segment's first
value, then numpy's pairwise sum of the rest: 8 accumulators over blocks of up to 128 values),
and stored as float32. One compiled pass replaces a dozen numpy passes and their temporaries,
which cost more than deflating the blocks.

A record is 32 bytes (``ZOOM_DTYPE``): chromosome id, start, end, bases covered (uint32), then
min, max, sum and sum of squares (float32); the kernels see a record array as two ``(n, 8)``
views of it, as uint32 and as float32.
"""

from __future__ import annotations

import numpy as np

from ..jit import njit

__all__ = ["ZOOM_DTYPE", "add_totals", "bin_values", "concat_records", "merge_bins"]

ZOOM_DTYPE = np.dtype([("chrom", "<u4"), ("start", "<u4"), ("end", "<u4"), ("count", "<u4"),
                       ("min", "<f4"), ("max", "<f4"), ("sum", "<f4"), ("sumsq", "<f4")])


def bin_values(tids: np.ndarray, starts: np.ndarray, counts: np.ndarray, span: int, step: int, v: np.ndarray,
               reduction: int) -> np.ndarray:
    """Zoom records of fixed-step runs of intervals, per bin of ``reduction`` bases.

    Parameters
    ----------
    tids, starts, counts
        Run ``j`` holds ``counts[j]`` intervals ``[starts[j] + i * step, ... + span)`` of
        chromosome id ``tids[j]`` (``(R,)`` integers; runs in order, no interval before the last).
    span, step
        Interval length and step: ``span <= step`` and ``span <= reduction``; an interval that
        reaches into the next bin is cut in two there (its value counted in both, for the bases
        in each).
    v
        ``float64`` values of the runs' intervals end to end ``(counts.sum(),)``.
    reduction
        Bin width in bases.

    Returns
    -------
    numpy.ndarray
        ``ZOOM_DTYPE`` records, one per (chromosome, bin) with values, in order; start and end
        are those of the first and last piece in the bin.
    """
    out = np.empty(2 * len(v), ZOOM_DTYPE)
    n = _bin_values(np.asarray(tids, np.int64), np.asarray(starts, np.int64), np.asarray(counts, np.int64),
                    span, step, v, reduction, *_views(out))
    return out[:n]


def merge_bins(rec: np.ndarray, reduction: int) -> np.ndarray:
    """Zoom records ``rec`` (in order) merged per bin of ``reduction`` bases and chromosome."""
    rec = np.ascontiguousarray(rec)
    out = np.empty(len(rec), ZOOM_DTYPE)
    n = _merge_bins(*_views(rec), reduction, *_views(out))
    return out[:n]


def concat_records(parts: list[np.ndarray]) -> np.ndarray:
    """``np.concatenate`` of ``ZOOM_DTYPE`` arrays, as words: numpy promotes structured dtypes
    field by field in Python (~40 us a call, and the writer makes one per zoom level per batch)."""
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([np.ascontiguousarray(p).view(np.uint32) for p in parts]).view(ZOOM_DTYPE)


def add_totals(stats: np.ndarray, tids: np.ndarray, counts: np.ndarray, span: int, v: np.ndarray) -> None:
    """Add runs' values to ``stats`` (bases covered, min, max, sum, sum of squares; float64 ``(5,)``).

    Sums are taken per chromosome (runs of one id in a row) and added to the totals one
    chromosome at a time, so the totals do not depend on how whole chromosomes are grouped into
    calls (a draft assembly's scaffolds are written in batches whose bounds follow the scan's).
    """
    _add_totals(stats, np.asarray(tids, np.int64), np.asarray(counts, np.int64), span, v)


def _views(rec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return rec.view(np.uint32).reshape(-1, 8), rec.view(np.float32).reshape(-1, 8)


@njit
def _pairwise(x, lo, n):  # pragma: no cover - compiled
    # numpy's pairwise_sum of x[lo:lo + n] (numpy/_core/src/umath/loops_utils.h.src), same order
    if n < 8:
        res = -0.0  # keeps a sum of -0.0 values -0.0, as numpy does
        for i in range(lo, lo + n):
            res += x[i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = x[lo], x[lo + 1], x[lo + 2], x[lo + 3]
        r4, r5, r6, r7 = x[lo + 4], x[lo + 5], x[lo + 6], x[lo + 7]
        i = 8
        while i < n - n % 8:
            j = lo + i
            r0 += x[j]
            r1 += x[j + 1]
            r2 += x[j + 2]
            r3 += x[j + 3]
            r4 += x[j + 4]
            r5 += x[j + 5]
            r6 += x[j + 6]
            r7 += x[j + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += x[lo + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(x, lo, n2) + _pairwise(x, lo + n2, n - n2)


@njit
def _segment_sum(x, lo, hi):  # pragma: no cover - compiled
    # np.add.reduceat's value for the segment x[lo:hi] (hi > lo): its first value plus the
    # pairwise sum of the others
    if hi - lo == 1:
        return x[lo]
    return x[lo] + _pairwise(x, lo + 1, hi - lo - 1)


@njit
def _less(a, b):  # pragma: no cover - compiled
    # np.minimum's choice of a over b (a NaN wins; of equal values the later one)
    return a < b or a != a


@njit
def _bin_values(tids, starts, counts, span, step, v, reduction, out_u, out_f):  # pragma: no cover - compiled
    # one pass: each interval cut where it reaches into the next bin, its pieces gathered per
    # (chromosome, bin) into a buffer, whose sums are then added in numpy's order; one integer
    # division per bin, not per value (a bin holds ~16 values)
    wv = np.empty(len(v) + 1, np.float64)  # the bin's pieces: value * width, value^2 * width
    wvv = np.empty(len(v) + 1, np.float64)
    r = 0
    k = 0  # pieces in the bin being filled
    tid = 0
    bin_lo = bin_hi = first = last = 0
    mn = mx = 0.0
    cov = 0
    o = 0
    for j in range(len(tids)):
        t = tids[j]
        for i in range(counts[j]):
            lo = starts[j] + i * step
            hi = lo + span
            x = v[o]
            o += 1
            while lo < hi:
                if k == 0 or t != tid or lo >= bin_hi or lo < bin_lo:
                    if k:
                        _put(out_u, out_f, r, tid, first, last, cov, mn, mx, wv, wvv, k)
                        r += 1
                    tid = t
                    bin_lo = lo // reduction * reduction
                    bin_hi = bin_lo + reduction
                    first, k, cov, mn, mx = lo, 0, 0, x, x
                end = min(hi, bin_hi)
                w = float(end - lo)
                wv[k] = x * w
                wvv[k] = wv[k] * x
                k += 1
                cov += end - lo
                if not _less(mn, x):
                    mn = x
                if not _less(-mx, -x):  # np.maximum's choice, mirrored
                    mx = x
                last = end
                lo = end
    if k:
        _put(out_u, out_f, r, tid, first, last, cov, mn, mx, wv, wvv, k)
        r += 1
    return r


@njit
def _put(out_u, out_f, r, tid, start, end, cov, mn, mx, wv, wvv, k):  # pragma: no cover - compiled
    out_u[r, 0] = tid
    out_u[r, 1] = start
    out_u[r, 2] = end
    out_u[r, 3] = cov
    out_f[r, 4] = mn
    out_f[r, 5] = mx
    out_f[r, 6] = _segment_sum(wv, 0, k)
    out_f[r, 7] = _segment_sum(wvv, 0, k)


@njit
def _merge_bins(in_u, in_f, reduction, out_u, out_f):  # pragma: no cover - compiled
    n = in_u.shape[0]
    s = np.empty(n, np.float64)
    sq = np.empty(n, np.float64)
    for i in range(n):
        s[i] = in_f[i, 6]
        sq[i] = in_f[i, 7]
    r = 0
    lo = 0
    while lo < n:
        key = np.int64(in_u[lo, 1]) // reduction
        hi = lo + 1
        while hi < n and np.int64(in_u[hi, 1]) // reduction == key and in_u[hi, 0] == in_u[lo, 0]:
            hi += 1
        end, cov = in_u[lo, 2], np.uint64(0)
        mn, mx = in_f[lo, 4], in_f[lo, 5]
        for i in range(lo, hi):
            end = max(end, in_u[i, 2])
            cov += np.uint64(in_u[i, 3])
            if not _less(mn, in_f[i, 4]):
                mn = in_f[i, 4]
            if not _less(-mx, -in_f[i, 5]):
                mx = in_f[i, 5]
        out_u[r, 0] = in_u[lo, 0]
        out_u[r, 1] = in_u[lo, 1]
        out_u[r, 2] = end
        out_u[r, 3] = np.uint32(cov & np.uint64(0xFFFFFFFF))
        out_f[r, 4] = mn
        out_f[r, 5] = mx
        out_f[r, 6] = _segment_sum(s, lo, hi)
        out_f[r, 7] = _segment_sum(sq, lo, hi)
        r += 1
        lo = hi
    return r


@njit
def _add_totals(stats, tids, counts, span, v):  # pragma: no cover - compiled
    o = 0
    j = 0
    while j < len(tids):
        lo = o
        while True:  # the runs of this chromosome
            o += counts[j]
            j += 1
            if j == len(tids) or tids[j] != tids[j - 1]:
                break
        s = ss = 0.0
        for i in range(lo, o):
            x = v[i]
            s += x
            ss += x * x
            if x < stats[1]:
                stats[1] = x
            if x > stats[2]:
                stats[2] = x
        stats[0] += span * (o - lo)
        stats[3] += span * s
        stats[4] += span * ss
