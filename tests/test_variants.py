"""motifscan variants: effects equal full forward passes (and ISM), every row accounted for, in order."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import torch

from motifscan.cli._base import main
from motifscan.codes import encode, one_hot_torch
from motifscan.errors import InputError
from motifscan.io.variants import effect_columns
from motifscan.model import ModelConfig, MotifCNN, load_model
from motifscan.kernels.mutations import MutationScorer
from motifscan.scan.options import MotifOptions, RunOptions, VariantOptions
from motifscan.interpret.variants import motif_variants, score_variants

from conftest import write_fasta

REPO = Path(__file__).resolve().parents[1]
CHROMS = {"chr1": 4000, "chr2": 2500}
L = 60


def _model(tasks=("bound",), seed=0, rc=True, hidden=0) -> MotifCNN:
    torch.manual_seed(seed)
    m = MotifCNN(ModelConfig(n_filters=6, filter_width=8, seq_length=L, rc_sharing=rc, hidden=hidden,
                             tasks=list(tasks))).eval()
    with torch.no_grad():
        m.conv.weight.mul_(3.0)
    return m


def _vcf(path: Path, rows: list[str], contigs=CHROMS) -> Path:
    head = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={n}>" for c, n in contigs.items()),
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    path.write_text("\n".join(head + rows) + "\n")
    return path


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    d = tmp_path_factory.mktemp("variants")
    rng = np.random.default_rng(3)
    seqs = {c: "".join(np.array(list("ACGT"))[rng.integers(0, 4, n)]) for c, n in CHROMS.items()}
    seqs["chr2"] = seqs["chr2"][:1000] + "N" * 30 + seqs["chr2"][1030:]
    write_fasta(d / "g.fa", list(seqs), list(seqs.values()))
    return d / "g.fa", seqs


def _snvs(seqs, rng, n, chrom="chr1", lo=1, hi=None):
    seq = seqs[chrom]
    hi = hi or len(seq)
    pos = np.sort(rng.choice(np.arange(lo, hi + 1), n, replace=False))
    rows = []
    for p in pos:
        ref = seq[p - 1]
        alt = "ACGT".replace(ref, "")[rng.integers(0, 3)]
        rows.append(f"{chrom}\t{p}\tv{p}\t{ref}\t{alt}\t.\t.\t.")
    return rows


def _window(seqs, chrom, pos0, allele, ref_len, L=L):
    """The L-bp window centred on ``allele`` put at 0-based ``pos0`` (N off the contig): the spec, rebuilt."""
    seq = seqs[chrom]
    c = (len(allele) - 1) // 2
    left = L // 2 - c
    pad = "N" * L
    full = pad + seq + pad
    s = pos0 + len(pad)
    text = full[s - left : s] + allele + full[s + ref_len : s + ref_len + L]
    return encode(text[:L])


def _logit64(model, rows):
    net = model.double()
    with torch.no_grad():
        out = net(one_hot_torch(torch.from_numpy(np.stack(rows)), dtype=torch.float64)).numpy()
    model.float()
    return out


#: A small null keeps these tests quick (the p-values themselves are tested in test_variant_pvalues.py).
SMALL_NULL = 2000


def _run(model, vcf, fa, out, **kw):
    kw.setdefault("options", VariantOptions(null_variants=SMALL_NULL))
    return score_variants(model, vcf, fa, out, run=RunOptions(device="cpu", batch_size=kw.pop("batch_size", None)), **kw)


def test_effects_equal_full_forward_passes(genome, tmp_path):
    """SNVs (near the contig ends too), an MNV, indels, multi-allelic sites: deltas == naive to 1e-5."""
    fa, seqs = genome
    rng = np.random.default_rng(0)
    rows = _snvs(seqs, rng, 80) + _snvs(seqs, rng, 3, lo=1, hi=5) + _snvs(seqs, rng, 3, lo=3990, hi=4000)
    s1 = seqs["chr1"]
    rows += [f"chr1\t500\tmnv\t{s1[499:502]}\tGAT\t.\t.\t.",
             f"chr1\t800\tdel\t{s1[799:806]}\t{s1[799]}\t.\t.\t.",
             f"chr1\t900\tins\t{s1[899]}\t{s1[899]}ACGTACGTAC\t.\t.\t.",
             f"chr1\t1200\tmulti\t{s1[1199]}\t{','.join(b for b in 'ACGT' if b != s1[1199])}\t.\t.\t."]
    vcf = _vcf(tmp_path / "v.vcf", rows)
    model = _model(hidden=4)
    stats = _run(model, vcf, fa, tmp_path / "e.tsv")
    df = pd.read_csv(tmp_path / "e.tsv", sep="\t", dtype={"id": str})
    assert list(df.columns) == effect_columns(["bound"], pvalues=True)
    assert len(df) == stats["alleles"] == len(rows) + 2  # multi-allelic: one row per ALT
    ref_w = [_window(seqs, r.chrom, r.pos - 1, r.ref, len(r.ref)) for r in df.itertuples()]
    alt_w = [_window(seqs, r.chrom, r.pos - 1, r.alt, len(r.ref)) for r in df.itertuples()]
    want = _logit64(model, alt_w)[:, 0] - _logit64(model, ref_w)[:, 0]
    np.testing.assert_allclose(df.logit_delta.to_numpy(), want, atol=1e-5, rtol=0)
    prob = 1 / (1 + np.exp(-_logit64(model, ref_w)[:, 0]))
    np.testing.assert_allclose(df.ref_score.to_numpy(), prob, atol=2e-6, rtol=0)
    np.testing.assert_allclose(df.delta, df.alt_score - df.ref_score, atol=2e-6)
    edge = (df.pos <= L // 2) | (df.pos > CHROMS["chr1"] - L // 2 + 1)  # the window runs off chr1
    assert (df.ref_check[edge] == "n_in_window").all() and (df.ref_check[~edge] == "ok").all()


def test_deltas_equal_the_ism_entries_at_the_same_base(genome, tmp_path):
    fa, seqs = genome
    rng = np.random.default_rng(1)
    vcf = _vcf(tmp_path / "v.vcf", _snvs(seqs, rng, 40, lo=100, hi=3900))
    model = _model()
    _run(model, vcf, fa, tmp_path / "e.tsv")
    df = pd.read_csv(tmp_path / "e.tsv", sep="\t")
    windows = np.stack([_window(seqs, "chr1", p - 1, seqs["chr1"][p - 1], 1) for p in df.pos])
    ism = MutationScorer(model).ism(torch.from_numpy(windows)).delta.numpy()
    base = np.array(["ACGT".index(a) for a in df.alt])
    np.testing.assert_allclose(df.logit_delta, ism[np.arange(len(df)), L // 2, base, 0], atol=1e-6, rtol=0)


def test_every_allele_is_accounted_for_in_input_order(genome, tmp_path, caplog):
    """Unsorted input, symbolic ALTs skipped and counted, REF mismatches, missing contigs; batch-size invariant."""
    fa, seqs = genome
    s1 = seqs["chr1"]
    wrong = "ACGT".replace(s1[2999], "")[0]
    rows = [f"chr1\t3000\tmm\t{wrong}\tT\t.\t.\t.",
            f"chr1\t100\tsym\t{s1[99]}\t<DEL>,*\t.\t.\t.",
            f"chr1\t2000\tsym2\t{s1[1999]}\t<DUP>,{'A' if s1[1999] != 'A' else 'C'}\t.\t.\t.",
            "chr9\t50\tnocontig\tA\tC\t.\t.\t.",
            f"chr2\t1010\tinN\t{seqs['chr2'][1009]}\tA\t.\t.\t."]
    rows += _snvs(seqs, np.random.default_rng(2), 30)[::-1]  # unsorted
    vcf = _vcf(tmp_path / "v.vcf", rows)
    model = _model()
    stats = _run(model, vcf, fa, tmp_path / "a.tsv", batch_size=1)
    _run(model, vcf, fa, tmp_path / "b.tsv")
    assert (tmp_path / "a.tsv").read_text() == (tmp_path / "b.tsv").read_text()
    df = pd.read_csv(tmp_path / "a.tsv", sep="\t", keep_default_na=False, dtype=str)
    assert stats["symbolic"] == 3 and stats["records"] == len(rows)
    assert list(df.id) == ["mm", "sym2", "nocontig", "inN"] + [r.split("\t")[2] for r in rows[5:]]
    by = df.set_index("id")
    assert by.loc["mm", "ref_check"] == "mismatch" and by.loc["mm", "ref_score"] == ""
    assert by.loc["nocontig", "ref_check"] == "contig_missing" and by.loc["nocontig", "delta"] == ""
    assert by.loc["inN", "ref_check"] == "mismatch"  # the genome has N there
    assert stats["mismatch"] == 2 and stats["contig_missing"] == 1
    # --ref-from vcf trusts the REF: scores, still flagged
    _run(model, vcf, fa, tmp_path / "c.tsv", options=VariantOptions(ref_from="vcf", null_variants=SMALL_NULL))
    c = pd.read_csv(tmp_path / "c.tsv", sep="\t", keep_default_na=False, dtype=str).set_index("id")
    assert c.loc["mm", "ref_check"] == "mismatch" and c.loc["mm", "ref_score"] != ""
    seq = _window(seqs, "chr1", 2999, wrong, 1)
    alt = _window(seqs, "chr1", 2999, "T", 1)
    want = _logit64(model, [alt])[0, 0] - _logit64(model, [seq])[0, 0]
    assert abs(float(c.loc["mm", "logit_delta"]) - want) < 1e-5


def test_several_tasks_name_their_columns(genome, tmp_path):
    fa, seqs = genome
    vcf = _vcf(tmp_path / "v.vcf", _snvs(seqs, np.random.default_rng(4), 10))
    model = _model(tasks=("ctcf", "rad21"))
    _run(model, vcf, fa, tmp_path / "e.tsv", vcf_out=tmp_path / "a.vcf.gz")
    df = pd.read_csv(tmp_path / "e.tsv", sep="\t")
    assert list(df.columns) == effect_columns(["ctcf", "rad21"], pvalues=True)
    assert "ref_score_rad21" in df.columns and "logit_delta_ctcf" in df.columns
    with pysam.VariantFile(str(tmp_path / "a.vcf.gz")) as vf:
        assert {"MS_REF_ctcf", "MS_DELTA_rad21", "MS_CHECK", "MS_P_ctcf", "MS_Q_rad21"} <= set(vf.header.info)
        recs = list(vf)
    np.testing.assert_allclose([r.info["MS_DELTA_rad21"][0] for r in recs], df.delta_rad21, atol=1e-5)


def test_annotated_vcf_reads_back_indexed(genome, tmp_path):
    """bgzip + tabix: pysam reads it back by region; multi-allelic values per ALT; '.' where unscored."""
    fa, seqs = genome
    s1 = seqs["chr1"]
    rows = _snvs(seqs, np.random.default_rng(5), 20, hi=2000)
    rows.append(f"chr1\t2500\tma\t{s1[2499]}\t{','.join(b for b in 'ACGT' if b != s1[2499])},<DEL>\t.\t.\tDP=3")
    rows.append("chr2\t20\tmm\tN\tA\t.\t.\t.")
    vcf = _vcf(tmp_path / "v.vcf", rows)
    vcf_gz = tmp_path / "v.vcf.gz"
    pysam.tabix_compress(str(vcf), str(vcf_gz))
    model = _model()
    _run(model, vcf_gz, fa, tmp_path / "e.tsv", vcf_out=tmp_path / "out.vcf.gz")
    _run(model, vcf, fa, tmp_path / "e2.tsv", vcf_out=tmp_path / "out.vcf")
    assert (tmp_path / "out.vcf.gz.tbi").exists()
    assert gzip.decompress((tmp_path / "out.vcf.gz").read_bytes()).decode() == (tmp_path / "out.vcf").read_text()
    df = pd.read_csv(tmp_path / "e.tsv", sep="\t", keep_default_na=False, dtype=str)
    with pysam.VariantFile(str(tmp_path / "out.vcf.gz")) as vf:
        assert vf.header.info["MS_DELTA"].number == "A"
        multi = next(iter(vf.fetch("chr1", 2498, 2500)))
        assert multi.info["DP"] == "3" and len(multi.info["MS_DELTA"]) == 4 and multi.info["MS_DELTA"][3] is None
        got = [float(x) for x in multi.info["MS_ALT"][:3]]
        np.testing.assert_allclose(got, df[df.id == "ma"].alt_score.astype(float), atol=1e-5)
        mm = next(iter(vf.fetch("chr2", 19, 20)))
        assert mm.info["MS_CHECK"] == ("mismatch",) and "MS_REF" not in mm.info
    with pysam.VariantFile(str(tmp_path / "out.vcf.gz")) as vf:
        assert len(list(vf)) == len(rows)


def test_bcf_without_index_is_streamed(genome, tmp_path):
    fa, seqs = genome
    vcf = _vcf(tmp_path / "v.vcf", _snvs(seqs, np.random.default_rng(6), 15))
    bcf = tmp_path / "v.bcf"
    with pysam.VariantFile(str(vcf)) as src, pysam.VariantFile(str(bcf), "wb", header=src.header) as dst:
        for r in src:
            dst.write(r)
    model = _model()
    _run(model, vcf, fa, tmp_path / "a.tsv")
    _run(model, bcf, fa, tmp_path / "b.tsv")
    assert (tmp_path / "a.tsv").read_text() == (tmp_path / "b.tsv").read_text()


def test_no_contig_matching_is_one_error_with_the_fix(genome, tmp_path):
    fa, seqs = genome
    rows = [r.replace("chr1", "1", 1) for r in _snvs(seqs, np.random.default_rng(7), 5)]
    vcf = _vcf(tmp_path / "v.vcf", rows, contigs={"1": 4000, "2": 2500})
    with pytest.raises(InputError, match="chr' prefix"):
        _run(_model(), vcf, fa, tmp_path / "e.tsv")
    headless = _vcf(tmp_path / "h.vcf", rows, contigs={})  # no ##contig lines: found while reading
    with pytest.raises(InputError, match="chr' prefix"):
        _run(_model(), headless, fa, tmp_path / "e.tsv")
    assert not (tmp_path / "e.tsv").exists()


def test_motif_mode_matches_a_brute_force(genome, tmp_path):
    """Best overlapping site per allele, FIMO-exact p-values, effect classes, input order."""
    from motifscan.io.motif_formats import read_motifs
    from motifscan.motifs import jaspar_path
    from motifscan.scan.motif_bank import MotifBank

    fa, seqs = genome
    rng = np.random.default_rng(8)
    s1 = seqs["chr1"]
    rows = _snvs(seqs, rng, 60, hi=3000) + [f"chr1\t3300\tdel\t{s1[3299:3303]}\t{s1[3299]}\t.\t.\t."]
    vcf = _vcf(tmp_path / "v.vcf", rows)
    motifs = [m for m in read_motifs(jaspar_path()) if m.id in ("MA0139.2", "MA0080.6", "MA0079.5", "MA0506.3")]
    pvalue = 5e-3
    motif_variants(motifs, vcf, fa, tmp_path / "b.tsv", options=MotifOptions(pvalue=pvalue),
                   run=RunOptions(device="cpu"))
    df = pd.read_csv(tmp_path / "b.tsv", sep="\t", dtype={"id": str})
    assert len(df) > 10
    bank = MotifBank(motifs, pvalue=pvalue)
    want = []
    for r in rows:
        chrom, pos, vid, ref, alt = r.split("\t")[:5]
        pos = int(pos)
        for mi, m in enumerate(motifs):
            w = m.width
            best = {}
            for allele in ("ref", "alt"):
                seq = s1[pos - 1 - (w - 1) : pos - 1] + (ref if allele == "ref" else alt) + s1[pos - 1 + len(ref) : pos - 1 + len(ref) + w - 1]
                p = bank.pssms[mi]
                scores = [p.score_codes(encode(seq)), p.reverse_complement().score_codes(encode(seq))]
                # windows overlapping the allele: starts 0 .. n + w - 2 (all of them here)
                best[allele] = max(int(s.max()) for s in scores)
            pr, pa = bank.pssms[mi].pv[best["ref"]], bank.pssms[mi].pv[best["alt"]]
            if pr <= pvalue or pa <= pvalue:
                want.append((vid, m.id, float(f"{pr:.3g}"), float(f"{pa:.3g}")))
    got = list(zip(df.id, df.motif_id, df.ref_pvalue, df.alt_pvalue))
    assert got == want
    for r in df.itertuples():
        if r.ref_pvalue <= pvalue and r.alt_pvalue <= pvalue:
            assert r.effect in ("strengthened", "weakened", "unchanged")
        else:
            assert r.effect == ("broken" if r.ref_pvalue <= pvalue else "created")


# ---------------------------------------------------------------------- done when (CI size)
@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A simulated genome with CTCF (MA0139.2) sites; SNVs at their most informative positions and far away."""
    from motifscan.io.motif_formats import read_motifs
    from motifscan.motifs import jaspar_path

    d = tmp_path_factory.mktemp("planted")
    assert main(["simulate", "-o", str(d / "g.fa"), "--truth", str(d / "t.bed"), "--length", "300000",
                 "--chroms", "1", "--n-sites", "60", "--seed", "1", "--quiet"]) == 0
    ctcf = next(m for m in read_motifs(jaspar_path()) if m.id == "MA0139.2")
    ic = np.log2(4) + (ctcf.probs * np.log2(np.maximum(ctcf.probs, 1e-12))).sum(axis=1)
    top = np.argsort(-ic)[:6]
    seq = "".join(line.strip() for line in (d / "g.fa").read_text().splitlines()[1:])
    truth = [ln.split("\t") for ln in (d / "t.bed").read_text().splitlines()]
    rng = np.random.default_rng(0)
    near, far = [], []
    for chrom, start, end, _name, _s, strand in truth:
        start, end = int(start), int(end)
        for j in top[:3]:
            p = start + j if strand == "+" else end - 1 - j
            near.append(p)
    sites = np.array([int(t[1]) for t in truth])
    while len(far) < len(near):
        p = int(rng.integers(200, len(seq) - 200))
        if np.abs(sites - p).min() >= 100 + 19:
            far.append(p)
    rows = []
    for label, ps in (("near", near), ("far", far)):
        for p in ps:
            ref = seq[p]
            alt = {"A": "T", "C": "G", "G": "C", "T": "A"}[ref]  # the complement: a strong change
            rows.append((p + 1, f"{label}{p}", ref, alt))
    rows.sort()
    vcf = _vcf(d / "v.vcf", [f"chr1\t{p}\t{i}\t{r}\t{a}\t.\t.\t." for p, i, r, a in rows], contigs={"chr1": len(seq)})
    return d, vcf


