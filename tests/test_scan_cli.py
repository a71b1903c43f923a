"""``motifscan scan`` end to end: planted motifs, every output format, records, shards, errors."""

from __future__ import annotations

import gzip
import subprocess
import sys

import numpy as np
import pyBigWig
import pytest

from conftest import write_fasta
from scan_helpers import CONSENSUS, motif_model, random_dna, random_model

from motifscan.cli._base import main
from motifscan.model import save_model
from motifscan.io.fasta import read_fasta

WINDOW, STRIDE = 60, 10
SITES = [("chr1", 3000, "+"), ("chr1", 12000, "-"), ("chr2", 4521, "+")]


def _rc(s: str) -> str:
    return "".join({"A": "T", "C": "G", "G": "C", "T": "A"}[b] for b in reversed(s))


@pytest.fixture(scope="module")
def planted_genome(tmp_path_factory):
    """A 20 kb + 8 kb random genome with the consensus planted at SITES; the motif model."""
    d = tmp_path_factory.mktemp("planted")
    rng = np.random.default_rng(11)
    seqs = {"chr1": list(random_dna(rng, 20_000)), "chr2": list(random_dna(rng, 8_000))}
    for chrom, pos, strand in SITES:
        site = CONSENSUS if strand == "+" else _rc(CONSENSUS)
        seqs[chrom][pos : pos + len(site)] = site
    seqs = {k: "".join(v) for k, v in seqs.items()}
    fa = write_fasta(d / "genome.fa", list(seqs), list(seqs.values()))
    model_path = d / "motif.h5"
    save_model(motif_model(seq_length=WINDOW), model_path)
    return d, fa, model_path, seqs


def test_planted_motif_found_at_right_coordinates(planted_genome, tmp_path):
    d, fa, model, seqs = planted_genome
    peaks, hits = tmp_path / "peaks.bed", tmp_path / "hits.bed"
    assert main(["scan", str(model), str(fa), "-o", str(peaks), "--stride", str(STRIDE),
                 "--hits", str(hits), "--quiet"]) == 0
    rows = [ln.split("\t") for ln in peaks.read_text().splitlines()]
    assert len(rows) == len(SITES)
    w = len(CONSENSUS)
    for row, (chrom, pos, _s) in zip(rows, SITES):
        start, end = int(row[1]), int(row[2])
        assert row[0] == chrom
        # the merged windows are exactly the grid windows that hold the whole site
        first = -(-(pos + w - WINDOW) // STRIDE) * STRIDE
        last = pos // STRIDE * STRIDE
        assert (start, end) == (first, last + WINDOW)
        assert float(row[6]) > 0.99 and len(row) == 10
        assert start <= start + int(row[9]) < end
    hit_rows = [ln.split("\t") for ln in hits.read_text().splitlines()]
    site_hits = [(r[0], int(r[1]), r[5], r[6]) for r in hit_rows if r[3] == "filter0"]
    assert site_hits == [(c, p, s, CONSENSUS) for c, p, s in SITES]
    assert all(int(r[2]) - int(r[1]) == w for r in hit_rows)


def test_bedgraph_and_bigwig_agree(planted_genome, tmp_path):
    d, fa, model, seqs = planted_genome
    bg, bw = tmp_path / "t.bedGraph", tmp_path / "t.bw"
    assert main(["scan", str(model), str(fa), "-o", str(bg), "--stride", str(STRIDE), "-q"]) == 0
    # a gzip copy cannot be indexed, so the bigWig goes through a temporary bedGraph
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(fa.read_bytes()))
    assert main(["scan", str(model), str(gz), "-o", str(bw), "--stride", str(STRIDE), "-q"]) == 0
    # sizes known up front (index): values go straight in, in fixed-step runs
    bw_direct = tmp_path / "direct.bw"
    assert main(["scan", str(model), str(fa), "-o", str(bw_direct), "--chrom", "chr1,chr2", "--stride", str(STRIDE),
                 "-q"]) == 0
    rows = [ln.split("\t") for ln in bg.read_text().splitlines()]
    assert len(rows) == (20_000 - WINDOW) // STRIDE + 1 + (8_000 - WINDOW) // STRIDE + 1
    for path in (bw, bw_direct):
        with pyBigWig.open(str(path)) as f:
            assert f.chroms() == {"chr1": 20_000, "chr2": 8_000}
            got = [(c, a, b, v) for c in ("chr1", "chr2") for a, b, v in f.intervals(c)]
            assert [(c, int(a), int(b)) for c, a, b, _v in rows] == [(c, a, b) for c, a, b, _v in got]
            np.testing.assert_allclose([float(r[3]) for r in rows], [g[3] for g in got], atol=1e-5)
            assert f.stats("chr1", 3000, 3010, type="max")[0] > 0.99  # the site window's bin
    assert not list(tmp_path.glob(".*"))  # no temporaries left behind


