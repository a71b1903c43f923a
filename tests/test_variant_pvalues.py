"""p- and q-values of variant effects: calibrated on SNVs far from sites, small at informative
positions of planted sites, BH over the scored SNVs, per task, reproducible, scored as the file's."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import torch

from motifscan.cli._base import main
from motifscan.io.fasta import IndexedFasta
from motifscan.io.variants import Allele, EffectsWriter, effect_columns, p_texts
from motifscan.metrics import auroc
from motifscan.model import ModelConfig, MotifCNN, load_model, save_model
from motifscan.scan.options import RunOptions, VariantOptions
from motifscan.interpret.variant_null import VariantNull, sample_null_snvs
from motifscan.interpret.variants import _ModelVariantScorer, score_variants
from motifscan.stats.multitest import bh_qvalues

from conftest import write_fasta

REPO = Path(__file__).resolve().parents[1]
CPU = RunOptions(device="cpu")


def _vcf(path: Path, rows: list[str], contigs: dict[str, int]) -> Path:
    head = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={n}>" for c, n in contigs.items()),
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    path.write_text("\n".join(head + rows) + "\n")
    return path


# --------------------------------------------------------------------- the promise, on planted CTCF sites
@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """1 Mbp simulated genome with 150 CTCF (MA0139.2) sites, scored with the bundled model:
    SNVs at the three most informative positions of each site, and 20,000 random SNVs >= 100 bp
    from every site (ALT uniform among the other three bases, as in the null)."""
    from motifscan.io.motif_formats import read_motifs
    from motifscan.motifs import jaspar_path

    d = tmp_path_factory.mktemp("pvalues")
    assert main(["simulate", "-o", str(d / "g.fa"), "--truth", str(d / "t.bed"), "--length", "1000000",
                 "--chroms", "1", "--n-sites", "150", "--seed", "5", "--quiet"]) == 0
    ctcf = next(m for m in read_motifs(jaspar_path()) if m.id == "MA0139.2")
    ic = math.log2(4) + (ctcf.probs * np.log2(np.maximum(ctcf.probs, 1e-12))).sum(axis=1)
    top = np.argsort(-ic)[:3]
    seq = "".join(line.strip() for line in (d / "g.fa").read_text().splitlines()[1:])
    truth = [ln.split("\t") for ln in (d / "t.bed").read_text().splitlines()]
    rows = []
    for _chrom, start, end, _name, _s, strand in truth:
        start, end = int(start), int(end)
        for j in top:
            p = start + j if strand == "+" else end - 1 - j
            alt = {"A": "T", "C": "G", "G": "C", "T": "A"}[seq[p]]  # the complement: a strong change
            rows.append((p + 1, f"near{p}", seq[p], alt))
    rng = np.random.default_rng(11)
    starts = np.array([int(t[1]) for t in truth])
    ends = np.array([int(t[2]) for t in truth])
    cand = np.unique(rng.integers(200, len(seq) - 200, 40_000))
    dist = np.minimum(np.abs(cand[:, None] - starts[None]), np.abs(cand[:, None] - (ends - 1)[None])).min(axis=1)
    inside = ((cand[:, None] >= starts[None]) & (cand[:, None] < ends[None])).any(axis=1)
    far = rng.permutation(cand[(dist >= 100) & ~inside])[:20_000]
    for p in far.tolist():
        ref = seq[p]
        alt = rng.choice([b for b in "ACGT" if b != ref])
        rows.append((p + 1, f"far{p}", ref, alt))
    rows.sort()
    vcf = _vcf(d / "v.vcf", [f"chr1\t{p}\t{i}\t{r}\t{a}\t.\t.\t." for p, i, r, a in rows], {"chr1": len(seq)})
    model = load_model(REPO / "models" / "ctcf_gm12878.h5")
    stats = score_variants(model, vcf, d / "g.fa", d / "e.tsv", vcf_out=d / "a.vcf", run=CPU)
    df = pd.read_csv(d / "e.tsv", sep="\t", dtype={"id": str})
    return d, df, stats


def test_far_snvs_have_uniform_pvalues(planted):
    """SNVs >= 100 bp from any planted site: the fraction with p <= a is about a."""
    _d, df, stats = planted
    far = df[df.id.str.startswith("far")]
    assert len(far) == 20_000 and stats["tested"] == len(df) and stats["null_variants"] == 30_000
    p = far.pvalue.to_numpy()
    assert ((p > 0) & (p <= 1)).all()
    for a, lo, hi in ((0.01, 0.005, 0.02), (0.05, 0.03, 0.075), (0.1, 0.065, 0.14)):
        frac = float((p <= a).mean())
        print(f"far SNVs: fraction with p <= {a}: {frac:.4f}")
        assert lo <= frac <= hi, (a, frac)


def test_snvs_at_informative_positions_get_small_pvalues(planted):
    _d, df, _ = planted
    near = df.id.str.startswith("near").to_numpy()
    print(f"AUROC {auroc(near.astype(float), -np.log10(df.pvalue.to_numpy())):.4f}; near p<=0.01: "
          f"{(df.pvalue[near] <= 0.01).mean():.3f}")
    score = -np.log10(df.pvalue.to_numpy())
    assert auroc(near.astype(float), score) >= 0.95
    assert (df.pvalue[near] <= 0.01).mean() > 0.75


def test_qvalues_are_bh_over_the_scored_snvs(planted):
    _d, df, _ = planted
    # p is printed to 3 significant digits: the q-values of the printed p agree to that rounding
    np.testing.assert_allclose(df.qvalue, bh_qvalues(df.pvalue.to_numpy()), rtol=6e-3)


def test_annotated_vcf_carries_p_and_q(planted):
    d, df, _ = planted
    with pysam.VariantFile(str(d / "a.vcf")) as vf:
        info = vf.header.info
        assert "random SNVs" in info["MS_P"].description and "GC" in info["MS_P"].description
        assert f"over the {len(df)} SNVs" in info["MS_Q"].description
        got = np.array([(r.info["MS_P"][0], r.info["MS_Q"][0]) for r in vf])
    np.testing.assert_allclose(got[:, 0], df.pvalue, rtol=1e-6)
    np.testing.assert_allclose(got[:, 1], df.qvalue, rtol=1e-6)


# --------------------------------------------------------------------- small genome, small random models
CHROMS = {"chr1": 6000, "chr2": 3000}
L = 60


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp("pv_small")
    rng = np.random.default_rng(8)
    seqs = {c: "".join(np.array(list("ACGT"))[rng.integers(0, 4, n)]) for c, n in CHROMS.items()}
    seqs["chr2"] = seqs["chr2"][:1000] + "N" * 300 + seqs["chr2"][1300:]
    write_fasta(d / "g.fa", list(seqs), list(seqs.values()))
    return d / "g.fa", seqs


def _model(tasks=("bound",), seed=0) -> MotifCNN:
    torch.manual_seed(seed)
    m = MotifCNN(ModelConfig(n_filters=6, filter_width=8, seq_length=L, tasks=list(tasks))).eval()
    with torch.no_grad():
        m.conv.weight.mul_(3.0)
    return m


def _rows(seqs, n, seed):
    rng = np.random.default_rng(seed)
    s = seqs["chr1"]
    pos = np.sort(rng.choice(np.arange(1, len(s) + 1), n, replace=False))
    rows = [f"chr1\t{p}\ts{p}\t{s[p - 1]}\t{rng.choice([b for b in 'ACGT' if b != s[p - 1]])}\t.\t.\t."
            for p in pos.tolist()]
    # an MNV, an insertion, a REF mismatch and a multi-allelic record with a symbolic ALT
    rows += [f"chr1\t5000\tmnv\t{s[4999:5001]}\tGA\t.\t.\t.", f"chr1\t5100\tins\t{s[5099]}\t{s[5099]}AC\t.\t.\t.",
             f"chr1\t5200\tmm\t{'A' if s[5199] != 'A' else 'C'}\tT\t.\t.\t.",
             f"chr1\t5300\tmulti\t{s[5299]}\t{'A' if s[5299] != 'A' else 'C'},<DEL>\t.\t.\t."]
    return sorted(rows, key=lambda r: int(r.split("\t")[1]))


def _score(model, vcf, fa, out, n=3000, seed=0, **kw):
    return score_variants(model, vcf, fa, out, options=VariantOptions(null_variants=n, seed=seed), run=CPU, **kw)


def test_only_scored_snvs_are_tested(genome, tmp_path):
    """MNVs, indels and unscored rows get no p-value and are not in the q-values' family."""
    fa, seqs = genome
    vcf = _vcf(tmp_path / "v.vcf", _rows(seqs, 300, 1), CHROMS)
    stats = _score(_model(), vcf, fa, tmp_path / "e.tsv", vcf_out=tmp_path / "a.vcf.gz")
    df = pd.read_csv(tmp_path / "e.tsv", sep="\t", dtype={"id": str}, keep_default_na=False, na_values=[""])
    assert list(df.columns) == effect_columns(["bound"], pvalues=True)
    snv = (df.ref.str.len() == 1) & (df.alt.str.len() == 1) & df.logit_delta.notna()
    assert df.pvalue.notna().to_numpy().tolist() == snv.tolist()
    assert df.qvalue.notna().to_numpy().tolist() == snv.tolist()
    assert stats["tested"] == snv.sum() == 301  # and the SNV of the multi-allelic record
    np.testing.assert_allclose(df.qvalue[snv], bh_qvalues(df.pvalue[snv].to_numpy()), rtol=6e-3)
    with pysam.VariantFile(str(tmp_path / "a.vcf.gz")) as vf:
        recs = {r.id: r for r in vf}
    assert "MS_P" not in recs["mnv"].info and "MS_P" not in recs["mm"].info
    assert recs["multi"].info["MS_P"][1] is None and recs["multi"].info["MS_P"][0] is not None


