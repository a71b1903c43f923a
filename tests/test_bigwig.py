"""The streaming bigWig writer against two independent readers: libBigWig (pyBigWig) and the UCSC
kent library (pybbi): values, zoom summaries, chromosome and block trees of several levels."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor

import bbi
import numpy as np
import pyBigWig
import pytest
from deflate import zlib_compress
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.io import bigwig
from motifscan.io.bigwig import BigWigSections, BigWigStream
from motifscan.io.bigwig_sections import pack_sections
from motifscan.io.deflater import Deflater


def _runs(sizes, rng, span=50, step=50, gap_every=37):
    """Fixed-step runs over each chromosome, with gaps (skipped windows)."""
    out = []
    for c, n in sizes:
        q = np.arange(75, n - span + 1, step)
        v = rng.random(len(q)).astype(np.float32)
        keep = (np.arange(len(q)) % gap_every) != 5
        cut = np.flatnonzero(np.diff(np.flatnonzero(keep)) != 1) + 1
        idx = np.flatnonzero(keep)
        for part in np.split(idx, cut):
            if len(part):
                out.append((c, int(q[part[0]]), v[part]))
    return out


def _write(path, sizes, runs, span=50, step=50, piece=333, zoom_levels=5):
    with open(path, "w+b") as fh:
        w = BigWigStream(fh, sizes, zoom_levels=zoom_levels)
        for c, start, v in runs:
            for a in range(0, len(v), piece):
                w.add(c, start + a * step, span, step, v[a : a + piece])
        w.close()
    return path


def _exact(runs, chrom, lo, hi, span=50, step=50):
    """Brute force: (covered bases, sum, min, max) of the values inside [lo, hi)."""
    cov = s = 0.0
    mn, mx = np.inf, -np.inf
    for c, start, v in runs:
        if c != chrom:
            continue
        a = start + np.arange(len(v)) * step
        ov = np.clip(np.minimum(a + span, hi) - np.maximum(a, lo), 0, None)
        m = ov > 0
        cov += ov.sum()
        s += float((ov * v.astype(np.float64)).sum())
        if m.any():
            mn, mx = min(mn, float(v[m].min())), max(mx, float(v[m].max()))
    return cov, s, mn, mx


SIZES = [("chr1", 1_000_000), ("chr2", 300_000), ("chrM", 16_000)]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    rng = np.random.default_rng(0)
    runs = _runs(SIZES, rng)
    path = _write(tmp_path_factory.mktemp("bw") / "t.bw", SIZES, runs)
    return path, runs


def test_values_read_back_by_libbigwig_and_ucsc(written):
    path, runs = written
    with pyBigWig.open(str(path)) as f:
        assert f.chroms() == dict(SIZES)
        for c, _n in SIZES:
            want = [(s + i * 50, s + i * 50 + 50, float(x)) for cc, s, v in runs if cc == c for i, x in enumerate(v)]
            assert f.intervals(c) == tuple(want)
            got = list(bbi.fetch_intervals(str(path), c, 0, dict(SIZES)[c]))
            assert [(a, b, v) for _c, a, b, v in got] == want
        h = f.header()
        assert h["nLevels"] == 5 and h["nBasesCovered"] == 50 * sum(len(v) for *_x, v in runs)


@pytest.mark.parametrize("chrom,lo,hi,bins", [("chr1", 0, 1_000_000, 1), ("chr1", 0, 819_200, 4),
                                              ("chr2", 0, 300_000, 1), ("chr1", 409_600, 614_400, 64)])
def test_zoom_summaries_are_exact_on_their_bins(written, chrom, lo, hi, bins):
    """Queries whose bins are unions of a zoom level's bins read that level: the summaries equal
    brute force (float32 sums aside), in both readers."""
    path, runs = written
    edges = np.linspace(lo, hi, bins + 1).astype(int)
    with pyBigWig.open(str(path)) as f:
        for t in ("mean", "max", "min", "coverage"):
            got = np.array(f.stats(chrom, lo, hi, type=t, nBins=bins), dtype=float)
            ucsc = bbi.stackup(str(path), [chrom], [lo], [hi], bins=bins, summary="cov" if t == "coverage" else t)[0]
            for k in range(bins):
                cov, s, mn, mx = _exact(runs, chrom, edges[k], edges[k + 1])
                want = {"mean": s / cov, "max": mx, "min": mn, "coverage": cov / (edges[k + 1] - edges[k])}[t]
                assert got[k] == pytest.approx(want, rel=1e-5, abs=1e-6), (t, k)
                assert ucsc[k] == pytest.approx(want, rel=1e-5, abs=1e-6), (t, k)


def test_many_chromosomes_and_blocks_make_trees_of_several_levels(tmp_path, monkeypatch):
    # > 256 chromosomes: a B+ tree of two levels; > 256 blocks of 64 values: an R-tree of two levels
    monkeypatch.setattr(bigwig, "BLOCK_VALUES", 64)
    monkeypatch.setattr(bigwig, "FLUSH_VALUES", 256)
    sizes = [(f"scaffold_{i:04d}", 6_000 + 37 * i) for i in range(300)]
    runs = _runs(sizes, np.random.default_rng(1), gap_every=1000)
    path = _write(tmp_path / "many.bw", sizes, runs, zoom_levels=2)
    assert len(BigWigSections(path).sizes) == 300
    with pyBigWig.open(str(path)) as f:
        assert f.chroms() == dict(sizes)
        for c, n in sizes[::37]:
            want = [float(x) for cc, _s, v in runs if cc == c for x in v]
            assert [v for *_x, v in f.intervals(c)] == want
            assert f.stats(c, 0, n, type="max")[0] == pytest.approx(max(want))
    for c, n in sizes[::53]:
        got = [v for *_x, v in bbi.fetch_intervals(str(path), c, 0, n)]
        assert got == [float(x) for cc, _s, v in runs if cc == c for x in v]


def test_no_values_is_still_a_bigwig(tmp_path):
    with open(tmp_path / "e.bw", "w+b") as fh:
        BigWigStream(fh, [("c", 1000)]).close()
    with pyBigWig.open(str(tmp_path / "e.bw")) as f:
        assert f.chroms() == {"c": 1000} and f.intervals("c") is None
    assert list(BigWigSections(tmp_path / "e.bw").sections()) == []


def test_span_shorter_than_step_and_errors(tmp_path):
    with open(tmp_path / "g.bw", "w+b") as fh:
        w = BigWigStream(fh, [("c", 10_000)], zoom_levels=3)
        w.add("c", 0, 200, 300, np.array([0.5, 0.25, 1.0], np.float32))
        with pytest.raises(ValueError, match="genome order"):
            w.add("c", 100, 200, 300, np.array([0.1], np.float32))
        with pytest.raises(ValueError, match="not in the bigWig"):
            w.add("x", 0, 200, 300, np.array([0.1], np.float32))
        with pytest.raises(ValueError, match="end"):
            w.add("c", 9_900, 200, 300, np.array([0.1], np.float32))
        w.close()
    with pyBigWig.open(str(tmp_path / "g.bw")) as f:
        assert f.intervals("c") == ((0, 200, 0.5), (300, 500, 0.25), (600, 800, 1.0))
        assert f.stats("c", 0, 10_000, type="coverage")[0] == pytest.approx(0.06)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=6), st.integers(0, 3))
def test_the_bytes_do_not_depend_on_how_runs_are_split(tmp_path_factory, pieces, gaps):
    """One run handed over in any pieces gives the same file (what makes gathered == unsharded)."""
    rng = np.random.default_rng(len(pieces) + gaps)
    n = sum(pieces)
    v = rng.random(n).astype(np.float32)
    d = tmp_path_factory.mktemp("split")
    sizes = [("a", 75 + 50 * n + 1000), ("b", 5000)]
    whole = _write(d / "whole.bw", sizes, [("a", 75, v), ("b", 0, v[:90])], piece=n)
    with open(d / "parts.bw", "w+b") as fh:
        w = BigWigStream(fh, sizes)
        done = 0
        for p in pieces:
            w.add("a", 75 + 50 * done, 50, 50, v[done : done + p])
            done += p
        w.add("b", 0, 50, 50, v[:90])
        w.close()
    assert (d / "parts.bw").read_bytes() == whole.read_bytes()


def test_short_sequences_in_batches_equal_the_run_by_run_file(tmp_path, monkeypatch):
    """A draft assembly (short scaffolds among chromosomes): batched, the same values and zoom
    summaries as every sequence streamed run by run, in far fewer zoom blocks; both readers agree."""
    rng = np.random.default_rng(3)
    lengths = np.clip(rng.lognormal(np.log(900), 1.0, 400).astype(int), 60, 200_000)
    sizes = [(f"scaf{i}", int(n)) for i, n in enumerate(lengths)]
    sizes[50] = ("chrA", 300_000)  # long sequences in between
    sizes[51] = ("chrB", 200_000)
    runs = _runs(sizes, rng, gap_every=7)
    batched = _write(tmp_path / "batched.bw", sizes, runs, piece=50)
    monkeypatch.setattr(bigwig, "SHORT_BASES", 0)
    streamed = _write(tmp_path / "streamed.bw", sizes, runs, piece=50)
    with pyBigWig.open(str(batched)) as a, pyBigWig.open(str(streamed)) as b:
        assert a.chroms() == b.chroms() == dict(sizes)
        for c, n in sizes:
            assert a.intervals(c) == b.intervals(c)
            for t in ("mean", "max", "min", "coverage"):
                x, y = a.stats(c, 0, n, type=t)[0], b.stats(c, 0, n, type=t)[0]
                assert (x is None and y is None) or x == pytest.approx(y, rel=1e-6, abs=1e-7), (c, t)
        assert a.header() == pytest.approx(b.header(), rel=1e-6)
    for c, n in sizes[::41]:
        want = [v for *_x, v in bbi.fetch_intervals(str(streamed), c, 0, n)]
        assert [v for *_x, v in bbi.fetch_intervals(str(batched), c, 0, n)] == want
        if want:
            got = bbi.stackup(str(batched), [c], [0], [n], bins=1, summary="max")[0]
            assert got == pytest.approx(max(want))
    # smaller though small data sections are stored, not deflated (uniform random values deflate
    # by ~10% here, real window scores by under 1%): zoom records share blocks
    assert batched.stat().st_size < 0.9 * streamed.stat().st_size


def test_chromosomes_give_the_same_bytes_through_add_runs(tmp_path):
    """add_runs (the track writer's door) writes what add() run by run writes."""
    rng = np.random.default_rng(4)
    sizes = [("chr1", 400_000), ("s1", 3_000), ("chr2", 250_000), ("s2", 900)]
    runs = _runs(sizes, rng, gap_every=11)
    one = _write(tmp_path / "one.bw", sizes, runs, piece=10**9)
    tid = {c: i for i, (c, _n) in enumerate(sizes)}
    with open(tmp_path / "many.bw", "w+b") as fh:
        w = BigWigStream(fh, sizes)
        for lo in range(0, len(runs), 17):
            part = runs[lo : lo + 17]
            w.add_runs(np.array([tid[c] for c, _s, _v in part]), np.array([s for _c, s, _v in part]),
                       np.array([len(v) for *_x, v in part]), 50, 50, np.concatenate([v for *_x, v in part]))
        w.close()
    assert (tmp_path / "many.bw").read_bytes() == one.read_bytes()


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(1, 700), min_size=1, max_size=12), stored_below=st.sampled_from([0, 5, 256, 10**6]),
       block=st.sampled_from([7, 256, 4096]), seed=st.integers(0, 2**16))
