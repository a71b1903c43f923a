"""Calibrated window p-values (issue 19): a null per GC stratum on site-free isochore genomes,
FDR peaks on planted CTCF sites, the null file's refusals and the command line's.

The genome is a first-order Markov chain with CpG depletion whose GC steps through isochores of
35%, 41%, 50% and 60% (:func:`motifscan.simulate.simulate_genome`); the model is the bundled
CTCF model. Sizes are kept small for CI (4 Mbp, a 10 Mbp null); benchmarks/calibration_bench.py
measures the same at 40 Mbp and p down to 1e-4.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from motifscan.cli._base import main
from motifscan.errors import InputError
from motifscan.interpret.calibrate import (
    CalibrateOptions,
    calibrate,
    load_null,
    null_spans,
    qq_plot,
    sample_windows,
    save_null,
    score_windows,
)
from motifscan.io.fasta import IndexedFasta
from motifscan.model import model_digest
from motifscan.io.motif_formats import read_motifs
from motifscan.model import load_model, save_model
from motifscan.motifs import jaspar_path
from motifscan.scan.options import OutputOptions, WindowOptions
from motifscan.scan.run import scan_model
from motifscan.simulate import isochore_gc, simulate_genome
from motifscan.stats.null import WindowNull

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "ctcf_gm12878.h5"
ISOCHORES = (0.35, 0.41, 0.50, 0.60)
ISO_LEN = 250_000


def _ctcf():
    return next(m for m in read_motifs(jaspar_path()) if m.id == "MA0139.2")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A site-free isochore genome, the model and its null (10 Mbp of shuffles)."""
    d = tmp_path_factory.mktemp("calib")
    genome = d / "null.fa"
    simulate_genome(genome, d / "none.bed", length=4_000_000, n_chroms=2, motif=_ctcf(), n_sites=0, seed=5,
                    isochores=ISOCHORES, isochore_length=ISO_LEN)
    model = load_model(MODEL, device="cpu")
    calib = calibrate(model, genome, CalibrateOptions(mbp=10, seed=1), )
    save_null(d / "null.h5", calib)
    return d, genome, model, calib


def _track(path):
    rows = [ln.split("\t") for ln in Path(path).read_text().splitlines()]
    return np.array([int(r[1]) for r in rows]), np.array([float(r[3]) for r in rows])


def test_null_scores_are_the_scans_window_scores(world, tmp_path):
    d, genome, model, _calib = world
    with IndexedFasta(genome) as fa:
        codes = sample_windows(fa, 300, 200, np.random.default_rng(0))
    text = "".join("ACGT"[c] for c in codes.ravel())
    (tmp_path / "w.fa").write_text(">w\n" + "\n".join(text[i:i + 60] for i in range(0, len(text), 60)) + "\n")
    scan_model(model, tmp_path / "w.fa", tmp_path / "w.bedGraph", windows=WindowOptions(stride=200))
    _starts, scanned = _track(tmp_path / "w.bedGraph")
    direct = score_windows(model, codes)[:, 0]
    assert len(scanned) == 300
    assert [f"{v:.6g}" for v in direct.tolist()] == [f"{v:.6g}" for v in scanned.tolist()]


def test_pvalues_are_calibrated_per_gc_block(world, tmp_path):
    d, genome, model, calib = world
    scan_model(model, genome, OutputOptions(tmp_path / "p.bedGraph"),
               windows=WindowOptions(track_value="pvalue"), null=calib.null)
    starts, mlog_p = _track(tmp_path / "p.bedGraph")
    block = isochore_gc(starts, ISOCHORES, ISO_LEN)
    for a, tol in ((1e-2, 1.5), (1e-3, 1.5)):
        frac = (mlog_p >= -math.log10(a)).mean()
        assert a / tol <= frac <= a * tol, (a, frac)
    for g in ISOCHORES:
        frac = (mlog_p[block == g] >= 2).mean()
        assert 1e-2 / 2 <= frac <= 1e-2 * 2, (g, frac)


def test_a_single_null_is_off_in_the_gc_extremes(world, tmp_path):
    """The reason for strata: one null for every GC misjudges AT- and GC-rich isochores."""
    d, genome, model, calib = world
    with IndexedFasta(genome) as fa:
        codes = sample_windows(fa, 40_000, 200, np.random.default_rng(7))
    from motifscan.data.negatives import gc_content, shuffle_rows

    scores = score_windows(model, shuffle_rows(codes, np.random.default_rng(8)))
    single = WindowNull.fit(scores, gc_content(codes), ["bound"], edges=())
    scan_model(model, genome, OutputOptions(tmp_path / "p1.bedGraph"),
               windows=WindowOptions(track_value="pvalue"), null=single)
    starts, mlog_p = _track(tmp_path / "p1.bedGraph")
    block = isochore_gc(starts, ISOCHORES, ISO_LEN)
    ratios = [(mlog_p[block == g] >= 2).mean() / 1e-2 for g in ISOCHORES]
    assert max(ratios) / min(ratios) > 4, ratios


