"""The bigWig track writer's door: a scan's batches (rows of pieces of sequences) cut into
fixed-step runs, against the numpy cut it replaces and against the stream written run by run."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.io.bigwig import BigWigStream
from motifscan.io.tracks import BigWigWriter, run_firsts, window_bins
from motifscan.scan.model_scan import WindowScores


def _numpy_run_firsts(row, start, ids, stride):
    """Runs broken at a new id or a gap (the oracle)."""
    t = ids[row]
    return np.r_[0, np.flatnonzero((np.diff(t) != 0) | (np.diff(start) != stride)) + 1]


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), rows=st.integers(1, 12), stride=st.sampled_from([1, 50]),
       names=st.integers(1, 5))
def test_run_firsts_equals_the_numpy_cut(seed, n, rows, stride, names):
    """Rows of one sequence join, a new sequence or a gap breaks a run (ids repeated, any gaps)."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.integers(-1, names, rows))
    row = np.sort(rng.integers(0, rows, n))
    start = np.cumsum(stride * np.where(rng.random(n) < 0.1, rng.integers(0, 4, n), 1))
    assert run_firsts(row, start, ids, stride).tolist() == _numpy_run_firsts(row, start, ids, stride).tolist()


def test_a_chromosome_over_many_rows_is_written_as_one_run(tmp_path):
    """Batches whose rows each hold a piece of a chromosome (with gaps, and a chromosome ending
    mid-batch) give the bytes of the stream fed run by run."""
    rng = np.random.default_rng(3)
    sizes = {"c1": 700_000, "c2": 350_000}
    window, stride = 200, 50
    q = {c: np.arange(0, n - window + 1, stride) for c, n in sizes.items()}
    keep = {c: np.flatnonzero((np.arange(len(x)) % 997) < 990) for c, x in q.items()}  # gaps
    starts = np.concatenate([q[c][keep[c]] for c in sizes])
    chrom = np.repeat([0, 1], [len(keep[c]) for c in sizes])
    vals = rng.random(len(starts)).astype(np.float32)
    with BigWigWriter(tmp_path / "rows.bw", window, stride, sizes) as w:
        for lo in range(0, len(starts), 5000):  # batches of 5,000 windows in rows of ~700
            hi = min(lo + 5000, len(starts))
            cuts = np.unique(np.r_[lo, np.arange(lo, hi, 700), np.flatnonzero(np.diff(chrom[lo:hi])) + lo + 1, hi])
            row = np.repeat(np.arange(len(cuts) - 1), np.diff(cuts))
            names = [list(sizes)[chrom[i]] for i in cuts[:-1]]
            w.write(WindowScores(names, row, starts[lo:hi], vals[lo:hi, None]))
    a, b = window_bins(starts, window, stride)
    with open(tmp_path / "runs.bw", "w+b") as fh:
        bw = BigWigStream(fh, list(sizes.items()))
        cut = np.r_[0, np.flatnonzero((np.diff(chrom) != 0) | (np.diff(starts) != stride)) + 1, len(starts)]
        for i, j in zip(cut[:-1], cut[1:]):
            bw.add(list(sizes)[chrom[i]], int(a[i]), int(b[i] - a[i]), stride, vals[i:j])
        bw.close()
    assert (tmp_path / "rows.bw").read_bytes() == (tmp_path / "runs.bw").read_bytes()


def test_a_name_not_in_the_sizes_is_refused_by_name(tmp_path):
    """A row of a sequence the bigWig was not told of: the error names it (the first such row's)."""
    w = BigWigWriter(tmp_path / "x.bw", 200, 50, {"c1": 10_000})
    ws = WindowScores(["c1", "c1", "zz", "yy"], np.array([0, 1, 2, 3]), np.array([0, 50, 100, 150]),
                      np.zeros((4, 1), np.float32))
    with pytest.raises(ValueError, match="'zz' is not in the bigWig's chromosome list"):
        with w:
            w.write(ws)
    assert not (tmp_path / "x.bw").exists()