def test_sections_are_their_bytes_raw_or_as_stored_zlib_streams(counts, stored_below, block, seed):
    """Each section is the UCSC fixed-step header and its values: raw, or (fewer values than
    ``stored_below``) a stored zlib stream that inflates (checking LEN/NLEN and the Adler-32) to it."""
    rng = np.random.default_rng(seed)
    tids = np.sort(rng.integers(0, 5, len(counts)))
    starts = rng.integers(0, 10**6, len(counts))
    vals = rng.random(sum(counts)).astype(np.float32)
    sec = pack_sections(tids, starts, np.array(counts), 20, 50, vals, block, stored_below)
    want, off = [], 0
    for t, a0, c in zip(tids.tolist(), starts.tolist(), counts):
        for done in range(0, c, block):
            k, a = min(block, c - done), a0 + done * 50
            want.append((struct.pack("<IIIIIBBH", t, a, a + (k - 1) * 50 + 20, 50, 20, 3, 0, k)
                         + vals[off + done : off + done + k].tobytes(), k))
        off += c
    assert len(sec.at) == len(want) + 1
    for i, (raw, k) in enumerate(want):
        part = sec.buf[sec.at[i] : sec.at[i + 1]].tobytes()
        assert sec.stored[i] == (k < stored_below) and sec.raw_size[i] == len(raw)
        assert (part[:3] == b"\x78\x01\x01" and zlib.decompress(part) == raw) if sec.stored[i] else part == raw
        assert (sec.tid[i], sec.start[i], sec.end[i]) == struct.unpack_from("<III", raw)