def test_bigwig_with_index_uses_sizes_up_front(planted_genome, tmp_path):
    d, fa, model, seqs = planted_genome
    bw = tmp_path / "chr2.bw"
    assert main(["scan", str(model), str(fa), "-o", str(bw), "--chrom", "chr2", "--stride", str(STRIDE), "-q"]) == 0
    with pyBigWig.open(str(bw)) as f:
        assert f.chroms()["chr2"] == 8_000
        assert f.stats("chr2", 4521, 4531, type="max")[0] > 0.99
        assert f.intervals("chr1") is None


def test_shard_outputs_concatenate_to_the_unsharded_output(planted_genome, tmp_path):
    d, fa, model, seqs = planted_genome
    whole = tmp_path / "whole.bedGraph"
    assert main(["scan", str(model), str(fa), "-o", str(whole), "--stride", str(STRIDE), "-q"]) == 0
    parts = []
    for i in range(1, 4):
        out = tmp_path / f"s{i}.bedGraph"
        assert main(["scan", str(model), str(fa), "-o", str(out), "--stride", str(STRIDE), "--shard", f"{i}/3",
                     "--chunk-size", "3000", "-q"]) == 0
        parts.append(out.read_text())
    assert "".join(parts) == whole.read_text()


def test_records_mode_scores_each_record(tmp_path):
    rng = np.random.default_rng(2)
    seqs = [random_dna(rng, n) for n in (200, 57, 3, 1000)]
    fa = write_fasta(tmp_path / "r.fa", ["a", "b", "short", "d"], seqs)
    model = random_model(n_filters=6, width=7, seq_length=50)
    mpath = tmp_path / "m.h5"
    save_model(model, mpath)
    out = tmp_path / "scores.tsv"
    assert main(["scan", str(mpath), str(fa), "--mode", "records", "-o", str(out), "--chunk-size", "100", "-q"]) == 0
    lines = out.read_text().splitlines()
    header = lines[0].split("\t")
    assert header[:3] == ["name", "length", "score"] and "top_filter" in header
    rows = [ln.split("\t") for ln in lines[1:]]
    assert [r[0] for r in rows] == ["a", "b", "d"]  # 'short' is shorter than a filter
    recs = {r.name: r.codes for r in read_fasta(fa)}
    for r in rows:
        assert int(r[1]) == len(recs[r[0]])
        assert float(r[2]) == pytest.approx(float(model.predict_codes(recs[r[0]][None])[0, 0]), abs=1e-5)
        assert r[4] in "+-" and 0 <= int(r[3]) <= int(r[1]) - 7


def test_records_from_stdin(tmp_path):
    rng = np.random.default_rng(8)
    fa = write_fasta(tmp_path / "r.fa", ["a", "b"], [random_dna(rng, 80), random_dna(rng, 90)])
    mpath = tmp_path / "m.h5"
    save_model(random_model(width=7, seq_length=40), mpath)
    out = tmp_path / "o.tsv"
    res = subprocess.run([sys.executable, "-m", "motifscan", "scan", str(mpath), "-", "-o", str(out), "-q"],
                         input=fa.read_bytes(), capture_output=True)
    assert res.returncode == 0, res.stderr
    assert [ln.split("\t")[0] for ln in out.read_text().splitlines()] == ["name", "a", "b"]


