"""Reads from BAM/CRAM/SAM: selection, orientation, per-read scores == per-record FASTA scores."""

from __future__ import annotations

import numpy as np
import pysam
import pytest

from conftest import write_fasta
from scan_helpers import random_dna, random_model

from motifscan.cli._base import main
from motifscan.model import save_model

REF_LEN = 2000


def _rc(s: str) -> str:
    return "".join({"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}[b] for b in reversed(s))


@pytest.fixture(scope="module")
def reads(tmp_path_factory):
    """A reference, and reads of every kind written as SAM, BAM and CRAM.

    Returns the directory, paths, and the expected (name, sequence-as-sequenced) of the reads a
    default scan keeps, and of those --include-secondary adds.
    """
    d = tmp_path_factory.mktemp("reads")
    rng = np.random.default_rng(21)
    ref_seq = random_dna(rng, REF_LEN)
    ref = write_fasta(d / "ref.fa", ["chr1"], [ref_seq])
    pysam.faidx(str(ref))
    header = pysam.AlignmentHeader.from_dict({"HD": {"VN": "1.6", "SO": "unsorted"},
                                              "SQ": [{"SN": "chr1", "LN": REF_LEN}]})
    specs = []  # (name, flag, stored seq)
    kept, secondary = [], []
    for i in range(30):
        n = int(rng.integers(40, 160))
        seq = random_dna(rng, n)
        flag = [0, 16, 4, 0 | 64 | 1, 16 | 128 | 1][i % 5]
        if flag & 4:
            flag = 4
        specs.append((f"r{i}", flag, seq))
        kept.append((f"r{i}", _rc(seq) if flag & 16 else seq))
    # a secondary without SEQ, a secondary and a supplementary with SEQ, a primary with N
    specs.append(("sec_noseq", 256, None))
    s2 = random_dna(rng, 90)
    specs.append(("sec", 256 | 16, s2))
    secondary.append(("sec", _rc(s2)))
    s3 = random_dna(rng, 70)
    specs.append(("supp", 2048, s3))
    secondary.append(("supp", s3))
    s4 = random_dna(rng, 60)[:30] + "NNNN" + random_dna(rng, 30)
    specs.append(("withN", 0, s4))
    kept.append(("withN", s4))

    def make(path, mode, **kw):
        with pysam.AlignmentFile(str(path), mode, header=header, **kw) as out:
            for name, flag, seq in specs:
                a = pysam.AlignedSegment(header)
                a.query_name = name
                a.flag = flag
                if seq is not None:
                    a.query_sequence = seq
                    a.query_qualities = pysam.qualitystring_to_array("I" * len(seq))
                if not flag & 4:
                    a.reference_id = 0
                    a.reference_start = int(rng.integers(0, REF_LEN - 200))
                    a.cigartuples = [(0, len(seq) if seq else 50)]
                    a.mapping_quality = 60
                else:
                    a.reference_id = -1
                    a.reference_start = -1
                out.write(a)
        return path

    bam = make(d / "reads.bam", "wb")
    sam = make(d / "reads.sam", "w")
    cram = make(d / "reads.cram", "wc", reference_filename=str(ref))
    model = random_model(n_filters=6, width=7, seq_length=50, seed=3)
    mpath = d / "m.h5"
    save_model(model, mpath)
    return dict(dir=d, ref=ref, bam=bam, sam=sam, cram=cram, model=mpath, kept=kept, secondary=secondary,
                n_no_seq=1)


def _rows(path):
    lines = path.read_text().splitlines()
    assert lines[0].startswith("name\tlength\tscore")
    return [ln.split("\t") for ln in lines[1:]]


def _fasta_rows(reads, items, tmp_path):
    fa = write_fasta(tmp_path / "reads.fa", [n for n, _ in items], [s for _, s in items])
    out = tmp_path / "fa.tsv"
    assert main(["scan", str(reads["model"]), str(fa), "--mode", "records", "-o", str(out), "-q"]) == 0
    return _rows(out)


@pytest.mark.parametrize("kind", ["bam", "sam", "cram"])
def test_read_scores_equal_fasta_record_scores(reads, kind, tmp_path):
    out = tmp_path / f"{kind}.tsv"
    args = ["scan", str(reads["model"]), str(reads[kind]), "-o", str(out), "-q"]
    if kind == "cram":
        args += ["--reference", str(reads["ref"])]
    assert main(args) == 0
    got = _rows(out)
    want = _fasta_rows(reads, reads["kept"], tmp_path)
    assert [r[0] for r in got] == [n for n, _ in reads["kept"]]  # primary + unmapped, input order
    for g, w in zip(got, want):
        assert g[0] == w[0] and g[1] == w[1] and g[3:] == w[3:]
        assert float(g[2]) == pytest.approx(float(w[2]), abs=1e-6)


def test_include_secondary_adds_reads_with_sequence(reads, tmp_path):
    out = tmp_path / "all.tsv"
    assert main(["scan", str(reads["model"]), str(reads["bam"]), "-o", str(out), "--include-secondary", "-q"]) == 0
    names = [r[0] for r in _rows(out)]
    assert "sec" in names and "supp" in names and "sec_noseq" not in names
    assert len(names) == len(reads["kept"]) + len(reads["secondary"])


def test_cram_without_reference_is_a_usage_error(reads, tmp_path, capsys):
    assert main(["scan", str(reads["model"]), str(reads["cram"]), "-o", str(tmp_path / "x.tsv")]) == 2
    assert "--reference" in capsys.readouterr().err


@pytest.mark.parametrize("secondary", [True, False])
def test_tag_bam_writes_every_read_with_its_score(reads, tmp_path, secondary):
    out, tagged = tmp_path / "s.tsv", tmp_path / "tagged.bam"
    assert main(["scan", str(reads["model"]), str(reads["bam"]), "-o", str(out), "--tag-bam", str(tagged), "-q"]
                + (["--include-secondary"] if secondary else [])) == 0
    scores = {r[0]: float(r[2]) for r in _rows(out)}  # read names are unique in this fixture
    with pysam.AlignmentFile(str(tagged), "rb", check_sq=False) as bam:
        got = list(bam)
    assert len(got) == 30 + 4  # every record, in input order
    assert [r.query_name for r in got] == [r.query_name for r in pysam.AlignmentFile(str(reads["bam"]), "rb", check_sq=False)]
    for read in got:
        if read.query_name == "sec_noseq" or (not secondary and read.query_name in ("sec", "supp")):
            assert not read.has_tag("ms")
        else:
            assert read.get_tag("ms") == pytest.approx(scores[read.query_name], abs=1e-6)


def _programs(path) -> list[dict]:
    with pysam.AlignmentFile(str(path), "rb", check_sq=False) as bam:
        return bam.header.to_dict().get("PG", [])


def test_tag_bam_header_gets_a_program_line_chained_as_samtools_does(reads, tmp_path):
    """--tag-bam adds one @PG (ID, PN, VN, CL), samtools-style: a unique ID when motifscan ran
    before (motifscan, motifscan.1, ...) and PP naming the last program of the input's chain."""
    from motifscan import __version__

    first, second = tmp_path / "t1.bam", tmp_path / "t2.bam"
    assert main(["scan", str(reads["model"]), str(reads["bam"]), "-o", str(tmp_path / "a.tsv"),
                 "--tag-bam", str(first), "-q"]) == 0
    (pg,) = _programs(first)
    assert pg["ID"] == "motifscan" and pg["PN"] == "motifscan" and pg["VN"] == __version__ and "PP" not in pg
    assert pg["CL"].startswith("motifscan scan ") and f"--tag-bam {first}" in pg["CL"]
    assert main(["scan", str(reads["model"]), str(first), "-o", str(tmp_path / "b.tsv"),
                 "--tag-bam", str(second), "-q"]) == 0
    pgs = _programs(second)
    assert [(p["ID"], p.get("PP")) for p in pgs] == [("motifscan", None), ("motifscan.1", "motifscan")]
    assert f"--tag-bam {second}" in pgs[1]["CL"]

    # an aligner's chain (bwa -> samtools): ours follows samtools
    header = pysam.AlignmentHeader.from_dict({
        "HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": "chr1", "LN": REF_LEN}],
        "PG": [{"ID": "bwa", "PN": "bwa", "VN": "0.7.17", "CL": "bwa mem ref.fa r.fq"},
               {"ID": "samtools", "PN": "samtools", "PP": "bwa", "VN": "1.19", "CL": "samtools sort"}]})
    chained = tmp_path / "chained.bam"
    with pysam.AlignmentFile(str(chained), "wb", header=header) as out:
        a = pysam.AlignedSegment(header)
        a.query_name, a.flag, a.query_sequence = "r", 4, "ACGTACGTACGTACGTACGT"
        out.write(a)
    third = tmp_path / "t3.bam"
    assert main(["scan", str(reads["model"]), str(chained), "-o", str(tmp_path / "c.tsv"),
                 "--tag-bam", str(third), "-q"]) == 0
    pgs = _programs(third)
    assert [(p["ID"], p.get("PP")) for p in pgs] == [("bwa", None), ("samtools", "bwa"), ("motifscan", "samtools")]