_DEFLATE_INPUTS = """
import numpy as np
def deflate_inputs():
    # what the writer deflates: float32 scores (a sigmoid of noise, as a scan's, with plateaus),
    # zoom-record-like rows, and bytes of little and much redundancy, from 1 byte to 300 kB
    rng = np.random.default_rng(23)
    out = []
    for n in (1, 7, 100, 1_000, 4_120, 16_408, 70_000, 300_000):
        v = (1 / (1 + np.exp(-rng.normal(-3, 1.5, -(-n // 4))))).astype(np.float32)
        v[rng.random(len(v)) < 0.3] = 0.5
        rec = np.repeat(np.arange(-(-n // 32), dtype="<u4"), 8) * np.uint32(800)
        out += [v.tobytes()[:n], rec.tobytes()[:n], rng.integers(0, 256, n, dtype=np.uint8).tobytes(),
                rng.integers(0, 3, n, dtype=np.uint8).tobytes()]
    return out
"""


def _streams(inputs, deflater=None) -> list[bytes]:
    d = deflater or Deflater(bigwig.DEFLATE_LEVEL)
    return [d.blocks(np.frombuffer(x, np.uint8), [(0, len(x))])[0] for x in inputs]


def _stream_digests(inputs, deflater=None) -> list[str]:
    return [hashlib.sha256(x).hexdigest() for x in _streams(inputs, deflater)]


