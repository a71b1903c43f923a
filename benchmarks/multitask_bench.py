"""Multi-task benchmark: what T tasks cost against one, in training and in scanning.

Usage::

    python benchmarks/multitask_bench.py --tasks 1,4,16 --mbp 50

Training
    T synthetic tasks (task t: its own planted motif in its positives, dinucleotide-free random
    negatives, its labels unknown for the other tasks' sequences, as ``motifscan train`` builds
    per-task FASTA sets), the same total number of sequences for every T, default model
    (64 x 19 filters). Reported: seconds per epoch (mean of ``--epochs`` epochs, after one warm-up
    epoch), and the ratio to T = 1. The backbone (convolution, pooling) is shared, so only the
    head and the loss grow with T.
Scanning
    A random T-task model (64 x 19) over a synthetic genome of ``--mbp`` Mbp, whole process
    (``motifscan scan``), once to peaks (``-o out.bed``: a BED per task, small, so this is the one
    convolution pass and the heads) and once to one bigWig per task (``-o out.bw``: T tracks
    written, each compressed and zoomed), and, for comparison, T separate one-task scans of the
    same genome (T times the T = 1 run). Reported: seconds, Mbp/s and the ratio to T = 1.

Compare numbers from the same run only (this machine's speed drifts); ``uptime`` is printed.

Measured 2026-11-30, 2-core machine, load 0.8-1.3, ``--tasks 1,4,16 --mbp 50`` (defaults
otherwise), ratios to T = 1 in the same run:

=========================================  ======  ======  ======
                                           T = 1   T = 4   T = 16
=========================================  ======  ======  ======
training, seconds per epoch (16,000 seqs)  3.78    3.83    4.07    (1.07x at T = 16)
scan to peaks, whole process               4.88 s  4.96 s  5.72 s  (1.17x)
scan to one bigWig per task                5.24 s  6.02 s  8.68 s  (1.66x; 16 separate models: 16x)
=========================================  ======  ======  ======

The convolution pass is shared, so the scan itself (peaks: small outputs) costs about one scan.
Each bigWig is its own file: its zlib compression (level 1) and zoom levels cost about 0.23 s per
track per 50 Mbp, written by a small thread pool; level 0 would save ~20% of the T = 16 time
for files ~40% larger. (Earlier runs, load 1.4-2.4: peaks 1.10-1.42x, bigWig 1.52-1.86x.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def planted_tasks(n_tasks: int, total: int, length: int, seed: int = 0):
    """Codes ``(N, L)`` and labels ``(N, T)`` (NaN = unknown): task t's rows carry motif t."""
    rng = np.random.default_rng(seed)
    per = total // n_tasks
    motifs = [rng.integers(0, 4, 12, dtype=np.uint8) for _ in range(n_tasks)]
    codes = rng.integers(0, 4, (per * n_tasks, length), dtype=np.uint8)
    labels = np.full((per * n_tasks, n_tasks), np.nan, dtype=np.float32)
    for t in range(n_tasks):
        rows = np.arange(t * per, (t + 1) * per)
        pos = rows[: per // 2]
        starts = rng.integers(0, length - 12, len(pos))
        for r, s in zip(pos, starts):  # benchmark data construction, not a hot path
            codes[r, s : s + 12] = motifs[t]
        labels[rows, t] = 0.0
        labels[pos, t] = 1.0
    return codes, labels


def epoch_seconds(n_tasks: int, total: int, epochs: int, threads: int) -> float:
    from motifscan.model import ModelConfig, MotifCNN
    from motifscan.train import fit

    torch.set_num_threads(threads)
    codes, labels = planted_tasks(n_tasks, total, 200)
    idx = np.random.default_rng(1).permutation(len(codes))
    tr, va = idx[: int(0.9 * len(idx))], idx[int(0.9 * len(idx)):]
    torch.manual_seed(0)
    model = MotifCNN(ModelConfig(tasks=[f"t{t}" for t in range(n_tasks)]))
    history = fit(model, codes[tr], labels[tr], codes[va], labels[va], epochs=epochs + 1, patience=epochs + 2,
                  min_epochs=epochs + 1, device="cpu", progress=False)
    return float(np.mean([h["seconds"] for h in history[1:]]))


def write_genome(path: Path, mbp: float) -> int:
    from scan_bench import write_genome as _write

    return _write(path, mbp)


def scan_seconds(model: Path, genome: Path, out: Path, extra: list[str]) -> float:
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "motifscan", "scan", str(model), str(genome), "-o", str(out),
                          "--quiet", *extra], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="1,4,16")
    ap.add_argument("--sequences", type=int, default=16000, help="training sequences (all tasks together)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--mbp", type=float, default=50.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-scan", action="store_true")
    ap.add_argument("--outputs", default="bed,bw",
                    help="Scan outputs, one run each: bed (peaks per task: the scan itself) and bw (a bigWig per task).")
    ap.add_argument("--skip-train", action="store_true")
    args = ap.parse_args()
    counts = [int(x) for x in args.tasks.split(",")]
    print("uptime:", os.popen("uptime").read().strip(), file=sys.stderr)
    out: dict = {}
    if not args.skip_train:
        train = {t: epoch_seconds(t, args.sequences, args.epochs, args.threads) for t in counts}
        out["train_epoch_seconds"] = {t: round(s, 2) for t, s in train.items()}
        out["train_ratio_to_T1"] = {t: round(s / train[counts[0]], 2) for t, s in train.items()}
    if not args.skip_scan:
        from motifscan.model import ModelConfig, MotifCNN, save_model

        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            genome = tmp / "genome.fa"
            bases = write_genome(genome, args.mbp)
            subprocess.run([sys.executable, "-c", f"import pysam; pysam.faidx({str(genome)!r})"], check=True)
            for ext in args.outputs.split(","):
                seconds = {}
                for t in counts:
                    torch.manual_seed(t)
                    model = tmp / f"m{t}.h5"
                    save_model(MotifCNN(ModelConfig(tasks=[f"t{k}" for k in range(t)])).eval(), model)
                    seconds[t] = scan_seconds(model, genome, tmp / f"out{t}.{ext}", [])
                    for f in tmp.glob(f"out{t}.*"):
                        f.unlink()
                out[f"scan_{ext}_seconds"] = {t: round(s, 2) for t, s in seconds.items()}
                out[f"scan_{ext}_mbp_per_s"] = {t: round(bases / s / 1e6, 2) for t, s in seconds.items()}
                out[f"scan_{ext}_ratio_to_T1"] = {t: round(s / seconds[counts[0]], 2) for t, s in seconds.items()}
            out["separate_models_ratio_to_T1"] = {t: float(t) for t in counts}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