def test_fdr_peaks_on_a_site_free_genome(world, tmp_path):
    d, genome, model, calib = world
    stats = scan_model(model, genome, OutputOptions(tmp_path / "p.bed"), windows=WindowOptions(fdr=0.05),
                       null=calib.null)
    assert stats["peaks"] <= 1  # 3 per 40 Mbp at most (benchmarks/calibration_bench.py)


def test_fdr_peaks_find_planted_ctcf_sites(world, tmp_path):
    d, _genome, model, calib = world
    genome = tmp_path / "sites.fa"
    sim = simulate_genome(genome, tmp_path / "truth.bed", length=2_000_000, n_chroms=2, motif=_ctcf(),
                          n_sites=300, seed=9, isochores=ISOCHORES, isochore_length=ISO_LEN)
    stats = scan_model(model, genome, OutputOptions(tmp_path / "p.bed"), windows=WindowOptions(fdr=0.05),
                       null=calib.null)
    peaks = [ln.split("\t") for ln in (tmp_path / "p.bed").read_text().splitlines()]
    assert stats["peaks"] == len(peaks) > 0
    sites = sim.sites
    def on_site(p):
        return any(c == p[0] and s < int(p[2]) and e > int(p[1]) for c, s, e, _ in sites)
    fdp = sum(not on_site(p) for p in peaks) / len(peaks)
    found = sum(any(p[0] == c and int(p[1]) < e and int(p[2]) > s for p in peaks) for c, s, e, _ in sites)
    assert fdp <= 0.10, fdp
    assert found / len(sites) > 0.1  # recall against the best fixed threshold: benchmarks/calibration_bench.py
    # columns 8 and 9: -log10 p and -log10 q, q >= p, every q <= 0.05
    p, q = np.array([float(x[7]) for x in peaks]), np.array([float(x[8]) for x in peaks])
    assert (q <= p + 1e-9).all() and (q >= -math.log10(0.05) - 1e-9).all()


def test_null_file_round_trip_and_plot(world, tmp_path):
    d, genome, model, calib = world
    null = load_null(d / "null.h5", model, window=200, stride=50)
    x, gc = np.random.default_rng(0).uniform(size=(100, 1)).astype(np.float32), np.linspace(0.3, 0.65, 100)
    assert np.array_equal(null.log_pvalues(x, gc), calib.null.log_pvalues(x, gc))
    qq_plot(calib, tmp_path / "qq.png")
    assert (tmp_path / "qq.png").read_bytes()[:4] == b"\x89PNG"


def _error(capsys, argv) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    errors = [ln for ln in err if ln.startswith("motifscan: error:")]
    assert len(errors) == 1 and "Traceback" not in "\n".join(err), err
    return code, errors[0]


def test_command_line_refusals(world, tmp_path, capsys):
    d, genome, model, _calib = world
    null = str(d / "null.h5")
    base = ["scan", str(MODEL), str(genome), "-o", str(tmp_path / "p.bed")]
    code, msg = _error(capsys, base + ["--fdr", "0.05", "--threshold", "0.7", "--null", null])
    assert code == 2 and "--fdr and --threshold" in msg
    for bad in ("0", "1.5", "-0.1"):
        code, msg = _error(capsys, base + ["--fdr", bad, "--null", null])
        assert code == 2 and "--fdr must be in (0, 1]" in msg
    code, msg = _error(capsys, base + ["--null", null, "--stride", "100"])
    assert code == 2 and "--stride 50, not 100" in msg
    code, msg = _error(capsys, base + ["--null", null, "--window", "150"])
    assert code == 2 and "--window 200, not 150" in msg
    other = load_model(MODEL, device="cpu")
    with __import__("torch").no_grad():
        other.conv.weight[0, 0, 0] += 1.0
    save_model(other, tmp_path / "other.h5")
    assert model_digest(other) != model_digest(model)
    code, msg = _error(capsys, ["scan", str(tmp_path / "other.h5"), str(genome), "-o", str(tmp_path / "p.bed"),
                                "--null", null])
    assert code == 1 and "another model" in msg
    (tmp_path / "bad.h5").write_text("not a null\n")
    code, msg = _error(capsys, base + ["--null", str(tmp_path / "bad.h5")])
    assert code == 1 and "not a motifscan null file" in msg
    code, msg = _error(capsys, base + ["--null", str(MODEL)])
    assert code == 1 and "not a motifscan null file" in msg
    assert not (tmp_path / "p.bed").exists()