def test_deflate_streams_are_a_function_of_the_bytes():
    """Byte-equal gathered and unsharded bigWigs need a deflate whose stream depends on its input
    alone (ISA-L once broke this): the same bytes give the same streams in a fresh process, after
    other compressions, in any order and in other threads; every stream inflates to its bytes."""
    scope: dict = {}
    exec(_DEFLATE_INPUTS, scope)
    inputs = scope["deflate_inputs"]()
    code = (_DEFLATE_INPUTS + "from motifscan.io.deflater import Deflater\nimport hashlib\nd = Deflater(1)\n"
            "for x in deflate_inputs(): print(hashlib.sha256(d.blocks(np.frombuffer(x, np.uint8), [(0, len(x))])[0]).hexdigest())")
    assert bigwig.DEFLATE_LEVEL == 1
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    rng = np.random.default_rng(5)
    reused = Deflater(bigwig.DEFLATE_LEVEL)
    for n in rng.integers(1, 200_000, 20):  # other data through the (kept) compressor first
        _streams([rng.random(int(n)).astype(np.float32).tobytes()[: int(n)]], reused)
    order = rng.permutation(len(inputs))
    shuffled = dict(zip(order.tolist(), _stream_digests([inputs[i] for i in order], reused)))
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda x: _stream_digests([x])[0], inputs))
    assert fresh == [shuffled[i] for i in range(len(inputs))] == threaded == _stream_digests(inputs)
    # the wheel's own call (a compressor per call) and the fallback give the same streams
    wheel = [bytes(zlib_compress(x, bigwig.DEFLATE_LEVEL)) for x in inputs]
    assert _streams(inputs) == wheel == _streams(inputs, Deflater(bigwig.DEFLATE_LEVEL, library=False))
    assert Deflater(bigwig.DEFLATE_LEVEL)._c is not None, "libdeflate's functions not found in the deflate wheel"
    for x in inputs:
        stream = _streams([x])[0]
        assert zlib.decompress(stream) == x
        assert stream[:2] == b"\x78\x01"  # a zlib header, as zlib's level 1 writes


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_characters="\n\0", blacklist_categories=("Cs",)), min_size=0,
                        max_size=12), min_size=1, max_size=30))
def test_chromosome_tree_keys_are_the_names_in_utf8_padded(names):
    """The B+ tree's keys: each name's UTF-8 bytes, NUL-padded to the longest (built from one buffer)."""
    keys = bigwig._padded_keys(names)
    width = max(1, *(len(n.encode()) for n in names))
    assert keys.dtype == np.dtype(f"S{width}")
    assert keys.tobytes() == b"".join(n.encode().ljust(width, b"\0") for n in names)