def test_program_line_follows_the_end_of_the_chain_not_the_last_line():
    from motifscan.io.records import add_program_line

    text = ("@HD\tVN:1.6\n@PG\tID:b\tPN:b\tPP:a\n@PG\tID:a\tPN:a\n"
            "@PG\tID:motifscan\tPN:motifscan\tPP:b\n@PG\tID:motifscan.1\tPN:motifscan\tPP:motifscan\n")
    out = add_program_line(text, command="motifscan scan m.h5\tx.bam", version="9.9")
    assert out.startswith(text)
    assert out[len(text):] == "@PG\tID:motifscan.2\tPN:motifscan\tPP:motifscan.1\tVN:9.9\tCL:motifscan scan m.h5 x.bam\n"
    assert add_program_line("@HD\tVN:1.6\n@PG\tID:z\tPN:z\n@PG\tID:y\tPN:y\tPP:z\n").endswith(
        "@PG\tID:motifscan\tPN:motifscan\tPP:y\tVN:" + __import__("motifscan").__version__ + "\n")


def test_shards_of_reads_concatenate(reads, tmp_path):
    whole = tmp_path / "w.tsv"
    assert main(["scan", str(reads["model"]), str(reads["bam"]), "-o", str(whole), "-q"]) == 0
    rows = []
    for i in (1, 2, 3):
        out = tmp_path / f"s{i}.tsv"
        assert main(["scan", str(reads["model"]), str(reads["bam"]), "-o", str(out), "--shard", f"{i}/3", "-q"]) == 0
        part = _rows(out)
        assert part  # near-equal parts: none empty here
        rows += part
    assert rows == _rows(whole)


