"""Zoom records of a bigWig (min, max, sum, sum of squares per bin) and its totals, in compiled passes.

The records are those :mod:`motifscan.io.bigwig` always wrote with numpy (``np.add.reduceat``
and friends), bit for bit: each bin's sums are float64, added in numpy's order (a segment's first
value, then numpy's pairwise sum of the rest: 8 accumulators over blocks of up to 128 values),
and stored as float32. One compiled pass replaces a dozen numpy passes and their temporaries,
which cost more than deflating the blocks.

A record is 32 bytes (``ZOOM_DTYPE``): chromosome id, start, end, bases covered (uint32), then
min, max, sum and sum of squares (float32); the kernels see a record array as two ``(n, 8)``
views of it, as uint32 and as float32.

The values come as the track's float32 (or as float64) and are widened one at a time inside the
passes: no float64 copy of a batch (which, with its square, was most of the totals' cost).
"""

from __future__ import annotations

import numpy as np

from ..jit import njit

__all__ = ["ZOOM_DTYPE", "add_totals", "bin_values", "concat_records", "merge_bins", "run_totals"]

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
        ``float32`` or ``float64`` values of the runs' intervals end to end ``(counts.sum(),)``
        (summed as float64 either way).
    reduction
        Bin width in bases.

    Returns
    -------
    numpy.ndarray
        ``ZOOM_DTYPE`` records, one per (chromosome, bin) with values, in order; start and end
        are those of the first and last piece in the bin.
    """
    tids, starts, counts = (np.asarray(x, np.int64) for x in (tids, starts, counts))
    # at most one record per bin a run reaches (and never more than two pieces per value): the
    # output sized so, not at two records per value (4 MB a batch, mostly untouched)
    bins = int(((counts - 1) * step + span + 2 * reduction - 1).sum()) // reduction + len(counts)
    out = np.empty(min(2 * len(v), bins), ZOOM_DTYPE)
    n = _bin_values(tids, starts, counts, span, step, _float_values(v), reduction, *_views(out))
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
    ``v``: float32 or float64, summed as float64.
    """
    _add_totals(stats, np.asarray(tids, np.int64), np.asarray(counts, np.int64), span, _float_values(v))


def run_totals(v: np.ndarray) -> tuple[float, float, float, float]:
    """``min, max, sum, sum of squares`` of ``w = v.astype(np.float64)`` as numpy gives them
    (``w.min()``, ``w.max()``, ``w.sum()``, ``(w * w).sum()``: pairwise sums in numpy's order, a
    NaN min or max when a value is NaN), in compiled passes over ``v`` (float32 or float64, ``n > 0``)
    without the two float64 copies. Of a +0 and a -0 either may be the min or max (as in numpy,
    whose choice depends on the CPU's vector width)."""
    v = _float_values(v)
    mn, mx = _min_max(v)
    s, sq = _pairwise(v, 0, len(v), False), _pairwise(v, 0, len(v), True)
    return mn, mx, 0.0 + s, 0.0 + sq  # numpy's reduction starts from add's identity (+0: a sum of -0s is +0)


def _float_values(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v)
    return np.ascontiguousarray(v, v.dtype if v.dtype in (np.float32, np.float64) else np.float64)


