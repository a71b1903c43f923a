"""Export: filters -> motifs (activation- and weight-based), ordering, TSV, formats, logos, CLI."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from motifscan.cli._base import main
from motifscan.errors import InputError, UsageError
from motifscan.data.datasets import load_sequences
from motifscan.motifs.export import TSV_COLUMNS, ExportOptions, export_motifs, table_path
from motifscan.model import MotifCNN, ModelConfig, save_model
from motifscan.motifs.extract import activation_motifs, pooled_outputs, weight_motifs
from motifscan.io.motif_formats import read_motifs
from motifscan.motifs.pwm import Motif
from motifscan.codes import decode, encode, one_hot, reverse_complement

# A 12-bp planted motif (ACGTTGCAGGAA consensus), strong but not deterministic.
CONSENSUS = "ACGTTGCAGGAA"
OFFSET = 2  # the motif sits at columns 2..13 of the 16-wide planted filter
WIDTH = 16


def planted_probs() -> np.ndarray:
    probs = np.full((len(CONSENSUS), 4), 0.04)
    probs[np.arange(len(CONSENSUS)), encode(CONSENSUS)] = 0.88
    return probs


def make_sequences(rng, n=200, length=120, strand="both", probs=None):
    """Random sequences, each with one site sampled from ``probs`` (both strands by default)."""
    probs = planted_probs() if probs is None else probs
    seqs = rng.integers(0, 4, (n, length)).astype(np.uint8)
    cum = probs.cumsum(1)
    for i in range(n):
        site = (rng.random((len(probs), 1)) > cum).sum(1).astype(np.uint8)
        rev = strand == "-" or (strand == "both" and i % 2 == 1)
        if rev:
            site = reverse_complement(site)
        p = rng.integers(0, length - len(site))
        seqs[i, p : p + len(site)] = site
    return seqs


def planted_model(filter_index=3, n_filters=8, rc_sharing=True, seed=0) -> MotifCNN:
    """A model whose filter ``filter_index`` is the planted PWM's log-odds; others small random."""
    torch.manual_seed(seed)
    model = MotifCNN(ModelConfig(n_filters=n_filters, filter_width=WIDTH, seq_length=120,
                                 rc_sharing=rc_sharing, dropout=0.0))
    logodds = np.log2(planted_probs() / 0.25).T  # (4, 12)
    with torch.no_grad():
        model.conv.weight.mul_(0.05)
        model.conv.bias.zero_()
        model.conv.weight[filter_index] = 0.0
        model.conv.weight[filter_index, :, OFFSET : OFFSET + logodds.shape[1]] = torch.tensor(logodds)
        model.conv.bias[filter_index] = -12.0  # fires on good matches only (max score ~23)
        head = model.head[-1]
        head.weight.mul_(0.01)
        head.weight[0, filter_index] = 1.0
        head.bias.fill_(-4.0)
    model.eval()
    return model


def similarity(a: np.ndarray, b: np.ndarray, min_overlap=8) -> float:
    """Best Pearson correlation of two matrices over offsets and both strands of ``a``."""
    best = -1.0
    for cand in (a, a[::-1, ::-1]):
        for shift in range(-len(b) + min_overlap, len(cand) - min_overlap + 1):
            lo_a, lo_b = max(shift, 0), max(-shift, 0)
            n = min(len(cand) - lo_a, len(b) - lo_b)
            if n < min_overlap:
                continue
            r = np.corrcoef(cand[lo_a : lo_a + n].ravel(), b[lo_b : lo_b + n].ravel())[0, 1]
            best = max(best, float(r))
    return best


def write_fasta(path, seqs):
    with open(path, "w") as fh:
        for i, s in enumerate(seqs):
            fh.write(f">seq{i}\n{decode(s)}\n")
    return path


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one torch thread avoids oversubscription on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    return make_sequences(np.random.default_rng(1))