def test_without_a_null_the_effects_are_unchanged(genome, tmp_path):
    """--null-variants 0: today's TSV; with p-values, the same bytes plus two columns."""
    fa, seqs = genome
    vcf = _vcf(tmp_path / "v.vcf", _rows(seqs, 200, 2), CHROMS)
    model = _model()
    _score(model, vcf, fa, tmp_path / "plain.tsv", n=0)
    _score(model, vcf, fa, tmp_path / "p.tsv")
    plain = (tmp_path / "plain.tsv").read_text().splitlines()
    withp = (tmp_path / "p.tsv").read_text().splitlines()
    assert plain[0] == "\t".join(effect_columns(["bound"]))
    assert [ln.rsplit("\t", 2)[0] for ln in withp] == plain


def test_several_tasks_each_get_their_own_null(genome, tmp_path):
    """A two-task model's p-values of task t are those of the one-task model made of head row t."""
    fa, seqs = genome
    vcf = _vcf(tmp_path / "v.vcf", _rows(seqs, 200, 3), CHROMS)
    two = _model(tasks=("ctcf", "rad21"))
    _score(two, vcf, fa, tmp_path / "two.tsv")
    df = pd.read_csv(tmp_path / "two.tsv", sep="\t")
    assert list(df.columns[-4:]) == ["pvalue_ctcf", "qvalue_ctcf", "pvalue_rad21", "qvalue_rad21"]
    assert not np.allclose(df.pvalue_ctcf, df.pvalue_rad21, equal_nan=True)
    for t, name in enumerate(("ctcf", "rad21")):
        one = _model(tasks=(name,))
        with torch.no_grad():
            one.conv.weight.copy_(two.conv.weight)
            one.conv.bias.copy_(two.conv.bias)
            one.head[-1].weight.copy_(two.head[-1].weight[t : t + 1])
            one.head[-1].bias.copy_(two.head[-1].bias[t : t + 1])
        _score(one, vcf, fa, tmp_path / f"{name}.tsv")
        single = pd.read_csv(tmp_path / f"{name}.tsv", sep="\t")
        np.testing.assert_allclose(single.pvalue, df[f"pvalue_{name}"], rtol=1e-6)
        np.testing.assert_allclose(single.qvalue, df[f"qvalue_{name}"], rtol=1e-6)


