"""The maths of window nulls: batch shuffle, GC strata, per-stratum p-values, grid q-values, null files."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.data.negatives import shuffle_rows
from motifscan.errors import InputError, UsageError
from motifscan.io.nulls import NullMeta, read_null, write_null
from motifscan.stats.multitest import bh_log_qvalues
from motifscan.stats.null import (
    BINS_PER_DECADE,
    PValueCounts,
    WindowNull,
    assign_strata,
    merge_strata,
    score_statistic,
    window_gc,
)


def _dinucs(row):
    counts = np.zeros((5, 5), int)
    np.add.at(counts, (row[:-1], row[1:]), 1)
    return counts


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(0, 60), st.integers(0, 2**32 - 1))
def test_batch_shuffle_keeps_every_dinucleotide(n, length, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 5, (n, length)).astype(np.uint8)
    out = shuffle_rows(codes, rng)
    assert out.shape == codes.shape and out.dtype == np.uint8
    for a, b in zip(codes, out):
        assert np.array_equal(_dinucs(a), _dinucs(b))
        if length:
            assert a[0] == b[0] and a[-1] == b[-1]


def test_batch_shuffle_is_uniform_over_the_sequences_it_can_give():
    # every sequence with the dinucleotide counts (and ends) of `codes`, found by brute force
    codes = np.array([0, 1, 0, 2, 1, 2, 0, 3, 0], dtype=np.uint8)
    target = _dinucs(codes)
    support = {p for p in set(itertools.permutations(codes.tolist()))
               if p[0] == codes[0] and p[-1] == codes[-1] and np.array_equal(_dinucs(np.array(p)), target)}
    n = 12000
    out = shuffle_rows(np.tile(codes, (n, 1)), np.random.default_rng(3))
    seen = Counter(map(tuple, out.tolist()))
    assert set(seen) == support
    expected = n / len(support)
    chi2 = sum((c - expected) ** 2 / expected for c in seen.values())
    assert chi2 < len(support) + 5 * math.sqrt(2 * len(support))  # ~5 sd above a chi-square's mean


def test_window_gc_matches_direct_count():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, (4, 300)).astype(np.uint8)
    rows = np.array([0, 0, 2, 3, 3])
    offs = np.array([0, 50, 10, 0, 99])
    got = window_gc(codes, rows, offs, 200)
    for g, r, o in zip(got, rows, offs):
        w = codes[r, o:o + 200]
        assert g == pytest.approx(np.isin(w, [1, 2]).sum() / (w < 4).sum())


def test_merge_strata_rule():
    # strata counts for edges (.3, .4, .5, .6): [5, 100, 3, 100, 40]
    gc = np.concatenate([np.full(5, .2), np.full(100, .35), np.full(3, .45), np.full(100, .55), np.full(40, .7)])
    kept = merge_strata([.3, .4, .5, .6], gc, min_count=50)
    # the 3 joins its smaller neighbour (100 vs 100: the lower), then the 5 joins its only one,
    # then the 40 joins the 100 beside it
    assert kept.tolist() == [.5]
    assert np.bincount(assign_strata(gc, kept)).tolist() == [108, 140]
    assert merge_strata([.3, .4], np.full(10, .35), min_count=50).tolist() == []


def test_per_stratum_pvalues_are_uniform_under_their_null():
    # scores depend on GC; each stratum's null gives uniform p-values to new draws of itself
    rng = np.random.default_rng(1)
    def draw(n):
        gc = rng.uniform(0.25, 0.65, n)
        logit = rng.normal(-4 + 10 * gc, 1.0)
        return 1 / (1 + np.exp(-logit[:, None])), gc
    null = WindowNull.fit(*draw(200_000), ["t"], min_count=2000)
    assert null.n_strata >= 8
    probs, gc = draw(100_000)
    lp = null.log_pvalues(probs, gc)
    assert lp.shape == (100_000, 1) and (lp <= 0).all()
    for a in (1e-2, 1e-3):
        frac = (lp <= math.log(a)).mean()
        assert a / 1.5 < frac < a * 1.5
    one = WindowNull.fit(*draw(200_000), ["t"], edges=())  # a single null: off in the extremes
    lp1 = one.log_pvalues(probs, gc)[:, 0]
    high = gc > 0.6
    assert (lp1[high] <= math.log(1e-2)).mean() > 5 * 1e-2


def test_score_statistic_is_monotone_and_finite():
    p = np.array([0, 1e-30, 0.3, 0.5, 0.999, 1 - 2**-24, 1.0], dtype=np.float32)
    z = score_statistic(p)
    assert np.isfinite(z).all() and (np.diff(z) > 0).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(1e-12, 1.0), min_size=1, max_size=300), st.integers(0, 50))
def test_grid_qvalues_bound_exact_bh(p, extra):
    log_p = np.log(np.array(p))
    counts = PValueCounts(1)
    counts.add(log_p[:, None])
    counts.counts[0, 0] += extra  # windows with p near 1 (family size m = n + extra)
    got = counts.log_qvalues(log_p[:, None])[:, 0]
    exact = bh_log_qvalues(log_p, len(p) + extra)
    step = math.log(10) / BINS_PER_DECADE
    assert (got >= exact - 1e-9).all()
    assert (got <= exact + step + 1e-9).all()


def test_grid_counts_add_over_parts():
    rng = np.random.default_rng(2)
    log_p = np.log(rng.uniform(size=(1000, 2)))
    whole = PValueCounts(2)
    whole.add(log_p)
    parts = PValueCounts(2)
    for chunk in np.array_split(log_p, 7):
        part = PValueCounts(2)
        part.add(chunk)
        parts.add_counts(part.counts)
    assert np.array_equal(whole.counts, parts.counts)
    assert np.array_equal(whole.log_qvalues(log_p), parts.log_qvalues(log_p))


def _tiny_null():
    rng = np.random.default_rng(0)
    return WindowNull.fit(rng.uniform(size=(3000, 2)), rng.uniform(0.3, 0.6, 3000), ["a", "b"], min_count=500)


def test_null_file_round_trip(tmp_path):
    null = _tiny_null()
    meta = NullMeta("abc", "g.fa", 200, 50, ("a", "b"), {"mbp": 1.0})
    write_null(tmp_path / "n.h5", meta, null.to_arrays())
    meta2, arrays = read_null(tmp_path / "n.h5", model_sha256="abc", window=200, stride=50)
    assert meta2 == meta
    back = WindowNull.from_arrays(arrays, meta2.tasks)
    x, gc = np.random.default_rng(1).uniform(size=(50, 2)), np.linspace(0.2, 0.7, 50)
    assert np.array_equal(back.log_pvalues(x, gc), null.log_pvalues(x, gc))


def test_null_file_refusals(tmp_path):
    null = _tiny_null()
    path = tmp_path / "n.h5"
    write_null(path, NullMeta("abc", "g.fa", 200, 50, ("a", "b")), null.to_arrays())
    with pytest.raises(InputError, match="another model"):
        read_null(path, model_sha256="xyz")
    with pytest.raises(UsageError, match="--window 200, not 100"):
        read_null(path, model_sha256="abc", window=100)
    with pytest.raises(UsageError, match="--stride 50, not 10"):
        read_null(path, model_sha256="abc", window=200, stride=10)
    (tmp_path / "t.h5").write_text("hello\n")
    with pytest.raises(InputError, match="not a motifscan null file"):
        read_null(tmp_path / "t.h5")
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5.attrs["format"] = "motifscan-model"
    with pytest.raises(InputError, match="not a motifscan null file"):
        read_null(tmp_path / "other.h5")
    with pytest.raises(InputError, match="not found"):
        read_null(tmp_path / "missing.h5")


def test_window_null_pvalues_are_its_score_nulls():
    null = _tiny_null()
    rng = np.random.default_rng(4)
    x, gc = rng.uniform(size=(500, 2)), rng.uniform(0.25, 0.7, 500)
    got = null.log_pvalues(x, gc)
    stratum = assign_strata(gc, null.edges)
    for t in range(2):
        want = np.array([null.nulls[s][t].log_pvalues(score_statistic(np.array([v])))[0]
                         for s, v in zip(stratum, x[:, t])])
        assert np.array_equal(got[:, t], np.maximum(want, math.log(1e-300)))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_window_null_counts_equal_searchsorted(tasks, seed, ties, constant):
    """The compiled bucket search counts the null scores above a score as np.searchsorted does:
    ties, a null of one repeated score, scores beyond either end, 0, 1 and NaN included."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 2000))
    gc, scores = rng.random(n), rng.beta(0.5, 3, size=(n, tasks)).astype(np.float32)
    if ties:
        scores = np.round(scores, 2).astype(np.float32)
    if constant:
        scores[:, 0] = 0.3
    null = WindowNull.fit(scores, gc, [f"t{i}" for i in range(tasks)], edges=(0.3, 0.5, 0.7), min_count=100)
    extra = np.array([[0.0] * tasks, [1.0] * tasks, [np.nan] * tasks, [0.3] * tasks], np.float32)
    q = np.concatenate([scores[:100], rng.beta(0.5, 3, size=(300, tasks)).astype(np.float32), extra])
    q_gc = np.concatenate([gc[:100], rng.random(304)])
    got = null.log_pvalues(q, q_gc)
    stratum = assign_strata(q_gc, null.edges)
    for s in range(null.n_strata):
        for t in range(tasks):
            sel = stratum == s
            if sel.any():  # ScoreNull's own p-values of the stratum's windows, as one array
                want = np.maximum(null.nulls[s][t].log_pvalues(score_statistic(q[sel, t])), math.log(1e-300))
                assert np.array_equal(got[sel, t], want, equal_nan=True), (s, t)
