"""The fused window scan equals the torch table path bit for bit, and conv1d to rounding."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.codes import N_CODE, one_hot_torch
from motifscan.kernels.conv import sliding_max, strand_bank
from motifscan.kernels.fused import FusedWindowScan
from motifscan.kernels.kmer_conv import KmerTableConv


def table_path(table: KmerTableConv, codes: np.ndarray, n_filters: int, both: bool, window: int, stride: int):
    """What the table method computes: activations, window max, strand max; N counts by cumsum."""
    conv = table(torch.from_numpy(codes)).transpose(1, 2)  # (B, C, P) channels-last view
    pooled = sliding_max(conv, window - table.width + 1, stride)
    if both:
        pooled = torch.maximum(pooled[:, :n_filters], pooled[:, n_filters:])
    B, L = codes.shape
    Q = (L - window) // stride + 1
    cs = np.zeros((B, L + 1), np.int64)
    np.cumsum(codes == N_CODE, axis=1, out=cs[:, 1:])
    offs = np.arange(Q) * stride
    return pooled.transpose(1, 2).numpy(), cs[:, offs + window] - cs[:, offs]


def dense_path(bank: torch.Tensor, bias: torch.Tensor, codes: np.ndarray, n_filters: int, both: bool, window: int,
               stride: int) -> np.ndarray:
    """float64 conv1d of the one-hot (codes >= 4 are zero columns), max_pool1d, strand max."""
    x = one_hot_torch(torch.from_numpy(codes).clamp(max=4)).double()
    out = F.max_pool1d(F.conv1d(x, bank.double(), bias.double()), window - bank.shape[2] + 1, stride)
    if both:
        out = torch.maximum(out[:, :n_filters], out[:, n_filters:])
    return out.transpose(1, 2).numpy()


def random_codes(rng: np.random.Generator, rows: int, length: int, n_runs: int) -> np.ndarray:
    codes = rng.integers(0, 4, (rows, length), dtype=np.uint8)
    codes[rng.random((rows, length)) < 0.02] = rng.integers(4, 7)  # N and codes beyond it
    for _ in range(n_runs):
        r, s = rng.integers(0, rows), rng.integers(0, length)
        codes[r, s : s + int(rng.integers(1, 3 * length // 4 + 2))] = N_CODE
    return codes


@settings(max_examples=120, deadline=None)
@given(
    n_filters=st.integers(1, 9), width=st.integers(1, 21), extra=st.integers(0, 60), stride=st.integers(1, 70),
    rows=st.integers(1, 3), more=st.integers(0, 200), k=st.sampled_from([None, 3, 4]), both=st.booleans(),
    n_runs=st.integers(0, 3), seed=st.integers(0, 2**16),
)
def test_fused_equals_table_path_bit_for_bit_and_conv1d(n_filters, width, extra, stride, rows, more, k, both, n_runs,
                                                        seed):
    """Windows with window % stride == 0 or not, stride > window, short rows, N runs, codes > 4,
    1 .. 7 table rows per position (each count is a kernel of its own, see _kernel)."""
    g = torch.Generator().manual_seed(seed)
    weight, bias = torch.randn(n_filters, 4, width, generator=g), torch.randn(n_filters, generator=g)
    window = width + extra
    codes = random_codes(np.random.default_rng(seed), rows, window + more, n_runs)
    bank, bank_bias = strand_bank(weight, bias, "cpu", both_strands=both)
    table = KmerTableConv(bank, bank_bias, k=k)
    pooled, n_count = FusedWindowScan(table, n_filters, both, window, stride)(codes)
    ref, ref_n = table_path(table, codes, n_filters, both, window, stride)
    assert pooled.shape == ref.shape == (rows, (codes.shape[1] - window) // stride + 1, n_filters)
    assert pooled.dtype == np.float32
    np.testing.assert_array_equal(pooled, ref)
    np.testing.assert_array_equal(n_count, ref_n)
    np.testing.assert_allclose(pooled, dense_path(bank, bank_bias, codes, n_filters, both, window, stride),
                               atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize("k,width", [(1, 9), (2, 19)])
def test_many_table_rows_per_position(k, width):
    """Small k (big banks) sums up to ``width`` rows per position."""
    g = torch.Generator().manual_seed(width)
    weight, bias = torch.randn(3, 4, width, generator=g), torch.randn(3, generator=g)
    codes = random_codes(np.random.default_rng(width), 2, 900, 2)
    table = KmerTableConv(*strand_bank(weight, bias, "cpu"), k=k)
    assert table.groups == -(-width // k)
    pooled, n_count = FusedWindowScan(table, 3, True, 120, 30)(codes)
    ref, ref_n = table_path(table, codes, 3, True, 120, 30)
    np.testing.assert_array_equal(pooled, ref)
    np.testing.assert_array_equal(n_count, ref_n)


@pytest.mark.parametrize("n_filters", [8, 32, 48, 64, 100])
def test_wide_banks(n_filters):
    """Channel counts that fill 1, 2, 3 + 1 ... vectors of 16 (rows padded with zero channels)."""
    g = torch.Generator().manual_seed(n_filters)
    weight, bias = torch.randn(n_filters, 4, 19, generator=g), torch.randn(n_filters, generator=g)
    codes = random_codes(np.random.default_rng(1), 3, 2000, 2)
    table = KmerTableConv(*strand_bank(weight, bias, "cpu"))
    pooled, n_count = FusedWindowScan(table, n_filters, True, 200, 50)(codes)
    ref, ref_n = table_path(table, codes, n_filters, True, 200, 50)
    np.testing.assert_array_equal(pooled, ref)
    np.testing.assert_array_equal(n_count, ref_n)


def test_threads_and_rows_do_not_change_a_bit():
    """Rows split over 1, 2 or 5 threads, or scored alone, give the same bits."""
    g = torch.Generator().manual_seed(0)
    table = KmerTableConv(*strand_bank(torch.randn(16, 4, 19, generator=g), torch.randn(16, generator=g), "cpu"))
    scan = FusedWindowScan(table, 16, True, 200, 50)
    codes = random_codes(np.random.default_rng(2), 7, 3000, 3)
    one, n1 = scan(codes, threads=1)
    for threads in (2, 5):
        many, n = scan(torch.from_numpy(codes), threads=threads)
        np.testing.assert_array_equal(many, one)
        np.testing.assert_array_equal(n, n1)
    alone, _ = scan(codes[3:4], threads=1)
    np.testing.assert_array_equal(alone[0], one[3])


def test_shorter_than_a_window_gives_no_windows():
    table = KmerTableConv(*strand_bank(torch.randn(2, 4, 5), torch.randn(2), "cpu"))
    pooled, n_count = FusedWindowScan(table, 2, True, 30, 7)(np.zeros((2, 29), np.uint8))
    assert pooled.shape == (2, 0, 2) and n_count.shape == (2, 0)


def test_bad_arguments_are_refused():
    table = KmerTableConv(*strand_bank(torch.randn(2, 4, 5), torch.randn(2), "cpu"))
    with pytest.raises(ValueError, match="channels"):
        FusedWindowScan(table, 3, True, 30, 7)
    with pytest.raises(ValueError, match="window"):
        FusedWindowScan(table, 2, True, 4, 7)


def _scan_in_child(queue) -> None:
    table = KmerTableConv(*strand_bank(torch.ones(2, 4, 5), torch.zeros(2), "cpu"))
    pooled, _ = FusedWindowScan(table, 2, True, 10, 5)(np.zeros((4, 100), np.uint8), threads=2)
    queue.put(float(pooled.sum()))


def test_a_forked_child_scans_after_its_parent_did():
    """The thread pool does not survive fork(): a child (Snakemake, multiprocessing) makes its own."""
    table = KmerTableConv(*strand_bank(torch.ones(2, 4, 5), torch.zeros(2), "cpu"))
    FusedWindowScan(table, 2, True, 10, 5)(np.zeros((4, 100), np.uint8), threads=2)  # parent's pool
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_scan_in_child, args=(queue,))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == 4 * 19 * 2 * 5.0  # all-A rows: every filter sums 5 ones


def test_numba_without_a_writable_cache_compiles_in_memory(monkeypatch):
    """numba refuses cache=True when no cache folder is writable; njit then compiles uncached."""
    from numba.core import caching

    from motifscan.jit import njit

    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])

    def twice(x):
        return 2 * x

    with pytest.raises(RuntimeError, match="cannot cache"):  # what numba itself does
        import numba

        numba.njit(cache=True)(twice)
    fn = njit(twice)
    assert isinstance(fn._cache, caching.NullCache)
    assert fn(21) == 42


def test_scan_runs_with_an_unwritable_numba_cache_dir(tmp_path):
    """A NUMBA_CACHE_DIR that cannot be written (here: a path under a file) breaks nothing."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = (
        "import numpy as np, torch\n"
        "from motifscan.kernels.conv import strand_bank\n"
        "from motifscan.kernels.fused import FusedWindowScan\n"
        "from motifscan.kernels.kmer_conv import KmerTableConv\n"
        "t = KmerTableConv(*strand_bank(torch.ones(2, 4, 5), torch.zeros(2), 'cpu'))\n"
        "print(FusedWindowScan(t, 2, True, 10, 5)(np.zeros((1, 20), np.uint8))[0].shape)\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(blocker / "cache"))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "(1, 3, 2)"