def test_the_null_is_reproducible_with_its_seed(genome, tmp_path):
    fa, seqs = genome
    vcf = _vcf(tmp_path / "v.vcf", _rows(seqs, 150, 4), CHROMS)
    model = _model()
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        _score(model, vcf, fa, tmp_path / f"{name}.tsv", seed=seed)
    a, b, c = ((tmp_path / f"{x}.tsv").read_bytes() for x in "abc")
    assert a == b and a != c
    f = IndexedFasta(fa)
    s1, s2 = sample_null_snvs(f, 500, 3), sample_null_snvs(f, 500, 3)
    assert np.array_equal(s1.pos0, s2.pos0) and np.array_equal(s1.alt, s2.alt)


def test_null_snvs_are_drawn_and_scored_as_the_files_snvs(genome, tmp_path):
    """Random SNVs: on A/C/G/T only, ALT != REF, both contigs in proportion; their deltas through
    the file's path (a VCF of them) equal the null's."""
    fa, seqs = genome
    f = IndexedFasta(fa)
    snvs = sample_null_snvs(f, 4000, 0)
    ref_seq = {c: np.frombuffer(s.encode(), dtype=np.uint8) for c, s in seqs.items()}
    bases = np.array([ref_seq[snvs.contigs[c]][p] for c, p in zip(snvs.contig.tolist(), snvs.pos0.tolist())])
    assert set(bases.tobytes().decode()) <= set("ACGT")
    assert np.array_equal(np.frombuffer(b"ACGT", dtype=np.uint8)[snvs.ref], bases)
    assert (snvs.alt != snvs.ref).all() and snvs.alt.max() <= 3
    share = (snvs.contig == 1).mean()  # chr2: 2700 of the 8700 A/C/G/T bases
    assert abs(share - 2700 / 8700) < 0.03
    assert np.bincount(snvs.alt.astype(int) - snvs.ref.astype(int) & 3, minlength=4)[1:].min() > 1200
    model = _model()
    scorer = _ModelVariantScorer(model, f, L, torch.device("cpu"), "auto", "genome")
    delta, gc = scorer.score_null(snvs)
    # one record per position with its ALTs (the null scores a position's SNVs together)
    first = np.flatnonzero(np.r_[True, np.diff(snvs.pos0) != 0] | np.r_[True, np.diff(snvs.contig) != 0])
    alts = np.split(snvs.alt, first[1:])
    rows = [f"{snvs.contigs[c]}\t{p + 1}\t.\t{'ACGT'[r]}\t{','.join('ACGT'[a] for a in alt)}\t.\t.\t." for c, p, r, alt in
            zip(snvs.contig[first].tolist(), snvs.pos0[first].tolist(), snvs.ref[first].tolist(), alts)]
    vcf = _vcf(tmp_path / "n.vcf", rows, CHROMS)
    _score(model, vcf, fa, tmp_path / "n.tsv", n=0)
    df = pd.read_csv(tmp_path / "n.tsv", sep="\t")
    assert len(df) == len(snvs.pos0)
    np.testing.assert_allclose(df.logit_delta, delta[:, 0], rtol=1e-5, atol=1e-6)
    assert ((gc >= 0) & (gc <= 1)).all()


