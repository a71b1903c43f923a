"""Training benchmark on the real CTCF peaks: held-out AUROC/AUPRC and wall time, vs. JASPAR CTCF.

For each seed, trains with default settings (``motifscan train`` defaults: shuffled negatives,
chromosome hold-out) and reports test metrics and time. The baseline scores the same test split
with the JASPAR 2024 CTCF matrix MA0139.2 alone: the best log-odds score (bits, uniform
background, pseudocount 0.1 as FIMO) over all positions and both strands of each sequence.

    python benchmarks/train_bench.py [--peaks examples/ctcf/ctcf_gm12878_top500.fa] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from motifscan.metrics import summary
from motifscan.motifs import jaspar_path
from motifscan.io.motif_formats import read_motifs
from motifscan.codes import one_hot, reverse_complement
from motifscan.train import TrainOptions, train_model

REPO = Path(__file__).resolve().parents[1]


def pwm_best_scores(codes: np.ndarray, log_odds: np.ndarray) -> np.ndarray:
    """Best log-odds score per sequence over positions and both strands (N scores 0)."""
    w = len(log_odds)
    best = np.full(len(codes), -np.inf)
    for strand in (codes, reverse_complement(codes)):
        oh = one_hot(strand)  # (N, 4, L)
        windows = np.lib.stride_tricks.sliding_window_view(oh, w, axis=2)  # (N, 4, P, W)
        scores = np.einsum("ncpw,wc->np", windows, log_odds)
        best = np.maximum(best, scores.max(axis=1))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peaks", default=str(REPO / "examples/ctcf/ctcf_gm12878_top500.fa"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    ctcf = next(m for m in read_motifs(jaspar_path()) if m.id == "MA0139.2")
    rows = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        result = train_model(args.peaks, options=TrainOptions(seed=seed), threads=args.threads, progress=False,
                             device="cpu")
        seconds = time.perf_counter() - t0
        test = result.data.subset(result.split.test)
        base = summary(test.labels, pwm_best_scores(test.codes, ctcf.log_odds(pseudocount=0.1)))
        m = result.metrics
        rows.append({
            "seed": seed, "test_auroc": m["test"]["auroc"], "test_auprc": m["test"]["auprc"],
            "jaspar_ctcf_auroc": base["auroc"], "jaspar_ctcf_auprc": base["auprc"], "n_test": m["test"]["n"],
            "best_epoch": m["best_epoch"], "epochs": m["epochs_run"], "seconds": round(seconds, 1),
        })
        print(json.dumps(rows[-1]))
    cnn = np.array([r["test_auroc"] for r in rows])
    pwm = np.array([r["jaspar_ctcf_auroc"] for r in rows])
    secs = np.array([r["seconds"] for r in rows])
    print(f"CNN test AUROC {cnn.mean():.4f} (min {cnn.min():.4f}) vs JASPAR MA0139.2 {pwm.mean():.4f}; "
          f"training {secs.mean():.1f} s (max {secs.max():.1f} s)")


if __name__ == "__main__":
    main()
