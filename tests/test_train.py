import json

import numpy as np
import pytest
import torch

from conftest import CTCF_FASTA, planted_set, write_fasta
from motifscan.cli._base import main
from motifscan.data.datasets import LabelledSet, split_dataset
from motifscan.metrics import auroc, auprc
from motifscan.model import ModelConfig, MotifCNN, load_model
from motifscan.codes import decode
from motifscan.train import fit


def _fit_planted(seed=0):
    pos, neg, *_ = planted_set(n=300, length=100, seed=seed)
    codes = np.concatenate([pos, neg])
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))].astype(np.float32)
    idx = np.random.default_rng(seed).permutation(len(codes))
    tr, va = idx[:480], idx[480:]
    torch.manual_seed(seed)
    model = MotifCNN(ModelConfig(n_filters=8, filter_width=12, seq_length=100))
    fit(model, codes[tr], labels[tr], codes[va], labels[va], epochs=25, patience=5, seed=seed, device="cpu", progress=False)
    return model, codes[va], labels[va]


def test_planted_motif_is_learned():
    model, codes, labels = _fit_planted()
    scores = model.predict_codes(codes)[:, 0]
    assert auroc(labels, scores) > 0.95
    # a fresh planted set, never seen in training
    pos, neg, *_ = planted_set(n=100, length=100, seed=99)
    fresh = model.predict_codes(np.concatenate([pos, neg]))[:, 0]
    assert auroc(np.r_[np.ones(100), np.zeros(100)], fresh) > 0.95


def test_same_seed_same_model():
    a, *_ = _fit_planted(seed=3)
    b, *_ = _fit_planted(seed=3)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(va, vb), ka


def test_metrics_match_definitions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.random(200).round(2)  # with ties
    pos, neg = s[y == 1], s[y == 0]
    brute = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
    assert auroc(y, s) == pytest.approx(brute)
    order = np.argsort(-s, kind="mergesort")
    assert auprc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == pytest.approx(1.0)
    assert auprc([0, 1], [0.9, 0.1]) == pytest.approx(0.5)
    assert 0 <= auprc(y[order], s[order]) <= 1


