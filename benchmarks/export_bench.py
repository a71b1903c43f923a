"""Export at real size: does the planted motif come first, and what does export cost?

Builds the case of issue 12 (once, in --workdir): a simulated genome with CTCF (JASPAR
MA0139.2) planted at --n-sites sites, one 200-bp peak around each site (the site at a random
offset inside it), a model trained with background negatives; then times

    motifscan export MODEL --sequences peaks.bed --genome sim.fa -o OUT.meme --db jaspar

under ``/usr/bin/time -v`` and reports, per run: the rank of the first motif whose best JASPAR
match is the expected factor with E <= --max-evalue (and how many such motifs, their ranks and
influence), the first motif's best match, E-value and group size, wall seconds and peak RSS.
With --peaks FASTA it trains on those peaks instead (defaults, shuffled negatives) and exports them.

    python benchmarks/export_bench.py                                  # the 40,000-peak case
    python benchmarks/export_bench.py --subset 3000                    # same model, first 3,000 peaks
    python benchmarks/export_bench.py --peaks examples/ctcf/ctcf_gm12878_top500.fa --expect CTCF
    python benchmarks/export_bench.py --baseline-src /path/to/old/checkout --variant=--no-merge

``--baseline-src`` runs the same export with another source tree first on PYTHONPATH (e.g. a
``git worktree`` of main), so old and new are timed on the same machine, in the same run.
``--variant=--no-merge`` (with ``=``: the value starts with a dash) adds a run with extra export
options.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def run(cmd: list[str], *, env=None, log: Path | None = None) -> dict:
    """Run ``cmd`` under /usr/bin/time -v: wall seconds and peak RSS (MB)."""
    timed = ["/usr/bin/time", "-v", *cmd] if Path("/usr/bin/time").exists() else cmd
    t0 = time.perf_counter()
    proc = subprocess.run(timed, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if log is not None:
        log.write_text(proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {shlex.join(cmd)}\n{proc.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return {"seconds": round(wall, 1), "rss_mb": round(int(rss.group(1)) / 1024) if rss else None}


def motifscan(*args: str) -> list[str]:
    return [sys.executable, "-m", "motifscan", *args]


def make_peaks(truth: Path, out: Path, n: int, width: int, seed: int) -> None:
    """One ``width``-bp peak per planted site (the first ``n``), the site at a random offset."""
    rng = np.random.default_rng(seed)
    rows = [line.split("\t") for line in truth.read_text().splitlines() if line.strip()]
    rows = rows[:n]
    with open(out, "w") as fh:
        for chrom, start, end, *_ in rows:
            s, e = int(start), int(end)
            lo = s - int(rng.integers(0, max(1, width - (e - s))))
            lo = max(lo, 0)
            fh.write(f"{chrom}\t{lo}\t{lo + width}\n")


def _evalue(row: dict) -> float:
    return float(row["best_match_evalue"]) if row["best_match_evalue"] != "NA" else float("inf")


def summarise(tsv: Path, expect: str, max_evalue: float) -> dict:
    """Rank of the first motif whose best JASPAR match is ``expect`` with E <= ``max_evalue``."""
    with open(tsv, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    pattern = re.compile(expect, re.IGNORECASE)
    hits = [r for r in rows if pattern.search(r.get("best_match_alt") or "") and _evalue(r) <= max_evalue]
    hit = hits[0] if hits else None
    first = rows[0]
    return {
        "motifs": len(rows),
        "expected_rank": int(hit["rank"]) if hit else None,
        "expected_evalue": float(hit["best_match_evalue"]) if hit else None,
        "first_match": f"{first['best_match_alt']} ({first['best_match_id']})",
        "first_evalue": _evalue(first),
        "first_members": int(first.get("n_members") or 1),
        "expected_motifs": len(hits),
        "expected_ranks": f"{hits[0]['rank']}-{hits[-1]['rank']}" if hits else None,
        "expected_influence": [float(r["influence_loss"]) for r in hits[:1] + hits[-1:]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("export-bench"))
    ap.add_argument("--n-sites", type=int, default=40_000)
    ap.add_argument("--genome-length", type=int, default=200_000_000)
    ap.add_argument("--chroms", type=int, default=20)
    ap.add_argument("--subset", type=int, default=None, help="Export the first N peaks only (same model).")
    ap.add_argument("--peaks", type=Path, help="A FASTA of real peaks instead of the simulated case.")
    ap.add_argument("--expect", default="CTCF", help="Regex of the expected factor's JASPAR name.")
    ap.add_argument("--max-evalue", type=float, default=1e-5, help="A motif is the expected factor when its "
                    "best match is, with at most this E-value.")
    ap.add_argument("--baseline-src", type=Path, help="Source tree of the peer export (PYTHONPATH).")
    ap.add_argument("--variant", action="append", default=[], help="Extra export options for another run.")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    wd = args.workdir
    wd.mkdir(parents=True, exist_ok=True)
    if args.peaks is None:
        genome, truth = wd / "sim.fa", wd / "truth.bed"
        if not genome.exists():
            print("simulate:", run(motifscan("simulate", "-o", str(genome), "--truth", str(truth),
                                             "--length", str(args.genome_length), "--chroms", str(args.chroms),
                                             "--n-sites", str(args.n_sites), "--seed", str(args.seed), "-q")))
        peaks = wd / f"peaks{args.n_sites}.bed"
        if not peaks.exists():
            make_peaks(truth, peaks, args.n_sites, 200, args.seed)
        exported = peaks
        if args.subset:  # the same model, exporting the first N peaks only
            exported = wd / f"peaks{args.n_sites}_first{args.subset}.bed"
            exported.write_text("".join(peaks.read_text().splitlines(keepends=True)[: args.subset]))
        data = ["--sequences", str(exported), "--genome", str(genome)]
        train_args = [str(peaks), "--genome", str(genome), "--negatives", "background"]
        stem = f"sim{args.n_sites}"
    else:
        data = ["--sequences", str(args.peaks)]
        train_args = [str(args.peaks)]
        stem = args.peaks.name.split(".")[0]
    model = wd / f"{stem}.h5"
    if not model.exists():
        print("train:", run(motifscan("train", *train_args, "-o", str(model), "--threads", str(args.threads),
                                      "--seed", str(args.seed), "-q"), log=wd / f"{stem}.train.log"))

    runs = []
    if args.baseline_src is not None:
        env = dict(os.environ, PYTHONPATH=str(args.baseline_src.resolve()))
        runs.append(("baseline", [], env))
    runs.append(("this tree", [], dict(os.environ, PYTHONPATH=str(REPO))))
    for v in args.variant:
        runs.append((f"this tree {v}", shlex.split(v), dict(os.environ, PYTHONPATH=str(REPO))))
    results = []
    for k, (name, extra, env) in enumerate(runs):
        out = wd / f"{stem}{f'_first{args.subset}' if args.subset else ''}.run{k}.meme"
        cmd = motifscan("export", str(model), *data, "-o", str(out), "--db", "jaspar", "--device", "cpu",
                        "--threads", str(args.threads), *extra)
        cost = run(cmd, env=env, log=out.with_suffix(".log"))
        res = {"run": name, **cost, **summarise(out.with_suffix(".tsv"), args.expect, args.max_evalue)}
        results.append(res)
        print(json.dumps(res))
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
