import numpy as np
from hypothesis import given, settings, strategies as st

from conftest import write_fasta
from motifscan.data.negatives import dinucleotide_shuffle, gc_content, gc_matched_background, shuffle_all
from motifscan.io.fasta import IndexedFasta
from motifscan.io.intervals import Interval


def dinucs(codes):
    counts = np.zeros((5, 5), int)
    np.add.at(counts, (codes[:-1], codes[1:]), 1)
    return counts


@given(st.lists(st.integers(0, 4), min_size=0, max_size=400), st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_shuffle_keeps_dinucleotide_counts_exactly(seq, seed):
    codes = np.array(seq, dtype=np.uint8)
    out = dinucleotide_shuffle(codes, np.random.default_rng(seed))
    assert out.dtype == np.uint8 and len(out) == len(codes)
    assert np.array_equal(dinucs(out), dinucs(codes))
    if len(codes):
        assert out[0] == codes[0] and out[-1] == codes[-1]


def test_shuffle_is_seeded_and_actually_shuffles():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, (20, 200), dtype=np.uint8)
    a, b = shuffle_all(codes, 2, seed=5), shuffle_all(codes, 2, seed=5)
    assert np.array_equal(a, b) and a.shape == (40, 200)
    assert not np.array_equal(a, shuffle_all(codes, 2, seed=6))
    assert (a[:20] != codes).mean() > 0.5


def test_shuffle_is_uniform_over_small_case():
    # "ACAGA..." style: all Eulerian walks of a tiny multigraph should appear
    codes = np.array([0, 1, 0, 2, 0, 3, 0], dtype=np.uint8)
    rng = np.random.default_rng(0)
    seen = {tuple(dinucleotide_shuffle(codes, rng)) for _ in range(600)}
    assert len(seen) == 6  # the 3! orders of the C, G, T excursions from A


def test_gc_matched_background(tmp_path):
    rng = np.random.default_rng(0)
    n = 20000
    # left half AT-rich, right half GC-rich
    left = rng.choice(list("ACGT"), n // 2, p=[0.4, 0.1, 0.1, 0.4])
    right = rng.choice(list("ACGT"), n // 2, p=[0.1, 0.4, 0.4, 0.1])
    genome = write_fasta(tmp_path / "g.fa", ["chr1"], ["".join(left) + "".join(right)])
    fa = IndexedFasta(genome)
    pos = [Interval("chr1", 15000 + i * 300, 15100 + i * 300) for i in range(10)]
    codes = np.stack([fa.fetch(iv.chrom, iv.start, iv.end) for iv in pos])
    ivs, neg = gc_matched_background(fa, pos, codes, ratio=2, seed=0)
    assert neg.shape == (20, 100)
    assert abs(gc_content(neg).mean() - gc_content(codes).mean()) < 0.05
    for iv in ivs:
        assert all(iv.end <= p.start or iv.start >= p.end for p in pos)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=50), st.integers(1, 9), st.data())
def test_closest_unused_equals_the_argmin_over_free_candidates(gcs, denom, data):
    """The background matcher's fast queue picks what argmin over the unused candidates picks
    (ties to the lowest index), target after target."""
    from motifscan.data.negatives import _closest_unused

    values = np.array(gcs) / denom
    targets = np.array(data.draw(st.lists(st.integers(0, 12), min_size=1, max_size=len(gcs)))) / 7
    used, want = np.zeros(len(values), bool), []
    for t in targets:
        free = np.flatnonzero(~used)
        best = free[np.argmin(np.abs(values[free] - t))]
        used[best] = True
        want.append(best)
    assert _closest_unused(values, targets).tolist() == want


def test_window_counts_across_blocks():
    from motifscan.data.negatives import _window_counts

    rng = np.random.default_rng(5)
    hit = rng.random(5000) < 0.4
    starts = np.sort(rng.integers(0, 4800, 300))
    want = [int(hit[s : s + 200].sum()) for s in starts]
    assert _window_counts(hit, starts, 200, block=333).tolist() == want