def test_two_sided_pvalues_use_both_tails():
    """p = min(1, 2 min(P(D >= d), P(-D >= -d))) in the SNV's stratum, against plain counts."""
    rng = np.random.default_rng(0)
    n = 8000
    delta = np.where(rng.random(n) < 0.3, -rng.exponential(2.0, n), rng.exponential(0.3, n))[:, None]
    gc = rng.random(n)
    ref = rng.integers(0, 4, n).astype(np.uint8)
    null = VariantNull.fit(delta, gc, ref, strand_pairs=True, seed=0)
    st = null.strata(gc, ref)
    assert len(np.unique(st)) == 8
    x = np.array([-3.0, -0.5, 0.0, 0.2, 0.6])
    for s in (0, 5):
        d = delta[st == s, 0]
        m = len(d)
        up = (1 + (d[None] >= x[:, None]).sum(1)) / (m + 1)
        down = (1 + (d[None] <= x[:, None]).sum(1)) / (m + 1)
        want = np.minimum(1, 2 * np.minimum(up, down))
        gcs = np.full(len(x), gc[st == s][0])
        refs = np.full(len(x), ref[st == s][0])
        got = np.exp(null.log_pvalues(x[:, None], gcs, refs)[:, 0])
        np.testing.assert_allclose(got, want, rtol=1e-9)
    # the loss tail is long and the gain tail short: -3 is far less surprising than +3
    lp = null.log_pvalues(np.array([[-3.0], [3.0]]), np.full(2, 0.5), np.zeros(2, np.uint8))[:, 0]
    assert lp[0] > lp[1]


def test_p_texts_keep_tiny_pvalues():
    txt = p_texts(np.array([np.nan, 0.0, np.log(0.0123456), -np.inf, -1000.0]))
    assert txt[:4] == ["", "1", "0.0123", "0"]
    assert txt[4] == "5.08e-435"  # -1000 / ln 10 = -434.29...


