"""The compiled zoom summaries against the numpy passes they replace: the same records, bit for bit
(float64 sums in numpy's order, min/max choices of signed zeros), whatever the values."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.io.bigwig_zoom import ZOOM_DTYPE, add_totals, bin_values, merge_bins, run_totals


def _numpy_merge_bins(rec: np.ndarray, reduction: int) -> np.ndarray:
    """The numpy merge the writer used before (the oracle)."""
    key = rec["start"].astype(np.int64) // reduction
    cut = np.flatnonzero((np.diff(key) != 0) | (np.diff(rec["chrom"]) != 0)) + 1
    idx = np.r_[0, cut]
    out = np.empty(len(idx), ZOOM_DTYPE)
    out["chrom"] = rec["chrom"][idx]
    out["start"] = rec["start"][idx]
    out["end"] = np.maximum.reduceat(rec["end"], idx)
    out["count"] = np.add.reduceat(rec["count"].astype(np.uint64), idx)
    out["min"] = np.minimum.reduceat(rec["min"], idx)
    out["max"] = np.maximum.reduceat(rec["max"], idx)
    out["sum"] = np.add.reduceat(rec["sum"].astype(np.float64), idx)
    out["sumsq"] = np.add.reduceat(rec["sumsq"].astype(np.float64), idx)
    return out


def _numpy_bin_values(tid, a: np.ndarray, span: int, v: np.ndarray, reduction: int) -> np.ndarray:
    """The numpy binning the writer used before (the oracle)."""
    b = a + span
    bin_a = a // reduction
    split = bin_a != (b - 1) // reduction
    n = len(a) + int(split.sum())
    where = np.arange(len(a)) + np.r_[0, np.cumsum(split)[:-1]]
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    vals = np.empty(n, np.float64)
    starts[where], vals[where] = a, v
    ends[where] = np.where(split, (bin_a + 1) * reduction, b)
    second = where[split] + 1
    starts[second] = (bin_a[split] + 1) * reduction
    ends[second] = b[split]
    vals[second] = v[split]
    width = (ends - starts).astype(np.float64)
    key = starts // reduction
    brk = np.diff(key) != 0
    if isinstance(tid, np.ndarray):
        tids = np.empty(n, np.uint32)
        tids[where], tids[second] = tid, tid[split]
        brk |= np.diff(tids) != 0
    last = np.r_[np.flatnonzero(brk), n - 1]
    idx = np.r_[0, last[:-1] + 1]
    rec = np.empty(len(idx), ZOOM_DTYPE)
    rec["chrom"] = tid if not isinstance(tid, np.ndarray) else tids[idx]
    rec["start"], rec["end"] = starts[idx], ends[last]
    rec["count"] = np.add.reduceat(width, idx)
    rec["min"] = np.minimum.reduceat(vals, idx)
    rec["max"] = np.maximum.reduceat(vals, idx)
    wv = vals * width
    rec["sum"] = np.add.reduceat(wv, idx)
    rec["sumsq"] = np.add.reduceat(wv * vals, idx)
    return rec


def _values(rng, n: int) -> np.ndarray:
    """float32 scores with what makes float sums order-sensitive: magnitudes over 16 decades,
    exact zeros of both signs, repeats."""
    v = rng.random(n) * 10.0 ** rng.integers(-8, 8, n)
    v[rng.random(n) < 0.1] = 0.0
    v[rng.random(n) < 0.1] = -0.0
    v[rng.random(n) < 0.1] = 0.5
    return v.astype(np.float32).astype(np.float64)


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    """Bit for bit, but for the sign of a zero min or max: of +0 and -0 numpy's SIMD reductions
    pick either by the CPU's vector width (the scan's values hold no -0: see significance.mlog10)."""
    if len(got) != len(want):
        return False
    for f in ZOOM_DTYPE.names:
        if f in ("min", "max"):
            if not np.array_equal(got[f], want[f]):
                return False
        elif got[f].tobytes() != want[f].tobytes():
            return False
    return True


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3000), step=st.sampled_from([1, 7, 50, 200]),
       span_frac=st.sampled_from([1.0, 0.5, 0.1]), zoom=st.sampled_from([2, 16, 300]), chroms=st.integers(1, 4),
       run=st.sampled_from([1, 5, 100]))
def test_bin_values_equals_the_numpy_passes(seed, n, step, span_frac, zoom, chroms, run):
    """Runs on a grid with gaps, on one or several chromosomes: the same records, bit for bit."""
    rng = np.random.default_rng(seed)
    span = max(1, int(step * span_frac))
    reduction = max(10, zoom * span)
    counts = rng.integers(1, 2 * run, n // run + 1)
    tids = np.sort(rng.integers(0, chroms, len(counts)))
    gaps = step * rng.integers(1, 40, len(counts))
    starts = np.cumsum(gaps + np.r_[0, counts[:-1]] * step) + int(rng.integers(0, 1000))
    for i in np.flatnonzero(np.diff(tids)) + 1:  # each chromosome from a new start
        starts[i:] -= starts[i] - int(rng.integers(0, 500))
    first = np.cumsum(counts) - counts
    a = np.repeat(starts - first * step, counts) + np.arange(counts.sum()) * step  # every interval's start
    v = _values(rng, len(a))
    want = _numpy_bin_values(np.repeat(tids, counts).astype(np.uint32), a, span, v, reduction)
    assert _same(bin_values(tids, starts, counts, span, step, v, reduction), want)
    one = tids == tids[0]  # one chromosome: the oracle's single id
    one_v = v[np.repeat(one, counts)]
    want = _numpy_bin_values(int(tids[0]), a[np.repeat(one, counts)], span, one_v, reduction)
    assert _same(bin_values(tids[one], starts[one], counts[one], span, step, one_v, reduction), want)
    v = np.abs(v)  # no -0: bit for bit, min and max too
    want = _numpy_bin_values(np.repeat(tids, counts).astype(np.uint32), a, span, v, reduction)
    assert bin_values(tids, starts, counts, span, step, v, reduction).tobytes() == want.tobytes()
    # the track's float32 as they are: widened inside the pass, the same records
    assert bin_values(tids, starts, counts, span, step, v.astype(np.float32), reduction).tobytes() == want.tobytes()
    v[rng.random(len(v)) < 0.01] = np.nan  # a NaN is its bin's min, max and sums, as numpy's reductions say
    want = _numpy_bin_values(np.repeat(tids, counts).astype(np.uint32), a, span, v, reduction)
    got = bin_values(tids, starts, counts, span, step, v, reduction)
    assert all(np.array_equal(got[f], want[f], equal_nan=f not in ("chrom", "start", "end", "count"))
               for f in ZOOM_DTYPE.names)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 2000), per_bin=st.integers(1, 300),
       reduction=st.sampled_from([1000, 4000, 64000]))
def test_merge_bins_equals_the_numpy_passes(seed, n, per_bin, reduction):
    """Records of any number per bin (up to the pairwise sum's recursion past 128): bit for bit."""
    rng = np.random.default_rng(seed)
    rec = np.empty(n, ZOOM_DTYPE)
    rec["chrom"] = np.sort(rng.integers(0, 3, n))
    rec["start"] = np.sort(rng.integers(0, reduction * max(1, n // per_bin), n))
    rec["end"] = rec["start"] + rng.integers(1, reduction // 4, n)
    rec["count"] = rng.integers(1, 10_000, n)
    for f in ("min", "max", "sum", "sumsq"):
        rec[f] = _values(rng, n)
    assert _same(merge_bins(rec, reduction), _numpy_merge_bins(rec, reduction))
    assert _same(merge_bins(rec[::2], reduction), _numpy_merge_bins(rec[::2], reduction))
    for f in ("min", "max"):
        rec[f] = np.abs(rec[f])
    assert merge_bins(rec, reduction).tobytes() == _numpy_merge_bins(rec, reduction).tobytes()


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.sampled_from([1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 130, 255, 1000,
                                                            8193, 65536, 70001]), nan=st.booleans())
def test_run_totals_are_numpys_reductions(seed, n, nan):
    """min, max, sum and sum of squares of the float32 values widened, as numpy's reductions of
    the float64 copy give them: the pairwise sums bit for bit (every block size and recursion
    depth), a NaN anywhere the min and the max."""
    rng = np.random.default_rng(seed)
    v32 = _values(rng, n).astype(np.float32)
    if nan:
        v32[rng.integers(0, n)] = np.nan
    w = v32.astype(np.float64)
    for v in (v32, w):
        mn, mx, s, sq = run_totals(v)
        assert np.float64(s).tobytes() == w.sum().tobytes()
        assert np.float64(sq).tobytes() == (w * w).sum().tobytes()
        assert np.array_equal([mn, mx], [w.min(), w.max()], equal_nan=True)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3000), chroms=st.integers(1, 6))
def test_add_totals_of_float32_is_that_of_float64(seed, n, chroms):
    """The short sequences' totals from the track's float32 (widened inside the pass) and from a
    float64 copy: the same bits."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 50, n // 10 + 1)
    tids = np.sort(rng.integers(0, chroms, len(counts)))
    v = np.abs(_values(rng, int(counts.sum()))).astype(np.float32)
    a, b = np.zeros(5), np.zeros(5)
    a[1:3] = b[1:3] = (np.inf, -np.inf)
    add_totals(a, tids, counts, 50, v)
    add_totals(b, tids, counts, 50, v.astype(np.float64))
    assert a.tobytes() == b.tobytes()


def test_no_values_no_records():
    assert len(bin_values(np.array([0]), np.array([0]), np.array([0]), 50, 50, np.zeros(0), 800)) == 0
    assert len(merge_bins(np.zeros(0, ZOOM_DTYPE), 800)) == 0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.one_of(st.integers(1, 3000), st.integers(1, 150).map(lambda k: 16 * k)),
                                                 min_size=1, max_size=6),
       shift=st.sampled_from([0, 25, 400]))
def test_feeding_binned_records_skips_the_merge_and_changes_nothing(seed, cuts, shift):
    """A streamed run's level-0 records (one per bin) handed over batch by batch, with batches
    ending inside a bin or on a bin's edge: feed_bins finishes the same records as feed's merge."""
    import tempfile

    from motifscan.io.bigwig import _Summary
    from motifscan.io.deflater import Deflater

    rng = np.random.default_rng(seed)
    v = np.abs(_values(rng, sum(cuts))).astype(np.float32)
    got, want = [], []
    with tempfile.TemporaryFile() as f1, tempfile.TemporaryFile() as f2:
        a, b = _Summary(800, f1, Deflater(1)), _Summary(800, f2, Deflater(1))
        done = 0
        for n in cuts:  # 16 values a bin from `shift`: a batch may end on a bin's edge
            rec = bin_values([3], [shift + 50 * done], [n], 50, 50, v[done : done + n], 800)
            want.append(a.feed(rec.copy()).tobytes())
            got.append(b.feed_bins(rec).tobytes())
            done += n
        assert got == want
        assert a.flush().tobytes() == b.flush().tobytes()
        f1.seek(0)
        f2.seek(0)
        assert f1.read() == f2.read()
