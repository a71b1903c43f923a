"""``motifscan enrich``: Fisher's test, the one-pass presence kernel, controls, and what the method promises.

Promises checked: real CTCF peaks rank CTCF first; peaks with nothing to find (dinucleotide
shuffles) against shuffled controls give no motif at q <= 0.05 and calibrated p-values; a motif
planted in 10% of the sequences is found; counts equal the scan's own hits counted by hand; the
compiled presence pass equals the full hit scan.

Calibration: Fisher's p-value on counts is discrete, so under the null ``P(p <= a) <= a`` with
steps, and a KS test of the raw p-values against uniform rejects whenever counts are small (many
motifs have tp + fp of a few, where p takes a handful of values). What the statistics should give
is exact uniformity of the *randomised* p-value ``P(X > tp) + U P(X = tp)``; that is what the KS
test checks (and, separately, that the reported p-values are conservative). Two more things
keep the KS test honest: JASPAR's near-duplicate motifs give strongly correlated p-values (a KS
test assumes independent ones), so it runs on one motif per correlated cluster; and controls
shuffled from the peaks they pair with share each peak's composition, which makes Fisher's test
(and SEA's) slightly conservative, visible only pooled over many seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import fisher_exact, hypergeom, kstest

from conftest import CTCF_FASTA, REPO, sample_from_pwm, write_fasta
from motifscan.cli._base import main
from motifscan.codes import decode
from motifscan.data.negatives import shuffle_copies
from motifscan.interpret.enrich import EnrichOptions, build_bank, count_sites, enrich, enrichment_statistics
from motifscan.io.enrichment import ENRICHMENT_COLUMNS, format_log_value
from motifscan.io.fasta import read_fasta
from motifscan.io.motif_formats import read_motifs, write_motifs
from motifscan.kernels.presence import motif_presence, pack_sequences
from motifscan.motifs import jaspar_path
from motifscan.scan.motif_bank import MotifBank
from motifscan.scan.motif_scan import scan_codes
from motifscan.stats.enrichment import (enrichment_ratio, fisher_log_pvalues, fisher_mid_pvalues,
                                        fisher_randomised_pvalues)

MAFK_FASTA = REPO / "examples" / "mafk" / "mafk_first500.fa"


@pytest.fixture(scope="module")
def jaspar():
    motifs = read_motifs(jaspar_path())
    bank = build_bank(motifs, EnrichOptions())
    bank.lookahead_index()
    return bank


@pytest.fixture(scope="module")
def ctcf_records():
    return [r.codes for r in read_fasta(CTCF_FASTA)]


def _write(path, seqs, prefix="s"):
    return write_fasta(path, [f"{prefix}{i}" for i in range(len(seqs))], [decode(s) for s in seqs])


def _presence_from_hits(bank, seqs):
    flat, starts, _ = pack_sequences(seqs)
    s, f, _, _ = scan_codes(bank, flat, "lookahead")
    out = np.zeros((len(seqs), len(bank.motifs)), dtype=np.uint8)
    out[np.searchsorted(starts, s, side="right") - 1, bank.filter_motif[f]] = 1
    return out


# ---------------------------------------------------------------------------- statistics
def test_fisher_log_pvalues_equal_scipy_fisher_exact():
    rng = np.random.default_rng(0)
    for _ in range(40):
        n_pos, n_neg = (int(x) for x in rng.integers(1, 300, 2))
        tp, fp = int(rng.integers(0, n_pos + 1)), int(rng.integers(0, n_neg + 1))
        want = fisher_exact([[tp, n_pos - tp], [fp, n_neg - fp]], alternative="greater")[1]
        got = math.exp(fisher_log_pvalues([tp], n_pos, [fp], n_neg)[0])
        assert got == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_fisher_log_pvalues_below_double_range():
    # every peak and no control has a site: p = 1 / C(4000, 2000), about 1e-1203
    log_p = fisher_log_pvalues([2000], 2000, [0], 2000)[0]
    want = -(math.lgamma(4001) - 2 * math.lgamma(2001))
    assert np.isfinite(log_p) and log_p == pytest.approx(want, rel=1e-9)
    assert format_log_value(log_p).endswith("e-1203")
    assert format_log_value(math.log(0.0123)) == "0.0123"


@pytest.mark.parametrize("n_pos, n_neg, k", [(50, 50, 3), (500, 500, 40), (200, 400, 1), (30, 90, 60)])
def test_randomised_pvalue_is_exactly_uniform_under_the_null(n_pos, n_neg, k):
    # over the exact hypergeometric null of tp, P(p_rand <= a) = a for every a
    tp = np.arange(max(0, k - n_neg), min(k, n_pos) + 1)
    fp = k - tp
    pmf = hypergeom.pmf(tp, n_pos + n_neg, k, n_pos)
    lo = fisher_randomised_pvalues(tp, n_pos, fp, n_neg, _Const(0.0))
    hi = fisher_randomised_pvalues(tp, n_pos, fp, n_neg, _Const(1.0))
    assert np.allclose(hi, np.exp(fisher_log_pvalues(tp, n_pos, fp, n_neg)))  # U = 1: Fisher's p
    for a in np.linspace(0.01, 0.99, 25):
        frac = np.clip((a - lo) / np.maximum(hi - lo, 1e-300), 0, 1)
        assert float((pmf * frac).sum()) == pytest.approx(a, abs=1e-9)
    assert float((pmf * fisher_mid_pvalues(tp, n_pos, fp, n_neg)).sum()) == pytest.approx(0.5, abs=1e-9)


class _Const:
    def __init__(self, value):
        self.value = value

    def random(self, shape):
        return np.full(shape, self.value)


def test_enrichment_ratio_is_seas():
    assert enrichment_ratio([9], 99, [0], 199)[0] == pytest.approx((10 / 100) / (1 / 200))


# ---------------------------------------------------------------------------- engine
def test_presence_equals_the_full_hit_scan():
    rng = np.random.default_rng(3)
    motifs = read_motifs(jaspar_path())
    pick = [motifs[i] for i in rng.choice(len(motifs), 60, replace=False)]
    pick += [m for m in motifs if m.width >= 20][:5]  # long motifs: the sparse 10-mer index
    bank = MotifBank(pick, pvalue=1e-3)
    seqs = []
    for i in range(120):
        s = rng.choice(4, int(rng.integers(1, 400)), p=[0.3, 0.2, 0.2, 0.3]).astype(np.uint8)
        if i % 3 == 0 and len(s) > 10:
            s[rng.integers(0, len(s), 3)] = 4  # N breaks windows
        seqs.append(s)
    want = _presence_from_hits(bank, seqs)
    assert 0 < want.mean() < 1
    for threads in (1, 2):
        got = motif_presence(seqs, bank.lookahead_index(), bank.filter_motif, len(pick), threads=threads)
        assert np.array_equal(got, want)


def test_presence_equals_full_scan_on_real_peaks(jaspar, ctcf_records):
    seqs = ctcf_records[:40]
    got = motif_presence(seqs, jaspar.lookahead_index(), jaspar.filter_motif, len(jaspar.motifs))
    assert np.array_equal(got, _presence_from_hits(jaspar, seqs))


def test_shuffled_controls_keep_dinucleotides_and_do_not_depend_on_batches(ctcf_records):
    seqs = ctcf_records[:30] + [np.array([0, 1], np.uint8), np.array([], np.uint8)]
    out = shuffle_copies(seqs, 2, seed=4)
    assert len(out) == 2 * len(seqs)
    for c in range(2):
        for s, t in zip(seqs, out[c * len(seqs):]):
            assert len(s) == len(t)
            if len(s):
                assert s[0] == t[0] and s[-1] == t[-1]
                a, b = np.zeros((5, 5), int), np.zeros((5, 5), int)
                np.add.at(a, (s[:-1], s[1:]), 1)
                np.add.at(b, (t[:-1], t[1:]), 1)
                assert np.array_equal(a, b)
    assert (out[0] != seqs[0]).mean() > 0.5 and not np.array_equal(out[0], out[len(seqs)])
    part = shuffle_copies(seqs[10:20], 2, seed=4, first_index=10)
    assert all(np.array_equal(a, b) for a, b in zip(part[:10], out[10:20]))
    assert all(np.array_equal(a, b) for a, b in zip(part[10:], out[len(seqs) + 10: len(seqs) + 20]))
    assert not np.array_equal(shuffle_copies(seqs[:1], 1, seed=5)[0], out[0])


# ---------------------------------------------------------------------------- what the method promises
def test_ctcf_peaks_rank_ctcf_first(jaspar):
    options = EnrichOptions()
    tp, fp, n_pos, n_neg = count_sites(CTCF_FASTA, jaspar, options)
    res = enrichment_statistics(jaspar.motifs, tp, fp, n_pos, n_neg)
    assert (n_pos, n_neg) == (500, 500)
    assert jaspar.motifs[res.order[0]].id.startswith("MA0139")
    assert res.log_qvalue[res.order[0]] < math.log(1e-100)


def test_mafk_peaks_rank_a_maf_family_motif_first(jaspar):
    tp, fp, n_pos, n_neg = count_sites(MAFK_FASTA, jaspar, EnrichOptions())
    res = enrichment_statistics(jaspar.motifs, tp, fp, n_pos, n_neg)
    top2 = [jaspar.motifs[i].alt.upper() for i in res.order[:2]]
    assert any(a.startswith(("MAF", "NFE2", "BACH")) for a in top2), top2


def _weakly_correlated(presence: np.ndarray, limit: float = 0.5) -> np.ndarray:
    """Motifs whose presence across sequences correlates below ``limit`` with every one kept before.

    JASPAR holds near-copies (Zic1::Zic2 and Zic3, the MAF family, ...) whose p-values move
    together; a KS test assumes independent draws, so it is run on one motif per such cluster.
    """
    x = presence.astype(np.float64)
    x -= x.mean(axis=0)
    norm = np.linalg.norm(x, axis=0)
    corr = (x.T @ x) / np.maximum(np.outer(norm, norm), 1e-12)
    keep: list[int] = []
    for j in range(presence.shape[1]):
        if not keep or np.abs(corr[j, keep]).max() < limit:
            keep.append(j)
    return np.array(keep)


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_peaks_find_nothing_and_pvalues_are_calibrated(jaspar, ctcf_records, tmp_path, seed):
    null = shuffle_copies(ctcf_records, 1, seed=1000 + seed)
    tp, fp, n_pos, n_neg = count_sites(_write(tmp_path / "null.fa", null), jaspar, EnrichOptions(seed=seed))
    res = enrichment_statistics(jaspar.motifs, tp, fp, n_pos, n_neg)
    assert res.log_qvalue.min() > math.log(0.05)
    p = np.exp(res.log_pvalue)
    assert (p <= 0.05).mean() <= 0.05  # Fisher on counts is conservative
    rand = fisher_randomised_pvalues(tp, n_pos, fp, n_neg, np.random.default_rng(seed))
    controls = shuffle_copies(null, 1, seed=seed)  # the controls count_sites drew (same seeds)
    both = motif_presence(null + controls, jaspar.lookahead_index(), jaspar.filter_motif, len(tp))
    assert np.array_equal(both[n_pos:].sum(axis=0), fp)
    keep = _weakly_correlated(both)
    assert len(keep) > 400
    assert kstest(rand[keep], "uniform").pvalue > 0.01


def test_motif_planted_in_a_tenth_of_shuffled_sequences_is_found(jaspar, ctcf_records, tmp_path):
    rng = np.random.default_rng(11)
    seqs = shuffle_copies(ctcf_records, 1, seed=77)
    idx = [i for i, m in enumerate(jaspar.motifs) if m.id.startswith("MA0496")][0]  # MAFK
    motif = jaspar.motifs[idx]
    chosen = rng.choice(len(seqs), len(seqs) // 10, replace=False)
    sites = sample_from_pwm(motif.probs, len(chosen), rng)
    for i, site in zip(chosen, sites):
        at = int(rng.integers(0, len(seqs[i]) - motif.width))
        seqs[i] = seqs[i].copy()
        seqs[i][at: at + motif.width] = site
    tp, fp, n_pos, n_neg = count_sites(_write(tmp_path / "planted.fa", seqs), jaspar, EnrichOptions())
    res = enrichment_statistics(jaspar.motifs, tp, fp, n_pos, n_neg)
    assert res.log_qvalue[idx] <= math.log(0.05)
    assert tp[idx] - fp[idx] >= 0.5 * len(chosen)


def test_counts_equal_the_scan_tsv_counted_by_hand(jaspar, ctcf_records, tmp_path):
    motifs = [m for m in jaspar.motifs if m.id.split(".")[0] in
              ("MA0139", "MA0496", "MA0079", "MA0102", "MA0106", "MA0112", "MA0018", "MA0004")]
    write_motifs(motifs, tmp_path / "some.meme")
    peaks = _write(tmp_path / "p.fa", ctcf_records[:80], prefix="peak")
    assert main(["scan", str(tmp_path / "some.meme"), str(peaks), "-o", str(tmp_path / "hits.tsv"),
                 "--pvalue", "1e-4", "--quiet"]) == 0
    pairs = set()
    for line in (tmp_path / "hits.tsv").read_text().splitlines()[1:]:
        if line and not line.startswith("#"):
            f = line.split("\t")
            pairs.add((f[0], f[2]))
    want = np.array([len({s for m_, s in pairs if m_ == m.id}) for m in motifs])
    bank = build_bank(motifs, EnrichOptions())
    tp, _, n_pos, _ = count_sites(peaks, bank, EnrichOptions())
    assert n_pos == 80 and want.sum() > 0
    assert np.array_equal(tp, want)


# ---------------------------------------------------------------------------- outputs and CLI
def test_cli_writes_table_sites_and_plot_for_each_set(ctcf_records, tmp_path):
    motifs = [m for m in read_motifs(jaspar_path()) if m.id.split(".")[0] in ("MA0139", "MA0496", "MA0079")]
    write_motifs(motifs, tmp_path / "m.meme")
    a = _write(tmp_path / "a.fa", ctcf_records[:60])
    b = _write(tmp_path / "b.fa", ctcf_records[60:100])
    out = tmp_path / "enr.tsv"
    assert main(["enrich", str(a), str(b), "--motifs", str(tmp_path / "m.meme"), "-o", str(out),
                 "--sites", str(tmp_path / "sites.tsv"), "--plot", str(tmp_path / "enr.png"), "--quiet"]) == 0
    for name, n in (("a", 60), ("b", 40)):
        lines = (tmp_path / f"enr.{name}.tsv").read_text().splitlines()
        assert lines[0].split("\t") == list(ENRICHMENT_COLUMNS)
        rows = [ln.split("\t") for ln in lines[1:] if not ln.startswith("#")]
        assert [r[0] for r in rows] == ["1", "2", "3"] and rows[0][1].startswith("MA0139")
        logp = [float(r[10]) for r in rows]
        assert logp == sorted(logp)
        assert any("natural log" in ln for ln in lines if ln.startswith("#"))
        sites = [ln.split("\t") for ln in (tmp_path / f"sites.{name}.tsv").read_text().splitlines()[1:]]
        for r in rows:  # tp = peaks with a site in the sites file
            assert int(r[4]) == len({s[2] for s in sites if s[0] == r[1]})
        assert all(float(s[7]) <= 1e-4 for s in sites)
        assert (tmp_path / f"enr.{name}.png").stat().st_size > 1000
        assert sum(1 for r in read_fasta(tmp_path / f"{name}.fa")) == n


def test_sets_are_one_output_set_and_never_overwrite_inputs(ctcf_records, tmp_path, monkeypatch):
    """A failure in a later set leaves no table of an earlier one; -o equal to PEAKS is refused."""
    import motifscan.interpret.enrich as job

    motifs = [m for m in read_motifs(jaspar_path()) if m.id.split(".")[0] in ("MA0139", "MA0079")]
    write_motifs(motifs, tmp_path / "m.meme")
    a = _write(tmp_path / "a.fa", ctcf_records[:30])
    b = _write(tmp_path / "b.fa", ctcf_records[30:60])
    real, calls = job._enrich_one, []

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("injected failure in the second set")
        return real(*args, **kwargs)

    monkeypatch.setattr(job, "_enrich_one", second_fails)
    assert main(["enrich", str(a), str(b), "--motifs", str(tmp_path / "m.meme"), "-o", str(tmp_path / "e.tsv"),
                 "--quiet"]) != 0
    assert len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fa", "b.fa", "m.meme"]
    monkeypatch.undo()
    before = a.read_bytes()
    assert main(["enrich", str(a), "--motifs", str(tmp_path / "m.meme"), "-o", str(a), "--quiet"]) == 2
    assert a.read_bytes() == before


def test_genome_background_draws_gc_matched_regions_away_from_peaks(tmp_path):
    rng = np.random.default_rng(5)
    genome = write_fasta(tmp_path / "g.fa", ["chr1", "chr2"],
                         ["".join(rng.choice(list("ACGT"), 40_000)) for _ in range(2)])
    bed = tmp_path / "peaks.bed"
    bed.write_text("".join(f"chr{1 + i % 2}\t{1000 + 700 * i}\t{1200 + 700 * i}\n" for i in range(30)))
    motifs = [m for m in read_motifs(jaspar_path()) if m.id.split(".")[0] in ("MA0139", "MA0079")]
    options = EnrichOptions(genome=genome, background="genome", controls=2)
    bank = build_bank(motifs, options)
    tp, fp, n_pos, n_neg = count_sites(bed, bank, options)
    assert (n_pos, n_neg) == (30, 60)
    write_motifs(motifs, tmp_path / "m.meme")
    res = enrich(bed, tmp_path / "e.tsv", EnrichOptions(genome=genome, background="genome",
                                                         motifs=tmp_path / "m.meme", length=100))
    assert (res.n_pos, res.n_neg) == (30, 30)
    assert "GC-matched" in (tmp_path / "e.tsv").read_text()