def test_effects_writer_pvalue_columns(tmp_path, monkeypatch):
    """The p- and q-value columns are each row's values as p_texts writes them (NaN empty, tiny from
    the logarithm, -inf as 0), two tasks, rows read back in several blocks; the rest of each row is
    the row written without p-values, byte for byte."""
    import motifscan.io.variants as iov

    rng = np.random.default_rng(3)
    n, T = 3000, 2
    alleles = [Allele(i, "chr1", i + 1, f"rs{i}", "A", "C", 0) for i in range(n)]
    checks = ["ok" if i % 7 else "mismatch" for i in range(n)]
    ref_p = rng.random((n, T))
    ref_p[np.array(checks) == "mismatch"] = np.nan
    alt_p = np.clip(ref_p + rng.normal(0, 0.1, (n, T)), 1e-6, 1 - 1e-6)
    logit = lambda x: np.log(x / (1 - x))  # noqa: E731
    top, fd = rng.integers(-1, 3, n), rng.normal(0, 1, n)
    log_p = np.log(rng.choice([1.0, 0.5, 0.01, 1 / 3001, 0.2], size=(n, T)))
    log_p[::11] = rng.uniform(-2000, -600, size=(len(log_p[::11]), T))
    log_p[::13, 0] = -np.inf
    log_p[np.isnan(ref_p)] = np.nan
    log_q = np.minimum(log_p + 1.0, 0.0)
    monkeypatch.setattr(iov, "_STAGED_BLOCK", 1000)  # staged rows read back in many blocks, cut mid-line
    outs = {}
    for pv in (False, True):
        path = tmp_path / f"e{pv}.tsv"
        with EffectsWriter(path, ["a", "b"], ["f0", "f1", "f2"], pvalues=pv) as w:
            for a in range(0, n, 700):
                sl = slice(a, a + 700)
                w.write(alleles[sl], checks[sl], ref_p[sl], alt_p[sl], logit(ref_p[sl]), logit(alt_p[sl]), top[sl], fd[sl])
            if pv:
                w.significance(log_p, log_q)
        outs[pv] = path.read_text().splitlines()
    assert outs[True][0].split("\t") == effect_columns(["a", "b"], True)
    rows = [ln.split("\t") for ln in outs[True][1:]]
    assert ["\t".join(r[:-4]) for r in rows] == outs[False][1:]
    for t in range(T):
        assert [r[-4 + 2 * t] for r in rows] == p_texts(log_p[:, t])
        assert [r[-3 + 2 * t] for r in rows] == p_texts(log_q[:, t])


def test_a_vcf_without_records_gives_the_header(genome, tmp_path):
    """No records, with p-values (and two tasks): the TSV is its header and the annotated VCF its
    header (it was an internal error: a reshape of no rows)."""
    fa, _ = genome
    vcf = _vcf(tmp_path / "empty.vcf", [], CHROMS)
    out = _score(_model(("a", "b")), vcf, fa, tmp_path / "e.tsv", n=600, vcf_out=tmp_path / "e.vcf")
    assert out["alleles"] == 0 and out["tested"] == 0
    assert (tmp_path / "e.tsv").read_text().splitlines() == ["\t".join(effect_columns(["a", "b"], True))]
    assert [ln for ln in (tmp_path / "e.vcf").read_text().splitlines() if not ln.startswith("#")] == []


def test_cli_options(genome, tmp_path, caplog):
    """--null-variants and --seed reach the null; a negative size is a usage error (exit 2); with
    a motif file they are ignored with a warning."""
    fa, seqs = genome
    vcf = _vcf(tmp_path / "v.vcf", _rows(seqs, 50, 5), CHROMS)
    model = tmp_path / "m.h5"
    save_model(_model(), model)
    args = ["variants", str(model), str(vcf), "--genome", str(fa), "--quiet"]
    assert main([*args, "-o", str(tmp_path / "a.tsv"), "--null-variants", "900", "--seed", "4"]) == 0
    _score(_model(), vcf, fa, tmp_path / "b.tsv", n=900, seed=4)
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    assert main([*args, "-o", str(tmp_path / "c.tsv"), "--null-variants", "-1"]) == 2
    assert not (tmp_path / "c.tsv").exists()
    from motifscan.motifs import jaspar_path

    motif_args = ["variants", str(jaspar_path()), str(vcf), "--genome", str(fa), "-o", str(tmp_path / "d.tsv")]
    with caplog.at_level("WARNING", logger="motifscan"):
        assert main([*motif_args, "--null-variants", "5"]) == 0
    assert "--null-variants applies to models" in caplog.text