# ---------------------------------------------------------------------------- activation-based
def test_planted_filter_recovers_planted_motif(data):
    res = activation_motifs(planted_model(), list(data))
    m = res.motifs[3]
    assert m is not None and m.width == WIDTH
    core = m.probs[OFFSET : OFFSET + len(CONSENSUS)]
    # Same orientation as the filter (sites on the reverse strand were reverse-complemented).
    assert m.consensus[OFFSET : OFFSET + len(CONSENSUS)] == CONSENSUS
    assert np.corrcoef(core.ravel(), planted_probs().ravel())[0, 1] > 0.95
    # The threshold (half-way from mean to max) admits planted sites with at most one mismatch
    # (probability 0.57); a random 12-mer almost never scores that high.
    assert 0.45 * len(data) <= res.nsites[3] <= 0.7 * len(data)
    assert m.nsites == res.nsites[3]
    np.testing.assert_allclose(m.probs, (res.counts[3] + 1) / (res.nsites[3] + 4))


@pytest.mark.parametrize("strand", ["+", "-"])
def test_reverse_strand_sites_come_out_in_filter_orientation(strand):
    seqs = make_sequences(np.random.default_rng(2), n=120, strand=strand)
    m = activation_motifs(planted_model(), list(seqs)).motifs[3]
    assert m.consensus[OFFSET : OFFSET + len(CONSENSUS)] == CONSENSUS


def test_without_rc_sharing_only_forward_sites_count():
    rng = np.random.default_rng(3)
    fwd = make_sequences(rng, n=60, strand="+")
    rev = make_sequences(rng, n=60, strand="-")
    res = activation_motifs(planted_model(rc_sharing=False), list(fwd) + list(rev))
    assert res.motifs[3].consensus[OFFSET : OFFSET + len(CONSENSUS)] == CONSENSUS
    assert res.nsites[3] <= 70  # the 60 forward sites, not the reverse ones


def test_counts_pseudocount_and_n_exactly():
    # Width-4 filter that fires (0.5) on ACG followed by anything (N included), else 0.
    model = MotifCNN(ModelConfig(n_filters=1, filter_width=4, seq_length=8, rc_sharing=False))
    with torch.no_grad():
        model.conv.weight.fill_(-1.0)
        model.conv.weight[0, :, 3] = 0.0
        for col, base in enumerate("ACG"):
            model.conv.weight[0, "ACGT".index(base), col] = 1.0
        model.conv.bias.fill_(-2.5)
    seqs = [encode(s) for s in ("TTACGATT", "TTACGNTT", "TTACGCTT", "TTTTTTTT")]
    res = activation_motifs(model, seqs, min_sites=1)
    assert res.nsites[0] == 3
    expected = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0], [1.25, 1.25, 0.25, 0.25]])
    np.testing.assert_allclose(res.counts[0], expected)
    np.testing.assert_allclose(res.motifs[0].probs, (expected + 1) / 7)


def test_few_site_filters_dropped_with_warning(data, caplog):
    model = planted_model()
    with torch.no_grad():
        model.conv.bias[5] = -100.0  # dead filter: never fires
    with caplog.at_level(logging.WARNING, logger="motifscan"):
        res = activation_motifs(model, list(data))
    assert res.motifs[5] is None and res.nsites[5] == 0
    assert "filter5 (0)" in caplog.text and "fewer than 10 sites" in caplog.text
    # The minimum is an option: a filter with n sites is kept at min_sites=n, dropped above.
    n = int(res.nsites[3])
    assert activation_motifs(model, list(data), min_sites=n).motifs[3] is not None
    assert activation_motifs(model, list(data), min_sites=n + 1).motifs[3] is None


def test_fraction_option_changes_site_count(data):
    model = planted_model()
    loose = activation_motifs(model, list(data), fraction=0.0).nsites
    strict = activation_motifs(model, list(data), fraction=0.9).nsites
    assert np.all(loose >= strict) and loose.sum() > strict.sum()
    with pytest.raises(ValueError):
        activation_motifs(model, list(data), fraction=1.0)


