"""Genome-scale benchmark: an hg38-sized genome to bigWig, bedGraph and peaks, and through the workflow.

Usage::

    python benchmarks/genome_bench.py --cache /tmp/motifscan-genome-cache            # 3.1 Gbp
    python benchmarks/genome_bench.py --mbp 300 --cache /tmp/motifscan-genome-cache  # scaled down
    python benchmarks/genome_bench.py --mbp 300 --rss-mbp 3100 --zooms 0,1,5,10 --workflow 8

Makes (once; cached in ``--cache``, default ``~/.cache/motifscan-genome-bench``) a synthetic
genome with hg38's 24 chromosome lengths (3.1 Gbp; ``--mbp`` scales every length), random ACGT
in 60-bp lines with N runs where hg38 has them: 10 kb at each end (telomeres) and a centromere
gap of 1.2% of the chromosome in its middle. Then, in one run on the same machine:

* ``fai`` -- seconds to build the FASTA index (htslib, the first bigWig scan of a genome does it);
* ``scans`` -- whole-process wall seconds and peak RSS (``wait4``) of ``motifscan scan MODEL
  genome.fa`` to ``-o out.bw``, ``-o out.bedGraph``, ``-o out.bed`` (peaks) and ``-o out.bw
  --peaks out.bed`` (one pass), each in a fresh process, and the scan's own Mbp/s;
* ``ceiling`` -- the best ``conv1d`` rate over a sweep of layouts (as ``scan_bench.py``);
* ``rss_by_size`` -- peak RSS of the bigWig and bedGraph scans at ``--rss-mbp`` too (flat?);
* ``zooms`` -- the bigWig writer alone (the scan's bigWig re-written by ``gather_tracks``) with
  0, 1, 5, 10 zoom levels: seconds, MB, peak RSS; and libBigWig (pyBigWig) for comparison;
* ``workflow`` -- ``snakemake --cores 2`` with the genome scanned in ``--workflow`` shards: every
  rule's wall seconds and max RSS from Snakemake's benchmark files, each shard's scan count.

The machine is shared: ``load`` is recorded before and after; compare numbers of one run only.
Outputs (except the cached genome and its index) are deleted at the end.

Measured 2026-11-29/30 on the 2-core dev machine while six other sessions used it (load 9-16:
every process ran 50-100x slower than on an idle machine, so wall times say little; CPU seconds
and peak RSS are the comparable numbers), default model ``models/ctcf_gm12878.h5``, window 200,
stride 50:

=====================================================  =========================================
.fai by htslib (``build_fai``), 0.3 / 3.1 Gbp           1.0 / 9.5 s CPU (pyfaidx: 2.4 s at 0.3)
scan 20 Mbp: bigWig / bedGraph / peaks / bigWig+peaks   40.0 / 39.5 / 38.5 / 37.9 s CPU (ratio
                                                       bigWig/bedGraph 1.01; wall 0.83)
scan 60 Mbp: bigWig / bedGraph                         114.2 / 109.3 s CPU (1.045)
peak RSS, bigWig scan, 20 / 60 / 300 Mbp               302 / 308 / 311 MB (bedGraph 283 / 297)
bigWig writer alone, 5 zoom levels, 0.3 / 3.1 Gbp      257 / 262 MB, 3.5 / 22.2 s CPU
libBigWig (pyBigWig) alone, 10 levels, 0.3 / 3.1 Gbp   269 / 446 MB, 4.8 / 35.6 s CPU
zoom levels 0 / 1 / 5 / 10 at 3.1 Gbp (ours)           225 / 303 / 328 / 328 MB file,
                                                       8.2 / 18.9 / 22.2 / 21.4 s CPU, RSS flat
gather, 8 shard bigWigs of 3.1 Gbp                     22.2 s CPU, 243 MB RSS
workflow, 20 Mbp genome, 8 shards, ``--cores 2``       667 s; each shard scanned once; scan jobs
                                                       27-48 s, 206-275 MB; gather 27 s, 228 MB
=====================================================  =========================================

Commands: ``--mbp 20 --rss-mbp 60 --workflow 8``; ``--no-scans --mbp 3100 --writer-mbp
300,3100 --zooms 0,1,5,10 --libbigwig 10 --gather 8``.

The whole genome, with the fused CPU kernel (``--conv-method fused``, the default), measured
2026-11-30 in a quiet spell (load 1.2 before, 2.2-2.5 after: the scans' own threads), one run of
``--mbp 3100 --rss-mbp 300 --workflow 8``:

=====================================================  =========================================
``.fai`` (htslib), 3.1 Gbp                             12.2 s
scan to bigWig, whole process                          57.7 s (53.7 Mbp/s; scan timer 57.7 Mbp/s),
                                                       95.4 s CPU, 432 MB peak RSS, 313 MB file
scan to bedGraph                                       82.3 s, 123.7 s CPU, 419 MB, 2.0 GB file
bigWig / bedGraph                                      0.70 (CPU 0.77)
scan to peaks / bigWig + peaks in one pass             42.2 s / 53.4 s
peak RSS at 300 Mbp: bigWig / bedGraph                 426 / 421 MB (flat up to 3.1 Gbp)
conv1d ceiling, best layout, same run                  8.5 Mbp/s (scan 6.8x that)
workflow, 8 shards, ``--cores 2``                      368 s wall; each shard scanned once, 69-77 s
                                                       and 586-621 MB per shard job; gather 22.1 s,
                                                       524 MB; train 9.5 s, export 22.4 s
=====================================================  =========================================

(An earlier run at load 3-5, while other jobs ran: bigWig 131 s, bedGraph 119 s, but 92.6
against 123.6 CPU seconds: on a loaded machine compare CPU seconds.)

The bigWig writer with libdeflate and compiled sections and zoom passes, 2026-12-06, old and new
code one after the other (``--no-scans --mbp 300 --writer-mbp 300 --zooms 0,5 --gather 8``, load
4.5-5.5): writer alone with 5 zoom levels 2.2 -> 1.1 s of writing (process 2.7 -> 2.5 CPU-s, now
with numba's ~0.5 s start-up), 31.7 -> 31.6 MB; gathering 8 shards 2.4 -> 1.6 s (1.6 -> 1.0
CPU-s). Peak RSS of these writer-only processes 243-250 -> 358-366 MB, and of the gather 232 ->
359 MB: numba's runtime, which a scan has loaded anyway for its kernel. (The gather is timed on
``_join_tracks``: ``gather_tracks`` refuses shards cut here, which have no shard manifests.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "ctcf_gm12878.h5"
#: hg38 chr1..chr22, chrX, chrY lengths (GRCh38.p14 primary assembly).
HG38 = [248_956_422, 242_193_529, 198_295_559, 190_214_555, 181_538_259, 170_805_979, 159_345_973,
        145_138_636, 138_394_717, 133_797_422, 135_086_622, 133_275_309, 114_364_328, 107_043_718,
        101_991_189, 90_338_345, 83_257_441, 80_373_285, 58_617_616, 64_444_167, 46_709_983, 50_818_468,
        156_040_895, 57_227_415]
NAMES = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]
TELOMERE = 10_000
CENTROMERE = 0.012


def genome_sizes(mbp: float) -> list[tuple[str, int]]:
    scale = mbp * 1e6 / sum(HG38)
    return [(n, max(100_000, int(round(s * scale)))) for n, s in zip(NAMES, HG38)]


def make_genome(path: Path, mbp: float, seed: int = 0) -> Path:
    """Write the synthetic genome (atomically; kept when present)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    rng = np.random.default_rng(seed)
    lut = np.frombuffer(b"ACGTN", dtype=np.uint8)
    block = 6_000_000  # a multiple of 60
    with open(tmp, "wb") as fh:
        for name, size in genome_sizes(mbp):
            fh.write(f">{name}\n".encode())
            cen = int(size * CENTROMERE)
            gaps = [(0, TELOMERE), (size // 2 - cen // 2, size // 2 + cen // 2), (size - TELOMERE, size)]
            for lo in range(0, size, block):
                hi = min(size, lo + block)
                codes = rng.integers(0, 4, hi - lo, dtype=np.uint8)
                for a, b in gaps:
                    a, b = max(a, lo), min(b, hi)
                    if a < b:
                        codes[a - lo : b - lo] = 4
                seq = lut[codes]
                full = len(seq) // 60 * 60
                lines = np.concatenate([seq[:full].reshape(-1, 60), np.full((full // 60, 1), 10, np.uint8)], axis=1)
                fh.write(lines.tobytes())
                if full < len(seq):
                    fh.write(seq[full:].tobytes() + b"\n")
    tmp.rename(path)
    return path


#: Run a motifscan command, then print the process's peak RSS (VmHWM: ru_maxrss of a child would
#: count the parent's memory at fork time) on the last line of stdout.
_CLI = r"""
import sys
from motifscan.cli._base import main
code = main(sys.argv[1:])
print("VmHWM", *[ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM")])
sys.exit(code)
"""
_HWM = 'print("VmHWM", *[ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM")])'


def run(cmd: list[str], **kw) -> dict:
    """Wall seconds, CPU seconds and peak RSS (MB, VmHWM when the command prints it) of a command."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-3000:]}")
    hwm = [ln for ln in out.splitlines() if ln.startswith("VmHWM")]
    info = {"seconds": round(wall, 2), "stderr": err, "stdout": out}
    if hwm:
        info["maxrss_mb"] = round(int(hwm[-1].split()[1]) / 1024, 1)
    return info


def scan(genome: Path, work: Path, outputs: list[str], extra: list[str] = ()) -> dict:
    cmd = [sys.executable, "-c", _CLI, "scan", str(MODEL), str(genome), *outputs, *extra]
    t0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    info = run(cmd)
    t1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    info["cpu_seconds"] = round(t1.ru_utime + t1.ru_stime - t0.ru_utime - t0.ru_stime, 1)
    # the scan's own timer: "scanned N bases in S s (R Mbp/s)"
    for line in info.pop("stderr").splitlines():
        if "scanned " in line and "Mbp/s" in line:
            info["scan_mbps"] = float(line.split("(")[1].split(" Mbp/s")[0])
    info.pop("stdout")
    for f in work.glob("out.*"):
        info.setdefault("output_mb", {})[f.suffix] = round(f.stat().st_size / 1e6, 1)
        f.unlink()
    return info


def scans(genome: Path, work: Path) -> dict:
    out = {}
    o = str(work / "out")
    out["bigwig"] = scan(genome, work, ["-o", o + ".bw"])
    out["bedgraph"] = scan(genome, work, ["-o", o + ".bedGraph"])
    out["peaks"] = scan(genome, work, ["-o", o + ".bed"])
    out["bigwig+peaks"] = scan(genome, work, ["-o", o + ".bw", "--peaks", o + ".bed"])
    out["ratio_bigwig_bedgraph"] = round(out["bigwig"]["seconds"] / out["bedgraph"]["seconds"], 3)
    out["ratio_bigwig_bedgraph_cpu"] = round(out["bigwig"]["cpu_seconds"] / out["bedgraph"]["cpu_seconds"], 3)
    return out


def fai_seconds(genome: Path) -> float:
    for ext in (".fai", ".gzi"):
        Path(str(genome) + ext).unlink(missing_ok=True)
    code = f"import time; from motifscan.io.fasta import build_fai; t=time.perf_counter(); " \
           f"assert build_fai({str(genome)!r}); print(time.perf_counter()-t)"
    return round(float(run([sys.executable, "-c", code])["stdout"].strip()), 2)


#: The bigWig writers alone, on scan-like values (a sigmoid of normal noise, float32) laid on the
#: genome's chromosomes with the scan's grid (window 200, stride 50), N gaps left out.
_WRITER = r"""
import sys, time, numpy as np
sys.path.insert(0, sys.argv[5])
from genome_bench import genome_sizes, TELOMERE, CENTROMERE
mbp, out, writer, zooms = float(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = np.random.default_rng(0)
pool = (1 / (1 + np.exp(-rng.normal(-3, 1.5, 1 << 22)))).astype(np.float32)
def runs():
    k = 0
    for name, size in genome_sizes(mbp):
        cen = int(size * CENTROMERE)
        for lo, hi in ((TELOMERE, size // 2 - cen // 2), (size // 2 + cen // 2, size - TELOMERE)):
            q0 = -(-lo // 50) * 50
            n = (hi - 200 - q0) // 50 + 1
            for a in range(0, n, 1 << 16):  # as the scan hands them over, in pieces
                m = min(1 << 16, n - a)
                o = (k * 7919) % (len(pool) - m); k += 1
                yield name, q0 + 75 + a * 50, pool[o:o + m]
from motifscan.io.bigwig import BigWigStream
import pyBigWig
sizes = genome_sizes(mbp)
t = time.perf_counter()
if writer == "ours":
    with open(out, "w+b") as fh:
        bw = BigWigStream(fh, sizes, zoom_levels=zooms)
        for name, start, v in runs():
            bw.add(name, start, 50, 50, v)
        bw.close()
else:
    bw = pyBigWig.open(out, "w"); bw.addHeader(sizes, maxZooms=zooms)
    for name, start, v in runs():
        bw.addEntries(name, start, values=v.astype(np.float64), span=50, step=50)
    bw.close()
print(time.perf_counter() - t, time.process_time())
""" + _HWM

#: Shard bigWigs of the same values (cut at genome fractions), then gather_tracks alone.
_SHARDS = r"""
import sys, numpy as np
from motifscan.io.bigwig import BigWigSections, BigWigStream
src, n, prefix = BigWigSections(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
total = sum(s for _c, s in src.sizes); off = {}; acc = 0
for c, s in src.sizes:
    off[c] = acc; acc += s
files = [open(f"{prefix}{i}.bw", "w+b") for i in range(n)]
ws = [BigWigStream(f, src.sizes, zoom_levels=0) for f in files]
for chrom, start, span, step, v in src.sections():
    pos = off[chrom] + start + np.arange(len(v)) * step
    k = np.minimum((pos * n) // total, n - 1)
    for i in np.unique(k).tolist():
        sel = np.flatnonzero(k == i)
        ws[i].add(chrom, start + int(sel[0]) * step, span, step, v[sel])
for w, f in zip(ws, files):
    w.close(); f.close()
"""
_GATHER = r"""
import sys, time
from motifscan.io.bigwig import ZOOM_LEVELS
from motifscan.io.gather import _join_tracks, _readers
# gather_tracks without its shard-manifest checks (these shards are cut here, not scanned)
c = time.process_time(); t = time.perf_counter()
_join_tracks(sys.argv[2:], _readers(sys.argv[2:], None), sys.argv[1], ZOOM_LEVELS)
print(time.perf_counter() - t, time.process_time() - c)
""" + _HWM


def writers(mbp: float, work: Path, levels: list[int], libbigwig: list[int]) -> dict:
    """The bigWig writers alone at genome size ``mbp``: ours with each number of zoom levels, libBigWig."""
    res = {}
    for name, zs in (("ours", levels), ("libBigWig", libbigwig)):
        for z in zs:
            out = work / "w.bw"
            info = run([sys.executable, "-c", _WRITER, str(mbp), str(out), name, str(z), str(Path(__file__).parent)])
            wall, cpu = map(float, info["stdout"].split()[:2])
            res[f"{name}_{z}"] = {"write_seconds": round(wall, 1), "process_cpu_seconds": round(cpu, 1),
                                  "maxrss_mb": info["maxrss_mb"], "mb": round(out.stat().st_size / 1e6, 1)}
    return res


def gather_bench(mbp: float, work: Path, shards: int) -> dict:
    """gather_tracks alone on ``shards`` shard bigWigs covering a genome of ``mbp``."""
    whole = work / "w.bw"
    run([sys.executable, "-c", _WRITER, str(mbp), str(whole), "ours", "0", str(Path(__file__).parent)])
    run([sys.executable, "-c", _SHARDS, str(whole), str(shards), str(work / "shard")])
    whole.unlink()
    parts = [str(work / f"shard{i}.bw") for i in range(shards)]
    info = run([sys.executable, "-c", _GATHER, str(work / "g.bw"), *parts])
    wall, cpu = map(float, info["stdout"].split()[:2])
    res = {"seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), "process_seconds": info["seconds"],
           "maxrss_mb": info["maxrss_mb"], "mb": round((work / "g.bw").stat().st_size / 1e6, 1), "shards": shards}
    for p in [*parts, str(work / "g.bw")]:
        Path(p).unlink()
    return res


def workflow(genome: Path, work: Path, shards: int, cores: int) -> dict:
    """The Snakemake workflow with the genome scanned in ``shards`` shards: per-rule time and RSS."""
    cfg = work / "bench.yaml"
    cfg.write_text(json.dumps({
        "results": "results", "logs": "logs", "device": "cpu", "motif_db": "jaspar",
        "genomes": {"bench": {"fasta": str(genome)}},
        "experiments": {"ctcf": {
            "peaks": str(REPO / "examples/ctcf/ctcf_gm12878_top500.fa"), "negatives": "shuffle",
            "train": {"length": 200, "filters": 64, "filter_width": 19, "epochs": 10, "seed": 0},
            "scan": {"genome": "bench", "shards": shards, "stride": 50, "threshold": 0.5}}}}))
    d = work / "wf"
    t = time.perf_counter()
    info = run(["snakemake", "-s", str(REPO / "Snakefile"), "-d", str(d), "--configfile", str(cfg),
                "--cores", str(cores), "--profile", str(REPO / "workflows/profiles/local")])
    res = {"wall_seconds": round(time.perf_counter() - t, 1), "rules": {}}
    for tsv in sorted((d / "results" / "benchmarks").rglob("*.tsv")):
        rows = tsv.read_text().splitlines()
        head, vals = rows[0].split("\t"), rows[1].split("\t")
        row = dict(zip(head, vals))
        res["rules"][str(tsv.relative_to(d / "results" / "benchmarks"))] = {
            "s": round(float(row["s"]), 1), "max_rss_mb": row["max_rss"]}
    scans_per_shard = []
    for i in range(1, shards + 1):
        log = (d / "logs" / "ctcf" / f"scan_{i}.log").read_text()
        scans_per_shard.append(log.count("motifscan-workflow job: rule=scan_shard"))
    res["scan_jobs_per_shard"] = scans_per_shard
    res["shard_commands_scanning"] = info["stderr"].count("motifscan scan ") // max(1, shards)
    shutil.rmtree(d)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mbp", type=float, default=sum(HG38) / 1e6, help="Genome size (default: hg38's 3,099 Mbp).")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "motifscan-genome-bench",
                    help="Where the synthetic genomes are kept between runs.")
    ap.add_argument("--rss-mbp", default="", help="More genome sizes (Mbp, comma-separated) for peak RSS.")
    ap.add_argument("--zooms", default="", help="Zoom levels to time the bigWig writer alone with, e.g. 0,1,5,10.")
    ap.add_argument("--libbigwig", default="", help="Also pyBigWig (libBigWig) alone with these maxZooms, e.g. 5,10.")
    ap.add_argument("--writer-mbp", default="", help="Genome sizes (Mbp) for the writer-alone runs (default --mbp).")
    ap.add_argument("--gather", type=int, default=0, help="Time gather_tracks alone on this many shards (0: no).")
    ap.add_argument("--no-scans", action="store_true", help="Skip the four scans (and the ceiling).")
    ap.add_argument("--workflow", type=int, default=0, help="Run the workflow with this many shards (0: no).")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--json", type=Path, help="Also write the results here.")
    args = ap.parse_args()

    res: dict = {"load_before": os.getloadavg(), "mbp": round(args.mbp, 1), "cpus": os.cpu_count()}
    work = Path(tempfile.mkdtemp(prefix="genome_bench_"))
    try:
        genome = args.cache / f"genome_{args.mbp:.0f}mbp.fa"
        if not args.no_scans or args.workflow:
            t = time.perf_counter()
            make_genome(genome, args.mbp)
            res["genome"] = {"path": str(genome), "gb": round(genome.stat().st_size / 1e9, 2),
                             "make_seconds": round(time.perf_counter() - t, 1)}
        if not args.no_scans:
            res["fai_seconds"] = fai_seconds(genome)
            res["scans"] = scans(genome, work)
            code = ("import sys, json; sys.path.insert(0, sys.argv[1]); from scan_bench import best_ceiling; "
                    "print(json.dumps(best_ceiling(window=200)))")
            ceiling, layout = json.loads(run([sys.executable, "-c", code, str(Path(__file__).parent)])["stdout"])
            res["conv1d_ceiling_mbps"] = {"mbps": round(ceiling, 2), "layout": layout}
            res["scans"]["scan_over_ceiling"] = round(res["scans"]["bigwig"].get("scan_mbps", 0) / ceiling, 3)
        for size in [float(s) for s in args.rss_mbp.split(",") if s.strip()]:
            g = make_genome(args.cache / f"genome_{size:.0f}mbp.fa", size)
            o = str(work / "out")
            res.setdefault("rss_by_size", {})[f"{size:.0f}"] = {
                "bigwig": scan(g, work, ["-o", o + ".bw"]), "bedgraph": scan(g, work, ["-o", o + ".bedGraph"])}
        levels = [int(z) for z in args.zooms.split(",") if z.strip()]
        lib = [int(z) for z in args.libbigwig.split(",") if z.strip()]
        for size in [float(x) for x in (args.writer_mbp or str(args.mbp)).split(",") if x.strip()]:
            if levels or lib:
                res.setdefault("writers", {})[f"{size:.0f}"] = writers(size, work, levels, lib)
        if args.gather:
            res["gather"] = gather_bench(args.mbp, work, args.gather)
        if args.workflow:
            res["workflow"] = workflow(genome, work, args.workflow, args.cores)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["load_after"] = os.getloadavg()
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