def test_usage_errors_are_one_line(planted_genome, tmp_path, capsys):
    d, fa, model, seqs = planted_genome
    assert main(["scan", str(model), str(fa), "-o", str(tmp_path / "x.unknown")]) == 2
    assert main(["scan", str(model), str(fa), "-o", str(tmp_path / "nodir" / "x.bed")]) == 2
    assert main(["scan", str(model), str(fa), "-o", str(tmp_path / "x.bed"), "--shard", "4/3"]) == 2
    assert main(["scan", str(model), str(fa), "-o", str(tmp_path / "x.bed"), "--chrom", "chrX"]) == 2
    assert main(["scan", str(model), str(fa), "--mode", "records", "-o", str(tmp_path / "x.bed")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("motifscan: error:") == 5
    assert not list(tmp_path.iterdir())


def test_bad_input_leaves_no_output(planted_genome, tmp_path, capsys):
    d, fa, model, seqs = planted_genome
    bad = tmp_path / "bad.fa"
    bad.write_text(">x\n" + "ACGT" * 500 + "\n>y\nACGTJ\n")
    out = tmp_path / "o.bedGraph"
    assert main(["scan", str(model), str(bad), "-o", str(out)]) == 1
    assert "record y" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".o*"))
    plain_gz = tmp_path / "g.fa.gz"
    plain_gz.write_bytes(gzip.compress(fa.read_bytes()))
    assert main(["scan", str(model), str(plain_gz), "-o", str(out), "--chrom", "chr1"]) == 1
    assert "bgzip" in capsys.readouterr().err


def test_motif_file_dispatches_to_the_pwm_scan(planted_genome, tmp_path):
    d, fa, model, seqs = planted_genome
    probs = ["\t".join("0.97" if b == c else "0.01" for c in "ACGT") for b in CONSENSUS]
    meme = tmp_path / "m.meme"
    meme.write_text("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
                    "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
                    f"MOTIF site\nletter-probability matrix: alength= 4 w= {len(CONSENSUS)} nsites= 20 E= 0\n"
                    + "\n".join(probs) + "\n")
    out = tmp_path / "hits.tsv"
    assert main(["scan", str(meme), str(fa), "-o", str(out), "--pvalue", "1e-6", "-q"]) == 0
    text = out.read_text()
    for chrom, pos, strand in SITES:  # FIMO coordinates are 1-based
        assert f"{chrom}\t{pos + 1}\t{pos + len(CONSENSUS)}\t{strand}" in text


def test_record_shards_of_a_gzip_fasta_concatenate(tmp_path):
    rng = np.random.default_rng(9)
    names = [f"s{i}" for i in range(12)]
    fa = tmp_path / "r.fa.gz"
    write_fasta(fa, names, [random_dna(rng, int(n)) for n in rng.integers(30, 400, 12)], compress=True)
    mpath = tmp_path / "m.h5"
    save_model(random_model(width=7, seq_length=40), mpath)
    whole = tmp_path / "w.tsv"
    assert main(["scan", str(mpath), str(fa), "-o", str(whole), "-q"]) == 0
    body = []
    for i in (1, 2, 3, 4):
        out = tmp_path / f"p{i}.tsv"
        assert main(["scan", str(mpath), str(fa), "-o", str(out), "--shard", f"{i}/4", "-q"]) == 0
        lines = out.read_text().splitlines()
        assert len(lines) > 1
        body += lines[1:]
    assert body == whole.read_text().splitlines()[1:]