def test_calibrate_command_writes_null_and_plot(world, tmp_path):
    d, genome, _model, _calib = world
    out = tmp_path / "n.h5"
    assert main(["calibrate", str(MODEL), str(genome), "-o", str(out), "--mbp", "2", "--seed", "3", "-q"]) == 0
    assert out.exists() and (tmp_path / "null.png").exists()
    assert main(["scan", str(MODEL), str(genome), "-o", str(tmp_path / "p.bed"), "--null", str(out), "-q",
                 "--chrom", "chr2"]) == 0
    lines = (tmp_path / "p.bed").read_text().splitlines()
    assert lines and all(ln.split("\t")[7] != "-1" and ln.split("\t")[8] != "-1" for ln in lines)


@pytest.mark.parametrize("mode", ["fdr", "threshold"])
def test_sharded_qvalues_gather_to_the_unsharded_peaks(world, tmp_path, mode):
    from motifscan.io.gather import gather
    from motifscan.io.peaks import sidecar_path
    from motifscan.scan.significance import gather_significant_peaks, has_sidecars

    d, _genome, _model, _calib = world
    genome = tmp_path / "sites.fa"
    simulate_genome(genome, tmp_path / "truth.bed", length=600_000, n_chroms=3, motif=_ctcf(), n_sites=80, seed=4,
                    isochores=ISOCHORES, isochore_length=100_000)
    opts = ["--fdr", "0.2"] if mode == "fdr" else ["--threshold", "0.6"]
    base = ["scan", str(MODEL), str(genome), "--null", str(d / "null.h5"), "-q", *opts]
    assert main(base + ["-o", str(tmp_path / "whole.bw"), "--peaks", str(tmp_path / "whole.bed")]) == 0
    tracks, peaks = [], []
    for i in range(1, 4):
        tracks.append(tmp_path / f"{i}.bw")
        peaks.append(tmp_path / f"{i}.bed")
        assert main(base + ["-o", str(tracks[-1]), "--peaks", str(peaks[-1]), "--shard", f"{i}/3",
                            "--chunk-size", "3000"]) == 0
        assert sidecar_path(peaks[-1]).exists()
    assert has_sidecars(peaks) and not sidecar_path(tmp_path / "whole.bed").exists()
    if mode == "fdr":  # the command line, which finds the shards' p-values by itself
        assert main(["gather", *map(str, tracks), "-o", str(tmp_path / "g.bw"), "--peaks", str(tmp_path / "g.bed"),
                     *(x for p in peaks for x in ("--shard-peaks", str(p))), "-q"]) == 0
    else:
        gather(tracks, peaks, tmp_path / "g.bw", tmp_path / "g.bed", merge_peaks=gather_significant_peaks)
    whole = (tmp_path / "whole.bed").read_text()
    assert whole.count("\n") >= 5
    assert (tmp_path / "g.bed").read_text() == whole
    assert (tmp_path / "g.bw").read_bytes() == (tmp_path / "whole.bw").read_bytes()
    sidecar_path(peaks[1]).unlink()
    with pytest.raises(InputError, match="no peak p-values but others have"):
        has_sidecars(peaks)


def test_scan_fdr_builds_a_null_when_none_is_given(world, tmp_path, capsys, monkeypatch):
    import functools

    import motifscan.interpret.calibrate as cal

    d, genome, _model, _calib = world
    monkeypatch.setattr(cal, "CalibrateOptions", functools.partial(cal.CalibrateOptions, mbp=2))  # small, for CI
    out = tmp_path / "p.bed"
    assert main(["scan", str(MODEL), str(genome), "-o", str(out), "--fdr", "0.05", "--chrom", "chr1"]) == 0
    err = capsys.readouterr().err
    assert "no --null: building one" in err and "null of" in err
    assert err.count("device: ") == 1, err  # the null's scoring and the scan share one device line
    assert out.exists()
    code, msg = _error(capsys, ["scan", str(MODEL), str(genome), "-o", str(tmp_path / "t.bw"), "--fdr", "0.05"])
    assert code == 2 and "--fdr chooses peaks" in msg


