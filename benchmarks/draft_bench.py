"""Draft assemblies vs chromosomes: the CPU of the same bases in 10^4-10^6 scaffolds.

Usage::

    python benchmarks/draft_bench.py --mbp 30 --median 400               # ~47k scaffolds
    python benchmarks/draft_bench.py --mbp 30 --median 100 --sigma 0.8   # ~250k scaffolds
    python benchmarks/draft_bench.py --mbp 30 --outputs bw+peaks,bedGraph --repeat 2 --check
    python benchmarks/draft_bench.py --mbp 30 --median 180 --threads 1 --check       # ~108k (the 1e6 lengths)
    python benchmarks/draft_bench.py --mbp 300 --chroms 6 --median 180 --threads 1 --repeat 2   # 1,085,210

Children import ``motifscan`` from the current directory first (``python -c``), then
``PYTHONPATH``: to time another tree, run it from outside the repository.

Writes one random genome twice: as ``--chroms`` chromosomes and cut into scaffolds of
lognormal lengths (median ``--median``, log-sd ``--sigma``, 50 bp to 200 kb, every cut on the
window grid, so each scaffold window is also a chromosome window). Then runs ``motifscan scan``
on both, interleaved (chromosomes, scaffolds, chromosomes, ...; each in a fresh process, the
``.fai`` built beforehand), and reports per output the process CPU seconds (user + sys, from
``getrusage``: on a shared machine wall times say little), wall seconds and peak RSS (VmHWM),
and the scaffold / chromosome ratios (the issue's target: <= 1.3 for CPU and RSS). ``--check``
reads both bigWigs back (pyBigWig) and checks every scaffold's values equal the chromosome
track's over the same bases.

Measured 2026-12-06 on the shared 2-core machine, CTCF model, 30 Mbp as 4 chromosomes and as
46,999 scaffolds (``--mbp 30 --median 400``: mean ~640 bp), CPU seconds (best of the runs; each
line's two numbers from one run, interleaved):

=====================================  ===============  ================  ===============
                                       4 chromosomes    46,999 scaffolds  ratio
=====================================  ===============  ================  ===============
before (c225d66), bw + peaks (load 7)  3.1              30.1              9.7
before, bedGraph                       3.4              6.9               2.0
after, bw + peaks (load 3.6-4)         3.4              5.9               1.74
after, bedGraph                        4.3              5.5               1.27
peak RSS after, bw + peaks / bedGraph  421 / 415 MB     434 / 414 MB      1.03 / 1.00
=====================================  ===============  ================  ===============

Then (block FASTA reader, stored bigWig sections, .fai read in C calls, writers per run; one
thread, ``--threads 1 --repeat 2``, the machine at load 5-8, so single ratios move by +-0.15):

=================================================  =============  =============  ===========  ===========
30 Mbp unless said; CPU-s, best of 2               chromosomes    scaffolds      CPU ratio    RSS ratio
=================================================  =============  =============  ===========  ===========
47k scaffolds (median 400) at the start            3.85 / 4.31    5.69 / 4.92    1.48 / 1.14  1.03 / 1.01
47k, at the end                                    2.90 / 2.74    3.82 / 4.07    1.32 / 1.49  1.12 / 1.05
7,235 (median 2,600: the 70k-at-300-Mbp lengths)   3.14 / 3.65    4.04 / 4.22    1.29 / 1.16  1.04 / 1.01
108,103 (median 180: the 1e6-at-300-Mbp lengths)   2.93 / 3.24    4.25 / 4.65    1.45 / 1.44  1.19 / 1.08
300 Mbp: 6 chromosomes vs 1,085,210 scaffolds      9.11 / 13.52   24.60 / 22.12  2.70 / 1.64  2.01 / 1.55
=================================================  =============  =============  ===========  ===========

(pairs: bw + peaks / bedGraph.) ``--check`` at 108,103 scaffolds: all 351,778 scaffold windows equal
the chromosome track's. What was left then cost ~14 us and ~400 bytes a scaffold.

Then (5b3358d -> this branch: a block's short records travel to the packed rows as arrays --
``RecordRun`` -> ``PieceRun``, placed and copied by numba loops, decoded by one compiled pass --
the ``.fai`` parsed with numpy into ``RecordSizes`` arrays, duplicate names found by hashes, and a
scan without a bigWig keeping no names). Before and after in one session, one thread: 300 Mbp
one ``draft_bench --chroms 6 --median 180 --threads 1 --repeat 2`` run each, back to back at load
5; 108k: the two trees' scans interleaved in fresh processes, best of 2, at load 3.5-5:

=================================================  =============  =============  ===========  ===========
bw + peaks / bedGraph; CPU-s                       chromosomes    scaffolds      CPU ratio    RSS ratio
=================================================  =============  =============  ===========  ===========
108,103 scaffolds (30 Mbp), before                 2.67 / 2.81    3.66 / 3.85    1.37 / 1.37  1.20 / 1.08
108,103 scaffolds (30 Mbp), after                  2.78 / 3.01    3.04 / 3.03    1.09 / 1.01  1.13 / 1.01
1,085,210 scaffolds (300 Mbp), before              10.33 / 11.97  22.85 / 19.69  2.21 / 1.64  2.03 / 1.58
1,085,210 scaffolds (300 Mbp), after               9.50 / 10.82   13.60 / 13.03  1.43 / 1.20  1.79 / 1.13
same, with main's bigWig writer merged (08018f2)   9.53 / 12.08   11.13 / 12.34  1.17 / 1.02  1.73 / 1.13
=================================================  =============  =============  ===========  ===========

(RSS at 300 Mbp, after: 767 vs 430 MB to bigWig, 478 vs 422 MB to bedGraph; before: 867 vs 427 and
664 vs 421.) ``--check`` at 108,103 scaffolds (``--mbp 30 --median 180 --threads 1 --check``, load
4.5-5: 1.47 / 0.96 CPU, 1.14 / 1.01 RSS): all 351,778 scaffold windows equal the chromosome
track's; outputs byte-identical to before (``benchmarks/output_digest.py``). Per stage at 10^6
scaffolds (one thread, CPU-s, scaffolds vs chromosomes, separate runs at load 3-5): reading +
decoding + packing 2.5 vs 1.0 (before: 10.0), the ``.fai`` 0.63 (before: 2.3), window
bookkeeping + head 0.55 vs 0.44. Before the merge, the bigWig writer kept the rest of the CPU
(a dict of every name, a name lookup per run, sections and zoom records per scaffold); with its
compiled passes merged (last row, ``--repeat 1``, load 5) both outputs are within 1.3x CPU. The
peak RSS to bigWig is not (1.73x, +310 MB at 10^6 scaffolds): the names themselves (~70 MB,
shared by ``RecordSizes`` and the writer), and in the writer ``tracks.BigWigWriter`` handing
``list(sizes.items())`` to ``BigWigStream``, which keeps those 10^6 ``(name, length)`` tuples as
``self.sizes`` (~58 MB, and ~10 MB of int objects) beside its own names list and lengths array;
``RecordSizes.names`` / ``.lengths`` could be taken as they are.

Then (drafts2: the ``.fai``'s names kept as one buffer, ``io/names.py`` ``RecordNames``, and parsed
in one compiled pass; the bigWig writer taking them as they are, its chromosome tree written
without second copies and its data-block index spooled to a temporary file a 1 MB chunk at a
time). Before, at load 2.2-2.9 (three runs): 1.39-1.40x CPU and 1.40-1.41x RSS to bigWig + peaks.
Profiled at 10^6 scaffolds before (one thread; VmHWM sampled with the main thread's stack,
tracemalloc, cProfile per thread): the peak RSS (605 MB vs 427-450) came while the chromosome tree
was written (the names as 10^6 ``str``, ~80 MB, beside ~140 MB of copies of keys and node bytes),
and the steady RSS grew through the scan with the data-block index (32 bytes a scaffold); the
``.fai`` parse cost 0.70 CPU-s (numpy passes over 38 MB of text; 0.13 now, 0.56 -> 0.08 without
names for a bedGraph; a batch's names are checked against the list as one bytes comparison,
~0.03 s in all). After, ``draft_bench --mbp 300 --chroms 6 --median 180 --threads 1
--repeat 2``, three runs, the machine at load 2.3-6.2 (best of 2 each):

=====================================================  =============  =============  ===========  ===========
bw + peaks / bedGraph; CPU-s                           chromosomes    scaffolds      CPU ratio    RSS ratio
=====================================================  =============  =============  ===========  ===========
1,085,210 scaffolds, run 1 (load 4.7-5.2)              9.13 / 14.57   11.66 / 14.88  1.28 / 1.02  1.15 / 1.09
1,085,210 scaffolds, run 2 (load 5.2-6.2)              10.51 / 13.50  12.77 / 14.33  1.21 / 1.06  1.16 / 1.09
1,085,210 scaffolds, run 3 (load 2.3-5.1)              8.18 / 9.70    9.56 / 10.09   1.17 / 1.04  1.13 / 1.09
70,648 scaffolds (``--median 2600``, load 4.3-6.8)     9.07 / 11.81   9.69 / 14.86   1.07 / 1.26  1.01 / 1.00
70,648, bedGraph alone, ``--repeat 3`` (load 4.4-5.1)  - / 13.83      - / 12.96      - / 0.94     - / 0.98
=====================================================  =============  =============  ===========  ===========

(RSS at 10^6: 494-498 vs 430-438 MB to bigWig, 460 vs 422-423 to bedGraph.) The 70k bedGraph
ratio of the first run is the load's (0.94 in the second; nothing on that path changed but the
``.fai`` read): the same draft scan by the trees before and after, interleaved, 14.05 vs 14.62
CPU-s best of 3 (runs of 14-20 s at load 4-6), byte-identical. Per thread at 10^6 scaffolds
(CPU-s, load 3-5): the kernel thread 3.8-4.0 against 3.7-3.9 for chromosomes, the main thread
(head, bookkeeping, writers) ~+0.6, the reader ~+1.2 (2.0-2.2 vs 0.9-1.0: the block reader's
per-record parse and compiled decode, ``io/fasta.py`` ``_BlockRecords``). Of the main thread's
extra, ~0.5 CPU-s is deflating the zoom blocks, a record per scaffold (with windows) per level:
5,030 deflate calls (1.1 s under cProfile) against 2,460 for chromosomes' data sections and zoom
blocks (0.64 s); the file's bytes fix them. ``--mbp 30 --median 180 --threads 1 --repeat 1
--outputs bw+peaks --check`` (108,103 scaffolds, load 5.2-5.6): 1.17x CPU, 1.01x RSS, all 351,778
scaffold windows equal to the chromosome track's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "ctcf_gm12878.h5"

_CHILD = r"""
import json, resource, sys, time
from motifscan.cli._base import main
t = time.perf_counter()
code = main(sys.argv[1:])
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print(json.dumps({"code": code, "wall": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "rss_mb": hwm[0] / 1024}))
"""


def write_genomes(chrom_fa: Path, draft_fa: Path, mbp: float, n_chrom: int, median: float, sigma: float,
                  grid: int = 50, seed: int = 0) -> int:
    """The same random bases as ``n_chrom`` chromosomes and as lognormal scaffolds; returns the
    number of scaffolds."""
    rng = np.random.default_rng(seed)
    lut = np.frombuffer(b"ACGTacgtN", dtype=np.uint8)
    total = int(mbp * 1e6)
    n_scaf = 0
    with open(chrom_fa, "wb") as fc, open(draft_fa, "wb") as fd:
        for ci in range(n_chrom):
            n = total // n_chrom
            codes = rng.integers(0, 4, n, dtype=np.uint8)
            codes[: n // 50] += 4 * (rng.random(n // 50) < 0.3).astype(np.uint8)  # soft-masked bits
            seq = lut[codes].tobytes()
            fc.write(f">chr{ci + 1}\n".encode() + _lines(seq))
            lengths = np.clip(rng.lognormal(np.log(median), sigma, 2 * n // int(median) + 16), grid, 200_000)
            cuts = np.cumsum((lengths // grid).astype(np.int64) * grid)
            cuts = np.r_[0, cuts[cuts < n], n]
            for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
                fd.write(f">scaffold_{n_scaf}\n".encode() + _lines(seq[a:b]))
                n_scaf += 1
    return n_scaf


def _lines(seq: bytes, width: int = 60) -> bytes:
    return b"".join(seq[i : i + width] + b"\n" for i in range(0, len(seq), width))


def run_scan(genome: Path, outputs: list[str], model: Path, extra: list[str]) -> dict:
    args = ["scan", str(model), str(genome), "--quiet", *extra]
    res = subprocess.run([sys.executable, "-c", _CHILD, *args, "-o", outputs[0], *(
        ["--peaks", outputs[1]] if len(outputs) > 1 else [])], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"scan failed: {res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def check_equal(chrom_bw: Path, draft_bw: Path, draft_fa: Path) -> int:
    """Scaffold values equal the chromosome track's over the same bases; returns windows compared."""
    import pyBigWig

    sizes = [(line.split("\t")[0], int(line.split("\t")[1])) for line in open(str(draft_fa) + ".fai")]
    n = 0
    with pyBigWig.open(str(chrom_bw)) as c, pyBigWig.open(str(draft_bw)) as d:
        chroms = iter(c.chroms().items())
        ref, size_left, offset = None, 0, 0
        for name, size in sizes:
            if size_left <= 0:
                chrom, length = next(chroms)
                ref = np.array(c.intervals(chrom) or [], dtype=np.float64).reshape(-1, 3)
                size_left, offset = length, 0
            got = np.array(d.intervals(name) or [], dtype=np.float64).reshape(-1, 3)
            if len(got):
                at = np.searchsorted(ref[:, 0], got[:, 0] + offset)
                assert (at < len(ref)).all(), name
                want = ref[at]
                assert (want[:, 0] == got[:, 0] + offset).all() and (want[:, 1] == got[:, 1] + offset).all(), name
                assert (want[:, 2] == got[:, 2]).all(), name
                n += len(got)
            offset += size
            size_left -= size
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mbp", type=float, default=30)
    ap.add_argument("--chroms", type=int, default=4)
    ap.add_argument("--median", type=float, default=400, help="Median scaffold length.")
    ap.add_argument("--sigma", type=float, default=1.0, help="Log-sd of scaffold lengths.")
    ap.add_argument("--outputs", default="bw+peaks,bedGraph", help="Comma-separated: bw+peaks, bw, bedGraph, bed.")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--model", default=str(MODEL))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="Check scaffold values against the chromosome track.")
    ap.add_argument("--dir")
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="draft_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    chrom_fa, draft_fa = work / "chroms.fa", work / "draft.fa"
    n_scaf = write_genomes(chrom_fa, draft_fa, args.mbp, args.chroms, args.median, args.sigma)
    import pysam

    for g in (chrom_fa, draft_fa):
        pysam.faidx(str(g))
    extra = ["--threads", str(args.threads)] if args.threads else []
    results: dict = {"mbp": args.mbp, "chromosomes": args.chroms, "scaffolds": n_scaf,
                     "load_before": os.getloadavg()[0], "outputs": {}}
    for output in args.outputs.split(","):
        ext = {"bw+peaks": "bw", "bw": "bw", "bedGraph": "bedGraph", "bed": "bed"}[output]
        runs: dict[str, list[dict]] = {"chroms": [], "draft": []}
        for _ in range(args.repeat):
            for kind, g in (("chroms", chrom_fa), ("draft", draft_fa)):
                outs = [str(work / f"{kind}.{ext}")] + ([str(work / f"{kind}.peaks.bed")] if output == "bw+peaks" else [])
                runs[kind].append(run_scan(g, outs, Path(args.model), extra))
        best = {k: min(v, key=lambda r: r["cpu_s"]) for k, v in runs.items()}
        row = {k: {"cpu_s": round(b["cpu_s"], 2), "wall_s": round(b["wall"], 2), "rss_mb": round(b["rss_mb"])}
               for k, b in best.items()}
        row["cpu_ratio"] = round(best["draft"]["cpu_s"] / best["chroms"]["cpu_s"], 2)
        row["rss_ratio"] = round(best["draft"]["rss_mb"] / best["chroms"]["rss_mb"], 2)
        if args.check and ext == "bw":
            row["windows_checked"] = check_equal(work / "chroms.bw", work / "draft.bw", draft_fa)
        results["outputs"][output] = row
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