def test_records_mode_over_regions(planted_genome, tmp_path):
    d, fa, model, seqs = planted_genome
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t2990\t3100\nchr1\t5000\t5200\nchr2\t4500\t4600\n")
    out = tmp_path / "r.tsv"
    assert main(["scan", str(model), str(fa), "-o", str(out), "--regions", str(bed), "-q"]) == 0
    rows = [ln.split("\t") for ln in out.read_text().splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [("chr1:2990-3100", "110"), ("chr1:5000-5200", "200"), ("chr2:4500-4600", "100")]
    assert [float(r[2]) > 0.99 for r in rows] == [True, False, True]
    assert rows[0][3:6] == ["3000", "+", "filter0"] and rows[2][3:6] == ["4521", "+", "filter0"]
    parts = []
    for i in (1, 2):
        o = tmp_path / f"p{i}.tsv"
        assert main(["scan", str(model), str(fa), "-o", str(o), "--regions", str(bed), "--shard", f"{i}/2", "-q"]) == 0
        parts += [ln.split("\t") for ln in o.read_text().splitlines()[1:]]
    assert parts == rows


def test_bigwig_straight_or_spooled_is_the_same_file(planted_genome, tmp_path):
    """A plain FASTA gets its .fai built and values go straight into the bigWig; standard input
    and plain gzip cannot be indexed and are spooled as binary arrays: the same bytes either way."""
    d, fa, model, seqs = planted_genome
    plain = tmp_path / "g.fa"
    plain.write_bytes(fa.read_bytes())
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(fa.read_bytes()))
    outs = {k: tmp_path / f"{k}.bw" for k in ("plain", "gz", "stdin")}
    assert main(["scan", str(model), str(plain), "-o", str(outs["plain"]), "--stride", str(STRIDE), "-q"]) == 0
    assert (tmp_path / "g.fa.fai").exists()
    assert main(["scan", str(model), str(gz), "-o", str(outs["gz"]), "--stride", str(STRIDE), "-q"]) == 0
    res = subprocess.run([sys.executable, "-m", "motifscan", "scan", str(model), "-", "-o", str(outs["stdin"]),
                          "--stride", str(STRIDE), "-q"], input=fa.read_bytes(), capture_output=True)
    assert res.returncode == 0, res.stderr
    assert outs["plain"].read_bytes() == outs["gz"].read_bytes() == outs["stdin"].read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.fa", "g.fa.fai", "g.fa.gz", "gz.bw", "plain.bw",
                                                          "stdin.bw"]


def test_one_pass_writes_what_separate_scans_write(planted_genome, tmp_path):
    """-o track.bw --peaks peaks.bed --hits hits.bed: one pass, each file byte for byte the output
    of a scan that writes only it."""
    d, fa, model, seqs = planted_genome
    opts = ["--stride", str(STRIDE), "--threshold", "0.5", "-q"]
    one = {"bw": tmp_path / "one.bw", "peaks": tmp_path / "one.bed", "hits": tmp_path / "one_hits.bed"}
    assert main(["scan", str(model), str(fa), "-o", str(one["bw"]), "--peaks", str(one["peaks"]),
                 "--hits", str(one["hits"]), *opts]) == 0
    sep = {"bw": tmp_path / "sep.bw", "peaks": tmp_path / "sep.bed", "hits": tmp_path / "sep_hits.bed"}
    assert main(["scan", str(model), str(fa), "-o", str(sep["bw"]), *opts]) == 0
    assert main(["scan", str(model), str(fa), "-o", str(sep["peaks"]), "--hits", str(sep["hits"]), *opts]) == 0
    for k in one:
        assert one[k].read_bytes() == sep[k].read_bytes(), k
    assert len(one["peaks"].read_text().splitlines()) == len(SITES)


# ------------------------------------------------------------------ issue 11: what a new user hits
def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("motifscan: error: ") and "Traceback" not in err, err
    return lines[0]


