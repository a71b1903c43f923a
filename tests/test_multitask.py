"""Multi-task models: labels per task (per-task sets with masking, pooled BED regions), the masked
and balanced loss, training, metrics per task, and that one-task models are unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import consensus_probs, sample_from_pwm, write_fasta
from motifscan.cli._base import main
from motifscan.codes import decode, reverse_complement
from motifscan.data.tasks import build_task_set, task_specs
from motifscan.errors import InputError, UsageError
from motifscan.io.samplesheet import TaskSpec, read_samplesheet
from motifscan.data.tasks import with_genome
from motifscan.metrics import auroc
from motifscan.model import ModelConfig, MotifCNN, load_model
from motifscan.metrics import task_metrics
from motifscan.train import _TaskLoss, fit

MOTIF_A = "GCCACTAGGTGG"
MOTIF_B = "TGCTGACTCAGCA"  # MAF recognition element-like


def _planted(consensus: str, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    seqs = rng.integers(0, 4, (n, length), dtype=np.uint8)
    sites = sample_from_pwm(consensus_probs(consensus), n, rng)
    starts = rng.integers(0, length - len(consensus), n)
    for i in range(n):
        site = reverse_complement(sites[i]) if rng.random() < 0.5 else sites[i]
        seqs[i, starts[i] : starts[i] + len(consensus)] = site
    return seqs


@pytest.fixture
def two_fastas(tmp_path):
    """Task a: MOTIF_A planted; task b: MOTIF_B planted; names carry coordinates on 6 chromosomes."""
    rng = np.random.default_rng(0)
    out = {}
    for name, motif in (("a", MOTIF_A), ("b", MOTIF_B)):
        seqs = _planted(motif, 240, 100, rng)
        names = [f"chr{1 + i % 6}:{1000 * i}-{1000 * i + 100}" for i in range(len(seqs))]
        out[name] = write_fasta(tmp_path / f"{name}.fa", names, [decode(s) for s in seqs])
    return out


def test_per_task_labels_mask_the_other_tasks(two_fastas):
    ts = build_task_set(task_specs([two_fastas["a"], two_fastas["b"]]), length=100, seed=0)
    y = ts.data.labels
    assert ts.mode == "per-task" and ts.tasks == ["a", "b"] and y.shape == (960, 2)
    a_rows, b_rows = slice(0, 480), slice(480, 960)
    assert np.isnan(y[a_rows, 1]).all() and np.isnan(y[b_rows, 0]).all()
    assert (y[a_rows, 0] == 1).sum() == 240 and (y[a_rows, 0] == 0).sum() == 240
    assert (y[b_rows, 1] == 1).sum() == 240


def test_masked_labels_give_no_gradient():
    torch.manual_seed(0)
    logits = torch.randn(6, 2, requires_grad=True)
    y = torch.tensor([[1, np.nan], [0, np.nan], [np.nan, 1], [np.nan, 0], [1, 0], [0, 1]], dtype=torch.float32)
    loss = _TaskLoss(y.numpy(), torch.device("cpu"))(logits, y)
    loss.backward()
    assert torch.all(logits.grad[torch.isnan(y)] == 0)
    assert torch.all(logits.grad[~torch.isnan(y)] != 0)
    # the unknown entries' values do not matter
    y2 = y.clone()
    y2[torch.isnan(y)] = 1.0
    loss2 = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, y2, pos_weight=_TaskLoss(y.numpy(), torch.device("cpu")).pos_weight, reduction="none")
    expect = (loss2 * ~torch.isnan(y)).sum() / (~torch.isnan(y)).sum()
    assert float(loss.detach()) == pytest.approx(float(expect.detach()))


def test_class_balance_is_per_task():
    y = np.array([[1, 0], [0, 0], [0, 0], [0, 1], [np.nan, 0]], dtype=np.float32)
    pw = _TaskLoss(y, torch.device("cpu")).pos_weight.numpy()
    np.testing.assert_allclose(pw, [3 / 1, 4 / 1])


def test_one_task_loss_is_the_old_loss():
    torch.manual_seed(1)
    logits = torch.randn(50, 1)
    y = (torch.rand(50) < 0.3).float()
    old = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([float((y == 0).sum() / (y == 1).sum())]))(logits[:, 0], y)
    new = _TaskLoss(y[:, None].numpy(), torch.device("cpu"))(logits, y[:, None])
    assert torch.equal(old, new)


def test_two_tasks_learn_their_own_motifs(two_fastas):
    ts = build_task_set(task_specs([two_fastas["a"], two_fastas["b"]]), length=100, seed=0)
    d = ts.data
    idx = np.random.default_rng(0).permutation(len(d))
    tr, va = idx[:760], idx[760:]
    torch.manual_seed(0)
    model = MotifCNN(ModelConfig(n_filters=8, filter_width=13, seq_length=100, tasks=ts.tasks))
    fit(model, d.codes[tr], d.labels[tr], d.codes[va], d.labels[va], epochs=30, patience=6, seed=0, device="cpu",
        progress=False)
    rng = np.random.default_rng(5)
    fresh_a, fresh_b = _planted(MOTIF_A, 100, 100, rng), _planted(MOTIF_B, 100, 100, rng)
    background = rng.integers(0, 4, (100, 100), dtype=np.uint8)
    p = model.predict_codes(np.concatenate([fresh_a, fresh_b, background]))
    lab = np.r_[np.ones(100), np.zeros(200)]
    assert auroc(lab, p[:, 0]) > 0.9  # task a finds MOTIF_A, not MOTIF_B
    assert auroc(np.r_[np.zeros(100), np.ones(100), np.zeros(100)], p[:, 1]) > 0.9
    m = task_metrics(d.labels[va], model.predict_codes(d.codes[va]), ts.tasks)
    assert set(m["tasks"]) == {"a", "b"} and m["auroc"] == pytest.approx(
        np.mean([m["tasks"]["a"]["auroc"], m["tasks"]["b"]["auroc"]]))


@pytest.fixture
def pooled_genome(tmp_path):
    """One genome, two narrowPeak tasks: a at sites 0..39, b at sites 20..59 (20 co-bound)."""
    rng = np.random.default_rng(3)
    chroms, a_rows, b_rows = [], [], []
    for c in range(6):
        seq = rng.integers(0, 4, 40000, dtype=np.uint8)
        for k in range(10):
            site = c * 10 + k
            start = 2000 + k * 3500
            if site < 40:
                a_rows.append(f"chr{c + 1}\t{start}\t{start + 100}\ta{site}\t0\t.\t1\t1\t1\t50")
            if site >= 20:
                b_rows.append(f"chr{c + 1}\t{start + 10}\t{start + 90}\tb{site}\t0\t.\t1\t1\t1\t30")
        chroms.append(decode(seq))
    genome = write_fasta(tmp_path / "g.fa", [f"chr{c + 1}" for c in range(6)], chroms)
    a, b = tmp_path / "a.narrowPeak", tmp_path / "b.narrowPeak"
    a.write_text("\n".join(a_rows) + "\n")
    b.write_text("\n".join(b_rows) + "\n")
    return genome, a, b


def test_pooled_regions_are_labelled_by_summit_inside(pooled_genome):
    genome, a, b = pooled_genome
    ts = build_task_set([TaskSpec("a", str(a), genome=str(genome)), TaskSpec("b", str(b), genome=str(genome))],
                        length=100, seed=0)
    assert ts.mode == "pooled"
    y = ts.data.labels
    assert not np.isnan(y).any()
    regions = [n for n in ts.data.names if not n.startswith("bg_")]
    assert len(regions) == 60  # 60 sites; the a/b peaks of a co-bound site give one region
    pos = y[: len(regions)]
    assert int(pos[:, 0].sum()) == 40 and int(pos[:, 1].sum()) == 40 and int((pos.sum(1) == 2).sum()) == 20
    assert (y[len(regions):] == 0).all() and len(y) == 120  # GC-matched background, one per region


def test_pooled_windows_are_the_genome_s_bases(pooled_genome):
    """Pooled rows are gathered from the genome held once (bases covered by the windows), and
    each row is the bases its name gives: regions ``chrom:start-end``, background ``bg_chrom:start``."""
    from motifscan.data.windows import Windows
    from motifscan.io.fasta import IndexedFasta

    genome, a, b = pooled_genome
    for negatives in ("background", "shuffle"):
        specs = [TaskSpec(t, str(p), negatives, str(genome)) for t, p in (("a", a), ("b", b))]
        ts = build_task_set(specs, length=100, seed=0, neg_ratio=2)
        codes = ts.data.codes
        assert isinstance(codes, Windows) and len(codes.bases) < len(codes) * 100
        fa = IndexedFasta(genome)
        rows = np.asarray(codes)
        for i, name in enumerate(ts.data.names):
            if "_shuffle" in name:
                continue
            chrom, span = name.removeprefix("bg_").split(":")
            start = int(span.split("-")[0])
            assert np.array_equal(rows[i], fa.fetch(chrom, start, start + 100)), name
        n_shuffles = sum("_shuffle" in n for n in ts.data.names)
        assert len(ts.data) == 180 and n_shuffles == (120 if negatives == "shuffle" else 0)


def test_pooled_labels_are_bytes_and_train_as_floats(pooled_genome):
    """Pooled sets keep their labels as a uint8 0/1 matrix (every label is known); training on
    it gives the very model float labels give."""
    from motifscan.model import ModelConfig, MotifCNN
    from motifscan.train import fit

    genome, a, b = pooled_genome
    ts = build_task_set([TaskSpec("a", str(a), genome=str(genome)), TaskSpec("b", str(b), genome=str(genome))],
                        length=100, seed=0)
    y = ts.data.labels
    assert y.dtype == np.uint8 and set(np.unique(y)) <= {0, 1}
    states = []
    for labels in (y, y.astype(np.float32)):
        torch.manual_seed(0)
        model = MotifCNN(ModelConfig(n_filters=4, filter_width=9, seq_length=100, tasks=["a", "b"]))
        fit(model, ts.data.codes[:80], labels[:80], ts.data.codes[80:], labels[80:], epochs=2, batch_size=16,
            min_epochs=1, progress=False, device="cpu")
        states.append(model.state_dict())
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k]), k


def test_genome_option_applies_to_samplesheet_bed_tasks(pooled_genome, tmp_path):
    """``train --samplesheet S --genome G``: G is every BED task's genome unless its row names one."""
    genome, a, b = pooled_genome
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(f"name\tpeaks\na\t{a}\nb\t{b}\n")
    model = tmp_path / "m.h5"
    code = main(["train", "--samplesheet", str(sheet), "--genome", str(genome), "--filters", "4", "--filter-width",
                 "9", "--length", "100", "--epochs", "1", "--valid-chroms", "chr2",
                 "--test-chroms", "chr3", "-o", str(model), "--quiet"])
    loaded = load_model(model)
    assert code == 0 and loaded.config.tasks == ["a", "b"]
    from motifscan.model import file_sha256
    inputs = loaded.provenance["inputs"]  # the shared genome is hashed once and recorded for every task
    assert inputs["a.genome"]["sha256"] == inputs["b.genome"]["sha256"] == file_sha256(genome)
    assert inputs["a.positives"]["sha256"] == file_sha256(a) != inputs["b.positives"]["sha256"]
    other = tmp_path / "other.fa"
    other.write_text("")
    sheet.write_text(f"name\tpeaks\tgenome\na\t{a}\t{other}\nb\t{b}\t\n")
    specs = with_genome(read_samplesheet(sheet), genome)
    assert [s.genome for s in specs] == [str(other), str(genome)]
    assert with_genome(specs, None) == specs