def _labelled(chroms, n_each=30):
    names = [f"{c}:{i}-{i+10}" for c in chroms for i in range(n_each)]
    ch = [c for c in chroms for _ in range(n_each)]
    labels = np.tile(np.r_[np.ones(n_each // 2), np.zeros(n_each - n_each // 2)], len(chroms)).astype(np.float32)
    return LabelledSet(names, np.zeros((len(names), 20), np.uint8), labels, ch)


def test_chromosome_holdout_split_is_disjoint():
    data = _labelled(["chr1", "chr2", "chr3", "chr4", "chr5"], n_each=60)
    s = split_dataset(data, valid_chroms=["chr2"], test_chroms=["chr3", "chr4"], min_held_out=10)
    assert s.method == "chromosomes"
    get = lambda idx: {data.chroms[i] for i in idx}
    assert get(s.valid) == {"chr2"} and get(s.test) == {"chr3", "chr4"} and get(s.train) == {"chr1", "chr5"}


def test_small_holdout_falls_back_with_warning(caplog):
    data = _labelled(["chr1", "chr2", "chr8"], n_each=20)
    with caplog.at_level("WARNING", logger="motifscan"):
        s = split_dataset(data, valid_chroms=["chr8"], test_chroms=["chr1"], min_held_out=20)
    assert s.method == "stratified" and "too small" in caplog.text
    assert len(set(s.train) | set(s.valid) | set(s.test)) == len(data)
    assert not set(s.train) & set(s.test)


def test_unknown_explicit_chromosome_is_usage_error():
    from motifscan.errors import UsageError

    with pytest.raises(UsageError, match="not in the data"):
        split_dataset(_labelled(["chr1", "chr2"]), valid_chroms=["chrZ"], test_chroms=["chr1"])


def test_cli_train_and_evaluate_end_to_end(tmp_path, capsys):
    pos, _, *_ = planted_set(n=300, length=100, seed=1)
    fasta = write_fasta(tmp_path / "peaks.fa", [f"p{i}" for i in range(len(pos))], [decode(c) for c in pos])
    model = tmp_path / "m.h5"
    code = main(["train", str(fasta), "-o", str(model), "--filters", "8", "--filter-width", "12", "--length", "100",
                 "--epochs", "30", "--metrics", str(tmp_path / "m.json"), "--quiet"])
    assert code == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["split"] == "stratified" and metrics["test"]["auroc"] > 0.9
    loaded = load_model(model)
    assert loaded.metrics["test"]["auroc"] == metrics["test"]["auroc"]
    assert loaded.provenance["inputs"]["positives"]["sha256"]
    assert "motifscan train" in loaded.provenance["command"]
    assert main(["evaluate", str(model), str(fasta), "-o", str(tmp_path / "ev"), "--quiet"]) == 0
    ev = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert ev["auroc"] > 0.9
    assert (tmp_path / "ev" / "roc.png").stat().st_size > 1000 and (tmp_path / "ev" / "pr.png").exists()


def test_cli_train_bed_with_background_negatives(tmp_path):
    rng = np.random.default_rng(0)
    pos, _, *_ = planted_set(n=60, length=100, seed=2)
    chroms, beds = [], []
    for c in range(4):
        background = rng.integers(0, 4, 30000, dtype=np.uint8)
        for k in range(15):
            start = 1000 + k * 1800
            background[start : start + 100] = pos[c * 15 + k]
            beds.append(f"chr{c + 1}\t{start}\t{start + 100}\tpeak\t0\t.\t1\t1\t1\t50")
        chroms.append(decode(background))
    genome = write_fasta(tmp_path / "g.fa", [f"chr{c + 1}" for c in range(4)], chroms)
    bed = tmp_path / "p.narrowPeak"
    bed.write_text("\n".join(beds) + "\n")
    model = tmp_path / "m.h5"
    code = main(["train", str(bed), "--genome", str(genome), "--negatives", "background", "--length", "100",
                 "--filters", "8", "--filter-width", "12", "--epochs", "15", "--valid-chroms", "chr2",
                 "--test-chroms", "chr3", "-o", str(model), "--quiet"])
    assert code == 0
    m = load_model(model).metrics
    assert m["split"] in ("chromosomes", "stratified") and m["test"]["n"] > 0


@pytest.mark.slow
def test_real_ctcf_peaks_are_learned(tmp_path):
    """The bundled real CTCF peaks: held-out AUROC well above chance (full benchmark: benchmarks/)."""
    model = tmp_path / "ctcf.h5"
    assert main(["train", str(CTCF_FASTA), "-o", str(model), "--epochs", "12", "--quiet"]) == 0
    m = load_model(model).metrics
    assert m["split"] == "chromosomes" and m["test"]["auroc"] > 0.95


# ------------------------------------------------------------------ issue 11: evaluate
@pytest.fixture
def hand_model(tmp_path):
    """A hand-set motif model whose file records ``peaks.fa`` as its training positives and
    held-out test metrics, as ``motifscan train`` writes them; and two FASTA files."""
    from scan_helpers import motif_model

    from motifscan.model import save_model
    from motifscan.train import file_sha256

    pos, *_ = planted_set(n=80, length=100, seed=4)
    other, *_ = planted_set(n=80, length=100, seed=5)
    peaks = write_fasta(tmp_path / "peaks.fa", [f"p{i}" for i in range(len(pos))], [decode(c) for c in pos])
    fresh = write_fasta(tmp_path / "fresh.fa", [f"q{i}" for i in range(len(other))], [decode(c) for c in other])
    model = motif_model(seq_length=100)
    model.metrics = {"test": {"auroc": 0.8123, "auprc": 0.7456, "n": 40, "n_pos": 20}}
    model.provenance = {"inputs": {"positives": {"path": str(peaks), "sha256": file_sha256(peaks)}}}
    path = tmp_path / "model.h5"
    save_model(model, path)
    return path, peaks, fresh


def test_evaluate_on_training_data_warns_and_flags_the_metrics(hand_model, tmp_path, capsys):
    model, peaks, fresh = hand_model
    assert main(["evaluate", str(model), str(peaks), "-o", str(tmp_path / "ev")]) == 0
    err = capsys.readouterr().err
    warnings = [ln for ln in err.splitlines() if ln.startswith("motifscan: warning: ")]
    assert len(warnings) == 1, err
    assert "training" in warnings[0] and "peaks.fa" in warnings[0] and "held-out" in warnings[0]
    assert "AUROC 0.8123" in warnings[0] and "AUPRC 0.7456" in warnings[0]
    ev = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert ev["evaluated_on_training_data"] is True
    assert ev["training_inputs_evaluated"] == {"positives": "positives"}
    assert ev["model_test_metrics"]["auroc"] == 0.8123

    # the same bytes under another name, and the training positives given as negatives
    copy = tmp_path / "renamed.fa"
    copy.write_bytes(peaks.read_bytes())
    assert main(["evaluate", str(model), str(copy), "-o", str(tmp_path / "ev2"), "-q"]) == 0
    assert capsys.readouterr().err.count("motifscan: warning: ") == 1
    assert main(["evaluate", str(model), str(fresh), "--negatives", str(peaks), "-o", str(tmp_path / "ev3"), "-q"]) == 0
    assert "training positives" in capsys.readouterr().err
    assert json.loads((tmp_path / "ev3" / "metrics.json").read_text())["training_inputs_evaluated"] == {
        "negatives": "positives"}

    # held-out peaks: no warning, and the metrics are exactly the summary
    assert main(["evaluate", str(model), str(fresh), "-o", str(tmp_path / "ev4")]) == 0
    assert "warning" not in capsys.readouterr().err
    ev = json.loads((tmp_path / "ev4" / "metrics.json").read_text())
    assert "evaluated_on_training_data" not in ev and ev["auroc"] > 0.7


def test_evaluate_model_reports_training_overlap(hand_model, caplog):
    from motifscan.evaluate import evaluate_model

    model_path, peaks, fresh = hand_model
    model = load_model(model_path)
    with caplog.at_level("WARNING", logger="motifscan"):
        result = evaluate_model(model, peaks, device="cpu")
    assert result.training_overlap == {"positives": "positives"}
    assert result.metrics["evaluated_on_training_data"] is True
    assert len(caplog.records) == 1 and "0.8123" in caplog.records[0].getMessage()
    caplog.clear()
    with caplog.at_level("WARNING", logger="motifscan"):
        result = evaluate_model(model, fresh, device="cpu")
    assert result.training_overlap == {} and not caplog.records


def test_evaluate_creates_missing_parent_folders_and_removes_them_on_failure(hand_model, tmp_path, capsys,
                                                                              monkeypatch):
    import motifscan.evaluate as evaluate

    model, peaks, fresh = hand_model
    out = tmp_path / "a" / "b" / "c"
    assert main(["evaluate", str(model), str(fresh), "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "pr.png", "roc.png"]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "plot_curves", interrupted)
    assert main(["evaluate", str(model), str(fresh), "-o", str(tmp_path / "x" / "y" / "z"), "-q"]) == 130
    assert not (tmp_path / "x").exists()
    assert main(["evaluate", str(model), str(fresh), "-o", str(tmp_path / "a" / "new"), "-q"]) == 130
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]
    # a file where a folder should be: a usage error before any work
    assert main(["evaluate", str(model), str(fresh), "-o", str(peaks / "ev"), "-q"]) == 2
    assert "peaks.fa" in capsys.readouterr().err


def test_multi_task_holdout_check_reads_byte_and_float_labels_alike(caplog):
    """A task with no positive in the validation chromosome makes the split fall back, whether the
    labels are pooled bytes or floats with NaN (checked column by column, no float copy of (N, T))."""
    data = _labelled(["chr1", "chr2", "chr3"], n_each=60)
    y = np.stack([data.labels, data.labels * (np.asarray(data.chroms) != "chr2")], axis=1)
    for labels in (y.astype(np.uint8), y.astype(np.float32)):
        caplog.clear()
        with caplog.at_level("WARNING", logger="motifscan"):
            s = split_dataset(LabelledSet(data.names, data.codes, labels, data.chroms), valid_chroms=["chr2"],
                              test_chroms=["chr3"], min_held_out=10, tasks=["a", "b"])
        assert s.method == "stratified" and "leaves task b with no positive in the validation set" in caplog.text
        ok = split_dataset(LabelledSet(data.names, data.codes, labels[:, :1].repeat(2, 1), data.chroms),
                           valid_chroms=["chr2"], test_chroms=["chr3"], min_held_out=10, tasks=["a", "b"])
        assert ok.method == "chromosomes"


def test_training_leaves_no_denormal_parameter():
    """A filter shrunk into float32's denormal range (weight decay on a filter that no longer fires
    does this over a long run; every convolution through it then takes the CPU's slow path) is set
    to 0 by the training step; the normal weights are untouched by it (lr 0: Adam moves nothing)."""
    pos, neg, *_ = planted_set(n=128, length=100, seed=3)
    codes = np.concatenate([pos, neg])
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))].astype(np.float32)
    idx = np.random.default_rng(3).permutation(len(codes))
    codes, labels = codes[idx], labels[idx]
    torch.manual_seed(0)
    model = MotifCNN(ModelConfig(n_filters=8, filter_width=9, seq_length=100))
    with torch.no_grad():
        model.conv.weight[:2] = 1e-40
        model.head[1].weight[0, 0] = -3e-39
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, codes[:200], labels[:200], codes[200:], labels[200:], epochs=1, lr=0.0, seed=0, device="cpu",
        progress=False)
    tiny = torch.finfo(torch.float32).tiny
    for name, p in model.named_parameters():
        assert not ((p != 0) & (p.abs() < tiny)).any(), name
    assert (model.conv.weight[:2] == 0).all() and model.head[1].weight[0, 0] == 0
    assert torch.equal(model.conv.weight[2:], before["conv.weight"][2:])
    assert torch.equal(model.conv.bias, before["conv.bias"])
