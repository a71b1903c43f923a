"""Scan benchmark: end-to-end Mbp/s vs the pure convolution ceilings, per-stage CPU, and peak RSS.

Usage::

    python benchmarks/scan_bench.py --model models/ctcf_gm12878.h5 --mbp 100 --rss 300 --stages
    python benchmarks/scan_bench.py --mbp 3088 --hg38 --methods fused --output bw --repeat 1

Makes a synthetic genome (random ACGT with some N runs and soft-masked stretches, 60 bp lines,
chromosomes of 25 Mbp, or ``--hg38``: hg38's 24 chromosome lengths scaled to ``--mbp``, 10 kb of N
at each end) and takes ``--model`` (default: a random default-sized one, 64 filters x 19, RC
sharing), then measures, in the same run on the same hardware:

* conv1d ceiling -- convolution only (``strand_conv``: one-hot + ``conv1d`` with the bank for both
  strands) over pre-encoded codes, nothing else: the best rate over a sweep of layouts (chunk
  length x rows per batch), before and after the scans; also the rate in the engine's layout.
  This is the ceiling the scan is judged against;
* table ceiling -- the k-mer table convolution alone (activations, not pooled), in its layout;
* fused ceiling -- :class:`motifscan.kernels.fused.FusedWindowScan` alone (table sums, window and
  strand maxima, N counts: everything of the CPU default but the head), in its layout;
* end to end -- ``motifscan scan MODEL genome.fa -o out.bedGraph --quiet`` (``--output bw``: a
  bigWig, the genome indexed first) in a fresh subprocess for each ``--conv-method`` of
  ``--methods``, on the whole process wall time and on the scan's own timer (excluding start-up),
  best of ``--repeat`` runs (the median too), with the process's CPU seconds and, for the fused
  runs, each thread's CPU ms per Mbp during the command (the kernel's workers, the main thread,
  the reader: ``/proc`` read every 0.1 s);
* ``--interleave S`` -- each fused run is stopped (SIGSTOP) every ``S`` seconds while the kernel
  alone runs for a second, then continued: the run against the kernel alone of the same minutes
  (``ratio_process_to_fused_interleaved``), beside the readings before and after it;
* ``--stages`` -- CPU milliseconds per Mbp of each stage of a fused scan, one at a time
  (:func:`stage_costs`): on a busy machine the one figure that does not depend on the others;
* peak RSS -- the subprocess's VmHWM, for each size in ``--rss``.

The machine is shared: check ``uptime`` first and compare numbers from the same run only. torch's
OpenMP threads (conv1d, table) spin while they wait for each other, so on a loaded machine their
rates collapse (to a tenth below); the fused kernel's plain threads do not.

Measured 2026-11-30 on the 2-core dev machine (torch 2.13 CPU, 2 threads; ``models/ctcf_gm12878.h5``,
32 filters x 19; window 200, stride 50). Ceilings in a quiet spell (load 1.7): conv1d best layout
14.1-16.2 Mbp/s (8.3-8.8 on one thread), table 32-33 (21-22), fused 90-94 (58-65): the two vCPUs
give 1.45x one. End to end on the hg38-sized genome (3088 Mbp, 61.7 M windows), ``fused``:

=====================================  ====================  ====================
                                       to bigWig             to bedGraph
=====================================  ====================  ====================
whole process                          70.1 s (44 Mbp/s)     98.1 s (31 Mbp/s)
scan timer                             65.7 s (47.0 Mbp/s)   93.4 s (33.1 Mbp/s)
CPU seconds (user + sys)               97.7                  117.1
peak RSS                               455 MB                440 MB
=====================================  ====================  ====================

(Load 2-3.4, most of it the scan's own threads. The previous commit, with a worker thread
instead of kernels queued ahead on the pool, took 67.0 s and 87.2 s at load 1.8, and was 7-11%
slower than the final code in paired 100 Mbp runs; under load 2.5-4 the bigWig run took 89.8 s.)
Before the fused kernel, issue 13 measured 266-285 s to bigWig and 147 s to bedGraph. The whole
process to bigWig is 2.9x the conv1d ceiling (44 / 15.1); 52 Mbp/s (hg38 in under 60 s) is not
reached on this machine. Per-stage CPU (``--stages``, load 3, ms per Mbp): read + decode + pack
4.2, fused kernel 16.2, bookkeeping + float64 head 2.2, bedGraph lines 13.5, bigWig entries 5.4
(+ close 0.4): 28 ms per Mbp to bigWig, 57% of it the kernel; the two vCPUs give ~1.45 cores, so
~50 Mbp/s bounds this pipeline here. What would close the gap: a faster kernel (hand-written
AVX-512 C reaches 1.3x; 5-base table rows would sum 4 rows a position instead of 5 but change
the float rounding, so the table method and the outputs would change with it), and a decoder
that strips line breaks and encodes in one compiled pass (4.2 -> ~1.5 ms per Mbp).

On a quiet machine (2026-12-06, load 0.4, nothing else running; ``--mbp 3088 --hg38 --model
models/ctcf_gm12878.h5 --methods fused --output bw --repeat 2``): in the morning, before the
compiled decode, window selection and deeper queue, **47.0 s** wall, 80.3 CPU-s, 438 MB, whole
process 65.8 Mbp/s against a fused ceiling of 110.0 (0.60; scan timer 0.63); after them, **38.4 s**
wall, 72.2 CPU-s, 451 MB, 80.4 Mbp/s against a ceiling of 148.3 (0.54; scan timer 0.58). The
ceiling moves by a third between quiet runs with the same layout (chunk 65,550 x 15 rows); the
loaded ratios below (0.77-0.95) come from ceilings pulled down by the other jobs.

Remeasured 2026-12-06 after the bigWig writer's compiled passes and libdeflate, the draft
assemblies' packer and the variant work (two runs, ``--mbp 3088 --hg38 --model
models/ctcf_gm12878.h5 --methods fused --output bw --repeat 1`` then ``--repeat 2``, while a
training job held one core, load 1.5-3.4): hg38-sized to bigWig in **45.7 s and 43.7 s** wall, 63.9
and 61.1 CPU-s, 436 and 433 MB; fused ceiling 88.2 and 75.5 Mbp/s, whole process 67.5 and 70.6
Mbp/s: **0.77 and 0.94** of the ceiling (scan timer 0.81 and 0.99). With one core taken the ceiling
itself moves by 15% between runs, so the ratio's spread is mostly the ceiling's.

Remeasured 2026-12-06 (load 0.7-1.9; ``--mbp 3088 --hg38 --model models/ctcf_gm12878.h5 --methods
fused --output bw --repeat 1``), after the float64 head's scalar sums and the block FASTA reader:
hg38-sized to bigWig in **59.1 s** wall (52.2 Mbp/s whole process, 55.1 on the scan's timer),
97.2 CPU-s, 435 MB peak RSS, against a fused-kernel ceiling of 102.5 Mbp/s in the same run (2
threads): whole process / kernel alone 0.51 (scan timer 0.54). With ISA-L's deflate in the bigWig
writer (30x zlib's speed) the same run gave 44.7 s and 0.56, but ISA-L once deflated the same bytes
to a different stream in another process, which broke gathered == unsharded, so zlib stays.
Per-stage CPU on one thread (30 Mbp, ms per Mbp, before -> after): read + decode + pack 4.5 ->
4.5, fused kernel 13.5-18 (noise), bookkeeping + head 4.1 -> 1.7-2.0, bigWig entries 6.5 -> 6.2-6.4
(zlib level 1 is 3.9 of it), close 0.8-1.0, bedGraph lines ~16.5: to bigWig the kernel is ~58% of
the CPU; 0.8 would need the rest under ~3.4 ms per Mbp (a compiled decode-and-pack pass, a
deterministic faster deflate, a compiled bigWig section/zoom writer).

bigWig writer, 2026-12-06 (``stage_costs`` on 30 Mbp in hg38's layout, the old and new code
interleaved in fresh processes, load 3.5-5 from other sessions, so compare within a pair; the
writer warmed first, see ``stage_costs``): bigWig entries 7.2-7.7 -> 3.3-3.4 ms per Mbp with the
kernel's stage at 18.6-19.9 in the same runs (0.37-0.39 -> 0.17-0.18 of it: ~2.4 at the kernel's
quiet 13.5), close 0.34-0.36 -> 0.26-0.34. Of the new cost (a run with the kernel at 12.5-13.8):
deflate 1.0 (libdeflate level 1 instead of zlib's: 3.2x faster, the same size), zoom binning 0.35
and merging 0.3 (compiled passes instead of ~12 numpy passes: 1.2 and 0.6 before), packing the
sections 0.1, the rest the per-batch numpy and Python of ``BigWigWriter.write``/``add_runs``.
Without the warm-up the compiled passes' one-time load from numba's cache (~35 ms) adds ~1 ms per
Mbp at 30 Mbp (nothing at genome scale). Draft assemblies, writer alone (``BigWigStream`` on 311
Mbp in 1,000,000 lognormal scaffolds): 11.2-15.3 -> 4.5-7.8 ms per Mbp, 3.5-4.7 -> 1.4-2.4 us
per scaffold (opening, i.e. the chromosome tree: 0.63 -> 0.30 s); gathering that track again
5.9-6.5 -> 1.5-1.8 s.

Reader, head bookkeeping and kernel queue, 2026-12-06 (issue 23; a chromosome's sequence lines
decoded by one compiled pass a block at a time into views of one buffer, the kept windows found by
one compiled pass, the kernel queued four batches ahead instead of two). ``stage_costs`` on 200
Mbp in hg38's layout, the code before and after interleaved in fresh processes, three rounds at
load 4.3-5.0 (the machine shared with a training job and two other sessions), ms per Mbp before
-> after: read + decode + pack 3.9-4.4 -> 2.7-3.4; bookkeeping + float64 head 1.5-1.7 -> 1.3-1.5
(the head's ~45 ns per window is now ~90% of it); bigWig entries 2.5-2.9 and close 0.1-0.2 (the
same code both sides; libdeflate is ~half of the entries); all but the kernel 8.0-9.1 -> 6.9-8.1.
The kernel's stage (the same code) read 14.3-16.9 before and 16.5-19.4 after in the same rounds:
noise of that size. Whole process on the hg38-sized genome (``--mbp 3088 --hg38 --model
models/ctcf_gm12878.h5 --methods fused --output bw --repeat 2``, load 4.6-6.4): 82.2 s wall,
69.8 CPU-s, 448 MB peak RSS, whole process 37.6 Mbp/s and 39.2 on the scan's timer against a
fused ceiling of 39.4 in the same run (0.95 and 1.00): with other jobs holding more than the
two cores the ceiling itself collapses, so that ratio says little. The same scan (``motifscan
scan ... -o out.bw``), before and after, interleaved in four pairs at load 3.0-6.3: 106, 125, 106
and 77 s wall, 73.6, 86.0, 74.4 and 59.6 CPU-s before; 119, 118, 92 and 58 s, 78.9, 80.0, 61.7
and 49.2 CPU-s after (means 73.4 -> 67.5 CPU-s, but with a spread of +-20% within each side). Start-up (interpreter, imports -- torch
alone ~1.4 s -- model, numba's first cached load ~0.6-0.8 s) takes 3.5-4.5 s of one core before
the first batch, ~8% of a 47 s run; the other core idles meanwhile. What 0.8 needs against a
quiet ceiling of 110 Mbp/s (18.2 CPU-ms per Mbp of kernel): hg38 in <= 35.1 s, i.e. <= 22.7
CPU-ms per Mbp in all on two fully busy cores, so everything but the kernel under ~4.5 ms per
Mbp with the start-up overlapped with reading, or under ~2 with the start-up as it is. Left: the
head (~1.2), the bigWig entries (~2.5, half of it the deflate that the file's bytes fix), reading
(~2.7, half of it the compiled decode on data just read) and the start-up.

Reader and bigWig writer, 2026-12-06 evening (issue 23: FASTA lines of ACGTN decoded by arithmetic
on the letters' bits 64 bytes a step, newlines counted in the same pass, blocks read into one
reused buffer, N written only around a batch's pieces; the bigWig writer cutting a chromosome's
rows into one run by one compiled pass, zoom passes on the float32 values, level 0 taking the
binning's records as they are, one libdeflate compressor per file). ``stage_costs`` on 772 Mbp in
hg38's layout, the code before (484269d) and after in fresh processes one after the other, load
0.3-0.9, ms per Mbp before -> after: read + decode + pack 2.90 -> 1.62, bookkeeping + head 1.50 ->
1.24, bigWig entries 3.28 -> 2.87, close 0.06 -> 0.16; the kernel 20.3 and 19.8: everything but
the kernel 7.74 -> 5.89 (0.38 -> 0.30 of the kernel). The whole scan of the hg38-sized genome, the
two trees interleaved (load 0.9-2.8): 45.3 and 44.0 s wall, 84.2 and 83.9 CPU-s before; 38.6 and
41.8 s, 68.7 and 77.6 CPU-s after; the bigWigs byte-identical.

The kernel alone is now measured beside every fused run (``--ceiling-seconds``, before, between
and after the runs) and each run is judged against the mean of its two neighbours, because the
machine's speed drifts: on a quiet machine the kernel alone read 59 to 140 Mbp/s in successive
seconds, and one whole run took 100 CPU-s where the runs beside it took 68 and 75. Two runs of
``--mbp 3088 --hg38 --model models/ctcf_gm12878.h5 --methods fused --output bw`` (load 0.3-2.8):
with ``--repeat 2 --ceiling-seconds 4``, 41.0 and **35.5 s** wall (65.0 CPU-s, 443 MB) against a
kernel alone of 84.2, 86.3 and 109.1 Mbp/s: whole process / kernel alone **0.88 and 0.89**; with
``--repeat 3 --ceiling-seconds 15``, 37.0, 55.2 (the slow minute) and 41.3 s against 127.2, 88.5,
113.8 and 130.2: **0.78, 0.55 and 0.61**. Pooled over the five runs (mean whole-process rate over
the mean of the seven kernel-alone readings): 75.3 / 105.6 = 0.71. A third, on the quiet machine (load 0.06-0.27
before), ``--repeat 4 --ceiling-seconds 20``: **32.4**, 37.9, 35.8 and 36.0 s wall (60.0-70.6 CPU-s,
440-443 MB) against 102.8, 104.7, 95.0, 114.8 and 78.6 Mbp/s: **0.92, 0.82, 0.82 and 0.89** (0.88
pooled). Over the nine runs: 0.55-0.92, median 0.82; all bases over all wall time against the
kernel-alone readings weighted by their seconds, 78.9 / 104.3 = 0.76 (0.80 without the slow
minute's run). The ceiling each invocation took once at its end (after the conv1d sweeps, 2 or
15-20 s) read 159, 114 and 120, i.e. 0.55, 0.73 and 0.79 of it; in one process, 4 s readings of
the kernel alone after conv1d, after 3 s of sleep and after the table method read 104-108, 68-139
and 72-98: no order effect shows above the drift. What is left: ~5.9 ms per Mbp of reading, head
and bigWig (1.4 of it the deflate that the file's bytes fix) and 2.5 s of start-up (torch's import
1.5 s) on one core.

Later that day the console script stopped paying CPython's teardown (0.4-1 s of one core with torch
and numba loaded; :mod:`motifscan.cli.quick_exit`), and the runs report the scan's own timer beside
the whole process and the ratio pooled over the runs. Three invocations, ``--repeat 3/4/3
--ceiling-seconds 10`` (load 0.5-1.5 before): 38.2, 41.9, 38.4 | 41.3, 39.6, 42.5, 41.9 | 40.8, 36.2
and 36.1 s wall (67-79 CPU-s, 440-443 MB) against a kernel alone of 93.4-98.6 | 92.9-106.7 |
91.2-124.8 Mbp/s: whole process / kernel alone 0.87, 0.78, 0.83 | 0.76, 0.77, 0.70, 0.76 | 0.71,
0.69, 0.79 (pooled per invocation 0.82, 0.75, 0.76; median of the ten 0.76); the scan's own timer
0.75-0.94 (median 0.81). Process minus scan timer (the imports): 1.8-3.0 s. Per thread, on 600 Mbp
in hg38's layout (``/proc/self/task`` CPU times, one process; now in each fused run's
``thread_cpu_ms_per_mbp``): the kernel's two workers 18.5 ms
per Mbp together, the main thread 6.1 (deflate 1.4, head 1.2, the rest of the bigWig ~1.5,
bookkeeping ~0.5), the reader 1.65: 75% of the CPU is the kernel. Tried and dropped the same day:
the head run in the kernel's workers on rows still in their cache (bit-identical; the main thread
6.1 -> 5.0 ms per Mbp but the workers +2.1, more CPU in all), 512 kB instead of 4 MB FASTA reads
(no difference over five interleaved pairs), the head four rows at a time (no faster), zlib's
Huffman-only and RLE deflate (slower than libdeflate's level 1 at the same size).

The next evening a CPU scan stopped importing torch (the model file read as numpy,
:mod:`motifscan.model_file`; the fused scan and the linear head on its arrays; the device chosen
without torch): the whole process is the scan timer plus 0.07-0.19 s (1.5-3.0 s before), peak RSS
250 MB (441-521). And the kernel alone is now also measured in the same minutes as the run
(``--interleave 4``: the scan is stopped every 4 s of its run while the kernel alone runs for a
second after an untimed pass over its rows, 6-11 slices a run; the process's time is its wall time
less the stops), because the kernel alone read 6-15% slower in the run's minutes than in the
seconds around them (for the old code and the new alike: 96-127 against 115-144 Mbp/s), which
the before/after readings miss; the slicing itself is not biased (in one process with no scan,
1 s slices after 3 s idle or after 3 s of two busy processes read 66-146 Mbp/s around 5 s
readings of 91-101). Two rounds, new and old code interleaved (``--repeat 2 --ceiling-seconds 5
--interleave 4``, load 0.1-2.6 before; the second round with the untimed pass): new 37.4, 38.1 |
36.3, 36.3, 35.0, 27.7 s wall against the same-minutes kernel alone of 99.5, 100.1 | 101.9, 98.8,
101.9, 137.7 Mbp/s: **0.83, 0.81 | 0.835, 0.86, 0.865, 0.81** (median 0.83), against the
before/after readings 0.73-0.78; old 40.3, 45.2 | 35.9, 35.9, 27.8, 31.8 s: 0.80, 0.71 | 0.78,
0.77, 0.89, 0.77 (median 0.77; before/after 0.56-0.84). Per thread (ms per Mbp, both trees alike
within the drift): the kernel's workers 12.8-17.7, main 3.3-4.5, reader 0.9-1.4.

``--mbp 100 --rss 300 --repeat 2 --stages``, load 3.0-3.2 (scan timer): fused 22.9 Mbp/s (12.8
whole process), table 1.0, dense 0.7 (their OpenMP threads under load); peak RSS of the fused scan
428 MB at 100 Mbp and 429 MB at 300 Mbp (flat).
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
import json, os, re, resource, sys, threading, time, logging
from motifscan.cli._base import main
from motifscan.cli.quick_exit import exit_now

# CPU seconds of each thread during the command (by Python name, numbers dropped: the kernel's
# workers together; the imports before it not counted), read from /proc every 0.1 s, since the
# reader and the kernel's pool are gone or idle by the end
tick, names, first, last, done = os.sysconf("SC_CLK_TCK"), {}, {}, {}, threading.Event()
def watch():
    while True:
        names.update((str(th.native_id), re.sub(r"_?\d+$", "", th.name)) for th in threading.enumerate())
        for tid in os.listdir("/proc/self/task"):
            try:
                f = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
                last[tid] = (int(f[11]) + int(f[12])) / tick
                first.setdefault(tid, last[tid])
            except OSError:
                pass
        if done.wait(0.1):
            return
watcher = threading.Thread(target=watch, name="watch", daemon=True)
watcher.start()
t = time.perf_counter()
code = main(sys.argv[1:])
wall = time.perf_counter() - t
done.set()
watcher.join()
threads = {}
for tid, cpu in last.items():
    name = names.get(tid, "other")
    threads[name] = round(threads.get(name, 0.0) + cpu - (first[tid] if name == "MainThread" else 0.0), 2)
ru = resource.getrusage(resource.RUSAGE_SELF)
# peak RSS of this process alone: VmHWM (ru_maxrss keeps the parent's peak across fork + exec)
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print(json.dumps({"code": code, "scan_wall": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
                  "maxrss_mb": (hwm[0] if hwm else ru.ru_maxrss) / 1024, "thread_cpu_s": threads}))
exit_now(code)  # as the console script leaves
"""