def test_snvs_in_planted_sites_score_larger_than_far_ones(planted, tmp_path):
    """Done-when, CI size: |delta| separates SNVs at informative positions of planted CTCF sites
    from SNVs >= 100 bp from any site (AUROC >= 0.95) with the pretrained model; in motif mode
    most of them break or weaken MA0139.2."""
    from motifscan.metrics import auroc
    from motifscan.motifs import jaspar_path

    d, vcf = planted
    model = load_model(REPO / "models" / "ctcf_gm12878.h5")
    _run(model, vcf, d / "g.fa", tmp_path / "e.tsv")
    df = pd.read_csv(tmp_path / "e.tsv", sep="\t")
    near = df.id.str.startswith("near").to_numpy()
    assert (df.ref_check == "ok").all()
    assert auroc(near.astype(float), df.logit_delta.abs().to_numpy()) >= 0.95
    motif_variants(jaspar_path(), vcf, d / "g.fa", tmp_path / "b.tsv", run=RunOptions(device="cpu"))
    b = pd.read_csv(tmp_path / "b.tsv", sep="\t")
    ctcf = b[(b.motif_id == "MA0139.2") & b.id.str.startswith("near")]
    hit = ctcf.effect.isin(["broken", "weakened"]).groupby(ctcf.id).any()
    assert hit.sum() > 0.5 * near.sum(), (hit.sum(), near.sum())


