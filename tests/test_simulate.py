"""motifscan simulate: a seeded random genome with planted motif sites and their truth BED."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import motifscan.simulate as sim
from motifscan.cli._base import main
from motifscan.motifs.pwm import Motif
from motifscan.codes import encode
from motifscan.io.fasta import read_fasta

# A fully determined motif (one letter per position): every planted site equals its consensus.
CONSENSUS = "TTGACGCAGGTA"
ONE_HOT = np.eye(4)[["ACGT".index(c) for c in CONSENSUS]]


def _revcomp(s: str) -> str:
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _read_bed(path):
    rows = [line.split("\t") for line in path.read_text().splitlines()]
    return [(c, int(s), int(e), n, sc, st.strip()) for c, s, e, n, sc, st in rows]


def _genome(path) -> dict[str, str]:
    return {r.name: r.codes.tobytes().translate(bytes.maketrans(b"\0\1\2\3\4", b"ACGTN")).decode()
            for r in read_fasta(path)}


@pytest.fixture
def planted(tmp_path):
    fa, bed = tmp_path / "g.fa", tmp_path / "truth.bed"
    res = sim.simulate_genome(fa, bed, length=50_003, n_chroms=3,
                              motif=Motif("TEST1", ONE_HOT, alt="TST"), n_sites=40, seed=7)
    return fa, bed, res


def test_fasta_layout_and_sizes(planted):
    fa, _bed, res = planted
    lines = fa.read_text().splitlines()
    headers = [ln[1:] for ln in lines if ln.startswith(">")]
    assert headers == ["chr1", "chr2", "chr3"]
    assert all(len(ln) <= sim.LINE_WIDTH for ln in lines)
    # every sequence line but the last of each record is exactly 60 letters
    seq_runs = "\n".join(lines).split(">")[1:]
    for run in seq_runs:
        body = run.splitlines()[1:]
        assert all(len(ln) == sim.LINE_WIDTH for ln in body[:-1])
        assert set("".join(body)) <= set("ACGT")
    genome = _genome(fa)
    assert {k: len(v) for k, v in genome.items()} == res.sizes
    assert sum(res.sizes.values()) == 50_003


def test_truth_sites_hold_the_motif_on_their_strand(planted):
    fa, bed, res = planted
    genome = _genome(fa)
    rows = _read_bed(bed)
    assert len(rows) == 40 == len(res.sites)
    assert {r[5] for r in rows} == {"+", "-"}
    assert all(r[3] == "TEST1" and r[4] == "0" for r in rows)
    for chrom, start, end, _name, _score, strand in rows:
        site = genome[chrom][start:end]
        assert (site if strand == "+" else _revcomp(site)) == CONSENSUS
    # sorted, non-overlapping, inside the chromosome
    for a, b in zip(rows, rows[1:]):
        if a[0] == b[0]:
            assert a[2] <= b[1]
    assert all(0 <= r[1] and r[2] <= res.sizes[r[0]] for r in rows)


def test_same_seed_same_bytes_other_seed_differs(tmp_path, planted):
    fa, bed, _ = planted
    again = sim.simulate_genome(tmp_path / "a.fa", tmp_path / "a.bed", length=50_003, n_chroms=3,
                                motif=Motif("TEST1", ONE_HOT), n_sites=40, seed=7)
    assert (tmp_path / "a.fa").read_bytes() == fa.read_bytes()
    assert (tmp_path / "a.bed").read_bytes() == bed.read_bytes()
    assert again.sizes["chr1"] == 16_668
    sim.simulate_genome(tmp_path / "b.fa", tmp_path / "b.bed", length=50_003, n_chroms=3,
                        motif=ONE_HOT, n_sites=40, seed=8)
    assert (tmp_path / "b.fa").read_bytes() != fa.read_bytes()
    assert _read_bed(tmp_path / "b.bed")[0][3] == "motif"  # a bare array gets a default id


def test_sites_straddling_generation_blocks_are_intact(tmp_path, monkeypatch):
    monkeypatch.setattr(sim, "_BLOCK", 120)  # force many blocks so sites cross block edges
    fa, bed = tmp_path / "g.fa", tmp_path / "t.bed"
    sim.simulate_genome(fa, bed, length=3_000, n_chroms=1, motif=ONE_HOT, n_sites=60, seed=3)
    genome = _genome(fa)["chr1"]
    rows = _read_bed(bed)
    assert any(r[1] // 120 != (r[2] - 1) // 120 for r in rows)  # some site does straddle
    for _c, s, e, _n, _sc, strand in rows:
        site = genome[s:e]
        assert (site if strand == "+" else _revcomp(site)) == CONSENSUS


def test_gc_content_and_sampled_sites_follow_the_matrix(tmp_path):
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]] * 4)
    fa, bed = tmp_path / "g.fa", tmp_path / "t.bed"
    sim.simulate_genome(fa, bed, length=400_000, n_chroms=2, motif=probs, n_sites=2_000, seed=1,
                        gc=0.6)
    genome = _genome(fa)
    truth = _read_bed(bed)
    background = {c: np.frombuffer(s.encode(), dtype=np.uint8).copy() for c, s in genome.items()}
    for c, s, e, *_ in truth:
        background[c][s:e] = ord("N")  # count GC on the background only (the sites are AT-rich)
    bases = np.concatenate(list(background.values()))
    bases = bases[bases != ord("N")]
    gc = np.isin(bases, np.frombuffer(b"GC", dtype=np.uint8)).mean()
    assert gc == pytest.approx(0.6, abs=0.005)
    sites = [genome[c][s:e] if st == "+" else _revcomp(genome[c][s:e])
             for c, s, e, _n, _sc, st in truth]
    codes = np.stack([encode(s) for s in sites])
    freq = np.stack([(codes == k).mean(axis=0) for k in range(4)], axis=1)
    np.testing.assert_allclose(freq, probs, atol=0.04)


def test_too_many_sites_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="do not fit"):
        sim.simulate_genome(tmp_path / "g.fa", tmp_path / "t.bed", length=100, n_chroms=1,
                            motif=ONE_HOT, n_sites=20, seed=0)
    assert not (tmp_path / "g.fa").exists()


@settings(max_examples=60, deadline=None)
@given(length=st.integers(1, 400), width=st.integers(1, 30), seed=st.integers(0, 2**32 - 1),
       data=st.data())
def test_site_starts_never_overlap(length, width, seed, data):
    n = data.draw(st.integers(0, length // width))
    starts = sim._site_starts(np.random.default_rng(seed), length, n, width)
    assert len(starts) == n
    assert np.all(np.diff(starts) >= width)
    if n:
        assert starts[0] >= 0 and starts[-1] + width <= length


def test_cli_default_plants_ctcf(tmp_path, capsys):
    fa, bed = tmp_path / "g.fa", tmp_path / "t.bed"
    assert main(["simulate", "-o", str(fa), "--truth", str(bed), "--length", "20000",
                 "--chroms", "2", "--n-sites", "10", "--seed", "5"]) == 0
    rows = _read_bed(bed)
    assert len(rows) == 10 and {r[3] for r in rows} == {"MA0139.2"}
    assert all(r[2] - r[1] == 15 for r in rows)  # MA0139.2 is 15 bp wide


def test_cli_motif_file_and_errors(tmp_path, capsys):
    meme = tmp_path / "m.meme"
    rows = "\n".join(" ".join(f"{p:.3f}" for p in row) for row in ONE_HOT)
    meme.write_text("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
                    "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
                    f"MOTIF M1 ONE\nletter-probability matrix: alength= 4 w= {len(CONSENSUS)} "
                    f"nsites= 20 E= 0\n{rows}\n\n"
                    f"MOTIF M2 TWO\nletter-probability matrix: alength= 4 w= {len(CONSENSUS)} "
                    f"nsites= 20 E= 0\n{rows}\n")
    fa, bed = tmp_path / "g.fa", tmp_path / "t.bed"
    base = ["simulate", "-o", str(fa), "--truth", str(bed), "--length", "5000", "--n-sites", "5",
            "--motifs", str(meme)]
    assert main(base) == 2  # two motifs in the file and no --motif-id
    assert "--motif-id" in capsys.readouterr().err
    assert main(base + ["--motif-id", "TWO"]) == 0
    assert {r[3] for r in _read_bed(bed)} == {"M2"}
    capsys.readouterr()
    assert main(base + ["--motif-id", "NOPE"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NOPE" in err
    assert main(["simulate", "-o", str(tmp_path / "x" / "g.fa"), "--truth", str(bed)]) == 2
    assert main(base + ["--motif-id", "M1", "--length", "30"]) == 2  # sites do not fit
