"""PWM scan of motif files: exact hits, N handling, strands, chunk invariance, outputs, FIMO."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from motifscan.cli._base import main
from motifscan.motifs import jaspar_path
from motifscan.io.motif_formats import read_motifs, write_motifs
from motifscan.motifs.pwm import Motif
from motifscan.io.fimo import FIMO_COLUMNS, bh_qvalues_by_score
from motifscan.scan.run import scan_motifs
from motifscan.scan.motif_bank import MotifBank
from motifscan.scan.motif_scan import scan_codes
from motifscan.codes import decode, encode, reverse_complement
from motifscan.scan.options import InputOptions, MotifOptions, RunOptions

# JASPAR motifs of several widths: 8 (<10-mer index), 11, 12+ (10-mer index), 19 (CTCF)
IDS = ["MA0139.2", "MA0106.3", "MA0148.5", "MA0102.5", "MA0035.5", "MA0147.4"]


@pytest.fixture(autouse=True)
def quiet_logger():
    log = logging.getLogger("motifscan")
    handlers, level, propagate = log.handlers[:], log.level, log.propagate
    yield
    log.handlers[:], log.level, log.propagate = handlers, level, propagate


@pytest.fixture(scope="module")
def jaspar():
    return {m.id: m for m in read_motifs(jaspar_path())}


@pytest.fixture(scope="module")
def motifs(jaspar):
    return [jaspar[i] for i in IDS]


def sample_site(m: Motif, rng) -> np.ndarray:
    return (rng.random((m.width, 1)) > np.cumsum(m.probs, axis=1)).sum(axis=1).astype(np.uint8)


def genome(rng, motifs, lengths=(30_000, 12_000, 5), n_sites=15):
    """AT-rich records with N runs and planted sites (either strand); returns (records, sites)."""
    records, sites = [], []
    for r, length in enumerate(lengths):
        codes = rng.choice(4, size=length, p=[0.3, 0.2, 0.2, 0.3]).astype(np.uint8)
        if length > 1000:
            codes[500:700] = 4
            codes[rng.integers(0, length, 5)] = 4
            for m in motifs:
                for _ in range(n_sites):
                    site = sample_site(m, rng)
                    strand = "-" if rng.random() < 0.5 else "+"
                    a = int(rng.integers(800, length - m.width))
                    codes[a : a + m.width] = reverse_complement(site) if strand == "-" else site
                    sites.append((f"chr{r + 1}", a, m.id, strand))
        records.append((f"chr{r + 1}", codes))
    return records, sites


def write_fasta(path, records, width=70):
    with open(path, "w") as fh:
        for name, codes in records:
            text = decode(codes)
            fh.write(f">{name}\n" + "".join(text[i : i + width] + "\n" for i in range(0, len(text), width)))
    return path


def brute_hits(bank: MotifBank, records) -> set:
    """Every window at or above its cutoff, by direct scoring (the slow reference)."""
    out = set()
    for name, codes in records:
        for i in range(bank.n_filters):
            m, strand = bank.filter_motif[i], bank.filter_strand[i]
            pssm = bank.pssms[m].reverse_complement() if strand else bank.pssms[m]
            scores = pssm.score_codes(codes)
            for p in np.flatnonzero(scores >= bank.filter_cut[i]):
                out.add((name, int(p), bank.motifs[m].id, "+-"[int(strand)], int(scores[p])))
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory, motifs):
    rng = np.random.default_rng(5)
    records, sites = genome(rng, motifs)
    tmp = tmp_path_factory.mktemp("pwm")
    fasta = write_fasta(tmp / "genome.fa", records)
    meme = tmp / "motifs.meme"
    write_motifs(motifs, meme, "meme")
    return dict(records=records, sites=sites, fasta=fasta, meme=meme)


def load(path):
    return pd.read_csv(path, sep="\t")


def test_lookahead_and_dense_equal_brute_force(motifs, data):
    bank = MotifBank(motifs, background=[0.3, 0.2, 0.2, 0.3], pvalue=1e-3)
    expect = brute_hits(bank, data["records"])
    assert len(expect) > 100
    for method in ("lookahead", "dense"):
        got = set()
        for name, codes in data["records"]:
            s, f, sc, _ = scan_codes(bank, codes, method)
            got |= {(name, int(p), bank.motifs[bank.filter_motif[i]].id, "+-"[int(bank.filter_strand[i])], int(v))
                    for p, i, v in zip(s, f, sc)}
        assert got == expect, method


def test_tsv_is_fimo_shaped_and_exact(motifs, data, tmp_path):
    out = tmp_path / "hits.tsv"
    res = scan_motifs(data["meme"], data["fasta"], out, options=MotifOptions(pvalue=1e-3), run=RunOptions(progress=False))
    df = load(out)
    assert list(df.columns) == FIMO_COLUMNS
    assert res["hits"] == len(df) > 0
    bank = MotifBank(motifs, pvalue=1e-3)
    expect = {(n, p + 1, m, s) for n, p, m, s, _ in brute_hits(bank, data["records"])}
    assert set(zip(df["sequence_name"], df["start"], df["motif_id"], df["strand"])) == expect
    seqs = {n: decode(c) for n, c in data["records"]}
    for row in df.itertuples(index=False):
        window = seqs[row.sequence_name][row.start - 1 : row.stop]  # 1-based, inclusive
        assert len(window) == row.stop - row.start + 1
        if row.strand == "+":
            assert row.matched_sequence == window
        else:
            assert row.matched_sequence == decode(reverse_complement(encode(window)))
        assert "N" not in window
    assert (df["p-value"] <= 1e-3).all()
    assert ((df["q-value"] >= df["p-value"] * 0.999) & (df["q-value"] <= 1)).all()
    # alt ids and both strands present
    assert set(df["motif_alt_id"]) <= {m.alt for m in motifs}
    assert {"+", "-"} <= set(df["strand"])


def test_planted_sites_found_on_both_strands(data, tmp_path):
    out = tmp_path / "hits.tsv"
    scan_motifs(data["meme"], data["fasta"], out, run=RunOptions(progress=False))  # default p < 1e-4
    df = load(out)
    found = set(zip(df["sequence_name"], df["start"] - 1, df["motif_id"], df["strand"]))
    ctcf = [s for s in data["sites"] if s[2] == "MA0139.2"]
    hit = [s in found for s in ctcf]
    # sites are sampled from the matrix (some are weak) and later plants may overwrite them
    assert np.mean(hit) > 0.6
    assert {s[3] for s, h in zip(ctcf, hit) if h} == {"+", "-"}


def test_hits_never_contain_n(data, tmp_path):
    records = [("nn", encode("ACGT" * 5 + "CCACCAGGGGGCGC" + "N" + "GCCCCCTGGTGG" + "N" * 50 + "ACGT"))]
    fasta = write_fasta(tmp_path / "n.fa", records)
    out = tmp_path / "n.tsv"
    scan_motifs(data["meme"], fasta, out, options=MotifOptions(pvalue=0.5), run=RunOptions(progress=False))
    df = load(out)
    assert len(df) > 0
    assert not df["matched_sequence"].str.contains("N").any()
    seq = decode(records[0][1])
    assert all("N" not in seq[r.start - 1 : r.stop] for r in df.itertuples())


def test_unreachable_motif_reports_nothing(tmp_path, caplog):
    rng = np.random.default_rng(0)
    short = Motif("SHORT", np.eye(4)[[0, 1, 2, 3, 0]] * 0.97 + 0.0075, nsites=20)  # 5 wide
    strong = Motif("STRONG", np.eye(4)[[0, 2, 1, 3, 3, 0, 1, 2, 2, 0]] * 0.97 + 0.0075, nsites=20)
    meme = tmp_path / "m.meme"
    write_motifs([short, strong], meme, "meme")
    codes = rng.integers(0, 4, 20_000).astype(np.uint8)
    codes[100:105] = encode("ACGTA")  # the short motif's best word
    fasta = write_fasta(tmp_path / "g.fa", [("g", codes)])
    out = tmp_path / "h.tsv"
    caplog.set_level(logging.WARNING, logger="motifscan")
    logging.getLogger("motifscan").propagate = True
    res = scan_motifs(meme, fasta, out, run=RunOptions(progress=False))
    df = load(out)
    assert "SHORT" not in set(df["motif_id"])
    assert res["unreachable"] == ["SHORT"]
    assert "SHORT" in caplog.text
    bank = MotifBank([short], pvalue=1e-4)
    assert bank.n_filters == 0 and list(bank.unreachable) == [0]


@pytest.mark.parametrize("chunk,batch", [(1000, 1), (4096, 3), (64, None)])
def test_chunk_and_batch_size_do_not_change_output(data, tmp_path, chunk, batch):
    ref = tmp_path / "ref.tsv"
    scan_motifs(data["meme"], data["fasta"], ref, options=MotifOptions(pvalue=1e-3), run=RunOptions(progress=False))
    out = tmp_path / "c.tsv"
    scan_motifs(data["meme"], data["fasta"], out, options=MotifOptions(pvalue=1e-3), run=RunOptions(progress=False, chunk_size=chunk, batch_size=batch))
    assert out.read_text() == ref.read_text()


def test_dense_method_gives_the_same_file(data, tmp_path, device):
    ref = tmp_path / "ref.tsv"
    scan_motifs(data["meme"], data["fasta"], ref, options=MotifOptions(pvalue=1e-3), run=RunOptions(progress=False))
    out = tmp_path / "d.tsv"
    scan_motifs(data["meme"], data["fasta"], out, options=MotifOptions(pvalue=1e-3, method="dense"), run=RunOptions(progress=False, device=device))
    assert out.read_text() == ref.read_text()


def test_bed_and_gff3_by_extension(data, tmp_path):
    tsv = tmp_path / "h.tsv"
    scan_motifs(data["meme"], data["fasta"], tsv, options=MotifOptions(pvalue=1e-3), run=RunOptions(progress=False))
    df = load(tsv)
    bed = tmp_path / "h.bed"
    scan_motifs(data["meme"], data["fasta"], bed, options=MotifOptions(pvalue=1e-3), run=RunOptions(progress=False))
    b = pd.read_csv(bed, sep="\t", header=None)
    assert len(b) == len(df)
    assert (b[1] == df["start"] - 1).all() and (b[2] == df["stop"]).all()  # 0-based half-open
    assert b[4].between(0, 1000).all() and set(b[5]) <= {"+", "-"}
    gff = tmp_path / "h.gff3"
    scan_motifs(data["meme"], data["fasta"], gff, options=MotifOptions(pvalue=1e-3), run=RunOptions(progress=False))
    lines = gff.read_text().splitlines()
    assert lines[0] == "##gff-version 3"
    first = lines[1].split("\t")
    assert len(first) == 9 and first[2] == "nucleotide_motif" and "pvalue=" in first[8]


def test_qvalues_are_benjamini_hochberg(data, tmp_path):
    out = tmp_path / "h.tsv"
    scan_motifs(data["meme"], data["fasta"], out, options=MotifOptions(pvalue=1e-3), run=RunOptions(progress=False))
    df = load(out)
    n_windows = {}  # N-free windows per width, both strands
    for w in {m.width for m in read_motifs(data["meme"])}:
        total = 0
        for _name, codes in data["records"]:
            if len(codes) >= w:
                win = np.lib.stride_tricks.sliding_window_view(codes, w)
                total += int((win < 4).all(axis=1).sum())
        n_windows[w] = 2 * total
    width = {m.id: m.width for m in read_motifs(data["meme"])}
    for mid, g in df.groupby("motif_id"):
        m = n_windows[width[mid]]
        p = np.sort(g["p-value"].to_numpy())
        ranks = np.searchsorted(p, p, side="right")  # ties share the largest rank
        q = np.minimum.accumulate((p * m / ranks)[::-1])[::-1]
        got = g.sort_values("p-value")["q-value"].to_numpy()
        assert np.allclose(got, np.minimum(q, 1), rtol=1.2e-2)  # p and q printed with 3 digits


def test_bh_by_score_handles_ties_and_caps():
    pv = np.array([1.0, 0.5, 0.1, 0.01, 0.001])
    q = bh_qvalues_by_score(pv, np.array([0, 3, 1]), 2, 100)  # scores 2, 3, 4
    # hits: three at p=0.01, one at p=0.001 -> ranks 4 and 1
    assert q[0] == pytest.approx(1.0)  # no hit at score 2, q capped
    assert q[1] == pytest.approx(0.01 * 100 / 4)
    assert q[2] == pytest.approx(min(0.001 * 100 / 1, 0.25))


def test_shards_concatenate_to_the_whole(data, tmp_path):
    whole = tmp_path / "w.tsv"
    scan_motifs(data["meme"], data["fasta"], whole, options=MotifOptions(pvalue=1e-3), run=RunOptions(progress=False))
    from motifscan.scan.shard import Shard

    parts = []
    for i in (1, 2, 3):
        out = tmp_path / f"s{i}.tsv"
        scan_motifs(data["meme"], data["fasta"], out, options=MotifOptions(pvalue=1e-3), run=RunOptions(progress=False), inputs=InputOptions(shard=Shard(i, 3)))
        parts.append(load(out))
    key = ["motif_id", "sequence_name", "start", "strand", "score", "p-value", "matched_sequence"]
    cat = pd.concat(parts)[key].reset_index(drop=True)
    assert cat.equals(load(whole)[key])


def test_backgrounds(data, tmp_path):
    bgfile = tmp_path / "bg.txt"
    bgfile.write_text("# order-0\nA 0.3\nC 0.2\nG 0.2\nT 0.3\n")
    outs = {}
    for bg in ("motif-file", "uniform", "input", str(bgfile)):
        out = tmp_path / f"{abs(hash(bg))}.tsv"
        scan_motifs(data["meme"], data["fasta"], out, options=MotifOptions(pvalue=1e-3, background=bg), run=RunOptions(progress=False))
        outs[bg] = load(out)
    assert outs["motif-file"].equals(outs["uniform"])  # the written MEME file is uniform
    assert not outs[str(bgfile)].equals(outs["uniform"])
    # the genome is 30/20/20/30, so its own composition is close to the file's
    a = set(zip(outs["input"]["start"], outs["input"]["motif_id"]))
    b = set(zip(outs[str(bgfile)]["start"], outs[str(bgfile)]["motif_id"]))
    assert len(a & b) > 0.9 * len(b)


def test_cli_motif_file(data, tmp_path, capsys):
    out = tmp_path / "cli.tsv"
    code = main(["scan", str(data["meme"]), str(data["fasta"]), "-o", str(out), "--pvalue", "1e-3",
                 "--motif-pseudo", "0.1", "--bg", "uniform", "--quiet"])
    assert code == 0, capsys.readouterr().err
    ref = tmp_path / "ref.tsv"
    scan_motifs(data["meme"], data["fasta"], ref, options=MotifOptions(pvalue=1e-3, background="uniform"), run=RunOptions(progress=False))
    assert out.read_text() == ref.read_text()
    bad = main(["scan", str(data["meme"]), str(data["fasta"]), "-o", str(tmp_path / "x.bigwig")])
    assert bad == 2
    assert "motif-hit format" in capsys.readouterr().err
    assert not (tmp_path / "x.bigwig").exists()


def test_agrees_with_fimo_pymemesuite(tmp_path, motifs):
    """Same hits as FIMO (MEME 5, through pymemesuite) with its background and pseudocount."""
    import pymemesuite.common as common
    import pymemesuite.fimo as fimo_mod

    rng = np.random.default_rng(2)
    records, _ = genome(rng, motifs, lengths=(20_000, 8_000), n_sites=5)
    fasta = write_fasta(tmp_path / "g.fa", records)
    meme = tmp_path / "m.meme"
    write_motifs(motifs, meme, "meme")
    mf = common.MotifFile(str(meme), symmetrical=True)
    theirs_motifs = list(mf)
    bg = np.array(list(mf.background.frequencies))[:4]
    seqs = [common.Sequence(decode(c), name=n.encode()) for n, c in records]
    fimo = fimo_mod.FIMO(both_strands=True, threshold=1e-4)
    theirs = {}
    for m in theirs_motifs:
        for e in fimo.score_motif(m, seqs, mf.background).matched_elements:
            theirs[(m.accession.decode(), e.source.accession.decode(), min(e.start, e.stop), e.strand)] = e.pvalue
    out = tmp_path / "ours.tsv"
    scan_motifs(meme, fasta, out, options=MotifOptions(background=bg), run=RunOptions(progress=False))
    df = load(out)
    ours = dict(zip(zip(df["motif_id"], df["sequence_name"], df["start"], df["strand"]), df["p-value"]))
    # pymemesuite skips the last window of each sequence; nothing there in this data
    assert len(theirs) > 20
    assert set(ours) == set(theirs)
    for k, p in theirs.items():
        assert ours[k] == pytest.approx(p, rel=0.01)  # ours printed with 3 digits


def test_exported_motifs_scan_back_their_training_sites(tmp_path):
    """Train a tiny model on planted sites, export its motifs, scan the training sequences."""
    from motifscan.data.negatives import shuffle_all
    from motifscan.motifs.export import export_motifs
    from motifscan.model import ModelConfig, MotifCNN
    from motifscan.codes import one_hot

    rng = np.random.default_rng(11)
    consensus = encode("GCCACTAGGTGG")
    probs = np.full((12, 4), 0.03)
    probs[np.arange(12), consensus] = 0.91
    n, length = 300, 100
    pos = rng.integers(0, 4, (n, length)).astype(np.uint8)
    starts = rng.integers(0, length - 12, n)
    for i in range(n):
        site = (rng.random((12, 1)) > probs.cumsum(1)).sum(1).astype(np.uint8)
        pos[i, starts[i] : starts[i] + 12] = reverse_complement(site) if i % 2 else site
    neg = shuffle_all(pos, 1, seed=3)
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = MotifCNN(ModelConfig(n_filters=6, filter_width=16, seq_length=length, dropout=0.0))
        x = torch.from_numpy(one_hot(np.concatenate([pos, neg])))
        y = torch.cat([torch.ones(n), torch.zeros(len(neg))])[:, None]
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        gen = torch.Generator().manual_seed(0)
        for _ in range(15):
            for idx in torch.randperm(len(x), generator=gen).split(64):
                opt.zero_grad()
                torch.nn.functional.binary_cross_entropy_with_logits(model(x[idx]), y[idx]).backward()
                opt.step()
        model.eval()
        meme = tmp_path / "exported.meme"
        export_motifs(model, meme, sequences=list(pos), device="cpu")
    finally:
        torch.set_num_threads(threads)
    top = read_motifs(meme)[:1]
    fasta = write_fasta(tmp_path / "pos.fa", [(f"s{i}", s) for i, s in enumerate(pos)])
    nfasta = write_fasta(tmp_path / "neg.fa", [(f"s{i}", s) for i, s in enumerate(neg)])
    out, nout = tmp_path / "pos.tsv", tmp_path / "neg.tsv"
    scan_motifs(top, fasta, out, run=RunOptions(progress=False))
    scan_motifs(top, nfasta, nout, run=RunOptions(progress=False))
    df, ndf = load(out), load(nout)
    covered = 0
    for i in range(n):
        rows = df[df["sequence_name"] == f"s{i}"]
        # a hit overlapping the planted site by at least 8 bases
        ov = np.minimum(rows["stop"], starts[i] + 12) - np.maximum(rows["start"] - 1, starts[i])
        covered += bool((ov >= 8).any())
    assert covered / n > 0.8
    assert ndf["sequence_name"].nunique() < 0.2 * n


def test_pssm_range_100_gives_the_coarser_fimo_pvalues(data, tmp_path, capsys):
    """--pssm-range 100 (FIMO before 2013): each hit's p-value is the range-100 table's value for
    the integer score of its matched sequence, and the coarser scale changes some p-values."""
    from motifscan.motifs.pvalues import build_pssm

    fine, coarse = tmp_path / "fine.tsv", tmp_path / "coarse.tsv"
    base = ["scan", str(data["meme"]), str(data["fasta"]), "--pvalue", "1e-3", "--bg", "uniform", "--quiet"]
    assert main([*base, "-o", str(fine)]) == 0
    assert main([*base, "-o", str(coarse), "--pssm-range", "100"]) == 0, capsys.readouterr().err
    df = load(coarse)
    assert len(df)
    pssms = {m.id: build_pssm(m, np.full(4, 0.25), 0.1, 100) for m in read_motifs(data["meme"])}
    for motif_id, seq, pv in zip(df["motif_id"], df["matched_sequence"], df["p-value"]):
        p = pssms[motif_id]
        codes = encode(seq)  # read on the hit's strand, scored with the motif as written
        scaled = int(p.matrix[np.arange(p.width), codes].sum())
        assert pv == pytest.approx(p.pv[scaled], rel=0.01)  # printed with 3 digits
    merged = load(fine).merge(df, on=["motif_id", "sequence_name", "start", "strand"])
    assert (merged["p-value_x"] != merged["p-value_y"]).any()
    assert main([*base, "-o", str(tmp_path / "x.tsv"), "--pssm-range", "5"]) == 2


def test_lookahead_index_in_chunks_equals_one_search(monkeypatch):
    """Filters searched a few at a time give the index one search of all of them gives."""
    import motifscan.scan.motif_bank as mb

    motifs = read_motifs(jaspar_path())[:60]
    chunked = MotifBank(motifs, pvalue=1e-3)
    monkeypatch.setattr(mb, "KMER_CHUNK", 7)
    small = chunked.lookahead_index()
    monkeypatch.setattr(mb, "KMER_CHUNK", 10**6)
    whole = MotifBank(motifs, pvalue=1e-3).lookahead_index()
    assert [g.k for g in small.groups] == [g.k for g in whole.groups]
    for a, b in zip(small.groups, whole.groups):
        np.testing.assert_array_equal(a.counts, b.counts)
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.entries, b.entries)


def test_lookahead_index_builds_in_memory_near_its_size():
    """Building the index of all of JASPAR (879 motifs) needs at most 3.5x the index's own size
    (it needed 5x, and more for larger banks: the branch-and-bound frontier of the whole bank)."""
    import tracemalloc

    bank = MotifBank(read_motifs(jaspar_path()), pvalue=1e-4)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        index = bank.lookahead_index()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    size = index.tables.nbytes + sum(g.entries.nbytes + g.counts.nbytes + g.indptr.nbytes for g in index.groups)
    assert peak <= 3.5 * size, (peak / 1e6, size / 1e6)


def test_large_bank_scans_in_bounded_steps(monkeypatch):
    """A bank with many candidates per position scans in shorter steps, finding the same hits."""
    from motifscan.scan import motif_scan

    bank = MotifBank(read_motifs(jaspar_path())[:200], pvalue=1e-3)
    codes = np.random.default_rng(8).integers(0, 4, 300_000).astype(np.uint8)
    want = scan_codes(bank, codes)
    assert motif_scan.lookahead_step(bank.lookahead_index()) == motif_scan.LOOKAHEAD_STEP
    monkeypatch.setattr(motif_scan, "CANDIDATE_BUDGET", 1 << 14)
    assert motif_scan.lookahead_step(bank.lookahead_index()) < 1 << 14
    got = scan_codes(bank, codes)
    key = lambda r: np.lexsort((r[1], r[0]))  # noqa: E731
    for a, b in zip(want[:3], got[:3]):
        np.testing.assert_array_equal(a[key(want)], b[key(got)])
