"""One summary per experiment: the model file's held-out metrics, `motifscan evaluate`'s
metrics, and (with --truth) how well the called peaks recover known sites.

    python summarise.py MODEL.h5 --metrics evaluate/metrics.json \
        [--peaks peaks.bed [--truth truth.bed]] -o summary.json
    python summarise.py MODEL.h5 --metrics evaluate/metrics.json \
        [--peaks peaks.a.bed peaks.b.bed --tasks a,b [--truth truth.bed]] -o summary.json

Recovery: recall = fraction of truth sites overlapped (>= 1 bp) by a called peak; precision =
fraction of called peaks that overlap a truth site; chance_recall (with --sizes) = the recall a
random placement of the sites would get, about (peak bp + peaks x (site width - 1)) / genome bp.
A multi-task model's peaks (one file per task, --tasks naming them) are measured task by task:
``scan`` is then ``{"tasks": {task: recovery}}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import one_line_errors, overlapped, read_bed  # noqa: E402


def recovery(peaks_path: str, truth_path: str | None, genome_bp: int | None) -> dict:
    """Counts of called peaks and, with a truth BED, recall/precision/F1 of the peaks."""
    peaks = read_bed(peaks_path)
    out: dict = {"n_peaks": int(len(peaks["start"])),
                 "peak_bp": int((peaks["end"] - peaks["start"]).sum())}
    if truth_path is None:
        return out
    truth = read_bed(truth_path)
    found = overlapped(truth, peaks)
    correct = overlapped(peaks, truth)
    n_t, n_p = len(found), len(correct)
    recall = float(found.mean()) if n_t else float("nan")
    precision = float(correct.mean()) if n_p else float("nan")
    f1 = (2 * recall * precision / (recall + precision)) if recall + precision > 0 else 0.0
    out.update({
        "truth": truth_path, "n_truth": int(n_t), "truth_found": int(found.sum()),
        "recall": recall, "precision": precision, "f1": f1,
    })
    if genome_bp:
        width = float(np.median(truth["end"] - truth["start"])) if n_t else 0.0
        # a random site of that width overlaps a peak with about this probability
        out["chance_recall"] = min(1.0, (out["peak_bp"] + n_p * (width - 1)) / genome_bp)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--metrics", required=True, help="metrics.json of motifscan evaluate")
    ap.add_argument("--peaks", nargs="+", help="called peaks (BED) of the genome-wide scan (one per task)")
    ap.add_argument("--tasks", help="several --peaks: their tasks, comma-separated")
    ap.add_argument("--truth", help="BED of known sites in the scanned genome")
    ap.add_argument("--sizes", help="chrom.sizes of the scanned genome (for chance levels)")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    with one_line_errors(__file__):
        from motifscan.atomic import atomic_open, check_output_path
        from motifscan.model import load_model

        check_output_path(args.output)
        model = load_model(args.model, device="cpu")
        summary = {
            "model": args.model,
            "config": {k: v for k, v in vars(model.config).items()},
            "heldout": model.metrics,
            "provenance": model.provenance,
            "evaluate": json.loads(Path(args.metrics).read_text()),
        }
        if args.peaks:
            genome_bp = None
            if args.sizes:
                genome_bp = sum(int(ln.split("\t")[1]) for ln in Path(args.sizes).read_text().splitlines() if ln)
            names = args.tasks.split(",") if args.tasks else []
            if len(names) != (len(args.peaks) if len(args.peaks) > 1 else 0):
                raise ValueError(f"{len(args.peaks)} --peaks files for {len(names)} --tasks names")
            if names:
                summary["scan"] = {"tasks": {t: recovery(p, args.truth, genome_bp)
                                             for t, p in zip(names, args.peaks)}}
            else:
                summary["scan"] = recovery(args.peaks[0], args.truth, genome_bp)
        with atomic_open(args.output, "w") as fh:
            json.dump(summary, fh, indent=2, default=str)
        scan = summary.get("scan", {})
        print(f"summarise: held-out AUROC {model.metrics.get('test', {}).get('auroc')}; "
              f"recall {scan.get('recall')}, precision {scan.get('precision')}", file=sys.stderr)


if __name__ == "__main__":
    main()
