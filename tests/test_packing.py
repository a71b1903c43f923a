"""Short records handed on as runs (arrays, a block of the FASTA at a time) give exactly the packed
batches that the same records give one piece at a time, wherever blocks and batches cut them."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pysam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import write_fasta
from scan_helpers import random_dna

import motifscan.io.fasta as fasta_mod
from motifscan.io.fasta import RecordRun, stream_chunks
from motifscan.scan.batching import PieceRun, iter_batches
from motifscan.scan.options import InputOptions
from motifscan.scan.shard import Shard
from motifscan.scan.sources import FastaSource, ShardedFasta, open_source

FIELDS = ("names", "lengths", "payloads", "records", "starts", "begins", "ends", "own_ends", "last", "host_codes",
          "rows", "cols", "bases")


class _PiecesOnly:
    """A source without ``piece_runs``: every record comes as a Piece (the reference)."""

    def __init__(self, source) -> None:
        self.pieces = source.pieces


@pytest.fixture(scope="module")
def draft(tmp_path_factory):
    """120 scaffolds of 0-400 bases (soft-masked and N stretches), three longer than a chunk."""
    rng = np.random.default_rng(3)
    lengths = np.clip(rng.lognormal(np.log(80), 1.0, 120).astype(int), 0, 400)
    lengths[[4, 60]] = 0
    lengths[[10, 11, 90]] = [1500, 900, 2300]
    seqs = [random_dna(rng, int(n), "ACGTacgtN") for n in lengths]
    path = write_fasta(tmp_path_factory.mktemp("runs") / "d.fa", [f"s{i}" for i in range(len(seqs))], seqs,
                       width=37)
    pysam.faidx(str(path))
    return path


def _batches(source, chunk, batch, align):
    return list(iter_batches(source, overlap=23, chunk_size=chunk, batch_size=batch, align=align, pack=True,
                             threaded=False))


def _assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        for f in FIELDS:
            a, b = getattr(g, f), getattr(w, f)
            if isinstance(b, np.ndarray):
                np.testing.assert_array_equal(a, b, err_msg=f)
            else:
                assert a == b, f


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(block=st.integers(50, 5000), chunk=st.integers(100, 800), batch=st.one_of(st.none(), st.integers(1, 6)),
       align=st.sampled_from([1, 7, 50]), skip_masked=st.booleans())
def test_runs_pack_as_pieces_do(draft, block, chunk, batch, align, skip_masked):
    with mock.patch.object(fasta_mod, "BLOCK_SIZE", block):
        got = _batches(FastaSource(draft, skip_masked=skip_masked), chunk, batch, align)
        want = _batches(_PiecesOnly(FastaSource(draft, skip_masked=skip_masked)), chunk, batch, align)
    _assert_same(got, want)


@pytest.mark.parametrize("n", [1, 3, 7])
def test_sharded_runs_pack_as_pieces_do(draft, n):
    """Shards stream their records from the .fai's offsets; runs stop at the shard's last record
    (the .fai leaves empty records out, so it is found by name)."""
    with mock.patch.object(fasta_mod, "BLOCK_SIZE", 700):
        for i in range(1, n + 1):
            src = open_source(draft, InputOptions(shard=Shard(i, n)), overlap=23, grid=7)
            assert isinstance(src, ShardedFasta)
            got = _batches(src, 300, None, 7)
            src = open_source(draft, InputOptions(shard=Shard(i, n)), overlap=23, grid=7)
            _assert_same(got, _batches(_PiecesOnly(src), 300, None, 7))


def test_streamed_runs_hold_the_chunks_of_their_records(draft):
    """With ``runs`` the reader hands on the short records of a block as runs, longer ones as
    chunks, in file order: expanded, the same chunks as without."""
    with mock.patch.object(fasta_mod, "BLOCK_SIZE", 900):
        plain = list(stream_chunks(draft, 200, 23, with_mask=True))
        items = list(stream_chunks(draft, 200, 23, with_mask=True, runs=True))
    assert any(isinstance(x, RecordRun) and len(x) > 1 for x in items)
    expanded = [c for x in items for c in (x.chunks() if isinstance(x, RecordRun) else [x])]
    assert [(c.name, c.start, c.codes.tobytes(), c.masked.tobytes(), c.last) for c in expanded] == [
        (c.name, c.start, c.codes.tobytes(), c.masked.tobytes(), c.last) for c in plain]


def test_a_run_splits_between_batches():
    """A run longer than a batch holds is cut where the batch is full and goes on in the next."""
    lengths = np.array([30, 0, 45, 12, 50, 50, 3, 44], np.int64)
    codes = np.arange(lengths.sum(), dtype=np.int64).astype(np.uint8) % 4
    run = PieceRun([f"r{i}" for i in range(len(lengths))], np.arange(len(lengths), dtype=np.int64), codes,
                   np.r_[0, np.cumsum(lengths)])

    class Runs:
        def pieces(self, chunk_size, overlap):
            return run.pieces()

        def piece_runs(self, chunk_size, overlap):
            yield run.part(0, 5)
            yield run.part(5, 8)

    got = list(iter_batches(Runs(), overlap=9, chunk_size=54, batch_size=1, align=5, pack=True, threaded=False))
    want = list(iter_batches(_PiecesOnly(Runs()), overlap=9, chunk_size=54, batch_size=1, align=5, pack=True,
                             threaded=False))
    assert len(got) > 2
    _assert_same(got, want)