def _views(rec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return rec.view(np.uint32).reshape(-1, 8), rec.view(np.float32).reshape(-1, 8)


@njit
def _term(v, squares):  # pragma: no cover - compiled
    y = np.float64(v)
    return y * y if squares else y


@njit
def _pairwise_block(x, lo, n, squares):  # pragma: no cover - compiled
    # numpy's pairwise_sum of float64(x[lo:lo + n]) (of their squares with ``squares``) for
    # n <= 128 (the loop, no recursion: inlined in the binning's per-bin sums)
    if n < 8:
        res = -0.0  # keeps a sum of -0.0 values -0.0, as numpy does
        for i in range(lo, lo + n):
            res += _term(x[i], squares)
        return res
    r0, r1, r2, r3 = (_term(x[lo], squares), _term(x[lo + 1], squares), _term(x[lo + 2], squares),
                      _term(x[lo + 3], squares))
    r4, r5, r6, r7 = (_term(x[lo + 4], squares), _term(x[lo + 5], squares), _term(x[lo + 6], squares),
                      _term(x[lo + 7], squares))
    i = 8
    while i < n - n % 8:
        j = lo + i
        r0 += _term(x[j], squares)
        r1 += _term(x[j + 1], squares)
        r2 += _term(x[j + 2], squares)
        r3 += _term(x[j + 3], squares)
        r4 += _term(x[j + 4], squares)
        r5 += _term(x[j + 5], squares)
        r6 += _term(x[j + 6], squares)
        r7 += _term(x[j + 7], squares)
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += _term(x[lo + i], squares)
        i += 1
    return res


@njit
def _pairwise(x, lo, n, squares):  # pragma: no cover - compiled
    # numpy's pairwise_sum of float64(x[lo:lo + n]) or of their squares
    # (numpy/_core/src/umath/loops_utils.h.src), same order
    if n <= 128:
        return _pairwise_block(x, lo, n, squares)
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(x, lo, n2, squares) + _pairwise(x, lo + n2, n - n2, squares)


@njit
def _min_max(v):  # pragma: no cover - compiled
    # np.min / np.max of float64(v): a NaN anywhere is the answer. Eight running minima and maxima
    # taken by selects (no branch to mispredict on random scores), NaNs noted apart
    n = len(v)
    m = n - n % 8
    lo0 = lo1 = lo2 = lo3 = lo4 = lo5 = lo6 = lo7 = np.inf
    hi0 = hi1 = hi2 = hi3 = hi4 = hi5 = hi6 = hi7 = -np.inf
    nan = False
    for i in range(0, m, 8):
        x0, x1, x2, x3 = np.float64(v[i]), np.float64(v[i + 1]), np.float64(v[i + 2]), np.float64(v[i + 3])
        x4, x5, x6, x7 = np.float64(v[i + 4]), np.float64(v[i + 5]), np.float64(v[i + 6]), np.float64(v[i + 7])
        lo0 = x0 if x0 < lo0 else lo0
        lo1 = x1 if x1 < lo1 else lo1
        lo2 = x2 if x2 < lo2 else lo2
        lo3 = x3 if x3 < lo3 else lo3
        lo4 = x4 if x4 < lo4 else lo4
        lo5 = x5 if x5 < lo5 else lo5
        lo6 = x6 if x6 < lo6 else lo6
        lo7 = x7 if x7 < lo7 else lo7
        hi0 = x0 if x0 > hi0 else hi0
        hi1 = x1 if x1 > hi1 else hi1
        hi2 = x2 if x2 > hi2 else hi2
        hi3 = x3 if x3 > hi3 else hi3
        hi4 = x4 if x4 > hi4 else hi4
        hi5 = x5 if x5 > hi5 else hi5
        hi6 = x6 if x6 > hi6 else hi6
        hi7 = x7 if x7 > hi7 else hi7
        nan |= (x0 != x0) | (x1 != x1) | (x2 != x2) | (x3 != x3) | (x4 != x4) | (x5 != x5) | (x6 != x6) | (x7 != x7)
    mn = min(min(min(lo0, lo1), min(lo2, lo3)), min(min(lo4, lo5), min(lo6, lo7)))
    mx = max(max(max(hi0, hi1), max(hi2, hi3)), max(max(hi4, hi5), max(hi6, hi7)))
    for i in range(m, n):
        x = np.float64(v[i])
        mn = x if x < mn else mn
        mx = x if x > mx else mx
        nan |= x != x
    if nan:
        return np.nan, np.nan
    return mn, mx


@njit
def _segment_sum(x, lo, hi):  # pragma: no cover - compiled
    # np.add.reduceat's value for the segment x[lo:hi] (hi > lo): its first value plus the
    # pairwise sum of the others
    if hi - lo == 1:
        return x[lo]
    if hi - lo <= 129:
        return x[lo] + _pairwise_block(x, lo + 1, hi - lo - 1, False)
    return x[lo] + _pairwise(x, lo + 1, hi - lo - 1, False)


@njit
def _less(a, b):  # pragma: no cover - compiled
    # np.minimum's choice of a over b (a NaN wins; of equal values the later one); no branch, so
    # a pick by it compiles to a select (random scores would mispredict a branch)
    return (a < b) | (a != a)


@njit
def _bin_values(tids, starts, counts, span, step, v, reduction, out_u, out_f):  # pragma: no cover - compiled
    # one pass: each interval cut where it reaches into the next bin, its pieces (value * width,
    # value^2 * width) summed per (chromosome, bin) in numpy's order as they come: the bin's first
    # piece apart, the others in groups of 8 added into 8 lanes (pairwise_sum's loop), the last
    # partial group kept to be added after the lanes. A bin of over 129 pieces (not at the writer's
    # 16 values a bin) is summed from its buffered pieces by the recursive pairwise sum. One integer
    # division per bin, not per value; the min and max by selects (no branch on random scores)
    wv = np.empty(min(len(v), reduction) + 2, np.float64)  # every piece of the bin
    wvv = np.empty(min(len(v), reduction) + 2, np.float64)
    g = np.empty(8, np.float64)  # the partial group, and the lanes
    gq = np.empty(8, np.float64)
    lanes = np.empty(8, np.float64)
    lanes_q = np.empty(8, np.float64)
    r = 0
    k = 0  # pieces in the bin being filled
    tid = 0
    bin_lo = bin_hi = first = last = 0
    mn = mx = f0 = q0 = 0.0
    cov = 0
    o = 0
    for j in range(len(tids) + 1):
        last_run = j == len(tids)  # then one step more, to finish the last bin
        t = tids[j] if not last_run else -1
        for i in range(counts[j] if not last_run else 1):
            lo = starts[j] + i * step if not last_run else 0
            hi = lo + span
            x = np.float64(v[o]) if not last_run else 0.0
            o += 1
            while lo < hi:
                if k == 0 or t != tid or lo >= bin_hi or lo < bin_lo:
                    if k:  # the bin is complete: its record (written here alone, so inlined)
                        out_u[r, 0] = tid
                        out_u[r, 1] = first
                        out_u[r, 2] = last
                        out_u[r, 3] = cov
                        out_f[r, 4] = mn
                        out_f[r, 5] = mx
                        if k <= 129:
                            out_f[r, 6] = _lane_sum(f0, lanes, g, k - 1)
                            out_f[r, 7] = _lane_sum(q0, lanes_q, gq, k - 1)
                        else:
                            out_f[r, 6] = _segment_sum(wv, 0, k)
                            out_f[r, 7] = _segment_sum(wvv, 0, k)
                        r += 1
                    if last_run:
                        break
                    tid = t
                    bin_lo = lo // reduction * reduction
                    bin_hi = bin_lo + reduction
                    first, k, cov, mn, mx = lo, 0, 0, x, x
                end = min(hi, bin_hi)
                w = float(end - lo)
                a = x * w
                aq = a * x
                wv[k] = a
                wvv[k] = aq
                if k == 0:
                    f0, q0 = a, aq
                else:
                    m = (k - 1) & 7
                    g[m] = a
                    gq[m] = aq
                    if m == 7:  # a group complete: the lanes' first values, or added to them
                        if k == 8:
                            for u in range(8):
                                lanes[u] = g[u]
                                lanes_q[u] = gq[u]
                        else:
                            for u in range(8):
                                lanes[u] += g[u]
                                lanes_q[u] += gq[u]
                k += 1
                cov += end - lo
                mn = mn if _less(mn, x) else x
                mx = mx if _less(-mx, -x) else x  # np.maximum's choice, mirrored
                last = end
                lo = end
    return r


@njit
def _lane_sum(first, lanes, g, n):  # pragma: no cover - compiled
    # np.add.reduceat's value of a segment of 1 + n <= 129 values: its first value plus numpy's
    # pairwise sum of the other n, whose complete groups of 8 are in lanes and the rest in g
    if n == 0:
        return first
    if n < 8:
        res = -0.0
        for i in range(n):
            res += g[i]
        return first + res
    res = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
    for i in range(n % 8):
        res += g[i]
    return first + res


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
            x = np.float64(v[i])
            s += x
            ss += x * x
            if x < stats[1]:
                stats[1] = x
            if x > stats[2]:
                stats[2] = x
        stats[0] += span * (o - lo)
        stats[3] += span * s
        stats[4] += span * ss
