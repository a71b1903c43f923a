"""The bundled pretrained model models/ctcf_gm12878.h5: it loads, and it finds CTCF sites.

The model was trained by the workflow's demo (see models/ctcf_gm12878.md); these tests scan
with it as a user would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motifscan.cli._base import main
from motifscan.data.datasets import load_sequences
from motifscan.data.negatives import shuffle_all
from motifscan.metrics import auroc
from motifscan.model import load_model
from motifscan.motifs import jaspar_path
from motifscan.io.motif_formats import read_motifs
from motifscan.simulate import simulate_genome

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "ctcf_gm12878.h5"
PEAKS = REPO / "examples" / "ctcf" / "ctcf_gm12878_top500.fa"

def _read_bed(path: Path):
    return [(f[0], int(f[1]), int(f[2])) for f in
            (ln.split("\t") for ln in path.read_text().splitlines() if ln)]


def test_model_card_facts():
    model = load_model(MODEL, device="cpu")
    assert model.config.seq_length == 200 and model.config.rc_sharing
    assert model.metrics["test_chroms"] == ["chr1", "chr3", "chr6"]
    assert model.metrics["test"]["auroc"] > 0.95
    assert (REPO / "models" / "ctcf_gm12878.md").exists()


def test_separates_held_out_peaks_from_shuffles():
    model = load_model(MODEL, device="cpu")
    seqs = load_sequences(PEAKS, length=200)
    held = np.array([c in ("chr1", "chr3", "chr6") for c in seqs.chroms])
    pos = seqs.codes[held]
    neg = shuffle_all(pos, 1, seed=1)
    scores = model.predict_codes(np.concatenate([pos, neg]), device="cpu")[:, 0]
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    assert len(pos) >= 90
    assert auroc(labels, scores) > 0.95


def test_genome_scan_recovers_planted_ctcf_sites(tmp_path, capsys):
    ctcf = next(m for m in read_motifs(jaspar_path()) if m.id == "MA0139.2")
    genome, truth = tmp_path / "g.fa", tmp_path / "truth.bed"
    simulate_genome(genome, truth, length=120_000, n_chroms=2, motif=ctcf, n_sites=30, seed=11)
    peaks = tmp_path / "peaks.bed"
    assert main(["scan", str(MODEL), str(genome), "-o", str(peaks), "--device", "cpu",
                 "--quiet"]) == 0
    sites, called = _read_bed(truth), _read_bed(peaks)

    def hits(a, b):
        return [any(c == c2 and s < e2 and s2 < e for c2, s2, e2 in b) for c, s, e in a]

    recall = np.mean(hits(sites, called))
    precision = np.mean(hits(called, sites)) if called else 0.0
    assert recall >= 0.7, (recall, len(called))
    assert precision >= 0.5, (precision, len(called))
