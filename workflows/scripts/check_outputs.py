"""Check the outputs of a finished workflow run (used by CI; handy after any run).

    python workflows/scripts/check_outputs.py results --exp ctcf [--min-auroc 0.9]
        [--min-recall 0.5] [--expect-match CTCF] [--unsharded GENOME.fa --scan-args "--stride 50 ..."]
    python workflows/scripts/check_outputs.py results --exp ctcf_mafk --expect-match ctcf=CTCF \
        --expect-match 'mafk=MAF.*|NFE2.*' [--unsharded ...]

With --unsharded GENOME (and --scan-args, the options of the run's scan), the gathered scan
(results/EXP/scan/track.bw, peaks.bed) is compared with one unsharded `motifscan scan` of GENOME
with those options: they must be equal byte for byte. Exits 1 with one line per problem; prints the key numbers when all is well.

A multi-task experiment (the model has several tasks) is checked per task: every task has its
track and peaks (scan/track.TASK.bw, peaks.TASK.bed, each equal to the unsharded scan's), its
held-out and `motifscan evaluate` metrics, its influence column in motifs.tsv and its sections in
the report; --expect-match TASK=TF (repeatable) names the best match of that task's top motif.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path


def unsharded_differences(results: Path, exp: str, genome: Path, scan_args: str,
                          tasks: list[str] = ()) -> list[str]:
    """Scan ``genome`` unsharded with the experiment's model and the shards' options, and compare
    with the gathered track and peaks byte for byte (each task's, for a multi-task model)."""
    import shlex
    import subprocess
    import tempfile

    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        track, peaks = Path(tmp) / "track.bw", Path(tmp) / "peaks.bed"
        cmd = [sys.executable, "-m", "motifscan", "scan", str(results / exp / "model.h5"), str(genome),
               *shlex.split(scan_args), "--device", "cpu", "--quiet", "-o", str(track), "--peaks", str(peaks)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            return [f"unsharded scan failed: {res.stderr.strip()[-500:]}"]
        for suffix in [f".{t}" for t in tasks] or [""]:
            for name, mine in ((f"track{suffix}.bw", f"track{suffix}.bw"), (f"peaks{suffix}.bed", f"peaks{suffix}.bed")):
                if (results / exp / "scan" / name).read_bytes() != (Path(tmp) / mine).read_bytes():
                    bad.append(f"scan/{name} differs from an unsharded scan with the same options ({scan_args})")
    return bad


def check(results: Path, exp: str, min_auroc: float, min_recall: float, expect: list[str] | str | None,
          unsharded: Path | None = None, scan_args: str = "") -> list[str]:
    import numpy as np
    import pyBigWig

    from motifscan.model import load_model
    from motifscan.io.motif_formats import read_motifs

    bad: list[str] = []
    d = results / exp
    need = ["model.h5", "motifs/motifs.meme", "motifs/motifs.jaspar", "motifs/motifs.transfac",
            "motifs/motifs.motif", "motifs/motifs.tsv", "motifs/matches.tsv", "evaluate/metrics.json",
            "evaluate/roc.png", "evaluate/pr.png", "evaluate/summary.json", "report.html"]
    scanned = (d / "scan").exists()
    tasks: list[str] = []
    if (d / "model.h5").is_file():
        tasks = list(load_model(d / "model.h5", device="cpu").config.tasks or [])
        tasks = tasks if len(tasks) > 1 else []
    if scanned:
        need += [f"scan/{kind}{s}.{ext}" for s in [f".{t}" for t in tasks] or [""]
                 for kind, ext in (("track", "bw"), ("peaks", "bed"))]
    if (d / "interpret").exists():
        need += ["interpret/attributions.npz", "interpret/sequences.npz", "interpret/seqlets.bed",
                 "interpret/logos/1.png", "interpret/logos/index.tsv"]
    if (d / "variants").exists():
        need += ["variants/effects.tsv", "variants/annotated.vcf.gz", "variants/annotated.vcf.gz.tbi",
                 "variants/motif_breaks.tsv"]
    for rel in need:
        if not (d / rel).is_file() or (d / rel).stat().st_size == 0:
            bad.append(f"{d / rel}: missing or empty")
    if bad:
        return bad

    model = load_model(d / "model.h5", device="cpu")
    auroc = model.metrics.get("test", {}).get("auroc", 0.0)
    if auroc < min_auroc:
        bad.append(f"held-out AUROC {auroc:.3f} < {min_auroc}")
    meme = read_motifs(d / "motifs/motifs.meme")
    for ext in ("jaspar", "transfac", "motif"):
        other = read_motifs(d / f"motifs/motifs.{ext}")
        if len(other) != len(meme) or not all(
                np.allclose(a.probs, b.probs, atol=2e-3) for a, b in zip(meme, other)):
            bad.append(f"motifs.{ext} does not hold the same {len(meme)} matrices as motifs.meme")
    rows = (d / "motifs/motifs.tsv").read_text().splitlines()
    table = [dict(zip(rows[0].split("\t"), r.split("\t"))) for r in rows[1:]]
    for want in ([expect] if isinstance(expect, str) else expect or []):
        task, _, tf = want.rpartition("=")
        col = f"influence_{task}" if task else "influence_loss"
        if task and task not in tasks:
            bad.append(f"--expect-match {want}: the model has no task {task} (tasks: {', '.join(tasks) or 'one'})")
            continue
        top = max(table, key=lambda r: float(r[col]) if r[col] not in ("", "NA") else float("-inf")) if task else table[0]
        if not re.fullmatch(tf, top.get("best_match_alt", ""), re.IGNORECASE):
            bad.append(f"top motif{' of ' + task if task else ''}'s best match is {top.get('best_match_alt')}, "
                       f"expected {tf}")
    for t in tasks:
        if f"influence_{t}" not in rows[0].split("\t"):
            bad.append(f"motifs.tsv has no influence_{t} column")
        for part, m in (("held-out test", model.metrics.get("test", {})),
                        ("evaluate", json.loads((d / "evaluate/metrics.json").read_text()))):
            per = m.get("tasks", {}).get(t)
            if per is None or not per.get("auroc", 0) >= min_auroc:
                bad.append(f"{part} metrics of task {t}: {per and per.get('auroc')} (AUROC >= {min_auroc} expected)")
    if (d / "variants").exists():
        import pysam

        rows = [ln.split("\t") for ln in (d / "variants/effects.tsv").read_text().splitlines()[1:]]
        with pysam.VariantFile(str(d / "variants/annotated.vcf.gz")) as vf:
            n_vcf = sum(1 for r in vf if "MS_DELTA" in r.info)
        if not rows or n_vcf != sum(1 for r in rows if r[9] != ""):
            bad.append(f"variants: {len(rows)} effect rows, {n_vcf} annotated records with MS_DELTA")
        # Snakemake touches a job's declared outputs after it: an index it does not know of is left
        # older than its file, and htslib warns on every query ("The index file is older")
        vcf = d / "variants/annotated.vcf.gz"
        tbi = Path(str(vcf) + ".tbi")
        if tbi.exists() and tbi.stat().st_mtime < vcf.stat().st_mtime:
            bad.append(f"variants: {tbi.name} is older than {vcf.name} (is it a declared output of its rule?)")
    summary = json.loads((d / "evaluate/summary.json").read_text())
    scan = summary.get("scan", {})
    if scanned:
        for s in [f".{t}" for t in tasks] or [""]:
            bw = pyBigWig.open(str(d / f"scan/track{s}.bw"))
            try:
                n = sum(len(bw.intervals(c) or []) for c in bw.chroms())
            finally:
                bw.close()
            if n == 0:
                bad.append(f"track{s}.bw has no intervals")
        if "recall" in scan and scan["recall"] < min_recall:
            bad.append(f"recall of known sites {scan['recall']:.2f} < {min_recall}")
        if tasks and set(scan.get("tasks", {})) != set(tasks):
            bad.append(f"summary.json's scan has tasks {sorted(scan.get('tasks', {}))}, expected {tasks}")
        if unsharded is not None:
            bad += unsharded_differences(results, exp, unsharded, scan_args, tasks)
    html = (d / "report.html").read_text()
    needles = ["held-out AUROC", "Run time per stage", "data:image/png;base64,", "Motifs"]
    if tasks:
        needles += ["<h3>Per task</h3>", "Top motifs per task", "Shared and private filters",
                    *(f"<h3>{t}</h3>" for t in tasks)]
    for needle in needles:
        if needle not in html:
            bad.append(f"report.html lacks {needle!r}")
    if "(missing)" in html:
        bad.append("report.html has a missing image")
    if not bad:
        print(f"check_outputs: OK: {exp}: held-out AUROC {auroc:.3f}"
              + (f" (tasks {', '.join(tasks)}: per-task outputs present)" if tasks else "") + f", {len(meme)} motifs"
              + (f", {scan.get('truth_found')}/{scan.get('n_truth')} known sites recovered, "
                 f"precision {scan.get('precision', float('nan')):.2f}" if "recall" in scan else "")
              + (", gathered scan == unsharded scan (byte for byte)" if scanned and unsharded is not None else ""),
              file=sys.stderr)
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path)
    ap.add_argument("--exp", required=True)
    ap.add_argument("--min-auroc", type=float, default=0.9)
    ap.add_argument("--min-recall", type=float, default=0.5)
    ap.add_argument("--expect-match", action="append",
                    help="TF name (a regular expression, case-insensitive) the top motif's best database match "
                         "must have; TASK=TF: the top motif by that task's influence (multi-task models; repeatable)")
    ap.add_argument("--unsharded", type=Path, metavar="GENOME",
                    help="Scan GENOME unsharded and compare with the gathered scan (byte for byte)")
    ap.add_argument("--scan-args", default="", help="The scan options of the run (e.g. '--stride 50 --threshold 0.5')")
    args = ap.parse_args()
    bad = check(args.results, args.exp, args.min_auroc, args.min_recall, args.expect_match, args.unsharded,
                args.scan_args)
    for b in bad:
        print(f"check_outputs: FAIL: {b}", file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
