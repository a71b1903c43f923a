"""Real two-factor case: one CTCF + MafK model against two one-factor models, same settings.

Usage::

    python benchmarks/multitask_real.py --ctcf examples/ctcf/ctcf_gm12878_top500.fa \\
        --mafk ../shared/data/mafk_peaks.fa --seeds 0,1,2

For each seed, three models are trained with ``motifscan train`` and identical settings (default
model, ``--filters``/``--epochs`` as given, shuffled negatives, the default chromosome hold-out:
valid chr8/chr20, test chr1/chr3/chr6): CTCF alone, MafK alone, and the two-task model from both
FASTA files (each task its own negatives, the other task's labels masked). Reported per seed and
as the mean over seeds: each factor's held-out (test) AUROC and AUPRC from the one-task and the
two-task model, and their difference (two-task minus one-task; the issue asks for >= -0.01).

Shared filters: ``motifscan export --no-merge`` of the two-task model with each task's peaks
gives one influence column per task (the rise in that task's class-balanced loss when the filter
is knocked out). A filter is *used* by a task when its influence is positive and at least a
fraction of that task's largest filter influence (``--used``, default 0.02, 0.05 and 0.1, each
reported); reported: filters used by both tasks, by one only, by neither, and the best JASPAR
match of the shared ones (``--db``).

The two peak sets come from different experiments (CTCF in GM12878, MafK in another ENCODE
experiment), so neither task's peaks are labelled for the other: this is the masked-label case.

Measured 2026-11-30 (2-core machine; CPU, default model: 64 filters x 19 bp, up to 60 epochs,
patience 8), ``--seeds 0,1,2`` with the 500 CTCF peaks of ``examples/ctcf`` and all 3,900 MafK
peaks (``../shared/data/mafk_peaks.fa``); test sets 202 CTCF and 1,712 MafK sequences:

================  ==========================  ==========================  ======================
held-out AUROC    one-task model (3 seeds)    two-task model (3 seeds)    two-task - one-task
================  ==========================  ==========================  ======================
CTCF              0.9899 / 0.9915 / 0.9870    0.9849 / 0.9895 / 0.9791    -0.0049 (worst -0.0078)
MafK              0.9972 / 0.9952 / 0.9962    0.9931 / 0.9951 / 0.9964    -0.0014 (worst -0.0041)
================  ==========================  ==========================  ======================

Filters used by both tasks (per seed) at 10 / 5 / 2 % of a task's largest influence: 0, 0, 1 /
1, 0, 3 / 5, 1, 12; at 10 % CTCF uses 2-4 filters and MafK 14-35. The few shared ones are
CTCF-like filters that MafK's head also weighs (seed 2: three CTCF filters at 5 %), and at 2 %
MAF-like ones too: the two factors' motifs are unrelated, so the model keeps them apart.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def motifscan(*args: str) -> None:
    res = subprocess.run([sys.executable, "-m", "motifscan", *args, "--quiet"], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"motifscan {' '.join(args)} failed:\n{res.stderr}")


def test_metrics(path: Path, task: str | None) -> dict[str, float]:
    m = json.loads(path.read_text())["test"]
    per = m["tasks"][task] if task is not None else m
    return {"auroc": per["auroc"], "auprc": per["auprc"], "n": per["n"]}


def used_filters(table: Path, tasks: list[str], used: float) -> dict:
    """Which filters each task uses, from the per-task influence columns of ``export --no-merge``."""
    rows = list(csv.DictReader(table.open(), delimiter="\t"))
    inf = np.array([[float(r[f"influence_{t}"]) for t in tasks] for r in rows])
    uses = (inf > 0) & (inf >= used * inf.max(axis=0, keepdims=True))
    both = uses.all(axis=1)
    return {
        "filters": len(rows),
        "used_by": {t: int(uses[:, k].sum()) for k, t in enumerate(tasks)},
        "used_by_both": int(both.sum()),
        "used_by_one_only": {t: int((uses[:, k] & ~both).sum()) for k, t in enumerate(tasks)},
        "used_by_neither": int((~uses.any(axis=1)).sum()),
        "shared_matches": sorted(f"{r['filter']}:{r['best_match_alt'] or r['best_match_id']}"
                                 for r, b in zip(rows, both) if b),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ctcf", required=True, type=Path, help="CTCF peaks (FASTA, chr:start-end names).")
    ap.add_argument("--mafk", required=True, type=Path, help="MafK peaks (FASTA, chr:start-end names).")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--filters", default="64")
    ap.add_argument("--epochs", default="60")
    ap.add_argument("--used", default="0.02,0.05,0.1", help="Fractions of a task's largest influence that count as used.")
    ap.add_argument("--keep", type=Path, help="Keep the models, metrics and motif tables here.")
    ap.add_argument("--db", default="jaspar", help="Motif database for the shared filters' best matches.")
    ap.add_argument("--json", type=Path, help="Also write the results here.")
    args = ap.parse_args()
    print("uptime:", os.popen("uptime").read().strip(), file=sys.stderr)
    settings = ["--filters", args.filters, "--epochs", args.epochs, "--negatives", "shuffle"]
    tasks = ["ctcf", "mafk"]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds.split(","):
            tmp = args.keep / f"seed{seed}" if args.keep else Path(tmp)
            tmp.mkdir(parents=True, exist_ok=True)
            run: dict = {"seed": int(seed)}
            for t, fa in zip(tasks, (args.ctcf, args.mafk)):
                motifscan("train", str(fa), "-o", str(tmp / f"{t}.h5"), "--seed", seed,
                          "--metrics", str(tmp / f"{t}.json"), *settings)
                run[f"single_{t}"] = test_metrics(tmp / f"{t}.json", None)
            motifscan("train", str(args.ctcf), str(args.mafk), "--task-names", ",".join(tasks), "-o", str(tmp / "both.h5"),
                      "--seed", seed, "--metrics", str(tmp / "both.json"), *settings)
            for t in tasks:
                run[f"multi_{t}"] = test_metrics(tmp / "both.json", t)
                run[f"delta_auroc_{t}"] = round(run[f"multi_{t}"]["auroc"] - run[f"single_{t}"]["auroc"], 4)
            motifscan("export", str(tmp / "both.h5"), "-o", str(tmp / "both.meme"), "--no-merge", "--seed", seed,
                      "--sequences", str(args.ctcf), "--sequences", str(args.mafk), "--task-names", ",".join(tasks),
                      "--db", args.db)
            run["filters"] = {u: used_filters(tmp / "both.tsv", tasks, float(u)) for u in args.used.split(",")}
            print(json.dumps(run), file=sys.stderr, flush=True)
            runs.append(run)
    summary = {
        f"{kind}_{t}_auroc_mean": round(float(np.mean([r[f"{kind}_{t}"]["auroc"] for r in runs])), 4)
        for kind in ("single", "multi") for t in tasks
    }
    summary.update({f"delta_auroc_{t}_mean": round(float(np.mean([r[f"delta_auroc_{t}"] for r in runs])), 4) for t in tasks})
    for u in args.used.split(","):
        summary[f"used_by_both_at_{u}_per_seed"] = [r["filters"][u]["used_by_both"] for r in runs]
        for t in tasks:
            summary[f"used_by_{t}_at_{u}_per_seed"] = [r["filters"][u]["used_by"][t] for r in runs]
    out = {"runs": runs, "summary": summary}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