def test_cli_trains_a_two_task_model_with_per_task_metrics(two_fastas, tmp_path):
    model = tmp_path / "m.h5"
    metrics = tmp_path / "m.json"
    code = main(["train", str(two_fastas["a"]), str(two_fastas["b"]), "--task-names", "ctcf_like,maf_like",
                 "--filters", "8", "--filter-width", "13", "--length", "100", "--epochs", "12",
                 "--valid-chroms", "chr2", "--test-chroms", "chr3", "-o", str(model), "--metrics", str(metrics),
                 "--quiet"])
    assert code == 0
    m = load_model(model)
    assert m.config.tasks == ["ctcf_like", "maf_like"]
    saved = json.loads(metrics.read_text())
    for part in ("train", "valid", "test"):
        assert set(saved[part]["tasks"]) == {"ctcf_like", "maf_like"}
    assert saved["test"]["tasks"]["ctcf_like"]["auroc"] > 0.8
    assert m.provenance["inputs"]["ctcf_like.positives"]["sha256"]


def test_samplesheet(two_fastas, tmp_path):
    sheet = tmp_path / "tasks.tsv"
    sheet.write_text(f"name\tpeaks\tnegatives\n# a comment\nA\t{two_fastas['a'].name}\tshuffle\nB\t{two_fastas['b']}\t\n")
    tasks = read_samplesheet(sheet)
    assert [t.name for t in tasks] == ["A", "B"]
    assert tasks[0].peaks == str(two_fastas["a"]) and tasks[0].negatives == "shuffle" and tasks[1].negatives is None


