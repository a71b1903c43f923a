"""Calibrated window p-values (issue 19), measured: calibration, FDR peaks, power, tail accuracy, cost.

    python benchmarks/calibration_bench.py [--mbp 200] [--seed 0] [--cost-mbp 100] [--tail-windows 2000000] -o results.json

On site-free genomes (a first-order Markov chain with CpG depletion whose GC steps through
isochores of 35%, 41%, 50% and 60%, ``motifscan.simulate``) with the bundled CTCF model:

* ``calibration``: the fraction of windows with p <= 1e-2, 1e-3, 1e-4 over the genome and per
  isochore, with the GC-stratified null (default size) and with a single null (no strata);
* ``fdr``: peaks called by ``--fdr 0.05`` on the site-free genome (target: at most 3 per 40 Mbp);
* ``power``: a genome with planted CTCF sites (JASPAR MA0139.2) in the same background: the
  false-discovery proportion of ``--fdr 0.05`` peaks (peaks on no site) and their recall, against
  the best recall of a fixed probability threshold at the same precision;
* ``tail``: p-values of a null fitted on 1e5 shuffled windows (empirical + GPD tail) against the
  empirical p-values of ``--tail-windows`` other shuffles;
* ``cost``: CPU seconds of ``calibrate`` at its default size against a scan of a ``--cost-mbp``
  genome (extrapolated to hg38's 3.1 Gbp), and ``scan --fdr`` (with a saved null) against
  ``scan --threshold`` on that genome, in one run.

Each part can be left out (``--skip``). Timings are CPU time of this process (user + system).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from motifscan.data.negatives import gc_content, shuffle_rows  # noqa: E402
from motifscan.interpret.calibrate import (  # noqa: E402
    CalibrateOptions,
    calibrate,
    sample_windows,
    score_windows,
)
from motifscan.io.fasta import IndexedFasta  # noqa: E402
from motifscan.io.motif_formats import read_motifs  # noqa: E402
from motifscan.model import load_model  # noqa: E402
from motifscan.motifs import jaspar_path  # noqa: E402
from motifscan.scan.options import OutputOptions, WindowOptions  # noqa: E402
from motifscan.scan.run import scan_model  # noqa: E402
from motifscan.simulate import isochore_gc, simulate_genome  # noqa: E402
from motifscan.stats.null import WindowNull, score_statistic  # noqa: E402
from motifscan.stats.tail import ScoreNull  # noqa: E402

MODEL = REPO / "models" / "ctcf_gm12878.h5"
ISOCHORES = (0.35, 0.41, 0.50, 0.60)
ISO_LEN = 1_000_000
LEVELS = (1e-2, 1e-3, 1e-4)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def ctcf():
    return next(m for m in read_motifs(jaspar_path()) if m.id == "MA0139.2")


def genome(d: Path, name: str, mbp: float, n_sites: int, seed: int):
    return simulate_genome(d / f"{name}.fa", d / f"{name}.bed", length=int(mbp * 1e6), n_chroms=4, motif=ctcf(),
                           n_sites=n_sites, seed=seed, isochores=ISOCHORES, isochore_length=ISO_LEN)


def read_track(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(path, usecols=(1, 3), ndmin=2)  # numpy's C reader: 1e7 lines in seconds
    return data[:, 0].astype(np.int64), data[:, 1]


def fractions(mlog_p: np.ndarray, block: np.ndarray) -> dict:
    out = {"overall": {f"{a:g}": float((mlog_p >= -math.log10(a)).mean() / a) for a in LEVELS},
           "windows": int(len(mlog_p))}
    for g in ISOCHORES:
        sel = block == g
        out[f"gc{g:.2f}"] = {f"{a:g}": float((mlog_p[sel] >= -math.log10(a)).mean() / a) for a in LEVELS}
    return out


def part_calibration(d: Path, model, args, res: dict) -> None:
    genome(d, "null", args.mbp, 0, 5 + args.seed)
    t0 = time.perf_counter()
    calib = calibrate(model, d / "null.fa", CalibrateOptions(seed=1 + args.seed))
    res["null"] = {"windows": calib.windows, "strata": calib.null.stratum_labels(),
                   "sizes": calib.null.sizes.tolist(), "seconds": time.perf_counter() - t0}
    out = {}
    for name, null in (("strata", calib.null), ("single", _single(model, d / "null.fa", calib.windows, args.seed))):
        scan_model(model, d / "null.fa", OutputOptions(d / f"p_{name}.bedGraph"),
                   windows=WindowOptions(track_value="pvalue"), null=null)
        starts, mlog_p = read_track(d / f"p_{name}.bedGraph")
        # the drawn span of a window is its middle stride: its isochore is its centre's
        out[name] = fractions(mlog_p, isochore_gc(starts, ISOCHORES, ISO_LEN))
    res["calibration (observed / nominal)"] = out
    stats = scan_model(model, d / "null.fa", OutputOptions(d / "fdr.bed"), windows=WindowOptions(fdr=0.05),
                       null=calib.null)
    res["fdr_site_free"] = {"mbp": args.mbp, "peaks_at_fdr_0.05": stats["peaks"]}
    res["_null"] = calib.null


def _single(model, fa: Path, n: int, seed: int) -> WindowNull:
    with IndexedFasta(fa) as g:
        codes = sample_windows(g, n, 200, np.random.default_rng(11 + seed))
    scores = score_windows(model, shuffle_rows(codes, np.random.default_rng(12 + seed)))
    return WindowNull.fit(scores, gc_content(codes), model.config.tasks, edges=())


def part_power(d: Path, model, null: WindowNull, args, res: dict) -> None:
    sim = genome(d, "sites", args.power_mbp, int(args.power_mbp * 1e6 / 20_000), 9)
    sites = {}
    for c, s, e, _ in sim.sites:
        sites.setdefault(c, []).append((s, e))
    def on_site(c, a, b):
        return any(s < b and e > a for s, e in sites.get(c, []))
    def found(peaks):
        hit = 0
        by = {}
        for c, a, b, *_ in peaks:
            by.setdefault(c, []).append((a, b))
        for c, lst in sites.items():
            for s, e in lst:
                hit += any(a < e and b > s for a, b in by.get(c, []))
        return hit
    n_sites = len(sim.sites)
    scan_model(model, d / "sites.fa", OutputOptions(d / "fdr_sites.bed"), windows=WindowOptions(fdr=0.05), null=null)
    peaks = [(f[0], int(f[1]), int(f[2]), float(f[6])) for f in
             (ln.split("\t") for ln in (d / "fdr_sites.bed").read_text().splitlines())]
    fdp = sum(not on_site(*p[:3]) for p in peaks) / max(1, len(peaks))
    recall = found(peaks) / n_sites
    scan_model(model, d / "sites.fa", OutputOptions(d / "thr_sites.bed"), windows=WindowOptions(threshold=0.3))
    allp = [(f[0], int(f[1]), int(f[2]), float(f[6])) for f in
            (ln.split("\t") for ln in (d / "thr_sites.bed").read_text().splitlines())]
    best = (0.0, None)
    for thr in np.arange(0.30, 0.99, 0.005):
        pk = [p for p in allp if p[3] >= thr]
        if not pk:
            break
        prec = sum(on_site(*p[:3]) for p in pk) / len(pk)
        if prec >= 1 - fdp:
            rc = found(pk) / n_sites
            if rc > best[0]:
                best = (rc, float(thr))
    res["power"] = {"mbp": args.power_mbp, "sites": n_sites, "fdr_peaks": len(peaks), "fdp": fdp,
                    "recall": recall, "best_threshold_recall_at_same_precision": best[0],
                    "best_threshold": best[1]}


def part_tail(d: Path, model, args, res: dict) -> None:
    """One stratum (windows of 40-44% GC): a fit on 1e5 shuffles against the empirical of many more.

    The windows come from a genome of one 42% GC isochore (most of its windows fall in the
    stratum), drawn again and again, each draw shuffled anew.
    """
    simulate_genome(d / "tail.fa", d / "tail.bed", length=20_000_000, n_chroms=2, motif=ctcf(), n_sites=0,
                    seed=41 + args.seed, isochores=(0.42,), isochore_length=ISO_LEN)
    rng = np.random.default_rng(21 + args.seed)
    t0 = time.perf_counter()
    parts, kept = [], 0
    with IndexedFasta(d / "tail.fa") as g:
        while kept < args.tail_windows:  # in chunks: memory stays small
            codes = sample_windows(g, 1_000_000, 200, rng)
            gc = gc_content(codes)
            codes = codes[(gc >= 0.40) & (gc < 0.44)]
            parts.append(score_statistic(score_windows(model, shuffle_rows(codes, rng))[:, 0]))
            kept += len(codes)
    z = np.concatenate(parts)
    n_fit = 100_000
    fit, big = ScoreNull.fit(z[:n_fit]), np.sort(z[n_fit:])
    n = len(big)
    rows = []
    for p_emp in (1e-4, 1e-5, 3e-6, 1e-6):
        if p_emp * n < 10:
            continue
        x = big[n - int(round(p_emp * n))]  # the score the big null puts at p_emp
        emp = (1 + (big >= x).sum()) / (n + 1)
        rows.append({"score": float(x), "empirical_p": float(emp), "fitted_p": float(fit.pvalues(np.array([x]))[0])})
    res["tail"] = {"fit_windows": n_fit, "empirical_windows": n, "stratum": "0.40 <= GC < 0.44",
                   "tail": None if fit.tail is None else vars(fit.tail), "rows": rows,
                   "seconds": time.perf_counter() - t0}


def part_cost(d: Path, model, args, res: dict) -> None:
    genome(d, "cost", args.cost_mbp, 0, 31)
    fa = d / "cost.fa"
    IndexedFasta(fa).close()
    scan_model(model, fa, OutputOptions(d / "warm.bed"), windows=WindowOptions(), inputs=_chrom("chr1"))  # compile
    c0 = cpu()
    calib = calibrate(model, fa, CalibrateOptions(seed=3))
    c_cal = cpu() - c0
    (d / "n.h5").unlink(missing_ok=True)
    c0, w0 = cpu(), time.perf_counter()
    scan_model(model, fa, OutputOptions(d / "thr.bed"), windows=WindowOptions(threshold=0.5))
    c_thr, w_thr = cpu() - c0, time.perf_counter() - w0
    c0, w0 = cpu(), time.perf_counter()
    scan_model(model, fa, OutputOptions(d / "fdr.bed"), windows=WindowOptions(fdr=0.05), null=calib.null)
    c_fdr, w_fdr = cpu() - c0, time.perf_counter() - w0
    hg38 = c_thr * 3100 / args.cost_mbp
    res["cost"] = {"genome_mbp": args.cost_mbp, "calibrate_cpu_s": c_cal, "calibrate_windows": calib.windows,
                   "calibrate_parts_s": calib.stats, "scan_threshold_cpu_s": c_thr, "scan_threshold_wall_s": w_thr,
                   "scan_fdr_cpu_s": c_fdr, "scan_fdr_wall_s": w_fdr, "fdr_over_threshold_cpu": c_fdr / c_thr,
                   "hg38_scan_cpu_s_estimate": hg38, "calibrate_over_hg38_scan": c_cal / hg38}


def _chrom(name):
    from motifscan.scan.options import InputOptions

    return InputOptions(chroms=(name,))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mbp", type=float, default=200.0, help="site-free genome for calibration and FDR")
    ap.add_argument("--power-mbp", type=float, default=10.0)
    ap.add_argument("--cost-mbp", type=float, default=100.0)
    ap.add_argument("--tail-windows", type=int, default=2_000_000)
    ap.add_argument("--skip", nargs="*", default=[], choices=["calibration", "power", "tail", "cost"])
    ap.add_argument("--seed", type=int, default=0, help="added to every seed (genomes, nulls): another replicate")
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args()
    model = load_model(MODEL, device="cpu")
    res: dict = {"args": vars(args) | {"output": str(args.output)}}
    with tempfile.TemporaryDirectory(prefix="signif-bench-") as tmp:
        d = Path(tmp)
        if "calibration" not in args.skip:
            part_calibration(d, model, args, res)
            if "power" not in args.skip:
                part_power(d, model, res["_null"], args, res)
        if "tail" not in args.skip:
            part_tail(d, model, args, res)
        res.pop("_null", None)
        if "cost" not in args.skip:
            part_cost(d, model, args, res)
        args.output.write_text(json.dumps(res, indent=1, default=float) + "\n")
    print(json.dumps(res, indent=1, default=float))


if __name__ == "__main__":
    main()
