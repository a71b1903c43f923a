"""Shards of whole genomes cut from the .fai (balanced by bases, consecutive records): the same cuts
as the segment splitter, every base in exactly one shard, and a draft of many scaffolds scanned in
shards equal to the unsharded scan."""

from __future__ import annotations

import numpy as np
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import write_fasta
from scan_helpers import engine_windows, random_dna, random_model, reference_windows

from motifscan.codes import encode
from motifscan.scan.options import InputOptions
from motifscan.scan.shard import RecordFilter, Shard, record_span, shard_span, split_segments
from motifscan.scan.sources import Segment, ShardedFasta, open_source

WINDOW, STRIDE = 24, 7


def _segments_of(lengths, shard, overlap, grid):
    """The span as the segments it stands for (records between first and last whole)."""
    sp = shard_span(np.array(lengths), shard, overlap, grid)
    out = []
    for i in range(sp.first, sp.last + 1):
        lo = sp.lo if i == sp.first else 0
        hi, end = (sp.hi, sp.data_end) if i == sp.last else (lengths[i], lengths[i])
        if hi > lo:
            out.append(Segment(f"r{i}", lo, hi, end))
    return out


@settings(max_examples=300, deadline=None)
@given(lengths=st.lists(st.integers(0, 400), min_size=1, max_size=40), n=st.integers(1, 12),
       grid=st.integers(1, 60), overlap=st.integers(0, 80))
def test_spans_cut_as_segments_do_and_cover_every_base_once(lengths, n, grid, overlap):
    whole = [Segment(f"r{i}", 0, size, size) for i, size in enumerate(lengths)]
    owned = []
    for i in range(1, n + 1):
        mine = _segments_of(lengths, Shard(i, n), overlap, grid)
        assert mine == split_segments(whole, Shard(i, n), overlap, grid)
        owned.append([(s.name, p) for s in mine for p in range(s.lo, s.hi)])
        for s in mine:
            assert s.data_end == (s.hi if s.hi == lengths[int(s.name[1:])] else min(s.hi + overlap, lengths[int(s.name[1:])]))
    flat = [x for shard in owned for x in shard]
    assert flat == [(f"r{i}", p) for i, size in enumerate(lengths) for p in range(size)]
    # balanced by bases: the even share, give or take the rounding and each cut's move down onto
    # the grid (less than a step)
    total = sum(lengths)
    for shard in owned:
        assert abs(len(shard) - total / n) < grid + 1


@settings(max_examples=200, deadline=None)
@given(lengths=st.lists(st.integers(0, 300), min_size=1, max_size=40), n=st.integers(1, 12))
def test_record_spans_keep_what_the_streaming_filter_keeps(lengths, n):
    for i in range(1, n + 1):
        keep = RecordFilter(sum(lengths), Shard(i, n))
        want = [k for k, size in enumerate(lengths) if keep.keep(size)]
        first, last = record_span(np.array(lengths), Shard(i, n))
        assert list(range(first, last + 1)) == want


def test_a_cut_past_a_record_end_does_not_take_its_last_bases_twice():
    # record a: 130 bases; shard 2 of 8 starts 11 bases past its end (cut 141, grid 50)
    whole = [Segment("a", 0, 130, 130), Segment("b", 0, 1000, 1000)]
    first, second = (split_segments(whole, Shard(i, 8), 10, 50) for i in (1, 2))
    assert first == [Segment("a", 0, 130, 130)]
    assert [s.name for s in second] == ["b"]


@pytest.fixture(scope="module")
def draft(tmp_path_factory):
    """300 scaffolds (lowercase, N runs, a few empty or shorter than a window) and a chromosome."""
    rng = np.random.default_rng(11)
    lengths = np.clip(rng.lognormal(np.log(60), 1.0, 300).astype(int), 0, 2000)
    lengths[[5, 77]] = 0
    lengths[150] = 5000
    seqs = [random_dna(rng, int(n), "ACGTacgtN") for n in lengths]
    path = write_fasta(tmp_path_factory.mktemp("draft") / "draft.fa", [f"scaf_{i}" for i in range(len(seqs))], seqs,
                       width=50)
    pysam.faidx(str(path))
    return path, {f"scaf_{i}": encode(s) for i, s in enumerate(seqs)}


@pytest.mark.parametrize("n", [1, 3, 8])
def test_sharded_draft_scan_equals_the_whole_scan(draft, n):
    path, records = draft
    model = random_model(n_filters=4, width=5, seq_length=WINDOW)
    ref = reference_windows(model, records, WINDOW, STRIDE)
    names, starts, totals = [], [], []
    for i in range(1, n + 1):
        src = open_source(path, InputOptions(shard=Shard(i, n)), overlap=WINDOW - 1, grid=STRIDE)
        assert isinstance(src, ShardedFasta)
        got = engine_windows(model, src, WINDOW, STRIDE, chunk_size=70)
        names += got[0]
        starts.append(got[1])
        totals.append(src.total)
    assert names == ref[0]
    np.testing.assert_array_equal(np.concatenate(starts), ref[1])
    assert sum(totals) == sum(len(c) for c in records.values())
    assert max(totals) - min(totals) <= 2 * STRIDE + 1


def test_sharded_records_mode_takes_whole_records_once(draft):
    path, records = draft
    seen = []
    for i in range(1, 5):
        src = open_source(path, InputOptions(shard=Shard(i, 4)), overlap=4, records=True)
        assert isinstance(src, ShardedFasta)
        for p in src.pieces(100, 4):
            if p.last:
                seen.append(p.name)
                np.testing.assert_array_equal(p.codes, records[p.name][p.start :])
    assert seen == list(records)


def test_genome_digest_of_columns_is_the_digest_of_the_whole_text(monkeypatch):
    """A shard manifest's genome digest, taken a block of records at a time from the .fai's
    columns (no text of the whole genome), equals the digest of the whole ``name\\tlength\\n`` text
    (names of non-ASCII letters, lengths of every digit count up to int64's)."""
    from motifscan.io.fasta import RecordSizes
    from motifscan.io.names import RecordNames
    from motifscan.scan import run as run_mod

    monkeypatch.setattr(run_mod, "_DIGEST_RECORDS", 7)  # many blocks
    lengths = np.array([0, 1, 9, 10, 99, 100, *(10**k - 1 for k in range(4, 19)), *(10**k for k in range(4, 19)),
                        2**63 - 1, 5_000], dtype=np.int64)
    names = [f"s{i}" + "é" * (i % 3) for i in range(len(lengths))]
    want = run_mod._digest("".join(f"{c}\t{n}\n" for c, n in zip(names, lengths.tolist())).encode())
    assert run_mod._sizes_digest(RecordSizes(RecordNames.from_names(names), lengths)) == want
    assert run_mod._sizes_digest(RecordSizes(names, lengths)) == want
    assert run_mod._sizes_digest(dict(zip(names, lengths.tolist()))) == want