@pytest.mark.parametrize("text, match", [
    ("name\tpeaks\nA\ta.fa\nA\tb.fa\n", "named twice"),
    ("name\tnegatives\nA\tshuffle\n", "no 'peaks' column"),
    ("name\tpeaks\nA\tmissing.fa\n", "not found"),
    ("name\tpeaks\n", "no task"),
    ("name\tpeaks\nA B\ta.fa\n", "not usable"),
])
def test_bad_samplesheets(two_fastas, tmp_path, text, match):
    sheet = two_fastas["a"].parent / "bad.tsv"
    sheet.write_text(text)
    with pytest.raises(InputError, match=match):
        read_samplesheet(sheet)


def test_task_errors(two_fastas, pooled_genome, tmp_path):
    with pytest.raises(UsageError, match="given twice"):
        task_specs([two_fastas["a"], two_fastas["b"]], ["x", "x"])
    with pytest.raises(UsageError, match="one name per peak file"):
        task_specs([two_fastas["a"], two_fastas["b"]], ["x"])
    _genome, a, _b = pooled_genome
    with pytest.raises(UsageError, match="needs --genome"):
        build_task_set(task_specs([two_fastas["a"], a], ["fa", "bed"]), length=100)
    empty = tmp_path / "far.bed"
    empty.write_text("chr1\t10\t20\n")  # too near the chromosome start for a 100-bp window
    with pytest.raises(InputError, match="no positive|no interval"):
        build_task_set([TaskSpec("a", str(two_fastas["a"])), TaskSpec("far", str(empty), genome=str(_genome))],
                       length=100)