def test_records_mode_from_the_output_name_is_logged_and_long_records_warned(tmp_path, capsys):
    """A .txt/.tsv output means records mode: the log names the mode and why; a genome whose
    records are chromosome-sized (>= 1 Mbp) also gets one warning naming -o OUT.bw, before the
    scan ends; short peak records do not, and an explicit --mode records silences it."""
    rng = np.random.default_rng(5)
    mpath = tmp_path / "m.h5"
    save_model(random_model(n_filters=4, width=7, seq_length=50), mpath)
    genome = write_fasta(tmp_path / "genome.fa", ["chr1", "chr2"], [random_dna(rng, 1_000_100), random_dna(rng, 5_000)])
    peaks = write_fasta(tmp_path / "peaks.fa", [f"p{i}" for i in range(20)], [random_dna(rng, 200) for _ in range(20)])

    assert main(["scan", str(mpath), str(genome), "-o", str(tmp_path / "out.txt")]) == 0
    err = capsys.readouterr().err
    mode_lines = [ln for ln in err.splitlines() if ln.startswith("motifscan: mode: ")]
    assert len(mode_lines) == 1 and "records" in mode_lines[0] and ".txt output" in mode_lines[0]
    assert "out.txt" in mode_lines[0]
    warnings = [ln for ln in err.splitlines() if ln.startswith("motifscan: warning: ")]
    assert len(warnings) == 1, err
    assert "chr1" in warnings[0] and "ONE sequence" in warnings[0] and "-o OUT.bw" in warnings[0]
    assert err.index(warnings[0]) < err.index("motifscan: scanned ")  # said while scanning
    assert len((tmp_path / "out.txt").read_text().splitlines()) == 3  # the records output is kept

    assert main(["scan", str(mpath), str(peaks), "-o", str(tmp_path / "peaks.tsv")]) == 0
    err = capsys.readouterr().err
    assert "motifscan: mode: records" in err and "warning" not in err

    assert main(["scan", str(mpath), str(genome), "--mode", "records", "-o", str(tmp_path / "g.tsv")]) == 0
    err = capsys.readouterr().err
    assert "motifscan: mode: records (--mode)" in err and "warning" not in err

    assert main(["scan", str(mpath), str(peaks), "-o", str(tmp_path / "p.bedGraph"), "--chunk-size", "500"]) == 0
    assert "motifscan: mode: windows" in capsys.readouterr().err


@pytest.mark.parametrize("first", ["genome.fa", "genome.fa.gz", "reads.bam"])
def test_swapped_arguments_say_which_goes_first(planted_genome, tmp_path, capsys, first):
    """INPUT given before the model: exit 2, one line saying the first argument is the model or
    motif file and the second the input (not 'cannot tell the motif format from .gz')."""
    d, fa, model, seqs = planted_genome
    path = tmp_path / first
    if first.endswith(".gz"):
        path.write_bytes(gzip.compress(fa.read_bytes()))
    elif first.endswith(".bam"):
        import pysam

        header = pysam.AlignmentHeader.from_dict({"HD": {"VN": "1.6"}, "SQ": [{"SN": "chr1", "LN": 100}]})
        with pysam.AlignmentFile(str(path), "wb", header=header) as bam:
            a = pysam.AlignedSegment(header)
            a.query_name, a.flag, a.query_sequence = "r1", 4, "ACGT" * 10
            bam.write(a)
    else:
        path.write_bytes(fa.read_bytes())
    out = tmp_path / "x.bw"
    assert main(["scan", str(path), str(model), "-o", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "first argument must be a model" in line and "the second the input" in line
    assert "extension" not in line
    assert not out.exists()


def test_motif_scan_checks_the_output_format_before_reading_the_motifs(planted_genome, tmp_path, capsys):
    """A model-only output (.bw) with a motif file fails at once, on the output, even when the
    motif file itself is broken (so it cannot have been read): exit 2, nothing written."""
    d, fa, model, seqs = planted_genome
    broken = tmp_path / "broken.meme"
    broken.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m1\nletter-probability matrix: w= 3\n0.5 0.5\n")
    out = tmp_path / "hits.bw"
    assert main(["scan", str(broken), str(fa), "-o", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "hits.bw" in line and "broken.meme" not in line
    assert ".tsv" in line  # says which outputs a motif scan writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.meme"]
    # the library function checks first too
    from motifscan.errors import UsageError
    from motifscan.scan.run import scan_motifs

    with pytest.raises(UsageError, match="hits.bw"):
        scan_motifs(broken, fa, out)