def test_batching_and_piece_cutting_do_not_change_results(data):
    model = planted_model()
    # Variable lengths, one long sequence that is cut into pieces with a small batch budget.
    seqs = [data[i][: 40 + i] for i in range(60)] + [np.concatenate(list(data[60:]))]
    big = activation_motifs(model, seqs, batch_bases=1 << 20)
    small = activation_motifs(model, seqs, batch_bases=250)
    np.testing.assert_array_equal(big.nsites, small.nsites)
    np.testing.assert_allclose(big.counts, small.counts)
    np.testing.assert_allclose(big.pooled, small.pooled, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(big.threshold, small.threshold, rtol=1e-6)


def test_pooled_outputs_equal_model_pool(data):
    model = planted_model()
    with torch.no_grad():
        ref = model.pool(torch.from_numpy(one_hot(data))).numpy()
    np.testing.assert_allclose(pooled_outputs(model, list(data)), ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(activation_motifs(model, list(data)).pooled, ref, rtol=1e-6, atol=1e-6)


def test_weight_motifs():
    model = planted_model()
    with torch.no_grad():
        model.conv.weight[0] = 0.0
    motifs = weight_motifs(model)
    assert [m.id for m in motifs] == [f"filter{i}" for i in range(8)]
    assert motifs[3].consensus[OFFSET : OFFSET + len(CONSENSUS)] == CONSENSUS
    np.testing.assert_allclose(motifs[0].probs, 0.25)  # no weights, no preference
    # The strongest column spans ln 27: one preferred base against three equal others -> 0.9.
    assert motifs[3].probs.max() == pytest.approx(0.9)


# ---------------------------------------------------------------------------- export_motifs
def test_export_orders_by_influence_and_writes_tsv(data, tmp_path):
    model = planted_model()
    out = tmp_path / "motifs.meme"
    res = export_motifs(model, out, sequences=list(data), device="cpu")
    assert res.method == "activation" and res.filters[0] == 3
    loss = [r["influence_loss"] for r in res.rows]
    assert loss == sorted(loss, reverse=True)
    assert res.motifs_path == out and res.table_path == tmp_path / "motifs.tsv"
    lines = (tmp_path / "motifs.tsv").read_text().splitlines()
    assert tuple(lines[0].split("\t")) == TSV_COLUMNS
    first = dict(zip(TSV_COLUMNS, lines[1].split("\t")))
    assert first["rank"] == "1" and first["filter"] == "3" and first["motif_id"] == "filter3"
    assert int(first["nsites"]) == res.motifs[0].nsites
    assert float(first["total_ic"]) == pytest.approx(res.motifs[0].total_ic(), abs=1e-3)
    assert first["best_match_id"] == "NA"
    assert len(lines) == 1 + len(res.motifs)
    back = read_motifs(out)
    assert [m.id for m in back] == [m.id for m in res.motifs]
    # The model is left where it was, in eval mode.
    assert next(model.parameters()).device.type == "cpu"


@pytest.mark.parametrize("suffix", [".meme", ".jaspar", ".transfac", ".motif"])
def test_every_format_reads_back(data, tmp_path, suffix):
    out = tmp_path / f"motifs{suffix}"
    res = export_motifs(planted_model(), out, sequences=list(data), device="cpu")
    back = read_motifs(out)
    assert len(back) == len(res.motifs)
    for a, b in zip(res.motifs, back):
        np.testing.assert_allclose(b.probs, a.probs, atol=2e-5)
        if suffix != ".motif":  # HOMER files carry no site count
            assert b.nsites == a.nsites


def test_explicit_format_overrides_extension(data, tmp_path):
    out = tmp_path / "motifs.txt"
    export_motifs(planted_model(), out, sequences=list(data), format="jaspar", device="cpu")
    assert out.read_text().startswith(">filter3")
    with pytest.raises(UsageError):
        export_motifs(planted_model(), tmp_path / "x.txt", sequences=list(data), device="cpu")


def test_trim_drops_flanks(data, tmp_path):
    res = export_motifs(planted_model(), tmp_path / "m.meme", sequences=list(data), options=ExportOptions(trim=True), device="cpu")
    top = res.motifs[0]
    assert top.width < WIDTH and CONSENSUS in top.consensus
    assert res.rows[0]["width"] == top.width


def test_weight_based_export_without_sequences(tmp_path):
    res = export_motifs(planted_model(), tmp_path / "w.meme", device="cpu")
    assert res.method == "weights" and res.influence is None
    assert res.filters[0] == 3  # the planted filter has the largest weight proxy
    row = res.rows[0]
    assert row["influence_loss"] == "NA" and row["nsites"] == "NA"
    assert len(read_motifs(tmp_path / "w.meme")) == 8


def test_export_from_bed_and_genome(data, tmp_path):
    # A genome of the sequences laid end to end; a BED of their centres.
    genome = tmp_path / "genome.fa"
    genome.write_text(">chrS\n" + decode(np.concatenate(list(data))) + "\n")
    length = data.shape[1]
    bed = tmp_path / "peaks.bed"
    lines = [f"chrS\t{i * length + 50}\t{i * length + 70}\n" for i in range(len(data))]
    bed.write_text("chrS\t0\t10\n" + "".join(lines))  # the first window would start before 0
    model = planted_model()
    seqs = load_sequences(bed, genome=genome, length=length)
    assert len(seqs) == len(data)  # the interval at the chromosome start was skipped
    np.testing.assert_array_equal(seqs.codes, data)
    res = export_motifs(model, tmp_path / "m.meme", sequences=bed, genome=genome, device="cpu")
    assert res.filters[0] == 3
    with pytest.raises(UsageError, match="needs --genome"):
        load_sequences(bed)


def test_no_filter_with_enough_sites_is_an_input_error(data, tmp_path):
    with pytest.raises(InputError, match="no filter"):
        export_motifs(planted_model(), tmp_path / "m.meme", sequences=list(data[:3]),
                      options=ExportOptions(min_sites=50), device="cpu")
    assert not (tmp_path / "m.meme").exists()


def test_logos_written(data, tmp_path):
    res = export_motifs(planted_model(n_filters=2, filter_index=1), tmp_path / "m.meme",
                        sequences=list(data), logos_dir=tmp_path / "logos", svg=True, device="cpu")
    pngs = sorted((tmp_path / "logos").glob("*.png"))
    svgs = sorted((tmp_path / "logos").glob("*.svg"))
    assert len(pngs) == len(res.motifs) and len(svgs) == len(res.motifs)
    assert all(p.stat().st_size > 0 for p in pngs)
    assert {p.stem for p in pngs} == {m.id for m in res.motifs}


def test_db_best_match_is_the_planted_motif(data, tmp_path):
    rng = np.random.default_rng(7)
    decoys = [Motif(f"decoy{i}", rng.dirichlet(np.full(4, 0.5), size=12), alt=f"D{i}") for i in range(30)]
    db = decoys + [Motif("PLANTED", planted_probs(), alt="P1")]
    res = export_motifs(planted_model(), tmp_path / "m.meme", sequences=list(data), db=db,
                        options=ExportOptions(trim=True), device="cpu")
    top = res.rows[0]
    assert top["best_match_id"] == "PLANTED" and top["best_match_alt"] == "P1"
    assert top["best_match_evalue"] < 0.05
    # named after it (E <= 0.05) in the motif file: MOTIF filterN P1_PLANTED
    written = {m.id: m.alt for m in read_motifs(tmp_path / "m.meme")}
    assert written[top["motif_id"]] == "P1_PLANTED"
    assert all(written[r["motif_id"]] == "" for r in res.rows if r["best_match_evalue"] == "NA"
               or r["best_match_evalue"] > 0.05)


# ---------------------------------------------------------------------------- groups, negatives, size
def model_with_copies(copies=(0, 3, 5), offsets=(2, 0, 4), n_filters=8, length=60, seed=0) -> MotifCNN:
    """Filters ``copies`` hold the planted PWM at different offsets (a model that learned it three
    times, as trained models do); the other filters and head weights are small random."""
    torch.manual_seed(seed)
    model = MotifCNN(ModelConfig(n_filters=n_filters, filter_width=WIDTH, seq_length=length, dropout=0.0))
    logodds = np.log2(planted_probs() / 0.25).T
    with torch.no_grad():
        model.conv.weight.mul_(0.3)
        model.conv.bias.zero_()
        head = model.head[-1]
        head.weight.mul_(0.3)
        for f, off in zip(copies, offsets):
            model.conv.weight[f] = 0.0
            model.conv.weight[f, :, off : off + logodds.shape[1]] = torch.tensor(logodds)
            model.conv.bias[f] = -12.0
            head.weight[0, f] = 0.4
        head.bias.fill_(-1.5)
    return model.eval()


def peak_set(n, length=60, with_site=0.6, seed=0):
    """``n`` peaks, of which a fraction ``with_site`` holds a planted site (both strands), the
    rest weak positives without one, as in ChIP-seq."""
    rng = np.random.default_rng(seed)
    seqs = rng.integers(0, 4, (n, length)).astype(np.uint8)
    k = int(n * with_site)
    sites = (rng.random((k, len(CONSENSUS), 1)) > planted_probs().cumsum(1)[None]).sum(2).astype(np.uint8)
    starts = rng.integers(0, length - len(CONSENSUS), k)
    for i in range(k):  # test data construction, not a hot path
        site = sites[i] if i % 2 else reverse_complement(sites[i])
        seqs[i, starts[i] : starts[i] + len(CONSENSUS)] = site
    return seqs


def test_redundant_filters_are_one_group_and_no_merge_keeps_them_apart(tmp_path):
    model = model_with_copies()
    seqs = peak_set(600)
    res = export_motifs(model, tmp_path / "m.meme", sequences=seqs, device="cpu")
    top = res.rows[0]
    assert sorted(res.groups[0]) == [0, 3, 5] and top["n_members"] == 3
    assert top["members"].split(",") == [f"filter{f}" for f in res.groups[0]]
    assert res.filters[0] == res.groups[0][0] and top["motif_id"] == f"filter{res.filters[0]}"
    # the best member is the copy whose own knock-out costs most
    assert res.filters[0] == max(res.groups[0], key=lambda f: res.influence.loss[f])
    assert len(res.motifs) == len(res.groups) == 6  # 8 filters, 3 of them in one group
    assert sorted(f for g in res.groups for f in g) == list(range(8))
    # the group's influence is the three knocked out together: more than any copy alone
    assert top["influence_loss"] > 2 * res.influence.loss[[0, 3, 5]].max()
    assert [m.id for m in read_motifs(tmp_path / "m.meme")] == [r["motif_id"] for r in res.rows]
    lines = (tmp_path / "m.tsv").read_text().splitlines()
    assert tuple(lines[0].split("\t")) == TSV_COLUMNS and len(lines) == 7

    apart = export_motifs(model, tmp_path / "f.meme", sequences=seqs, device="cpu",
                          options=ExportOptions(merge=False))
    assert len(apart.motifs) == 8 and all(r["n_members"] == 1 for r in apart.rows)
    assert [r["members"] for r in apart.rows] == [r["motif_id"] for r in apart.rows]
    # per filter, the order is each filter's own influence
    np.testing.assert_array_equal(apart.filters, apart.influence.order())


@pytest.mark.parametrize("n", [500, 5_000, 40_000])
def test_planted_group_ranks_first_at_every_size(n, tmp_path):
    """Issue 12: from about 8,000 peaks on, the filters that learned the motif ranked last (2,000
    shuffled negatives against all the positives, knock-out to a mean over 95% positives). With
    classes weighed equally and the copies grouped, the planted motif comes first at every size;
    with the old export this model put the copies last at all three sizes (influence -0.04,
    -0.16, -0.35)."""
    seqs = peak_set(n, seed=n)
    res = export_motifs(model_with_copies(), tmp_path / "m.meme", sequences=seqs, device="cpu")
    assert sorted(res.groups[0]) == [0, 3, 5]
    assert res.rows[0]["influence_loss"] > 0.05
    assert res.rows[1]["influence_loss"] < 0.2 * res.rows[0]["influence_loss"]
    assert res.negatives == "shuffle" and res.n_negatives == min(n, 2000)
    assert similarity(res.motifs[0].probs, planted_probs()) > 0.9


def test_negatives_follow_the_model_or_the_user(tmp_path, caplog):
    model = model_with_copies()
    seqs = peak_set(300)
    genome = tmp_path / "genome.fa"
    genome.write_text(">chrS\n" + decode(np.concatenate(list(seqs) + list(peak_set(300, seed=9)))) + "\n")
    bed = tmp_path / "peaks.bed"
    bed.write_text("".join(f"chrS\t{i * 60}\t{i * 60 + 60}\n" for i in range(len(seqs))))
    fasta = write_fasta(tmp_path / "peaks.fa", seqs)
    negs = write_fasta(tmp_path / "negs.fa", peak_set(150, with_site=0.0, seed=4))

    model.provenance = {"negatives": "background"}
    res = export_motifs(model, tmp_path / "a.meme", sequences=bed, genome=genome, device="cpu")
    assert res.negatives == "background" and res.n_negatives == 300
    with caplog.at_level(logging.WARNING, logger="motifscan"):
        res = export_motifs(model, tmp_path / "b.meme", sequences=fasta, device="cpu")
    assert res.negatives == "shuffle" and "background negatives" in caplog.text

    model.provenance = {"negatives": "file", "inputs": {"negatives": {"path": str(negs)}}}
    res = export_motifs(model, tmp_path / "c.meme", sequences=fasta, device="cpu")
    assert res.negatives == str(negs) and res.n_negatives == 150
    res = export_motifs(model, tmp_path / "d.meme", sequences=fasta, negatives="shuffle", device="cpu",
                        options=ExportOptions(max_negatives=100))
    assert res.negatives == "shuffle" and res.n_negatives == 100
    assert sorted(res.groups[0]) == [0, 3, 5]
    with pytest.raises(UsageError, match="background needs"):
        export_motifs(model, tmp_path / "e.meme", sequences=fasta, negatives="background", device="cpu")
    with pytest.raises(UsageError, match="neither"):
        export_motifs(model, tmp_path / "e.meme", sequences=fasta, negatives="nope.fa", device="cpu")


def test_sequences_are_read_by_content_with_or_without_genome(data, tmp_path, capsys):
    """Issue 11, bug 1: ``export --sequences peaks.fa --genome g.fa`` read the FASTA as a BED (by
    its name, whenever a genome was given) and failed on line 1; and a BED not named .bed was
    read as FASTA. One loader (motifscan.data.datasets.load_sequences), by content, as train."""
    model_path = save_model(planted_model(), tmp_path / "model.h5")
    fasta = write_fasta(tmp_path / "peaks.fa", data)
    length = data.shape[1]
    genome = tmp_path / "genome.fa"
    genome.write_text(">chrS\n" + decode(np.concatenate(list(data))) + "\n")
    bed = tmp_path / "peaks.txt"  # a BED by content, whatever its name
    bed.write_text("".join(f"chrS\t{i * length}\t{(i + 1) * length}\n" for i in range(len(data))))
    plain = tmp_path / "plain.meme"
    assert main(["export", str(model_path), "--sequences", str(fasta), "-o", str(plain), "--device", "cpu"]) == 0
    for name, seqs in (("fa_genome", fasta), ("bed", bed)):
        out = tmp_path / f"{name}.meme"
        assert main(["export", str(model_path), "--sequences", str(seqs), "--genome", str(genome),
                     "-o", str(out), "--device", "cpu"]) == 0, capsys.readouterr().err
        assert out.read_text() == plain.read_text()  # the same sequences, the same motifs
        assert out.with_suffix(".tsv").read_text() == plain.with_suffix(".tsv").read_text()


# ---------------------------------------------------------------------------- trained model
def _train_tiny(pos, neg, seed=0, epochs=15):
    """A few epochs of Adam on a tiny model (until the lead's train.fit is used here)."""
    torch.manual_seed(seed)
    model = MotifCNN(ModelConfig(n_filters=6, filter_width=WIDTH, seq_length=pos.shape[1], dropout=0.0))
    x = torch.from_numpy(one_hot(np.concatenate([pos, neg])))
    y = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))])[:, None]
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            opt.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


