"""Scan benchmark: end-to-end Mbp/s to bedGraph vs the pure convolution ceiling, and peak RSS.

Usage::

    python benchmarks/scan_bench.py --mbp 20 --rss 20,100

Makes a synthetic genome (random ACGT with some N runs and soft-masked stretches, 60 bp lines,
chromosomes of ``--chrom-mbp``) and a default-sized random model (64 filters x 19, RC sharing),
then measures, in the same run on the same hardware:

* ceiling -- convolution only (``strand_conv``: one-hot + ``conv1d`` with the 128-filter bank for
  both strands) over pre-encoded codes, nothing else: the best rate over a sweep of layouts
  (chunk length x rows per batch), before and after the scan; also the rate in the engine's own
  layout. This is the ceiling the scan is judged against;
* table ceiling -- the same over the same codes with the k-mer table convolution
  (``method="table"``: :class:`motifscan.scan.kmer_conv.KmerTableConv`, the CPU default), in
  the engine's layout:
  what the scan's own convolution step costs, so the share of everything else is visible;
* end to end -- ``motifscan scan MODEL genome.fa -o out.bedGraph --quiet`` in a fresh
  subprocess (reading, encoding, the background reader, the pooling, the head, writing),
  measured on the whole process wall time and on the scan's own timer (excluding start-up),
  with the default (table) convolution and with ``--conv-method dense``, best of ``--repeat``
  runs each (the median is reported too);
* peak RSS -- ``ru_maxrss`` of that subprocess, for each size in ``--rss``.

The machine is shared: check ``uptime`` first and compare numbers from the same run only.

Measured 2026-11-23 on the 2-core dev machine (torch 2.13 CPU, 2 threads, default 64 x 19
filters, window 200, stride 50), ``python benchmarks/scan_bench.py --mbp 20 --rss 100``, two runs
twenty minutes apart (this machine's speed drifts by +-30% from minute to minute):

=================================  ===========  ===========
                                   run 1        run 2
=================================  ===========  ===========
conv1d ceiling (best layout)       6.86 Mbp/s   6.94 Mbp/s
table-convolution ceiling          18.7         22.1
end to end, table (best; median)   4.72         8.62; 6.53
end to end, dense conv1d           2.75         3.40
ratio end to end / conv1d ceiling  0.69         1.24 (median 0.94)
peak RSS 20 / 100 Mbp              429 / 432 MB 425 / 441 MB
=================================  ===========  ===========

(Run 1 was a single end-to-end run per method, before ``--repeat``.)
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

_CHILD = r"""
import json, resource, sys, time, logging
from motifscan.cli._base import main
t = time.perf_counter()
code = main(sys.argv[1:])
wall = time.perf_counter() - t
print(json.dumps({"code": code, "scan_wall": wall,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_genome(path: Path, mbp: float, chrom_mbp: float = 25.0, seed: int = 0) -> int:
    """Write a random genome FASTA of about ``mbp`` megabases; returns the number of bases."""
    rng = np.random.default_rng(seed)
    lut = np.frombuffer(b"ACGTacgtN", dtype=np.uint8)
    total = int(mbp * 1e6)
    n_chrom = max(1, int(np.ceil(total / (chrom_mbp * 1e6))))
    sizes = [total // n_chrom + (1 if i < total % n_chrom else 0) for i in range(n_chrom)]
    with open(path, "wb") as fh:
        for i, n in enumerate(sizes):
            fh.write(f">chr{i + 1}\n".encode())
            done = 0
            while done < n:  # 6 Mb blocks (multiple of 60) keep memory small
                m = min(6_000_000, n - done)
                codes = rng.integers(0, 4, m, dtype=np.uint8)
                codes[: m // 50] += 4 * (rng.random(m // 50) < 0.3).astype(np.uint8)  # soft-masked bits
                if rng.random() < 0.5:
                    s = int(rng.integers(0, max(1, m - 5000)))
                    codes[s : s + 5000] = 8  # an N run
                seq = lut[codes]
                pad = (-m) % 60
                lines = np.concatenate([seq, np.full(pad, ord("A"), np.uint8)]).reshape(-1, 60)
                block = np.concatenate([lines, np.full((len(lines), 1), ord("\n"), np.uint8)], axis=1).ravel()
                if pad:
                    block = np.concatenate([block[: -(pad + 1)], [ord("\n")]]).astype(np.uint8)
                fh.write(block.tobytes())
                done += m
    return total


def conv_ceiling(chunk: int, window: int, rows: int, seconds: float = 6.0, method: str = "dense") -> float:
    """Mbp/s of the convolution alone, both strands, on pre-encoded rows (engine layout).

    ``method``: ``dense`` (``strand_conv``: one-hot + ``conv1d``) or ``table``
    (:class:`~motifscan.scan.kmer_conv.KmerTableConv`, the CPU scan's own convolution).
    """
    from motifscan.device import tune_cpu_allocator
    from motifscan.model import MotifCNN
    from motifscan.scan.batching import round_up
    from motifscan.scan.conv import strand_bank, strand_conv
    from motifscan.scan.kmer_conv import KmerTableConv

    tune_cpu_allocator()  # as the engine does: the ceiling must not be slowed by page faults

    torch.manual_seed(0)
    model = MotifCNN().eval()
    w, b = model.conv.weight.detach(), model.conv.bias.detach()
    conv = KmerTableConv(*strand_bank(w, b, "cpu")) if method == "table" else (lambda x: strand_conv(x, w, b))
    width = round_up(chunk + window - 1, 64)
    rng = np.random.default_rng(1)
    batches = [torch.from_numpy(rng.integers(0, 4, (rows, width), dtype=np.uint8)) for _ in range(4)]
    with torch.no_grad():
        conv(batches[0])  # warm-up (primitive creation)
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for x in batches:
                conv(x)
                done += rows * chunk
        return done / (time.perf_counter() - t0) / 1e6


def run_scan(model: Path, genome: Path, out: Path, extra: list[str]) -> dict:
    args = ["scan", str(model), str(genome), "-o", str(out), "--quiet", *extra]
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"scan failed: {res.stderr}")
    info = json.loads(res.stdout.strip().splitlines()[-1])
    info["process_wall"] = wall
    return info


def best_ceiling(window: int, seconds: float = 0.6) -> tuple[float, dict]:
    """The fastest convolution-only rate over a sweep of layouts (chunk x rows), and that layout.

    This is the honest ceiling: the best the hardware does on this filter bank, whatever the
    layout, so the end-to-end ratio also judges the engine's choice of layout.
    """
    best, layout = 0.0, {}
    for chunk in (2048, 4096, 8192, 16384, 32768, 65536):
        for rows in (1, 2, 4, 8):
            if chunk * rows > 140_000:
                continue
            rate = conv_ceiling(chunk, window, rows, seconds=seconds)
            if rate > best:
                best, layout = rate, {"chunk": chunk, "rows": rows}
    return best, layout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mbp", type=float, default=20, help="Genome size for the speed run.")
    ap.add_argument("--rss", default="", help="Comma-separated genome sizes (Mbp) for peak RSS, e.g. 20,100.")
    ap.add_argument("--chunk-size", type=int, default=None, help="Passed to the scan (default: the engine's).")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="End-to-end runs per method (best is reported).")
    ap.add_argument("--dir", help="Work directory (default: a temporary one).")
    ap.add_argument("--json", help="Also write the results as JSON here.")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from motifscan.model import MotifCNN, save_model
    from motifscan.scan.batching import CPU_BATCH_BASES, CPU_CHUNK, round_up

    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="scan_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model_path = work / "model.h5"
    save_model(MotifCNN().eval(), model_path)
    window = 200
    stride = 50
    chunk = round_up(args.chunk_size or CPU_CHUNK, stride)  # as iter_batches rounds it
    width = round_up(chunk + window - 1, 64)
    rows = args.batch_size or max(1, max(CPU_BATCH_BASES, width) // width)  # iter_batches' default on CPU
    extra = []
    if args.chunk_size:
        extra += ["--chunk-size", str(args.chunk_size)]
    if args.batch_size:
        extra += ["--batch-size", str(args.batch_size)]
    if args.threads:
        extra += ["--threads", str(args.threads)]

    results: dict = {"load_before": os.getloadavg()[0], "torch_threads": torch.get_num_threads(),
                     "chunk": chunk, "rows": rows}
    genome = work / f"genome_{args.mbp:g}.fa"
    bases = write_genome(genome, args.mbp)
    ceiling, layout = best_ceiling(window)
    # best of --repeat runs each (the ceilings are best-of too); the median is reported beside it
    runs = [run_scan(model_path, genome, work / "out.bedGraph", extra) for _ in range(args.repeat)]
    dense_runs = [run_scan(model_path, genome, work / "out.bedGraph", extra + ["--conv-method", "dense"])
                  for _ in range(args.repeat)]
    e2e = min(runs, key=lambda r: r["scan_wall"])
    e2e_dense = min(dense_runs, key=lambda r: r["scan_wall"])
    ceiling_after, layout_after = best_ceiling(window)
    ceil = (ceiling + ceiling_after) / 2
    table = conv_ceiling(chunk, window, rows, seconds=2.0, method="table")
    scan_rate = bases / e2e["scan_wall"] / 1e6
    results.update(
        mbp=args.mbp,
        ceiling_mbps=round(ceil, 3),
        ceiling_before_after=[round(ceiling, 3), round(ceiling_after, 3)],
        ceiling_layouts=[layout, layout_after],
        ceiling_engine_layout_mbps=round(conv_ceiling(chunk, window, rows, seconds=2.0), 3),
        table_ceiling_mbps=round(table, 3),
        e2e_mbps_process=round(bases / e2e["process_wall"] / 1e6, 3),
        e2e_mbps_scan=round(scan_rate, 3),
        e2e_mbps_scan_median=round(bases / float(np.median([r["scan_wall"] for r in runs])) / 1e6, 3),
        e2e_dense_mbps_scan=round(bases / e2e_dense["scan_wall"] / 1e6, 3),
        ratio_process=round(bases / e2e["process_wall"] / 1e6 / ceil, 3),
        ratio_scan=round(scan_rate / ceil, 3),
        ratio_scan_dense=round(bases / e2e_dense["scan_wall"] / 1e6 / ceil, 3),
        ratio_scan_vs_table_ceiling=round(scan_rate / table, 3),
        maxrss_mb={f"{args.mbp:g}": round(e2e["maxrss_mb"], 1)},
    )
    genome.unlink()
    for size in [float(s) for s in args.rss.split(",") if s.strip()]:
        if size == args.mbp:
            continue
        g = work / f"genome_{size:g}.fa"
        write_genome(g, size)
        info = run_scan(model_path, g, work / "out.bedGraph", extra)
        results["maxrss_mb"][f"{size:g}"] = round(info["maxrss_mb"], 1)
        results.setdefault("e2e_mbps_scan_by_size", {})[f"{size:g}"] = round(size / info["scan_wall"], 3)
        g.unlink()
    rss = results["maxrss_mb"]
    if len(rss) > 1:
        keys = sorted(rss, key=float)
        results["rss_ratio"] = round(rss[keys[-1]] / rss[keys[0]], 3)
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