def test_multi_task_models_get_one_null_per_task(world, tmp_path):
    import torch

    from motifscan.model import MotifCNN, ModelConfig
    from motifscan.scan.options import RunOptions

    _d, genome, _model, _calib = world
    torch.manual_seed(0)
    model = MotifCNN(ModelConfig(n_filters=6, filter_width=9, seq_length=60, tasks=["x", "y"])).eval()
    calib = calibrate(model, genome, CalibrateOptions(mbp=0.6, min_stratum=500), run=RunOptions(device="cpu"))
    assert calib.null.tasks == ("x", "y") and all(len(row) == 2 for row in calib.null.nulls)
    for t in range(2):  # each task's held-out shuffles are calibrated against its own null
        assert 0.5e-2 < (calib.heldout_log_p[:, t] <= math.log(1e-2)).mean() < 2e-2
    stats = scan_model(model, genome, OutputOptions(tmp_path / "t.bedGraph", peaks=tmp_path / "p.bed"),
                       windows=WindowOptions(threshold=0.0, track_value="pvalue"), inputs=_chr2(), null=calib.null)
    assert stats["peaks"] >= 2
    for task in ("x", "y"):
        peaks = [ln.split("\t") for ln in (tmp_path / f"p.{task}.bed").read_text().splitlines()]
        assert peaks and all(float(p[7]) >= float(p[8]) >= 0 for p in peaks)  # -log10 p >= -log10 q
        track = (tmp_path / f"t.{task}.bedGraph").read_text().splitlines()
        assert max(float(ln.split("\t")[3]) for ln in track) >= float(peaks[0][7]) - 1e-4


def _chr2():
    from motifscan.scan.options import InputOptions

    return InputOptions(chroms=("chr2",))


def test_calibrate_never_writes_over_its_inputs(tmp_path):
    """-o or --plot naming the model or the genome: exit 2, the input untouched, nothing written."""
    import shutil

    assert main(["simulate", "-o", str(tmp_path / "g.fa"), "--truth", str(tmp_path / "t.bed"),
                 "--length", "50000", "--n-sites", "2", "--seed", "0", "-q"]) == 0
    model = tmp_path / "m.h5"
    shutil.copy(REPO / "models" / "ctcf_gm12878.h5", model)
    before = {p: p.read_bytes() for p in (model, tmp_path / "g.fa")}
    for extra in (["-o", str(model)], ["-o", str(tmp_path / "n.h5"), "--plot", str(tmp_path / "g.fa")]):
        assert main(["calibrate", str(model), str(tmp_path / "g.fa"), *extra, "--mbp", "0.1", "-q"]) == 2
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "n.h5").exists()


def test_null_windows_come_from_the_part_of_the_genome_scanned(tmp_path):
    """--chrom, --regions and --skip-masked choose where the null's windows are drawn, as the scan's."""
    from motifscan.scan.options import InputOptions

    rng = np.random.default_rng(3)
    seq = {c: "".join(rng.choice(list("ACGT"), 6000)) for c in ("chr1", "chr2")}
    text2 = seq["chr2"][:3000].lower() + seq["chr2"][3000:]  # the first half soft-masked
    genome = tmp_path / "g.fa"
    genome.write_text(f">chr1\n{seq['chr1']}\n>chr2\n{text2}\n")
    (tmp_path / "r.bed").write_text("chr1\t1000\t2500\tr1\nchr2\t100\t400\tr2\n")

    def drawn(inputs):
        with IndexedFasta(genome) as fa:
            codes = sample_windows(fa, 400, 100, np.random.default_rng(0), spans=null_spans(fa, inputs),
                                   skip_masked=inputs.skip_masked)
        return ["".join("ACGT"[c] for c in row) for row in codes]

    everywhere = drawn(InputOptions())
    assert any(w in seq["chr1"] for w in everywhere) and any(w in seq["chr2"][:3000] for w in everywhere)
    assert all(w in seq["chr2"] for w in drawn(InputOptions(chroms=("chr2",))))
    assert all(w in seq["chr2"][3000:] for w in drawn(InputOptions(chroms=("chr2",), skip_masked=True)))
    in_regions = drawn(InputOptions(regions=tmp_path / "r.bed"))
    assert all(w in seq["chr1"][1000:2500] or w in seq["chr2"][100:400] for w in in_regions)
    assert all(w in seq["chr1"][1000:2500] for w in drawn(InputOptions(regions=tmp_path / "r.bed", chroms=("chr1",))))
    with IndexedFasta(genome) as fa, pytest.raises(InputError, match="unmasked window without N"):
        sample_windows(fa, 10, 100, np.random.default_rng(0), spans=[("chr2", 0, 3000)], skip_masked=True)


def test_calibrate_command_takes_the_scans_genome_part(world, tmp_path):
    d, genome, _model, _calib = world
    (tmp_path / "r.bed").write_text("chr2\t0\t900000\n")
    out = tmp_path / "n.h5"
    assert main(["calibrate", str(MODEL), str(genome), "-o", str(out), "--mbp", "0.4", "--regions",
                 str(tmp_path / "r.bed"), "--skip-masked", "--chrom", "chr2", "-q"]) == 0
    from motifscan.io.nulls import read_null

    meta, _arrays = read_null(out)
    assert (meta.options["chroms"], meta.options["regions"], meta.options["skip_masked"]) == (["chr2"], "r.bed", True)