def test_trained_model_top_motif_matches_planted(tmp_path):
    from motifscan.data.negatives import shuffle_all

    rng = np.random.default_rng(11)
    pos = make_sequences(rng, n=300, length=100)
    neg = shuffle_all(pos, 1, seed=3)
    model = _train_tiny(pos, neg)
    res = export_motifs(model, tmp_path / "m.meme", sequences=list(pos), device="cpu")
    assert similarity(res.motifs[0].probs, planted_probs()) > 0.8


# ---------------------------------------------------------------------------- CLI
def test_cli_end_to_end(data, tmp_path, capsys):
    model_path = save_model(planted_model(), tmp_path / "model.h5")
    fasta = write_fasta(tmp_path / "seqs.fa", data)
    out = tmp_path / "out" / "motifs.jaspar"
    out.parent.mkdir()
    assert main(["export", str(model_path), "--sequences", str(fasta), "-o", str(out),
                 "--device", "cpu", "--fraction", "0.5", "--min-sites", "10"]) == 0
    assert out.exists() and table_path(out).exists()
    assert read_motifs(out)[0].id == "filter3"
    err = capsys.readouterr().err
    assert "wrote 8 motifs" in err


def test_cli_errors(data, tmp_path, capsys):
    model_path = save_model(planted_model(), tmp_path / "model.h5")
    fasta = write_fasta(tmp_path / "seqs.fa", data)
    # Output directory missing: usage error, exit 2, one line, nothing written.
    assert main(["export", str(model_path), "--sequences", str(fasta),
                 "-o", str(tmp_path / "nope" / "m.meme")]) == 2
    assert capsys.readouterr().err.startswith("motifscan: error:")
    # Not a model file: data error, exit 1.
    assert main(["export", str(fasta), "-o", str(tmp_path / "m.meme")]) == 1
    assert "not an HDF5 model file" in capsys.readouterr().err
    # A BED without --genome.
    bed = tmp_path / "p.bed"
    bed.write_text("chr1\t0\t100\n")
    assert main(["export", str(model_path), "--sequences", str(bed), "-o", str(tmp_path / "m.meme")]) == 2
    assert "--genome" in capsys.readouterr().err
    assert main(["export", str(model_path), "-o", str(tmp_path / "m.meme"), "--svg"]) == 2
    assert not (tmp_path / "m.meme").exists()