def test_records_source_counts_reads_without_sequence(reads):
    from motifscan.io.reads import AlignmentReader
    from motifscan.scan.sources import ReadSource

    src = ReadSource(AlignmentReader(reads["bam"], include_secondary=True))
    pieces = list(src.pieces(1000, 6))
    assert src.stats["no_sequence"] == reads["n_no_seq"]
    assert src.stats["reads"] == len(pieces) == len(reads["kept"]) + len(reads["secondary"])


def test_chrom_and_regions_need_an_index_and_give_each_read_once(reads, tmp_path):
    sorted_bam = tmp_path / "sorted.bam"
    pysam.sort("-o", str(sorted_bam), str(reads["bam"]))
    out = tmp_path / "c.tsv"
    assert main(["scan", str(reads["model"]), str(sorted_bam), "--chrom", "chr1", "-o", str(out), "-q"]) == 2
    pysam.index(str(sorted_bam))
    with pysam.AlignmentFile(str(sorted_bam), "rb") as bam:
        mapped = [r for r in bam.fetch("chr1") if not (r.is_secondary or r.is_supplementary)]
    assert main(["scan", str(reads["model"]), str(sorted_bam), "--chrom", "chr1", "-o", str(out), "-q"]) == 0
    assert [r[0] for r in _rows(out)] == [r.query_name for r in mapped]  # unmapped reads are not in a region
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t0\t600\nchr1\t500\t900\nchr1\t1000\t1400\n")
    assert main(["scan", str(reads["model"]), str(sorted_bam), "--regions", str(bed), "-o", str(out), "-q"]) == 0
    want = [r.query_name for r in mapped if r.reference_start < 900 and r.reference_end > 0
            or r.reference_start < 1400 and r.reference_end > 1000]
    assert [r[0] for r in _rows(out)] == want