@pytest.mark.parametrize("hidden,tasks", [(0, ["a"]), (0, ["a", "b", "c"]), (8, ["a", "b"])])
def test_scanner_windows_equal_the_model_for_every_head(tmp_path, hidden, tasks):
    """Linear heads (numba, float64) and heads with a hidden layer (torch, float64) score each
    window as the model scores its sequence; the fused and table methods agree bit for bit."""
    from conftest import write_fasta
    from scan_helpers import engine_windows, random_dna, reference_windows

    from motifscan.io.fasta import read_fasta
    from motifscan.model import ModelConfig, MotifCNN
    from motifscan.scan.sources import FastaSource

    torch.manual_seed(3)
    model = MotifCNN(ModelConfig(n_filters=5, filter_width=7, seq_length=40, hidden=hidden, tasks=tasks)).eval()
    rng = np.random.default_rng(5)
    path = write_fasta(tmp_path / "g.fa", ["a", "b"], [random_dna(rng, 700), random_dna(rng, 333, "ACGTN")])
    records = {r.name: r.codes for r in read_fasta(path)}
    fused = engine_windows(model, FastaSource(path), 40, 9, chunk_size=130, conv_method="fused")
    table = engine_windows(model, FastaSource(path), 40, 9, chunk_size=400, batch_size=1, conv_method="table")
    ref = reference_windows(model, records, 40, 9)
    assert fused[0] == table[0] == ref[0]
    np.testing.assert_array_equal(fused[2], table[2])
    np.testing.assert_allclose(fused[2], ref[2], atol=1e-5)