# ----------------------------------------------------------------------------- scanning
def _task_model(model: MotifCNN, t: int) -> MotifCNN:
    """The one-task model that is task ``t`` of ``model`` (same filters, head row ``t``)."""
    c = model.config
    one = MotifCNN(ModelConfig(n_filters=c.n_filters, filter_width=c.filter_width, seq_length=c.seq_length,
                               tasks=[c.tasks[t]])).eval()
    with torch.no_grad():
        one.conv.weight.copy_(model.conv.weight)
        one.conv.bias.copy_(model.conv.bias)
        one.head[-1].weight.copy_(model.head[-1].weight[t : t + 1])
        one.head[-1].bias.copy_(model.head[-1].bias[t : t + 1])
    return one


@pytest.fixture
def three_task_model(tmp_path):
    from motifscan.model import save_model

    torch.manual_seed(4)
    model = MotifCNN(ModelConfig(n_filters=6, filter_width=9, seq_length=60, tasks=["x", "y", "z"])).eval()
    path = tmp_path / "three.h5"
    save_model(model, path)
    rng = np.random.default_rng(2)
    genome = write_fasta(tmp_path / "g.fa", ["c1", "c2"], [decode(rng.integers(0, 4, 5000, dtype=np.uint8)),
                                                         decode(rng.integers(0, 4, 3100, dtype=np.uint8))])
    return model, path, genome


def test_multi_task_scan_writes_one_track_per_task_equal_to_one_task_models(three_task_model, tmp_path):
    from motifscan.model import save_model

    model, path, genome = three_task_model
    out = tmp_path / "out"
    out.mkdir()
    assert main(["scan", str(path), str(genome), "-o", str(out / "t.bedGraph"), "--peaks", str(out / "p.bed"),
                 "--stride", "10", "--threshold", "0.3", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"t.{t}.bedGraph" for t in "xyz"] + [f"p.{t}.bed" for t in "xyz"])
    for k, t in enumerate("xyz"):
        single = tmp_path / f"single_{t}.h5"
        save_model(_task_model(model, k), single)
        ref = tmp_path / f"ref_{t}"
        ref.mkdir()
        assert main(["scan", str(single), str(genome), "-o", str(ref / "t.bedGraph"), "--peaks", str(ref / "p.bed"),
                     "--stride", "10", "--threshold", "0.3", "--quiet"]) == 0
        assert (out / f"t.{t}.bedGraph").read_text() == (ref / "t.bedGraph").read_text()
        assert (out / f"p.{t}.bed").read_text() == (ref / "p.bed").read_text()
    # --task: one task, at the path given
    one = tmp_path / "y.bedGraph"
    assert main(["scan", str(path), str(genome), "-o", str(one), "--task", "y", "--stride", "10", "--quiet"]) == 0
    assert one.read_text() == (out / "t.y.bedGraph").read_text()


