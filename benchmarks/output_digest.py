"""Digest of every command's outputs: proves that a refactor changes no output byte.

Usage::

    python benchmarks/output_digest.py WORKDIR > before.txt     # on the old commit
    python benchmarks/output_digest.py WORKDIR2 > after.txt     # on the new one
    diff before.txt after.txt                                   # empty: byte-identical

Runs a fixed set of ``motifscan`` commands (simulate, train, evaluate, export in every motif
format, compare, model scans to bedGraph / bigWig / peaks / hits / records / tagged BAM, sharded
and restricted scans, motif-file scans to TSV / BED / GFF3, enrich) on seeded inputs made here,
then prints one ``sha256  file`` line per output file (sorted; text files with a volatile line, such
as a header naming the command line, are digested without it). Everything runs on the CPU with
one thread, so trained models are reproducible.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CTCF_FA = REPO / "examples" / "ctcf" / "ctcf_gm12878_top500.fa"
MODEL = REPO / "models" / "ctcf_gm12878.h5"

# model.h5 files carry a creation time and the command line: digest their weights instead
VOLATILE = ("motifscan_version", "created")


def run(args: list[str], cwd: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    res = subprocess.run([sys.executable, "-m", "motifscan", *args], cwd=cwd, capture_output=True, text=True,
                         env=env)
    if res.returncode != 0:
        sys.exit(f"failed ({res.returncode}): motifscan {' '.join(args)}\n{res.stderr}")


def digest(path: Path) -> str:
    if path.suffix == ".h5":
        import h5py
        import numpy as np

        h = hashlib.sha256()
        with h5py.File(path, "r") as f:
            for key in sorted(f["weights"]):
                h.update(key.encode())
                h.update(np.asarray(f["weights"][key]).tobytes())
            h.update(f.attrs["config"])
        return h.hexdigest()
    if path.suffix == ".bam":
        import pysam

        h = hashlib.sha256()
        with pysam.AlignmentFile(str(path), "rb") as bam:
            for read in bam:
                h.update(read.to_string().encode())
        return h.hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_reads(genome: Path, sam: Path, n: int = 400, length: int = 150) -> None:
    """A SAM of reads cut from the genome (seeded)."""
    import numpy as np

    rng = np.random.default_rng(1)
    seqs = {}
    name = None
    for line in genome.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        else:
            seqs[name].append(line)
    seqs = {k: "".join(v) for k, v in seqs.items()}
    lines = ["@HD\tVN:1.6\tSO:unsorted"] + [f"@SQ\tSN:{k}\tLN:{len(v)}" for k, v in seqs.items()]
    chroms = list(seqs)
    for i in range(n):
        c = chroms[i % len(chroms)]
        s = int(rng.integers(0, len(seqs[c]) - length))
        seq = seqs[c][s : s + length].upper()
        lines.append(f"r{i}\t0\t{c}\t{s + 1}\t60\t{length}M\t*\t0\t0\t{seq}\t*")
    sam.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--skip-train", action="store_true", help="leave out train/evaluate/export (faster)")
    args = ap.parse_args()
    w = args.workdir.resolve()
    w.mkdir(parents=True, exist_ok=True)
    g = "genome.fa"
    run(["simulate", "-o", g, "--truth", "truth.bed", "--length", "1500000", "--chroms", "3", "--n-sites", "150",
         "--seed", "3", "--quiet"], w)
    (w / "regions.bed").write_text("chr1\t1000\t90000\nchr2\t5000\t60000\nchr1\t80000\t120000\n")
    make_reads(w / g, w / "reads.sam")
    m = str(MODEL)
    scans = [
        ["scan", m, g, "-o", "track.bedGraph"],
        ["scan", m, g, "-o", "track.bw"],
        ["scan", m, g, "-o", "peaks.bed", "--hits", "filter_hits.bed"],
        ["scan", m, g, "-o", "peaks_t09.bed", "--threshold", "0.9", "--stride", "20"],
        ["scan", m, g, "-o", "records.tsv", "--mode", "records"],
        ["scan", m, g, "-o", "shard2.bedGraph", "--shard", "2/3"],
        ["scan", m, g, "-o", "shard2.peaks.bed", "--shard", "2/3"],
        ["scan", m, g, "-o", "regions.bedGraph", "--regions", "regions.bed"],
        ["scan", m, g, "-o", "chrom.bedGraph", "--chrom", "chr3", "--window", "300", "--stride", "25"],
        ["scan", m, g, "-o", "dense.bedGraph", "--conv-method", "dense"],
        ["scan", m, "reads.sam", "-o", "reads.tsv", "--tag-bam", "reads_tagged.bam"],
        ["scan", str(REPO / "motifscan" / "resources" / "JASPAR2024_CORE_vertebrates.meme"), g, "-o",
         "jaspar_hits.tsv", "--pvalue", "1e-5", "--chrom", "chr1"],
    ]
    for s in scans:
        run([*s, "--quiet", "--threads", "1"], w)
    run(["scan", m, g, "-o", "records_regions.tsv", "--mode", "records", "--regions", "regions.bed", "--quiet"], w)
    # a small motif file (first 12 JASPAR motifs) in every hit format
    from motifscan.motifs import jaspar_path
    from motifscan.io.motif_formats import read_motifs, write_motifs

    write_motifs(read_motifs(jaspar_path())[:12], w / "twelve.meme", "meme")
    for out in ("hits.tsv", "hits.bed", "hits.gff3"):
        run(["scan", "twelve.meme", g, "-o", out, "--quiet"], w)
    run(["scan", "twelve.meme", g, "-o", "hits_dense.tsv", "--motif-method", "dense", "--bg", "uniform", "--quiet"], w)
    run(["scan", "twelve.meme", "reads.sam", "-o", "read_hits.tsv", "--quiet"], w)
    run(["enrich", str(CTCF_FA), "--motifs", "twelve.meme", "-o", "enrichment.tsv", "--sites", "enrich_sites.tsv",
         "--quiet"], w)
    if not args.skip_train:
        run(["train", str(CTCF_FA), "-o", "small.h5", "--filters", "16", "--epochs", "4", "--seed", "0",
             "--threads", "1", "--quiet", "--metrics", "small_metrics.json"], w)
        run(["evaluate", "small.h5", str(CTCF_FA), "-o", "eval", "--threads", "1", "--quiet"], w)
        run(["export", m, "--sequences", str(CTCF_FA), "-o", "motifs.meme", "--db", "jaspar", "--trim",
             "--threads", "1", "--quiet"], w)
        for ext in ("jaspar", "transfac", "motif"):
            run(["export", m, "--sequences", str(CTCF_FA), "-o", f"motifs.{ext}", "--threads", "1", "--quiet"], w)
        run(["export", m, "-o", "weights.meme", "--quiet"], w)
        run(["compare", "motifs.meme", "--db", "jaspar", "-o", "matches.tsv", "--quiet"], w)
    skip = {"genome.fa.fai"}
    for path in sorted(p for p in w.rglob("*") if p.is_file()):
        rel = path.relative_to(w).as_posix()
        if rel in skip or rel.endswith(".png") or rel.endswith("metrics.json"):
            continue
        print(f"{digest(path)}  {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
