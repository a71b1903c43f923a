"""motifscan attribute: exact ISM and gradients in TF-MoDISco's layout, contribution track, seqlets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from motifscan.interpret.attribute import attribute_codes, contributions
from motifscan.cli._base import main
from motifscan.codes import encode, one_hot, one_hot_torch
from motifscan.model import ModelConfig, MotifCNN, save_model
from motifscan.kernels.mutations import naive_ism

from conftest import write_fasta

REPO = Path(__file__).resolve().parents[1]
JASPAR = REPO / "motifscan" / "resources" / "JASPAR2024_CORE_vertebrates.meme"


def _model(tasks=("a", "b")) -> MotifCNN:
    torch.manual_seed(1)
    return MotifCNN(ModelConfig(n_filters=5, filter_width=6, seq_length=40, hidden=3, tasks=list(tasks))).eval()


def test_ism_npz_is_naive_ism_in_modisco_layout(tmp_path):
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), 40, p=[0.24, 0.24, 0.24, 0.24, 0.04])) for _ in range(7)]
    write_fasta(tmp_path / "s.fa", [f"s{i}" for i in range(7)], seqs)
    model = _model()
    save_model(model, tmp_path / "m.h5")
    out = tmp_path / "a.npz"
    assert main(["attribute", str(tmp_path / "m.h5"), str(tmp_path / "s.fa"), "-o", str(out), "--task", "b",
                 "--onehot-out", str(tmp_path / "s.npz"), "--device", "cpu", "--quiet"]) == 0
    got = np.load(out)
    codes = np.stack([encode(s) for s in seqs])
    want = naive_ism(model, codes)[..., 1].transpose(0, 2, 1)
    assert got["arr_0"].shape == (7, 4, 40) and got["arr_0"].dtype == np.float32
    np.testing.assert_allclose(got["arr_0"], want, atol=1e-5)
    assert list(got["names"]) == [f"s{i}" for i in range(7)] and str(got["task"]) == "b"
    np.testing.assert_array_equal(np.load(tmp_path / "s.npz")["arr_0"], one_hot(codes))
    centred = attribute_codes(model, codes, task=1, center=True)
    np.testing.assert_allclose(centred, want - want.mean(axis=1, keepdims=True), atol=1e-5)


def test_gradient_times_input(tmp_path):
    model = _model()
    codes = np.random.default_rng(1).integers(0, 4, (5, 40)).astype(np.uint8)
    got = attribute_codes(model, codes, method="grad", task=0)
    net = model.double()
    x = one_hot_torch(torch.from_numpy(codes), dtype=torch.float64).requires_grad_(True)
    net(x)[:, 0].sum().backward()
    model.float()
    np.testing.assert_allclose(got, x.grad.numpy(), atol=1e-5)
    # at the reference base the contribution is the mean-corrected gradient x input
    g = x.grad.numpy()
    want = ((g - g.mean(axis=1, keepdims=True)) * one_hot(codes)).sum(axis=1)
    np.testing.assert_allclose(contributions(got, codes), want, atol=1e-5)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    d = tmp_path_factory.mktemp("attr")
    assert main(["simulate", "-o", str(d / "g.fa"), "--truth", str(d / "t.bed"), "--length", "120000",
                 "--chroms", "1", "--n-sites", "40", "--seed", "2", "--quiet"]) == 0
    return d


def test_bigwig_and_seqlets_find_the_planted_sites(planted, tmp_path):
    import pyBigWig

    d = planted
    model = REPO / "models" / "ctcf_gm12878.h5"
    args = ["attribute", str(model), str(d / "t.bed"), "--genome", str(d / "g.fa"), "--length", "200",
            "-o", str(tmp_path / "a.npz"), "--bigwig", str(tmp_path / "c.bw"), "--seqlets", str(tmp_path / "s.bed"),
            "--motifs", str(JASPAR), "--device", "cpu", "--quiet"]
    assert main(args) == 0
    a = np.load(tmp_path / "a.npz")["arr_0"]
    truth = [ln.split("\t") for ln in (d / "t.bed").read_text().splitlines()]
    from motifscan.io.fasta import IndexedFasta

    fa = IndexedFasta(d / "g.fa")
    codes = np.stack([fa.fetch("chr1", (int(s) + int(e)) // 2 - 100, (int(s) + int(e)) // 2 + 100) for _, s, e, *_ in truth])
    contrib = contributions(a, codes)
    bw = pyBigWig.open(str(tmp_path / "c.bw"))
    first = (int(truth[0][1]) + int(truth[0][2])) // 2 - 100
    np.testing.assert_allclose(bw.values("chr1", first, first + 200), contrib[0], atol=1e-6)
    # contributions inside the planted sites dominate
    inside = np.zeros_like(contrib, dtype=bool)
    for i, (_, s, e, *_r) in enumerate(truth):
        off = int(s) - ((int(s) + int(e)) // 2 - 100)
        inside[i, off : off + int(e) - int(s)] = True
    assert contrib[inside].mean() > 5 * np.abs(contrib[~inside]).mean()
    rows = [ln.split("\t") for ln in (tmp_path / "s.bed").read_text().splitlines()]
    sites = [(int(s), int(e)) for _, s, e, *_ in truth]
    on_site = [any(int(r[1]) < e and int(r[2]) > s for s, e in sites) for r in rows]
    assert len(rows) >= 30 and np.mean(on_site) > 0.8
    named = [r[3] for r, ok in zip(rows, on_site) if ok]
    assert np.mean([n == "CTCF|MA0139.2" for n in named]) > 0.7


def test_attribution_needs_bed_for_bigwig(tmp_path, capsys):
    write_fasta(tmp_path / "s.fa", ["s"], ["ACGT" * 20])
    save_model(_model(), tmp_path / "m.h5")
    code = main(["attribute", str(tmp_path / "m.h5"), str(tmp_path / "s.fa"), "-o", str(tmp_path / "a.npz"),
                 "--bigwig", str(tmp_path / "c.bw"), "--device", "cpu", "--quiet"])
    assert code == 2 and "--bigwig needs BED" in capsys.readouterr().err
    assert not (tmp_path / "a.npz").exists()


@pytest.mark.slow
def test_modisco_lite_runs_on_our_npz_files(tmp_path):
    """`modisco motifs -s seqs.npz -a attributions.npz` reads our files and finds the planted motif."""
    d = tmp_path
    assert main(["simulate", "-o", str(d / "g.fa"), "--truth", str(d / "t.bed"), "--length", "400000",
                 "--chroms", "1", "--n-sites", "150", "--seed", "0", "--quiet"]) == 0
    assert main(["attribute", str(REPO / "models" / "ctcf_gm12878.h5"), str(d / "t.bed"), "--genome", str(d / "g.fa"),
                 "-o", str(tmp_path / "a.npz"), "--onehot-out", str(tmp_path / "s.npz"), "--center",
                 "--device", "cpu", "--quiet"]) == 0
    proc = subprocess.run([sys.executable, "-c", "from modiscolite.cli import cli; cli()", "motifs",
                           "-s", str(tmp_path / "s.npz"), "-a", str(tmp_path / "a.npz"), "-n", "2000", "-w", "200",
                           "-o", str(tmp_path / "m.h5")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import h5py

    with h5py.File(tmp_path / "m.h5") as h5:
        assert "pos_patterns" in h5 and len(h5["pos_patterns"]) >= 1
        cwm = h5["pos_patterns"]["pattern_0"]["sequence"][()]  # (width, 4) probabilities
    from motifscan.io.motif_formats import read_motifs
    from motifscan.motifs.compare import compare_motifs
    from motifscan.motifs.pwm import Motif

    best = compare_motifs(Motif("p0", cwm + 1e-3), read_motifs(JASPAR), top=1)[0]
    assert "CTCF" in best.target_alt.upper(), best
