"""Scan engine invariants: windows == model scores, chunk/batch/shard invariance, strands, N, masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import write_fasta
from scan_helpers import engine_windows, random_dna, random_model, reference_windows

from motifscan.scan.batching import Piece, iter_batches
from motifscan.kernels.conv import strand_conv
from motifscan.scan.options import InputOptions
from motifscan.scan.sources import open_source
from motifscan.scan.shard import Shard, parse_shard
from motifscan.scan.sources import FastaSource
from motifscan.codes import encode, reverse_complement
from motifscan.io.fasta import read_fasta
from motifscan.errors import UsageError

WINDOW, STRIDE = 24, 7


@pytest.fixture(scope="module")
def model():
    return random_model(n_filters=4, width=5, seq_length=WINDOW)


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """Three records: a long one with an N run and soft-masked stretch, one shorter than a window,
    one of a length that is not a multiple of anything."""
    rng = np.random.default_rng(7)
    long = random_dna(rng, 900)
    long = long[:300] + "N" * 40 + long[340:500] + long[500:560].lower() + long[560:]
    seqs = {"chrA": long, "chrB": random_dna(rng, 20), "chrC": random_dna(rng, 433, "ACGTN")}
    path = write_fasta(tmp_path_factory.mktemp("g") / "g.fa", list(seqs), list(seqs.values()), width=61)
    return path, {r.name: r.codes for r in read_fasta(path)}


@pytest.mark.parametrize("conv_method", ["fused", "table", "dense"])
def test_windows_equal_model_scores(model, genome, conv_method):
    path, records = genome
    ref = reference_windows(model, records, WINDOW, STRIDE)
    got = engine_windows(model, FastaSource(path), WINDOW, STRIDE, chunk_size=100, conv_method=conv_method)
    assert got[0] == ref[0]
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_allclose(got[2], ref[2], atol=1e-5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk=st.integers(1, 700), batch=st.one_of(st.none(), st.integers(1, 5)),
       conv_method=st.sampled_from(["fused", "table", "dense"]))
def test_chunk_and_batch_size_do_not_change_results(model, genome, chunk, batch, conv_method):
    path, records = genome
    ref = reference_windows(model, records, WINDOW, STRIDE)
    got = engine_windows(model, FastaSource(path), WINDOW, STRIDE, chunk_size=chunk, batch_size=batch,
                         conv_method=conv_method)
    assert got[0] == ref[0]
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_allclose(got[2], ref[2], atol=1e-5)


@pytest.fixture(scope="module")
def draft(tmp_path_factory):
    """A draft assembly: 60 scaffolds of 5-400 bases (some shorter than a window, some with N
    runs or soft-masked), then a long one."""
    rng = np.random.default_rng(11)
    seqs = {f"scaf{i}": random_dna(rng, int(rng.integers(5, 400)), "ACGTN" if i % 7 == 3 else "ACGT")
            for i in range(60)}
    seqs["scaf5"] = seqs["scaf5"][:10] + "N" * 30 + seqs["scaf5"][10:].lower()
    seqs["long"] = random_dna(rng, 1500)
    path = write_fasta(tmp_path_factory.mktemp("d") / "d.fa", list(seqs), list(seqs.values()), width=60)
    return path, {r.name: r.codes for r in read_fasta(path)}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk=st.integers(1, 700), batch=st.one_of(st.none(), st.integers(1, 4)),
       conv_method=st.sampled_from(["fused", "table", "dense"]))
def test_packed_rows_of_short_records_give_the_same_windows(model, draft, chunk, batch, conv_method):
    """Many records laid side by side in a row (window scans of draft assemblies) score every
    window as alone: equal to brute force, and bit-identical to one record per row."""
    path, records = draft
    ref = reference_windows(model, records, WINDOW, STRIDE)
    got = engine_windows(model, FastaSource(path), WINDOW, STRIDE, chunk_size=chunk, batch_size=batch,
                         conv_method=conv_method, pack=True)
    assert got[0] == ref[0]
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_allclose(got[2], ref[2], atol=1e-5)
    if conv_method != "dense":
        alone = engine_windows(model, FastaSource(path), WINDOW, STRIDE, chunk_size=chunk, batch_size=batch,
                               conv_method=conv_method)
        np.testing.assert_array_equal(got[2], alone[2])


def test_packed_batches_share_rows(draft):
    path, _records = draft
    batches = list(iter_batches(FastaSource(path), overlap=WINDOW - 1, chunk_size=700, align=STRIDE, pack=True))
    rows = sum(b.host_codes.shape[0] for b in batches)
    assert sum(len(b) for b in batches) == 61 + 2  # the long one in three pieces
    assert rows < 63 / 2  # rows as wide as a chunk hold several scaffolds
    for b in batches:
        r, c = b.layout()
        assert (c % STRIDE == 0).all()
        for i in range(len(b)):
            n = b.ends[i] - b.begins[i]
            o = c[i] + b.begins[i] - b.starts[i]
            assert o + n <= b.host_codes.shape[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk=st.integers(1, 700), batch=st.one_of(st.none(), st.integers(1, 5)),
       conv_method=st.sampled_from(["fused", "table"]))
def test_chunking_gives_bit_identical_scores(model, genome, chunk, batch, conv_method):
    """Not merely close: with the table convolution (fused, the CPU default, or pooled in torch)
    and the float64 head, each window is computed the same way whatever chunk or batch holds it,
    and by either method. (conv1d is not: oneDNN picks its algorithm by shape, so the dense
    method is only equal to rounding.)"""
    path, _ = genome
    ref = engine_windows(model, FastaSource(path), WINDOW, STRIDE, chunk_size=1000, conv_method="table")
    got = engine_windows(model, FastaSource(path), WINDOW, STRIDE, chunk_size=chunk, batch_size=batch,
                         conv_method=conv_method)
    assert got[0] == ref[0]
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_array_equal(got[2], ref[2])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 7), chunk=st.integers(5, 400))
def test_shards_concatenate_to_the_whole(model, genome, n, chunk):
    path, records = genome
    ref = reference_windows(model, records, WINDOW, STRIDE)
    names, starts, probs = [], [], []
    for i in range(1, n + 1):
        src = open_source(path, InputOptions(shard=Shard(i, n)), overlap=WINDOW - 1, grid=STRIDE)
        got = engine_windows(model, src, WINDOW, STRIDE, chunk_size=chunk)
        names += got[0]
        starts.append(got[1])
        probs.append(got[2])
    assert names == ref[0]
    np.testing.assert_array_equal(np.concatenate(starts), ref[1])
    np.testing.assert_allclose(np.concatenate(probs), ref[2], atol=1e-5)


def test_shards_are_near_equal_by_bases(genome):
    path, _ = genome
    owned = []
    for i in range(1, 4):
        src = open_source(path, InputOptions(shard=Shard(i, 3)), overlap=WINDOW - 1, grid=1)
        owned.append(src.total)
    assert sum(owned) == 900 + 20 + 433
    assert max(owned) - min(owned) <= 1


def test_strand_symmetry_mirrors_the_track(model, tmp_path):
    rng = np.random.default_rng(3)
    n = WINDOW + 50 * STRIDE  # (n - window) % stride == 0: the grids mirror each other
    seq = random_dna(rng, n)
    rc = "".join({"A": "T", "C": "G", "G": "C", "T": "A"}[b] for b in reversed(seq))
    fwd = engine_windows(model, FastaSource(write_fasta(tmp_path / "f.fa", ["x"], [seq])), WINDOW, STRIDE, chunk_size=64)
    rev = engine_windows(model, FastaSource(write_fasta(tmp_path / "r.fa", ["x"], [rc])), WINDOW, STRIDE, chunk_size=97)
    np.testing.assert_array_equal(rev[1], n - WINDOW - fwd[1][::-1])
    np.testing.assert_allclose(rev[2], fwd[2][::-1], atol=1e-6)


def test_mostly_n_windows_are_skipped(model, tmp_path):
    rng = np.random.default_rng(4)
    seq = random_dna(rng, 68) + "N" * 30 + random_dna(rng, 70)
    got = engine_windows(model, FastaSource(write_fasta(tmp_path / "n.fa", ["x"], [seq])), WINDOW, STRIDE, chunk_size=50)
    expected = [q for q in range(0, len(seq) - WINDOW + 1, STRIDE)
                if 2 * sum(c == "N" for c in seq[q : q + WINDOW]) <= WINDOW]
    assert got[1].tolist() == expected
    assert 56 in expected and 91 in expected  # exactly half N (12 of 24) or less is kept ...
    assert 63 not in expected and 84 not in expected  # ... more than half is not


def test_soft_masked_bases_scanned_normally_or_skipped(model, tmp_path):
    rng = np.random.default_rng(5)
    upper = random_dna(rng, 300)
    masked = upper[:100] + upper[100:200].lower() + upper[200:]
    as_n = upper[:100] + "N" * 100 + upper[200:]
    p_masked = write_fasta(tmp_path / "m.fa", ["x"], [masked])
    plain = engine_windows(model, FastaSource(write_fasta(tmp_path / "u.fa", ["x"], [upper])), WINDOW, STRIDE, chunk_size=80)
    normal = engine_windows(model, FastaSource(p_masked), WINDOW, STRIDE, chunk_size=80)
    np.testing.assert_array_equal(normal[1], plain[1])
    np.testing.assert_allclose(normal[2], plain[2], atol=1e-6)
    skipped = engine_windows(model, FastaSource(p_masked, skip_masked=True), WINDOW, STRIDE, chunk_size=80)
    ref = reference_windows(model, {"x": encode(as_n)}, WINDOW, STRIDE)
    np.testing.assert_array_equal(skipped[1], ref[1])
    np.testing.assert_allclose(skipped[2], ref[2], atol=1e-5)
    # indexed path (--chrom) reads masks the same way
    idx = engine_windows(model, open_source(p_masked, InputOptions(chroms=("x",), skip_masked=True),
                                             overlap=WINDOW - 1, grid=STRIDE),
                         WINDOW, STRIDE, chunk_size=80)
    np.testing.assert_array_equal(idx[1], ref[1])


def test_regions_keep_windows_inside_and_on_the_grid(model, genome, tmp_path):
    path, records = genome
    bed = tmp_path / "r.bed"
    bed.write_text("chrA\t100\t260\nchrA\t240\t300\nchrC\t13\t90\nchrB\t0\t20\n")
    src = open_source(path, InputOptions(regions=bed), overlap=WINDOW - 1, grid=STRIDE)
    got = engine_windows(model, src, WINDOW, STRIDE, chunk_size=40)
    whole = engine_windows(model, FastaSource(path), WINDOW, STRIDE, chunk_size=1000)
    allowed = {("chrA", q) for q in range(100, 300 - WINDOW + 1)} | {("chrC", q) for q in range(13, 90 - WINDOW + 1)}
    keys = list(zip(got[0], got[1].tolist()))
    assert keys and all(k in allowed and k[1] % STRIDE == 0 for k in keys)
    lookup = dict(zip(zip(whole[0], whole[1].tolist()), whole[2]))
    expected = [k for k in lookup if k in allowed]
    assert keys == expected
    np.testing.assert_allclose(got[2], [lookup[k] for k in keys], atol=1e-6)


def test_strand_conv_matches_model_strand_activations(model, device):
    import torch

    rng = np.random.default_rng(0)
    codes = torch.from_numpy(rng.integers(0, 5, (3, 50), dtype=np.uint8)).to(device)
    from motifscan.codes import one_hot_torch

    fwd, rev = strand_conv(codes, model.conv.weight.detach(), model.conv.bias.detach())
    m = model.to(device)
    ref_f, ref_r = m.strand_activations(one_hot_torch(codes))
    torch.testing.assert_close(torch.relu(fwd), ref_f, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.relu(rev), ref_r, atol=1e-5, rtol=0)
    model.to("cpu")


def test_engine_on_device_matches_cpu(model, genome, device):
    path, records = genome
    ref = engine_windows(model, FastaSource(path), WINDOW, STRIDE, chunk_size=128)
    got = engine_windows(model, FastaSource(path), WINDOW, STRIDE, chunk_size=128, device=device)
    model.to("cpu")
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_allclose(got[2], ref[2], atol=1e-4)


def test_every_owned_base_counted_once(genome):
    path, _ = genome
    total = sum(b.bases for b in iter_batches(FastaSource(path), overlap=10, chunk_size=33, batch_size=2))
    assert total == 900 + 20 + 433


def test_reader_errors_reach_the_consumer(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">x\n" + "ACGT" * 50 + "J\n")
    from motifscan.errors import InputError

    with pytest.raises(InputError, match="record x"):
        list(iter_batches(FastaSource(bad), overlap=3, chunk_size=16))


def test_parse_shard():
    assert parse_shard("2/5") == Shard(2, 5)
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(UsageError):
            parse_shard(bad)


def test_long_reads_are_chunked_like_chromosomes():
    from motifscan.scan.sources import chunk_record

    codes = np.arange(100, dtype=np.uint8) % 4
    pieces = list(chunk_record("r", 0, codes, 30, 9))
    assert [p.start for p in pieces] == [0, 30, 60, 90]  # as stream_chunks cuts a record
    assert pieces[-1].last and pieces[-1].own_end == 100 and pieces[0].own_end == 30
    assert all(isinstance(p, Piece) for p in pieces)
    assert np.array_equal(np.concatenate([p.codes[: p.own_end - p.start] for p in pieces]), codes)
    assert reverse_complement(reverse_complement(codes)).tolist() == codes.tolist()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk=st.integers(1, 500), batch=st.one_of(st.none(), st.integers(1, 4)),
       conv_method=st.sampled_from(["fused", "table", "dense"]))
def test_record_scores_do_not_depend_on_chunks(model, genome, chunk, batch, conv_method):
    """Score, best position, strand and top filter of each record equal a float64 reference,
    whether the record is whole in one row or merged from many pieces."""
    from motifscan.scan.model_scan import ModelScanner
    from motifscan.codes import one_hot_torch

    path, records = genome
    scanner = ModelScanner(model, device="cpu", conv_method=conv_method)
    got = []
    for b in iter_batches(FastaSource(path), overlap=model.config.filter_width - 1, chunk_size=chunk, batch_size=batch):
        got += scanner.records(b)
    assert [r.name for r in got] == list(records)
    w, bias = model.conv.weight.detach().double(), model.conv.bias.detach().double()
    n = w.shape[0]
    head_w = next(m for m in model.head if isinstance(m, torch.nn.Linear)).weight[0].detach().double().numpy()
    for r in got:
        ref = model.predict_codes(records[r.name][None])[0]
        np.testing.assert_allclose(r.score, ref, atol=1e-5)
        assert r.length == len(records[r.name])
        act = torch.nn.functional.conv1d(one_hot_torch(torch.from_numpy(records[r.name])[None]).double(),
                                         torch.cat([w, w.flip((1, 2))]), torch.cat([bias, bias]))[0].numpy()
        f, rv = act[:n].max(axis=1), act[n:].max(axis=1)
        top = int(np.argmax(np.maximum(np.maximum(f, rv), 0) * head_w))
        assert r.top_filter == top
        # a short filter's best k-mer often occurs on both strands: an exact tie, either will do
        strands = {"+" if f[top] >= rv[top] else "-"} | ({"+", "-"} if abs(f[top] - rv[top]) < 1e-5 else set())
        assert r.strand in strands
        channel = act[top if r.strand == "+" else n + top]
        assert channel[r.best_position] >= channel.max() - 1e-5  # a best window of that strand


def test_reduced_precision_is_close(model, genome):
    path, records = genome
    ref = engine_windows(model, FastaSource(path), WINDOW, STRIDE, chunk_size=256)
    from motifscan.scan.model_scan import ModelScanner

    scanner = ModelScanner(model, window=WINDOW, stride=STRIDE, precision="bf16")
    probs = np.concatenate([scanner.windows(b).score[:, 0] for b in
                            iter_batches(FastaSource(path), overlap=WINDOW - 1, chunk_size=256, align=STRIDE)])
    np.testing.assert_allclose(probs, ref[2], atol=0.03)


@given(
    kernel=st.integers(1, 300), stride=st.integers(1, 80), length=st.integers(1, 700),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=80, deadline=None)
def test_sliding_max_equals_max_pool(kernel, stride, length, seed):
    from motifscan.kernels.conv import sliding_max

    if kernel > length:
        return
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(2, 3, length, generator=g), torch.randn(2, 3, length, generator=g)
    pool = torch.nn.functional.max_pool1d
    assert torch.equal(sliding_max(x, kernel, stride), pool(x, kernel, stride))
    assert torch.equal(sliding_max(x, kernel, stride, y), pool(torch.maximum(x, y), kernel, stride))
    # channels-last views (the table convolution's layout) take the other branch: same result
    xc, yc = x.transpose(1, 2).contiguous().transpose(1, 2), y.transpose(1, 2).contiguous().transpose(1, 2)
    assert xc.stride(1) == 1
    assert torch.equal(sliding_max(xc, kernel, stride), pool(x, kernel, stride))
    assert torch.equal(sliding_max(xc, kernel, stride, yc), pool(torch.maximum(x, y), kernel, stride))


@pytest.mark.parametrize("conv_method", ["fused", "table", "dense"])
@pytest.mark.parametrize("chunk,batch", [(37, 2), (1000, None)])
def test_filter_hits_equal_brute_force(model, genome, conv_method, chunk, batch):
    """Every (record, position, filter, strand) whose activation reaches the filter's threshold,
    each once, whatever the chunking; the reference convolves each whole record in float64."""
    from motifscan.scan.model_scan import ModelScanner
    from motifscan.codes import one_hot_torch

    path, records = genome
    scanner = ModelScanner(model, window=WINDOW, stride=STRIDE, hit_fraction=0.3, conv_method=conv_method)
    width = model.config.filter_width
    got = [(h.chrom, h.start, h.name, h.strand) for b in
           iter_batches(FastaSource(path), overlap=width - 1, chunk_size=chunk, batch_size=batch)
           for h in scanner.hits(b)]
    assert len(got) == len(set(got))
    w, bias = model.conv.weight.detach().double(), model.conv.bias.detach().double()
    bank = torch.cat([w, w.flip((1, 2))])
    thr = torch.cat([scanner.hit_threshold, scanner.hit_threshold]).double()
    n = w.shape[0]
    sure, borderline = set(), set()
    for name, codes in records.items():
        if len(codes) < width:
            continue
        act = torch.nn.functional.conv1d(one_hot_torch(torch.from_numpy(codes)[None]).double(), bank,
                                         torch.cat([bias, bias]))[0]
        for c, p in zip(*np.nonzero((act >= thr[:, None] - 1e-4).numpy())):
            key = (name, int(p), f"filter{c % n}", "-" if c >= n else "+")
            (sure if act[c, p] >= thr[c] + 1e-4 else borderline).add(key)
    assert sure  # the threshold is low enough that the test means something
    assert sure <= set(got) <= sure | borderline


@given(B=st.integers(1, 3), C=st.integers(1, 6), P=st.integers(1, 300), block=st.integers(1, 70),
       channels_last=st.booleans(), seed=st.integers(0, 2**16))
@settings(max_examples=60, deadline=None)
def test_threshold_positions_equal_nonzero(B, C, P, block, channels_last, seed):
    from motifscan.scan.model_scan import _threshold_positions

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, P, C, generator=g).transpose(1, 2) if channels_last else torch.randn(B, C, P, generator=g)
    thr = torch.rand(C, generator=g) * 2 + 0.5
    r, p, c = _threshold_positions(x, thr, block)
    want = sorted(zip(*[t.tolist() for t in (x >= thr[None, :, None]).nonzero(as_tuple=True)]))
    assert sorted(zip(r.tolist(), c.tolist(), p.tolist())) == want