# ---------------------------------------------------------------------------- real data
CTCF_FASTA = Path(__file__).resolve().parents[1] / "examples" / "ctcf" / "ctcf_gm12878_top500.fa"


def test_real_ctcf_peaks_with_jaspar_ctcf_filter(tmp_path):
    """A filter set to JASPAR's CTCF log-odds, run over 500 real CTCF peaks: the W-mers it picks
    out give back a CTCF motif, which JASPAR 2024 matches as CTCF."""
    from motifscan.motifs import jaspar_path

    ctcf = next(m for m in read_motifs(jaspar_path()) if m.id == "MA0139.2")
    model = MotifCNN(ModelConfig(n_filters=1, filter_width=ctcf.width, seq_length=200))
    with torch.no_grad():
        model.conv.weight[0] = torch.tensor(ctcf.log_odds(0.1).T, dtype=torch.float32)
        model.conv.bias.zero_()
    res = export_motifs(model, tmp_path / "m.meme", sequences=CTCF_FASTA, db="jaspar",
                        options=ExportOptions(trim=True), device="cpu")
    row = res.rows[0]
    assert row["nsites"] > 300  # most of the 500 peaks hold a strong CTCF site
    assert row["best_match_alt"] == "CTCF" and row["best_match_evalue"] < 1e-6


def test_same_motifs_and_influence_on_every_device(data, device, tmp_path):
    ref = export_motifs(planted_model(), tmp_path / "cpu.meme", sequences=list(data), device="cpu")
    model = planted_model()
    res = export_motifs(model, tmp_path / "dev.meme", sequences=list(data), device=device)
    assert res.filters[0] == ref.filters[0] == 3
    for a, b in zip(ref.motifs, res.motifs):
        if a.id == "filter3":  # the planted filter's sites are far from the threshold
            assert b.id == a.id and b.nsites == a.nsites
            np.testing.assert_allclose(b.probs, a.probs, atol=1e-12)
    np.testing.assert_allclose(res.influence.loss, ref.influence.loss, atol=1e-4)
    assert next(model.parameters()).device.type == "cpu"  # moved back