def test_device_paths_agree(genome, tmp_path, device):
    """The GPU's code paths, run here on CPU too: conv1d activations (model) and the dense motif
    search give what the table convolution and the lookahead index give."""
    from motifscan.motifs import jaspar_path

    fa, seqs = genome
    rows = _snvs(seqs, np.random.default_rng(9), 40) + [f"chr1\t700\tdel\t{seqs['chr1'][699:703]}\t{seqs['chr1'][699]}\t.\t.\t."]
    vcf = _vcf(tmp_path / "v.vcf", rows)
    model = _model()
    score_variants(model, vcf, fa, tmp_path / "table.tsv", run=RunOptions(device="cpu", conv_method="table"))
    score_variants(model, vcf, fa, tmp_path / "dense.tsv", run=RunOptions(device=str(device), conv_method="dense"))
    a = pd.read_csv(tmp_path / "table.tsv", sep="\t")
    b = pd.read_csv(tmp_path / "dense.tsv", sep="\t")
    np.testing.assert_allclose(a.logit_delta, b.logit_delta, atol=1e-5)
    for method in ("lookahead", "dense"):
        motif_variants(jaspar_path(), vcf, fa, tmp_path / f"{method}.tsv",
                       options=MotifOptions(pvalue=1e-3, method=method),
                       run=RunOptions(device="cpu" if method == "lookahead" else str(device)))
    assert (tmp_path / "lookahead.tsv").read_text() == (tmp_path / "dense.tsv").read_text()


def test_batches_keep_records_whole():
    """The batcher (islice in C) gives the batches of the plain rule: ``size`` alleles, then the
    rest of the last record's."""
    import random

    from motifscan.interpret.variants import _batches
    from motifscan.io.variants import Allele

    def plain(alleles, size):
        batch = []
        for a in alleles:
            if len(batch) >= size and a.serial != batch[-1].serial:
                yield batch
                batch = []
            batch.append(a)
        if batch:
            yield batch

    rng = random.Random(0)
    for _ in range(300):
        alleles = [Allele(s, "c", 1, ".", "A", "C", k) for s in range(rng.randint(0, 40))
                   for k in range(rng.randint(1, 4))]
        size = rng.randint(1, 7)
        got = [[(a.serial, a.alt_index) for a in b] for b in _batches(alleles, size)]
        assert got == [[(a.serial, a.alt_index) for a in b] for b in plain(alleles, size)]
