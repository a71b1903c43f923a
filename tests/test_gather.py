"""Sharded scans gathered == the unsharded scan, byte for byte: bigWig track and peaks (issue 11 bug 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from conftest import write_fasta
from scan_helpers import random_dna, random_model

from motifscan.cli._base import main
from motifscan.errors import InputError
from motifscan.io.gather import gather, gather_tracks
from motifscan.io.peaks import merge_peak_files, peak_line
from motifscan.model import save_model

GATHER = Path(__file__).resolve().parents[1] / "workflows" / "scripts" / "gather.py"
WINDOW, STRIDE = 60, 10


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """Two chromosomes (one with an N run), a random model, and a threshold that makes many peaks."""
    d = tmp_path_factory.mktemp("gather")
    rng = np.random.default_rng(5)
    chr2 = random_dna(rng, 9_000)
    chr2 = chr2[:3000] + "N" * 700 + chr2[3700:]
    fa = write_fasta(d / "g.fa", ["chr1", "chr2", "chrM"], [random_dna(rng, 23_000), chr2, random_dna(rng, 900)])
    model = d / "m.h5"
    save_model(random_model(n_filters=6, width=7, seq_length=WINDOW, seed=3), model)
    bg = d / "all.bedGraph"
    assert main(["scan", str(model), str(fa), "-o", str(bg), "--stride", str(STRIDE), "-q"]) == 0
    values = np.array([float(ln.split("\t")[3]) for ln in bg.read_text().splitlines()])
    return d, fa, model, float(np.quantile(values, 0.6))


def _scan(model, fa, out, peaks, threshold, *extra):
    args = ["scan", str(model), str(fa), "-o", str(out), "--peaks", str(peaks), "--stride", str(STRIDE),
            "--threshold", f"{threshold:.9g}", "-q", *extra]
    assert main(args) == 0


@pytest.mark.parametrize("n", [1, 3, 7])
def test_gathered_shards_equal_the_unsharded_scan(genome, tmp_path, n):
    d, fa, model, threshold = genome
    whole_bw, whole_peaks = tmp_path / "whole.bw", tmp_path / "whole.bed"
    _scan(model, fa, whole_bw, whole_peaks, threshold)
    tracks, peaks = [], []
    for i in range(1, n + 1):
        tracks.append(tmp_path / f"{i}.bw")
        peaks.append(tmp_path / f"{i}.peaks.bed")
        _scan(model, fa, tracks[-1], peaks[-1], threshold, "--shard", f"{i}/{n}", "--chunk-size", "1500")
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("chr1\t23000\nchr2\t9000\nchrM\t900\n")
    if n == 3:  # a FASTA index serves as chrom.sizes (its first two columns)
        sizes = Path(str(fa) + ".fai")
        assert sizes.read_text().startswith("chr1\t23000\t")
    res = subprocess.run([sys.executable, str(GATHER), "--sizes", str(sizes), "--tracks", *map(str, tracks),
                          "--peaks", *map(str, peaks), "--out-track", str(tmp_path / "g.bw"),
                          "--out-peaks", str(tmp_path / "g.bed")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "g.bw").read_bytes() == whole_bw.read_bytes()
    assert (tmp_path / "g.bed").read_text() == whole_peaks.read_text()
    n_shard_peaks = sum(len(p.read_text().splitlines()) for p in peaks)
    n_peaks = len(whole_peaks.read_text().splitlines())
    assert n_peaks > 20
    if n > 1:  # some peaks were cut at shard edges, and joined again
        assert n_shard_peaks > n_peaks
    with pyBigWig.open(str(whole_bw)) as f:
        assert f.chroms() == {"chr1": 23000, "chr2": 9000, "chrM": 900}
        # a value per window, zoom levels present
        assert len(f.intervals("chr1")) == (23000 - WINDOW) // STRIDE + 1
        assert f.header()["nLevels"] > 0


def test_gathered_track_equals_the_track_of_one_scan_and_its_bedgraph(genome, tmp_path):
    d, fa, model, threshold = genome
    bg = d / "all.bedGraph"
    rows = [ln.split("\t") for ln in bg.read_text().splitlines()]
    tracks = []
    for i in (1, 2):
        tracks.append(tmp_path / f"{i}.bw")
        assert main(["scan", str(model), str(fa), "-o", str(tracks[-1]), "--stride", str(STRIDE), "--shard",
                     f"{i}/2", "-q"]) == 0
    assert gather_tracks(tracks, tmp_path / "g.bw") == len(rows)
    with pyBigWig.open(str(tmp_path / "g.bw")) as f:
        got = [(c, a, b, v) for c in ("chr1", "chr2", "chrM") for a, b, v in (f.intervals(c) or [])]
    assert [(c, int(a), int(b)) for c, a, b, _v in rows] == [(c, a, b) for c, a, b, _v in got]
    assert [r[3] for r in rows] == [f"{v:.6g}" for *_x, v in got]
    # shards out of order: an error naming the shard, and no output
    with pytest.raises(InputError, match="order"):
        gather_tracks(tracks[::-1], tmp_path / "bad.bw")
    assert not (tmp_path / "bad.bw").exists()


def test_cut_peaks_are_joined_with_the_exact_best_window(tmp_path):
    # the two parts' best windows agree to 6 digits: the text alone cannot tell which is best
    a, b = 0.63650004, 0.6365001
    assert f"{a:.6g}" == f"{b:.6g}" and round(1000 * a) != round(1000 * float(f"{a:.6g}"))
    (tmp_path / "1.bed").write_text(peak_line("c", 100, 300, 0.9, 150) + peak_line("c", 900, 960, a, 930))
    (tmp_path / "2.bed").write_text(peak_line("c", 960, 1100, b, 1000) + peak_line("d", 0, 60, 0.9, 30))
    exact = {(0, 900, 960): a, (1, 960, 1100): b}
    k = merge_peak_files([tmp_path / "1.bed", tmp_path / "2.bed"], tmp_path / "m.bed", order=["c", "d"],
                         value_at=lambda s, c, lo, hi: exact[(s, lo, hi)])
    lines = (tmp_path / "m.bed").read_text().splitlines(keepends=True)
    assert k == 3 and lines[0] == peak_line("c", 100, 300, 0.9, 150)  # untouched: verbatim
    assert lines[1] == peak_line("c", 900, 1100, b, 1000)  # joined: the second part's window is best
    assert lines[2] == peak_line("d", 0, 60, 0.9, 30)
    # from the text alone, the first part wins the tie
    merge_peak_files([tmp_path / "1.bed", tmp_path / "2.bed"], tmp_path / "t.bed")
    assert (tmp_path / "t.bed").read_text().splitlines(keepends=True)[1] == peak_line("c", 900, 1100, 0.6365, 930)
    with pytest.raises(InputError, match="genome order"):
        merge_peak_files([tmp_path / "2.bed", tmp_path / "1.bed"], tmp_path / "x.bed", order=["c", "d"])
    assert not (tmp_path / "x.bed").exists()


def test_gather_checks_its_inputs(genome, tmp_path):
    with pytest.raises(InputError, match="2 shard tracks but 1"):
        gather(["a.bw", "b.bw"], ["a.bed"], tmp_path / "t.bw", tmp_path / "p.bed")
    (tmp_path / "x.bw").write_text("not a bigwig")
    with pytest.raises(InputError, match="not a bigWig"):
        gather_tracks([tmp_path / "x.bw"], tmp_path / "t.bw")


def _shards(genome, tmp_path, n, *, which=None, extra=None):
    """Scan shards ``which`` (default all) of ``n``; ``extra[i]``: more options for shard i."""
    d, fa, model, threshold = genome
    tracks, peaks = [], []
    for i in which or range(1, n + 1):
        tracks.append(tmp_path / f"{i}.bw")
        peaks.append(tmp_path / f"{i}.peaks.bed")
        _scan(model, fa, tracks[-1], peaks[-1], threshold, "--shard", f"{i}/{n}", *((extra or {}).get(i, ())))
    return tracks, peaks


def test_gather_refuses_an_incomplete_or_mixed_set_of_shards(genome, tmp_path):
    """Issue 22 item 8: shards 1 and 3 of 3, or shards of different strides, made a partial track."""
    tracks, peaks = _shards(genome, tmp_path, 3, which=[1, 3])
    with pytest.raises(InputError, match=r"1 of 3 shards missing: 2/3"):
        gather(tracks, peaks, tmp_path / "g.bw", tmp_path / "g.bed")
    with pytest.raises(InputError, match="1 of 3 shards missing"):
        gather_tracks(tracks, tmp_path / "g.bw")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    tracks, peaks = _shards(genome, mixed, 2, extra={2: ["--stride", "20"]})
    with pytest.raises(InputError, match=r"2\.bw: scanned with stride 20, but .*1\.bw with 10"):
        gather(tracks, peaks, tmp_path / "g.bw", tmp_path / "g.bed")
    good = tmp_path / "good"
    good.mkdir()
    tracks, peaks = _shards(genome, good, 2)
    with pytest.raises(InputError, match="is not the peaks file that shard 1/2 wrote"):
        gather(tracks, peaks[::-1], tmp_path / "g.bw", tmp_path / "g.bed")
    with pytest.raises(InputError, match="given twice"):
        gather([tracks[0], tracks[0]], [peaks[0], peaks[0]], tmp_path / "g.bw", tmp_path / "g.bed")
    (good / "2.bw.manifest.json").unlink()
    with pytest.raises(InputError, match="no shard manifest"):
        gather(tracks, peaks, tmp_path / "g.bw", tmp_path / "g.bed")
    assert not (tmp_path / "g.bw").exists() and not (tmp_path / "g.bed").exists()


def test_a_bad_line_in_a_shard_leaves_neither_output(genome, tmp_path):
    tracks, peaks = _shards(genome, tmp_path, 2)
    text = peaks[1].read_text()
    assert text
    bad = text.replace("\t", " ", 1)  # the first line of shard 2's peaks broken, the same size
    peaks[1].write_text(bad)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError):
        gather(tracks, peaks, out / "g.bw", out / "g.bed")
    assert os.listdir(out) == []