def test_chrom_ids_of_consecutive_and_scattered_names(tmp_path):
    """A batch's chromosome ids: consecutive sequences (from where the last batch ended, or
    elsewhere), scattered ones (regions), repeats and names not in the list (-1)."""
    sizes = [(f"s{i}", 1000) for i in range(10)]
    with open(tmp_path / "ids.bw", "w+b") as fh:
        w = BigWigStream(fh, sizes)
        assert w.chrom_ids(["s0", "s1", "s2"]).tolist() == [0, 1, 2]
        assert w.chrom_ids(["s2", "s3"]).tolist() == [2, 3]
        assert w.chrom_ids(["s4", "s5"]).tolist() == [4, 5]  # the last batch's last one ended there
        assert w.chrom_ids(["s6", "s8"]).tolist() == [6, 8]  # s7 had no window
        assert w.chrom_ids(["s6", "s7", "s8"]).tolist() == [6, 7, 8]
        assert "tid" not in w.__dict__, "found by hashes: no name -> id dict (10^6 names: ~70 MB)"
        assert w.chrom_ids(["s1", "s5", "s5", "x"]).tolist() == [1, 5, 5, -1]
        assert w.chrom_ids(["s9", "s10"]).tolist() == [9, -1]
        assert w.chrom_ids([]).tolist() == []
        assert w.tid["s4"] == 4
        # a chromosome's name once per row of a batch it fills, then the next sequences'
        assert w.chrom_ids(["s3", "s3", "s3"]).tolist() == [3, 3, 3]
        assert w.chrom_ids(["s3", "s4", "s4", "s5", "s6", "s6"]).tolist() == [3, 4, 4, 5, 6, 6]
        assert w.chrom_ids(["s7", "s7", "s9", "s9"]).tolist() == [7, 7, 9, 9]  # s8 had no window
        assert w.chrom_ids(["s2", "s2", "s1", "s1", "x", "x"]).tolist() == [2, 2, 1, 1, -1, -1]
        w.close()


@pytest.mark.parametrize("per_call", [1, 13, 10**9])
def test_short_sequences_give_the_same_bytes_however_they_are_handed_over(tmp_path, monkeypatch, per_call):
    """A draft assembly's file does not depend on how its runs were split into calls (what makes a
    sharded scan gathered == the unsharded scan): not its blocks, zoom records or total summary,
    though short sequences are written in batches whose bounds follow the calls."""
    monkeypatch.setattr(bigwig, "SHORT_BATCH_VALUES", 97)  # many batches, their bounds set by the calls
    rng = np.random.default_rng(6)
    sizes = [(f"scaf{i}", int(n)) for i, n in enumerate(rng.integers(200, 6000, 300))]
    runs = _runs(sizes, rng, gap_every=9)
    for r in rng.choice(len(runs), 40, replace=False):  # values of many magnitudes: sums that round
        runs[r] = (runs[r][0], runs[r][1], (runs[r][2] * 10.0 ** rng.integers(-6, 6)).astype(np.float32))
    tid = {c: i for i, (c, _n) in enumerate(sizes)}
    out = {}
    for k in (per_call, 7):
        with open(tmp_path / f"{k}.bw", "w+b") as fh:
            w = BigWigStream(fh, sizes)
            for lo in range(0, len(runs), k):
                part = runs[lo : lo + k]
                w.add_runs(np.array([tid[c] for c, _s, _v in part]), np.array([s for _c, s, _v in part]),
                           np.array([len(v) for *_x, v in part]), 50, 50, np.concatenate([v for *_x, v in part]))
            w.close()
        out[k] = (tmp_path / f"{k}.bw").read_bytes()
    assert out[per_call] == out[7]


def test_block_index_spooled_in_chunks_and_names_in_one_buffer_give_the_same_bytes(tmp_path, monkeypatch):
    """A draft assembly's data-block index, spooled to a temporary file a chunk at a time (here
    chunks of one R-tree node, so the leaves come back from many), and sizes given as the .fai's
    columns (RecordSizes: names in one buffer) write the file the in-memory index and (name,
    length) pairs write; both readers read it back."""
    from motifscan.io.fasta import RecordSizes
    from motifscan.io.names import RecordNames

    rng = np.random.default_rng(12)
    sizes = [(f"s{i}", int(n)) for i, n in enumerate(rng.integers(120, 900, 700))]
    runs = _runs(sizes, rng, gap_every=5)
    whole = _write(tmp_path / "whole.bw", sizes, runs).read_bytes()
    monkeypatch.setattr(bigwig._Blocks, "CHUNK", bigwig.NODE_SIZE)
    spooled = _write(tmp_path / "spooled.bw", sizes, runs)
    assert spooled.read_bytes() == whole
    columns = RecordSizes(RecordNames.from_names([c for c, _n in sizes]), np.array([n for _c, n in sizes]))
    assert _write(tmp_path / "columns.bw", columns, runs).read_bytes() == whole
    with pyBigWig.open(str(spooled)) as f:
        assert f.chroms() == dict(sizes)
        for c, _n in sizes[::29]:
            assert [v for *_x, v in f.intervals(c) or []] == [float(x) for cc, _s, v in runs if cc == c for x in v]
    for c, n in sizes[::97]:
        assert [v for *_x, v in bbi.fetch_intervals(str(spooled), c, 0, n)] == [
            float(x) for cc, _s, v in runs if cc == c for x in v]