def test_multi_task_records_have_a_column_per_task_and_task_errors(three_task_model, tmp_path, capsys):
    _model, path, genome = three_task_model
    rec = tmp_path / "r.tsv"
    assert main(["scan", str(path), str(genome), "-o", str(rec), "--quiet"]) == 0
    assert rec.read_text().splitlines()[0].split("\t")[2:6] == ["score", "score_x", "score_y", "score_z"]
    assert main(["scan", str(path), str(genome), "-o", str(tmp_path / "t.bw"), "--task", "w", "--quiet"]) == 2
    assert "--task 'w' is not a task of the model" in capsys.readouterr().err
    assert not list(tmp_path.glob("t*.bw"))


# ----------------------------------------------------------------------------- export
def _two_motif_model() -> MotifCNN:
    """Filter 0 = MOTIF_A (+1/-1 weights), filter 1 = MOTIF_B; task a's head reads filter 0, task b's filter 1."""
    w = len(MOTIF_B)
    model = MotifCNN(ModelConfig(n_filters=4, filter_width=w, seq_length=100, tasks=["a", "b"])).eval()
    with torch.no_grad():
        weight = torch.full((4, 4, w), -1.0)
        for f, motif in ((0, MOTIF_A), (1, MOTIF_B)):  # right-aligned; columns left of a motif weigh 0
            offset = w - len(motif)
            if offset:
                weight[f, :, :offset] = 0.0
            for i, b in enumerate(motif):
                weight[f, "ACGT".index(b), offset + i] = 1.0
        gen = torch.Generator().manual_seed(1)
        weight[2:] = torch.randn(2, 4, w, generator=gen) * 0.1
        model.conv.weight.copy_(weight)
        model.conv.bias.fill_(0.0)
        model.conv.bias[0] = -len(MOTIF_A) + 4.0
        model.conv.bias[1] = -len(MOTIF_B) + 4.0
        lin = model.head[-1]
        lin.weight.zero_()
        lin.weight[0, 0] = 2.0
        lin.weight[1, 1] = 2.0
        lin.bias.fill_(-3.0)
    return model


def test_export_reports_influence_per_task_and_orders_by_task(two_fastas, tmp_path):
    import csv

    from motifscan.model import save_model

    model = tmp_path / "ab.h5"
    save_model(_two_motif_model(), model)
    args = ["export", str(model), "--sequences", str(two_fastas["a"]), "--sequences", str(two_fastas["b"]),
            "--min-sites", "5", "--no-merge", "--quiet"]
    assert main([*args, "-o", str(tmp_path / "m.meme")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "m.tsv"), delimiter="\t"))
    by_filter = {int(r["filter"]): r for r in rows}
    assert {"influence_a", "influence_b"} <= set(rows[0])
    # each task's head relies on its own filter, not the other task's
    assert float(by_filter[0]["influence_a"]) > 0.05 and abs(float(by_filter[0]["influence_b"])) < 1e-3
    assert float(by_filter[1]["influence_b"]) > 0.05 and abs(float(by_filter[1]["influence_a"])) < 1e-3
    for task, first in (("a", 0), ("b", 1)):
        assert main([*args, "--task", task, "-o", str(tmp_path / f"{task}.meme")]) == 0
        ranked = list(csv.DictReader(open(tmp_path / f"{task}.tsv"), delimiter="\t"))
        assert int(ranked[0]["filter"]) == first
    # one file for a multi-task model needs --task
    assert main(["export", str(model), "--sequences", str(two_fastas["a"]), "-o", str(tmp_path / "x.meme"),
                 "--quiet"]) == 2
    assert not (tmp_path / "x.meme").exists()