# GRCh38 primary chromosome lengths (chr1..chr22, chrX, chrY; UCSC hg38.chrom.sizes), 3.09 Gbp
HG38 = [248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636, 138394717,
        133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345, 83257441, 80373285,
        58617616, 64444167, 46709983, 50818468, 156040895, 57227415]
HG38_NAMES = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]


def write_genome(path: Path, mbp: float, chrom_mbp: float = 25.0, seed: int = 0, hg38: bool = False) -> int:
    """Write a random genome FASTA of about ``mbp`` megabases; returns the number of bases.

    ``hg38``: hg38's 24 chromosomes with their lengths scaled to ``mbp`` (3088 for full size),
    10 kb of N at each end (as telomere gaps); else chromosomes of ``chrom_mbp``.
    """
    rng = np.random.default_rng(seed)
    lut = np.frombuffer(b"ACGTacgtN", dtype=np.uint8)
    total = int(mbp * 1e6)
    if hg38:
        scale = total / sum(HG38)
        names, sizes = HG38_NAMES, [max(30_000, round(n * scale)) for n in HG38]
    else:
        n_chrom = max(1, int(np.ceil(total / (chrom_mbp * 1e6))))
        sizes = [total // n_chrom + (1 if i < total % n_chrom else 0) for i in range(n_chrom)]
        names = [f"chr{i + 1}" for i in range(n_chrom)]
    with open(path, "wb") as fh:
        for i, n in enumerate(sizes):
            fh.write(f">{names[i]}\n".encode())
            done = 0
            while done < n:  # 6 Mb blocks (multiple of 60) keep memory small
                m = min(6_000_000, n - done)
                codes = rng.integers(0, 4, m, dtype=np.uint8)
                codes[: m // 50] += 4 * (rng.random(m // 50) < 0.3).astype(np.uint8)  # soft-masked bits
                if rng.random() < 0.5:
                    s = int(rng.integers(0, max(1, m - 5000)))
                    codes[s : s + 5000] = 8  # an N run
                if hg38 and done == 0:
                    codes[:10_000] = 8
                if hg38 and done + m == n:
                    codes[-10_000:] = 8
                seq = lut[codes]
                pad = (-m) % 60
                lines = np.concatenate([seq, np.full(pad, ord("A"), np.uint8)]).reshape(-1, 60)
                block = np.concatenate([lines, np.full((len(lines), 1), ord("\n"), np.uint8)], axis=1).ravel()
                if pad:
                    block = np.concatenate([block[: -(pad + 1)], [ord("\n")]]).astype(np.uint8)
                fh.write(block.tobytes())
                done += m
    return sum(sizes)


def conv_ceiling(chunk: int, window: int, rows: int, seconds: float = 6.0, method: str = "dense",
                 model_path: str | None = None) -> float:
    """Mbp/s of the convolution alone, both strands, on pre-encoded rows (engine layout).

    ``method``: ``dense`` (``strand_conv``: one-hot + ``conv1d``), ``table``
    (:class:`~motifscan.kernels.kmer_conv.KmerTableConv`, activations only, not pooled) or
    ``fused`` (:class:`~motifscan.kernels.fused.FusedWindowScan`: the table sums, window and strand
    maxima and N counts, i.e. everything of the fused scan but the head; stride 50). The model:
    ``model_path``, else the default-sized random one.
    """
    mbp, secs = kernel_alone(chunk, window, rows, method, model_path)(seconds)
    return mbp / secs


def kernel_alone(chunk: int, window: int, rows: int, method: str = "dense", model_path: str | None = None):
    """A prepared :func:`conv_ceiling`: ``run(seconds) -> (Mbp done, seconds taken)``, the model,
    kernel and rows made once (so that short readings can be taken many times)."""
    from motifscan.device import tune_cpu_allocator
    from motifscan.model import MotifCNN, load_model
    from motifscan.scan.batching import round_up
    from motifscan.kernels.conv import strand_bank, strand_conv
    from motifscan.kernels.kmer_conv import KmerTableConv

    tune_cpu_allocator()  # as the engine does: the ceiling must not be slowed by page faults

    torch.manual_seed(0)
    model = load_model(model_path) if model_path else MotifCNN().eval()
    w, b = model.conv.weight.detach(), model.conv.bias.detach()
    if method == "dense":
        conv = lambda x: strand_conv(x, w, b)  # noqa: E731
    else:
        conv = KmerTableConv(*strand_bank(w, b, "cpu"))
        if method == "fused":
            from motifscan.kernels.fused import FusedWindowScan

            conv = FusedWindowScan(conv, w.shape[0], True, window, 50)
    width = round_up(chunk + window - 1, 64)
    rng = np.random.default_rng(1)
    batches = [torch.from_numpy(rng.integers(0, 4, (rows, width), dtype=np.uint8)) for _ in range(4)]
    with torch.no_grad():
        conv(batches[0])  # warm-up (primitive creation)

    def run(seconds: float) -> tuple[float, float]:
        with torch.no_grad():
            for x in batches:  # untimed: the table and rows back in cache after whatever ran before
                conv(x)
            done, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                for x in batches:
                    conv(x)
                    done += rows * chunk
            return done / 1e6, time.perf_counter() - t0

    return run


def stage_costs(model_path: str, genome: str, workdir: str) -> dict:
    """CPU milliseconds per Mbp of each stage of a fused window scan, run one after another, one
    thread at a time (process CPU time: meaningful on a busy machine, where wall times are not;
    the kernel runs on its pool's one thread while this one waits).

    Stages: reading + decoding + packing batches; the fused kernel; the rest of
    ``ModelScanner.windows`` (bookkeeping, float64 head); writing bedGraph; adding bigWig entries;
    closing the bigWig (its zoom levels). Run in a child process (one torch thread).
    """
    import pysam
    import torch

    from motifscan.io.tracks import BedGraphWriter, BigWigWriter
    from motifscan.model import load_model
    from motifscan.scan.batching import iter_batches
    from motifscan.scan.model_scan import ModelScanner, WindowScores
    from motifscan.scan.sources import FastaSource

    torch.set_num_threads(1)
    pysam.faidx(genome)
    sizes = dict(line.split("\t")[:2] for line in open(genome + ".fai"))
    sizes = {k: int(v) for k, v in sizes.items()}
    scanner = ModelScanner(load_model(model_path), window=200, stride=50, conv_method="fused")
    chunk, max_bases = scanner.batch_layout()
    clock = time.process_time
    t = dict.fromkeys(["read_decode_pack", "fused_kernel", "bookkeeping_head", "bedgraph_write",
                       "bigwig_add", "bigwig_close"], 0.0)
    bases = 0
    batches = iter_batches(FastaSource(genome), overlap=199, chunk_size=chunk, max_bases=max_bases, align=50,
                           threaded=False)
    # the bigWig writer's compiled passes load from numba's cache on first use (~35 ms once, which
    # would read as ~1 ms per Mbp of a 30 Mbp run): a tiny bigWig first
    with BigWigWriter(Path(workdir) / "warm.bw", 200, 50, {"w": 10_000}) as warm:
        warm.write(WindowScores(["w"], np.zeros(9, np.int64), np.arange(9) * 50, np.zeros((9, 1), np.float32)))
    bw = BigWigWriter(Path(workdir) / "stages.bw", 200, 50, sizes)
    with BedGraphWriter(Path(workdir) / "stages.bedGraph", 200, 50) as bg, bw:
        while True:
            a = clock()
            batch = next(batches, None)
            t["read_decode_pack"] += clock() - a
            if batch is None:
                break
            a = clock()
            scanner._fused(batch.host_codes, threads=1)
            t["fused_kernel"] += clock() - a
            a = clock()
            ws = scanner.windows(batch)  # the kernel again, then the rest
            t["bookkeeping_head"] += clock() - a
            a = clock()
            bg.write(ws)
            t["bedgraph_write"] += clock() - a
            a = clock()
            bw.write(ws)
            t["bigwig_add"] += clock() - a
            bases += batch.bases
        a = clock()
    t["bigwig_close"] = clock() - a
    t["bookkeeping_head"] -= t["fused_kernel"]
    Path(genome + ".fai").unlink()
    return {k: round(1e3 * v / (bases / 1e6), 2) for k, v in t.items()}


def run_scan(model: Path, genome: Path, out: Path, extra: list[str], *, interleave: float = 0.0,
             alone=None, slice_s: float = 1.0) -> dict:
    """One scan in a fresh process. With ``interleave`` seconds and ``alone`` (a :func:`kernel_alone`
    runner), the scan is stopped (SIGSTOP) every ``interleave`` seconds of its run while the kernel
    alone runs for ``slice_s``, then continued: both see the same minutes of the machine. The
    process's own time is then its wall time less the stops."""
    import signal

    args = ["scan", str(model), str(genome), "-o", str(out), "--quiet", *extra]
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    stopped, alone_mbp, alone_s, slices = 0.0, 0.0, 0.0, 0
    if interleave > 0 and alone is not None:
        while True:
            try:
                proc.wait(timeout=interleave)
                break
            except subprocess.TimeoutExpired:
                pass
            t_stop = time.perf_counter()
            os.kill(proc.pid, signal.SIGSTOP)
            mbp, secs = alone(slice_s)
            os.kill(proc.pid, signal.SIGCONT)
            stopped += time.perf_counter() - t_stop
            alone_mbp, alone_s, slices = alone_mbp + mbp, alone_s + secs, slices + 1
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"scan failed: {stderr}")
    info = json.loads(stdout.strip().splitlines()[-1])
    info["process_wall"] = wall - stopped
    if slices:
        info["scan_wall"] -= stopped  # every stop falls in the scan (after its start-up, well under a slice apart)
        info.update(stops=slices, stopped_s=stopped, fused_alone_interleaved=alone_mbp / alone_s)
    return info


def best_ceiling(window: int, seconds: float = 0.6, model_path: str | None = None) -> tuple[float, dict]:
    """The fastest convolution-only rate over a sweep of layouts (chunk x rows), and that layout.

    This is the honest ceiling: the best the hardware does on this filter bank, whatever the
    layout, so the end-to-end ratio also judges the engine's choice of layout.
    """
    best, layout = 0.0, {}
    for chunk in (2048, 4096, 8192, 16384, 32768, 65536):
        for rows in (1, 2, 4, 8):
            if chunk * rows > 140_000:
                continue
            rate = conv_ceiling(chunk, window, rows, seconds=seconds, model_path=model_path)
            if rate > best:
                best, layout = rate, {"chunk": chunk, "rows": rows}
    return best, layout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mbp", type=float, default=20, help="Genome size for the speed run.")
    ap.add_argument("--hg38", action="store_true", help="hg38's 24 chromosome lengths, scaled to --mbp (3088: full).")
    ap.add_argument("--model", help="Model file (default: a random default-sized one, 64 x 19 filters).")
    ap.add_argument("--rss", default="", help="Comma-separated genome sizes (Mbp) for peak RSS, e.g. 20,100.")
    ap.add_argument("--methods", default="fused,table,dense",
                    help="--conv-method values to run end to end (the first is the headline).")
    ap.add_argument("--chunk-size", type=int, default=None, help="Passed to the scan (default: the engine's).")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="End-to-end runs per method (best is reported).")
    ap.add_argument("--output", default="bedGraph", help="Track format of the end-to-end runs: bedGraph or bw.")
    ap.add_argument("--stages", action="store_true",
                    help="Also measure each stage's CPU ms per Mbp on one thread (see stage_costs).")
    ap.add_argument("--ceiling-seconds", type=float, default=4.0,
                    help="Seconds of each fused-kernel-alone measurement beside the fused runs.")
    ap.add_argument("--interleave", type=float, default=0.0,
                    help="Fused runs: stop the scan every this many seconds while the kernel alone runs for one "
                         "second, so both are measured in the same minutes (0: off).")
    ap.add_argument("--dir", help="Work directory (default: a temporary one).")
    ap.add_argument("--json", help="Also write the results as JSON here.")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from motifscan.model import MotifCNN, save_model
    from motifscan.scan.batching import CPU_BATCH_BASES, CPU_CHUNK, round_up
    from motifscan.scan.model_scan import FUSED_BATCH_BASES, FUSED_CHUNK

    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="scan_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    if args.model:
        model_path = Path(args.model).resolve()
    else:
        model_path = work / "model.h5"
        save_model(MotifCNN().eval(), model_path)
    mp = str(model_path)
    window = 200
    stride = 50
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]

    def layout(method: str) -> tuple[int, int]:
        """(chunk, rows) the scan uses for ``method`` (as iter_batches rounds and packs them)."""
        fused = method == "fused"
        chunk = round_up(args.chunk_size or (FUSED_CHUNK if fused else CPU_CHUNK), stride)
        width = round_up(chunk + window - 1, 64)
        rows = args.batch_size or max(1, max(FUSED_BATCH_BASES if fused else CPU_BATCH_BASES, width) // width)
        return chunk, rows

    extra = []
    if args.chunk_size:
        extra += ["--chunk-size", str(args.chunk_size)]
    if args.batch_size:
        extra += ["--batch-size", str(args.batch_size)]
    if args.threads:
        extra += ["--threads", str(args.threads)]

    results: dict = {"load_before": os.getloadavg()[0], "torch_threads": torch.get_num_threads(),
                     "model": args.model or "random 64 x 19",
                     "layouts": {m: dict(zip(("chunk", "rows"), layout(m))) for m in methods}}
    genome = work / f"genome_{args.mbp:g}.fa"
    t = time.perf_counter()
    bases = write_genome(genome, args.mbp, hg38=args.hg38)
    if args.output == "bw":  # sizes up front: the bigWig writer adds entries as they come
        import pysam

        pysam.faidx(str(genome))
    results["genome"] = {"bases": bases, "hg38_lengths": args.hg38, "write_s": round(time.perf_counter() - t, 1)}
    def fused_alone(seconds: float) -> float:
        chunk, rows = layout("fused")
        return conv_ceiling(chunk, window, rows, seconds=seconds, method="fused", model_path=mp)

    alone = kernel_alone(layout("fused")[0], window, layout("fused")[1], "fused", mp) if args.interleave else None

    ceiling, layout_before = best_ceiling(window, model_path=mp)
    out = work / f"out.{args.output}"
    e2e: dict = {}
    adjacent: list[float] = []  # the fused kernel alone, measured before, between and after the fused runs
    for method in methods:
        # best of --repeat runs (the ceilings are best-of too); the median is reported beside it
        runs = []
        for _ in range(args.repeat):
            if method == "fused":
                adjacent.append(fused_alone(args.ceiling_seconds))
            runs.append(run_scan(model_path, genome, out, extra + ["--conv-method", method],
                                 interleave=args.interleave if method == "fused" else 0.0, alone=alone))
        if method == "fused":
            adjacent.append(fused_alone(args.ceiling_seconds))
            # each run against the kernel alone measured just before and just after it: the
            # machine's speed drifts by a third within minutes, so a ceiling from another minute
            # judges the run by the drift, not by the pipeline
            for i, r in enumerate(runs):
                ceil_i = (adjacent[i] + adjacent[i + 1]) / 2
                r["fused_alone_adjacent"] = round(ceil_i, 3)
                r["ratio_process_to_fused_adjacent"] = round(bases / r["process_wall"] / 1e6 / ceil_i, 3)
                r["ratio_scan_to_fused_adjacent"] = round(bases / r["scan_wall"] / 1e6 / ceil_i, 3)
                if "fused_alone_interleaved" in r:
                    r["ratio_process_to_fused_interleaved"] = round(
                        bases / r["process_wall"] / 1e6 / r["fused_alone_interleaved"], 3)
        best = min(runs, key=lambda r: r["scan_wall"])
        e2e[method] = {
            "mbps_process": round(bases / best["process_wall"] / 1e6, 3),
            "mbps_scan": round(bases / best["scan_wall"] / 1e6, 3),
            "mbps_scan_median": round(bases / float(np.median([r["scan_wall"] for r in runs])) / 1e6, 3),
            "process_s": round(best["process_wall"], 2),
            "cpu_s": round(best["cpu_s"], 2),
            "mbp_per_cpu_s": round(bases / best["cpu_s"] / 1e6, 3),
            "maxrss_mb": round(best["maxrss_mb"], 1),
        }
        if method == "fused":
            ratios = [r["ratio_process_to_fused_adjacent"] for r in runs]
            e2e[method].update(
                fused_alone_adjacent=[round(c, 3) for c in adjacent],
                runs=[{**{k: round(r[k], 3) for k in ("process_wall", "scan_wall", "cpu_s", "maxrss_mb",
                                                       "fused_alone_adjacent", "ratio_process_to_fused_adjacent",
                                                       "ratio_scan_to_fused_adjacent", "stops", "stopped_s",
                                                       "fused_alone_interleaved", "ratio_process_to_fused_interleaved")
                          if k in r},
                       "thread_cpu_ms_per_mbp": {k: round(1e3 * v / (bases / 1e6), 2)
                                                 for k, v in sorted(r["thread_cpu_s"].items())}} for r in runs],
                ratio_process_to_fused_adjacent_best_run=best["ratio_process_to_fused_adjacent"],
                ratio_process_to_fused_adjacent_median=round(float(np.median(ratios)), 3),
                **({"ratio_process_to_fused_interleaved_median": round(float(np.median(
                    [r["ratio_process_to_fused_interleaved"] for r in runs])), 3)} if args.interleave else {}),
                # all bases over all the runs' wall time, against every reading of the kernel alone
                ratio_process_to_fused_pooled=round(len(runs) * bases / sum(r["process_wall"] for r in runs) / 1e6
                                                    / float(np.mean(adjacent)), 3))
    if args.stages:
        code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from scan_bench import stage_costs; "
                "print(json.dumps(stage_costs(*sys.argv[2:])))")
        res = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(model_path), str(genome),
                              str(work)], capture_output=True, text=True, check=True)
        stages = json.loads(res.stdout.strip().splitlines()[-1])
        stages["total_bigwig"] = round(sum(v for k, v in stages.items() if k != "bedgraph_write"), 2)
        stages["total_bedgraph"] = round(sum(v for k, v in stages.items()
                                             if not k.startswith("bigwig") and k != "total_bigwig"), 2)
        results["stage_cpu_ms_per_mbp"] = stages
    ceiling_after, layout_after = best_ceiling(window, model_path=mp)
    ceil = (ceiling + ceiling_after) / 2
    ceilings = {"conv1d_best_layout": round(ceil, 3), "conv1d_before_after": [round(ceiling, 3), round(ceiling_after, 3)],
                "conv1d_layouts": [layout_before, layout_after],
                "conv1d_engine_layout": round(conv_ceiling(layout("dense")[0], window, layout("dense")[1],
                                                           seconds=2.0, model_path=mp), 3)}
    for method in ("table", "fused"):
        chunk, rows = layout(method)
        ceilings[method] = round(conv_ceiling(chunk, window, rows, seconds=args.ceiling_seconds, method=method,
                                                model_path=mp), 3)
    for method, r in e2e.items():
        r["ratio_process_to_conv1d_ceiling"] = round(r["mbps_process"] / ceil, 3)
        r["ratio_scan_to_conv1d_ceiling"] = round(r["mbps_scan"] / ceil, 3)
        if method in ceilings:
            r[f"ratio_scan_to_{method}_ceiling"] = round(r["mbps_scan"] / ceilings[method], 3)
    results.update(mbp=round(bases / 1e6, 1), output=args.output, ceilings_mbps=ceilings, end_to_end=e2e)
    for path in (genome, Path(str(genome) + ".fai")):
        path.unlink(missing_ok=True)
    headline = methods[0]
    rss = {f"{bases / 1e6:.0f}": e2e[headline]["maxrss_mb"]}
    for size in [float(x) for x in args.rss.split(",") if x.strip()]:
        if abs(size - bases / 1e6) < 0.5:
            continue
        g = work / f"genome_{size:g}.fa"
        n = write_genome(g, size, hg38=args.hg38)
        if args.output == "bw":
            import pysam

            pysam.faidx(str(g))
        info = run_scan(model_path, g, out, extra + ["--conv-method", headline])
        rss[f"{n / 1e6:.0f}"] = round(info["maxrss_mb"], 1)
        results.setdefault("mbps_scan_by_size", {})[f"{n / 1e6:.0f}"] = round(n / info["scan_wall"] / 1e6, 3)
        for path in (g, Path(str(g) + ".fai")):
            path.unlink(missing_ok=True)
    results["maxrss_mb_" + headline] = rss
    if len(rss) > 1:
        keys = sorted(rss, key=float)
        results["rss_ratio"] = round(rss[keys[-1]] / rss[keys[0]], 3)
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