def test_process_gives_the_same_windows_with_or_without_activations(tmp_path):
    """Windows alone come from the fused pass; with hits (which need the activations) they are
    pooled from the table's activations: the same bits either way."""
    from conftest import write_fasta
    from scan_helpers import random_dna, random_model

    from motifscan.scan.batching import iter_batches
    from motifscan.scan.model_scan import ModelScanner
    from motifscan.scan.sources import FastaSource

    model = random_model(n_filters=6, width=9, seq_length=50)
    path = write_fasta(tmp_path / "g.fa", ["x"], [random_dna(np.random.default_rng(1), 5000)])
    scanner = ModelScanner(model, window=50, stride=10, conv_method="fused", hit_fraction=0.5)
    for b in iter_batches(FastaSource(path), overlap=49, chunk_size=700, align=10):
        alone = scanner.process(b, windows=True, records=False, hits=False).windows
        with_hits = scanner.process(b, windows=True, records=False, hits=True).windows
        np.testing.assert_array_equal(alone.start, with_hits.start)
        np.testing.assert_array_equal(alone.score, with_hits.score)
    assert scanner.batch_layout() != (None, None) and scanner.batch_layout(hits=True) == (None, None)
    assert ModelScanner(model, conv_method="table").batch_layout() == (None, None)


def test_auto_is_fused_on_cpu_and_cpu_methods_refuse_other_precisions():
    from scan_helpers import random_model

    from motifscan.scan.model_scan import ModelScanner

    model = random_model()
    assert ModelScanner(model).conv_method == "fused"
    assert ModelScanner(model, precision="bf16").conv_method == "dense"
    for method in ("fused", "table"):
        with pytest.raises(ValueError, match="fp32"):
            ModelScanner(model, precision="bf16", conv_method=method)
    with pytest.raises(ValueError, match="conv-method"):
        ModelScanner(model, conv_method="fast")


@given(rows=st.integers(1, 3), length=st.integers(1, 120), window=st.integers(1, 60), stride=st.integers(1, 30),
       seed=st.integers(0, 2**16))
@settings(max_examples=60, deadline=None)
def test_window_n_counts_on_host_and_device_agree(rows, length, window, stride, seed):
    """The N count of the non-fused methods: numpy on the host, torch on a device (here the CPU)."""
    from motifscan.scan.model_scan import window_n_counts

    codes = random_codes(np.random.default_rng(seed), rows, length, 2)
    starts = np.arange(0, max(length - window + 1, 0), stride)
    host = window_n_counts(codes, starts, window)
    dev = window_n_counts(torch.from_numpy(codes), starts, window)
    brute = np.array([[int((codes[r, s : s + window] == N_CODE).sum()) for s in starts] for r in range(rows)])
    np.testing.assert_array_equal(host, brute.reshape(rows, len(starts)))
    np.testing.assert_array_equal(dev, host)


@pytest.mark.parametrize("conv_method,hits", [("fused", False), ("fused", True), ("table", False)])
def test_process_all_equals_batch_by_batch(tmp_path, conv_method, hits):
    """The pipelined loop (kernels queued ahead on the pool, or a worker thread) gives every batch,
    in order, the results process() gives it alone."""
    from conftest import write_fasta
    from scan_helpers import random_dna, random_model

    from motifscan.scan.batching import iter_batches
    from motifscan.scan.model_scan import ModelScanner
    from motifscan.scan.sources import FastaSource

    model = random_model(n_filters=6, width=9, seq_length=50)
    rng = np.random.default_rng(4)
    path = write_fasta(tmp_path / "g.fa", ["x", "y", "z"], [random_dna(rng, 3000), random_dna(rng, 40),
                                                             random_dna(rng, 2222, "ACGTN")])
    one = ModelScanner(model, window=50, stride=10, conv_method=conv_method, hit_fraction=0.5)
    ref = [one.process(b, windows=True, records=False, hits=hits)
           for b in iter_batches(FastaSource(path), overlap=49, chunk_size=300, batch_size=2, align=10)]
    piped = ModelScanner(model, window=50, stride=10, conv_method=conv_method, hit_fraction=0.5)
    got = list(piped.process_all(iter_batches(FastaSource(path), overlap=49, chunk_size=300, batch_size=2, align=10),
                                 windows=True, records=False, hits=hits))
    assert len(got) == len(ref) > 3
    for (batch, r), want in zip(got, ref):
        np.testing.assert_array_equal(r.windows.start, want.windows.start)
        np.testing.assert_array_equal(r.windows.score, want.windows.score)
        assert [h.start for h in r.hits] == [h.start for h in want.hits]
    assert piped.stats == one.stats
