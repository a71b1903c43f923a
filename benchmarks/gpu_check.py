"""GPU readiness check: the CUDA tests, then model and motif-file scans at genome scale, one table.

Usage::

    python benchmarks/gpu_check.py                  # on a CUDA machine: under 8 min on one H100/H200
    python benchmarks/gpu_check.py --dry-run        # the same code on CPU at tiny sizes (CI, < 1 min)
    python benchmarks/gpu_check.py --only model_scan,motif_scan --workdir /scratch/gc   # a rerun

What it does, on ``--device`` (``cuda`` by default; ``cpu`` with ``--dry-run``):

* ``cuda_tests`` -- ``pytest -m gpu``: the ``device`` fixture's CUDA parameters (skipped without
  CUDA, so on a GPU machine every one of them must pass, none skip);
* ``model_scan`` -- ``scan_model`` of a synthetic genome (>= 1 Gbp: random bases at 41 % GC, a
  planted CTCF site every 20 kbp, an N run per chromosome) with the bundled CTCF model to bigWig
  in fp32: Mbp/s end to end (reading, encoding, convolution, pooling, head, the bigWig writer);
* ``precision_agreement`` -- on a slice of that genome, the device in fp32, bf16 and fp16 (conv1d,
  as on a GPU) against the CPU's fp32 scan (k-mer table convolution): the largest absolute
  difference of a window score and the fraction of peaks (threshold 0.5) that are identical;
* ``motif_scan`` -- ``scan_motifs`` with all 879 JASPAR 2024 motifs over the first 100 Mbp (FIMO
  TSV, p <= 1e-4; the dense convolution on CUDA): Mbp/s and hits;
* ``motif_agreement`` -- the same motifs on a small slice, the device's dense search against the
  CPU lookahead search: the hits must be identical, byte for byte;
* ``process_to_bigwig`` -- ``motifscan scan MODEL genome.fa -o out.bw --device cuda`` as a user
  runs it (fresh process, .fai first): seconds, and hg38 at that rate (issue 13: < 20 s);
* ``variants`` -- ``score_variants`` of 200,000 SNVs on the device against the CPU (logit deltas
  to 1e-4) and ``motif_variants`` of 20,000 with the JASPAR motifs (rows identical), variants/s;
* ``ism`` -- exact ISM of 512 random 1 kb sequences on the device against the CPU (to 1e-4).

It prints ONE markdown table (also written to ``--out``) and exits 1 when a row fails. A check
that crashes gives a failing row with the error, and the others still run.

Adding a check: write ``def check_NAME(ctx: Context) -> list[Row]`` (sizes from ``ctx.sizes``,
the shared genome from ``ctx.genome()``, the device from ``ctx.device``) and append it to
``CHECKS``; its rows join the table, and ``--only NAME`` runs it alone.
"""

from __future__ import annotations

import argparse
import logging
import platform
import re
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "ctcf_gm12878.h5"
PLANTED = "MA0139.2"  # JASPAR's CTCF, the factor of the bundled model
BUDGET_S = 480  # the whole check, on one H100/H200
THRESHOLD = 0.5  # peaks, as the scan's default
# largest |score difference| allowed against the CPU fp32 scan, and the least fraction of
# identical peaks (a window scoring near the threshold may cross it in reduced precision)
TOLERANCE = {"fp32": (1e-4, 1.0), "fp16": (5e-3, 0.9), "bf16": (3e-2, 0.9)}


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is (megabases) and which tests run."""

    genome_mbp: float
    chrom_mbp: float
    slice_mbp: float
    motif_mbp: float
    motif_slice_mbp: float
    n_motifs: int | None  # None: every motif of the bundled JASPAR collection
    site_every: int  # bp between planted sites
    tests: tuple[str, ...]


FULL = Sizes(genome_mbp=1000, chrom_mbp=50, slice_mbp=20, motif_mbp=100, motif_slice_mbp=2, n_motifs=None,
             site_every=20_000, tests=("tests",))
DRY = Sizes(genome_mbp=2, chrom_mbp=1, slice_mbp=0.3, motif_mbp=1, motif_slice_mbp=0.2, n_motifs=5,
            site_every=20_000, tests=("tests/test_model.py",))


@dataclass
class Row:
    """One line of the table; ``ok`` is None for a measurement without a pass/fail criterion."""

    check: str
    setting: str
    size: str
    result: str
    ok: bool | None = None


@dataclass
class Genome:
    path: Path
    sizes: dict[str, int]
    seconds: float


@dataclass
class Context:
    """What every check gets: the device, the sizes, a work directory, the shared genome."""

    device: str
    sizes: Sizes
    workdir: Path
    dry_run: bool
    _genome: Genome | None = field(default=None, repr=False)

    def genome(self) -> Genome:
        """The synthetic genome (written on first use, then shared by every check)."""
        if self._genome is None:
            path = self.workdir / "genome.fa"
            t = time.perf_counter()
            sizes = write_genome(path, int(self.sizes.genome_mbp * 1e6), int(self.sizes.chrom_mbp * 1e6),
                                 self.sizes.site_every, planted_motif())
            self._genome = Genome(path, sizes, time.perf_counter() - t)
            say(f"genome: {mbp(sum(sizes.values()))} in {self._genome.seconds:.0f} s -> {path}")
        return self._genome

    def region(self, name: str, megabases: float) -> Path:
        """A BED of the genome's first ``megabases`` (whole chromosomes first)."""
        path = self.workdir / f"{name}.bed"
        left = int(megabases * 1e6)
        with open(path, "w") as fh:
            for chrom, size in self.genome().sizes.items():
                if left <= 0:
                    break
                fh.write(f"{chrom}\t0\t{min(size, left)}\n")
                left -= size
        return path


def say(msg: str) -> None:
    print(f"[gpu_check] {msg}", file=sys.stderr, flush=True)


def mbp(bases: float) -> str:
    return f"{bases / 1e6:,.4g} Mbp"


# ----------------------------------------------------------------------------- the genome
_GC_BYTES = np.array([0] * 76 + [1] * 52 + [2] * 53 + [3] * 75, dtype=np.uint8)  # 105/256 = 41 % GC
_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
LINE = 60


def planted_motif():
    from motifscan.io.motif_formats import read_motifs
    from motifscan.motifs import jaspar_path

    return next(m for m in read_motifs(jaspar_path()) if m.id == PLANTED)


def write_genome(path: Path, total: int, chrom_len: int, site_every: int, motif, seed: int = 0) -> dict[str, int]:
    """Write a random genome FASTA (and its ``.fai``) fast: bases drawn by byte lookup at 41 % GC,
    one motif instance (sampled from ``motif``, either strand) every ``site_every`` bp, one 10 kbp
    N run per chromosome. Returns the chromosome sizes."""
    rng = np.random.default_rng(seed)
    n_chrom = -(-total // chrom_len)
    sizes = {f"chr{i + 1}": min(chrom_len, total - i * chrom_len) for i in range(n_chrom)}
    cdf = np.cumsum(motif.probs, axis=1)
    w = motif.width
    block = LINE * (1 << 17)  # ~7.9 Mbp, whole lines
    fai, offset = [], 0
    with open(path, "wb") as fh:
        for name, size in sizes.items():
            head = f">{name}\n".encode()
            fh.write(head)
            offset += len(head)
            fai.append(f"{name}\t{size}\t{offset}\t{LINE}\t{LINE + 1}\n")
            n_run = int(rng.integers(0, max(1, size - 10_000)))
            for b0 in range(0, size, block):
                n = min(block, size - b0)
                codes = _GC_BYTES[rng.integers(0, 256, n, dtype=np.uint8)]
                starts = np.arange(0, n - site_every, site_every)
                starts += rng.integers(0, site_every - w, len(starts))  # sites never overlap
                sites = (rng.random((len(starts), w, 1)) > cdf[None, :, :3]).sum(2).astype(np.uint8)
                minus = rng.random(len(starts)) < 0.5
                sites[minus] = 3 - sites[minus, ::-1]
                codes[starts[:, None] + np.arange(w)] = sites
                lo, hi = max(n_run - b0, 0), min(n_run + 10_000 - b0, n)
                if lo < hi:
                    codes[lo:hi] = 4
                letters = _LETTERS[codes]
                full = n // LINE
                lines = np.empty((full, LINE + 1), dtype=np.uint8)
                lines[:, :LINE] = letters[: full * LINE].reshape(full, LINE)
                lines[:, LINE] = ord("\n")
                fh.write(lines.tobytes())
                if n % LINE:
                    fh.write(letters[full * LINE:].tobytes() + b"\n")
            offset += size + -(-size // LINE)
    Path(str(path) + ".fai").write_text("".join(fai))  # after the FASTA: newer, so it is used
    return sizes


# ----------------------------------------------------------------------------- checks
def check_environment(ctx: Context) -> list[Row]:
    dev = torch.device(ctx.device)
    if dev.type == "cuda":
        idx = dev.index or 0
        name = torch.cuda.get_device_name(idx)
        mem = torch.cuda.get_device_properties(idx).total_memory / 2**30
        what = (f"{name}, {mem:.0f} GiB; CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}; "
                f"TF32 in cuDNN convolutions: {torch.backends.cudnn.allow_tf32}")
    else:
        what = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"
    return [Row("environment", f"device {ctx.device}" + (" (dry run)" if ctx.dry_run else ""),
                "", f"{what}; torch {torch.__version__}, Python {platform.python_version()}")]


def check_cuda_tests(ctx: Context) -> list[Row]:
    """``pytest -m gpu``: the CUDA parameters of the ``device`` fixture."""
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-rs", "-p", "no:cacheprovider", *ctx.sizes.tests]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?)\b", res.stdout.splitlines()[-1]
                                                  if res.stdout.strip() else "")}
    cuda = torch.device(ctx.device).type == "cuda"
    summary = ", ".join(f"{n} {k}" for k, n in counts.items()) or res.stdout[-300:] + res.stderr[-300:]
    ok = res.returncode == 0 and (counts.get("passed", 0) > 0 and not counts.get("skipped") if cuda else True)
    if not cuda:
        summary += " (no CUDA device: they skip)"
    return [Row("CUDA tests", "pytest -m gpu " + " ".join(ctx.sizes.tests), "", summary, ok)]


def _model():
    from motifscan.model import load_model

    return load_model(MODEL)


def check_model_scan(ctx: Context) -> list[Row]:
    """The bundled CTCF model over the whole genome to bigWig, fp32."""
    from motifscan.scan.options import RunOptions, WindowOptions
    from motifscan.scan.run import scan_model

    g = ctx.genome()
    model = _model()
    out = ctx.workdir / "genome.bw"
    say(f"model scan of {mbp(sum(g.sizes.values()))} on {ctx.device} ...")
    t = time.perf_counter()
    stats = scan_model(model, g.path, out, run=RunOptions(device=ctx.device, progress=False))
    wall = time.perf_counter() - t
    total = sum(g.sizes.values())
    cfg = model.config
    return [
        Row("synthetic genome", f"{len(g.sizes)} chromosomes, 41 % GC, a CTCF site every {ctx.sizes.site_every:,} bp",
            mbp(total), f"written in {g.seconds:.1f} s ({total / 1e6 / max(g.seconds, 1e-9):.0f} Mbp/s)"),
        Row("model scan -> bigWig", f"{ctx.device} fp32, CTCF model ({cfg.n_filters} x {cfg.filter_width}), "
            f"window {cfg.seq_length}, stride {WindowOptions.stride}", mbp(total),
            f"**{stats['bases'] / 1e6 / wall:.2f} Mbp/s** end to end ({wall:.1f} s, {stats['windows']:,} windows)",
            stats["bases"] == total and _bigwig_chroms(out) == g.sizes),
    ]


def _bigwig_chroms(path: Path) -> dict[str, int]:
    import pyBigWig

    with pyBigWig.open(str(path)) as bw:
        return dict(bw.chroms())


def _read_bedgraph(path: Path):
    import pandas as pd

    t = pd.read_csv(path, sep="\t", header=None, names=["chrom", "start", "end", "score"],
                    dtype={"chrom": str, "start": np.int64, "end": np.int64, "score": np.float64})
    return t


def _read_peaks(path: Path) -> set[tuple[str, int, int]]:
    rows = (ln.split("\t", 3)[:3] for ln in path.read_text().splitlines() if ln)
    return {(c, int(s), int(e)) for c, s, e in rows}


def check_precision_agreement(ctx: Context) -> list[Row]:
    """fp32 / bf16 / fp16 on the device vs the CPU's fp32 scan, on a slice of the genome."""
    from motifscan.scan.options import InputOptions, OutputOptions, RunOptions, WindowOptions
    from motifscan.scan.run import scan_model

    g = ctx.genome()
    model = _model()
    region = ctx.region("slice", ctx.sizes.slice_mbp)
    inputs = InputOptions(regions=region)
    windows = WindowOptions(threshold=THRESHOLD)

    def scan(tag: str, run: RunOptions) -> tuple[Path, Path, float]:
        track, peaks = ctx.workdir / f"slice_{tag}.bedGraph", ctx.workdir / f"slice_{tag}.bed"
        t = time.perf_counter()
        stats = scan_model(model, g.path, OutputOptions(track, peaks=peaks), windows=windows, inputs=inputs, run=run)
        return track, peaks, stats["bases"] / 1e6 / (time.perf_counter() - t)

    say(f"precision agreement on {mbp(ctx.sizes.slice_mbp * 1e6)} ...")
    ref_track, ref_peaks, ref_speed = scan("cpu", RunOptions(device="cpu", progress=False))
    ref, ref_set = _read_bedgraph(ref_track), _read_peaks(ref_peaks)
    rows = []
    for precision in ("fp32", "bf16", "fp16"):
        track, peaks, speed = scan(precision, RunOptions(device=ctx.device, precision=precision, conv_method="dense",
                                                         progress=False))
        got, got_set = _read_bedgraph(track), _read_peaks(peaks)
        same_windows = len(got) == len(ref) and (got[["chrom", "start", "end"]].values == ref[["chrom", "start", "end"]].values).all()
        diff = float(np.abs(got["score"].to_numpy() - ref["score"].to_numpy()).max()) if same_windows else float("nan")
        union = ref_set | got_set
        same = len(ref_set & got_set) / len(union) if union else 0.0
        tol, min_same = TOLERANCE[precision]
        rows.append(Row(
            f"agreement {precision}", f"{ctx.device} {precision} (conv1d) vs cpu fp32 (k-mer table), window scores "
            f"and peaks >= {THRESHOLD}", mbp(ctx.sizes.slice_mbp * 1e6),
            f"max abs diff {diff:.2g} (<= {tol:g}); peaks identical {same:.1%} of {len(union):,} (>= {min_same:.0%}); "
            f"{speed:.1f} Mbp/s (cpu fp32: {ref_speed:.1f})",
            bool(same_windows and diff <= tol and same >= min_same and ref_set)))
    return rows


def _motifs(n: int | None):
    from motifscan.io.motif_formats import read_motifs
    from motifscan.motifs import jaspar_path

    motifs = read_motifs(jaspar_path())
    if n is None:
        return motifs
    # CTCF (planted: hits for sure) and motifs long enough to reach p <= 1e-4
    return [m for m in motifs if m.id == PLANTED] + [m for m in motifs if m.id != PLANTED and m.width >= 10][: n - 1]


def check_motif_scan(ctx: Context) -> list[Row]:
    """Every JASPAR motif over the first ``motif_mbp`` of the genome, as users run it (auto)."""
    from motifscan.scan.options import InputOptions, MotifOptions, RunOptions
    from motifscan.scan.run import scan_motifs

    g = ctx.genome()
    motifs = _motifs(ctx.sizes.n_motifs)
    region = ctx.region("motif_region", ctx.sizes.motif_mbp)
    say(f"motif scan: {len(motifs)} motifs over {mbp(ctx.sizes.motif_mbp * 1e6)} on {ctx.device} ...")
    t = time.perf_counter()
    stats = scan_motifs(motifs, g.path, ctx.workdir / "motif_hits.tsv", inputs=InputOptions(regions=region),
                        run=RunOptions(device=ctx.device, progress=False))
    wall = time.perf_counter() - t
    return [Row("motif-file scan -> FIMO TSV",
                f"{ctx.device}, {len(motifs)} JASPAR 2024 motifs, p <= {MotifOptions.pvalue:g}, search auto",
                mbp(stats["bases"]),
                f"**{stats['bases'] / 1e6 / wall:.2f} Mbp/s** ({wall:.1f} s incl. motif preparation), "
                f"{stats['hits']:,} hits", stats["bases"] > 0 and stats["hits"] > 0)]


def check_motif_agreement(ctx: Context) -> list[Row]:
    """The device's dense search against the CPU lookahead search: identical hits."""
    from motifscan.scan.options import InputOptions, MotifOptions, RunOptions
    from motifscan.scan.run import scan_motifs

    g = ctx.genome()
    motifs = _motifs(ctx.sizes.n_motifs)
    inputs = InputOptions(regions=ctx.region("motif_slice", ctx.sizes.motif_slice_mbp))
    say(f"motif agreement on {mbp(ctx.sizes.motif_slice_mbp * 1e6)} ...")
    out = {}
    for tag, method, device in (("cpu", "lookahead", "cpu"), ("device", "dense", ctx.device)):
        out[tag] = ctx.workdir / f"motif_slice_{tag}.tsv"
        scan_motifs(motifs, g.path, out[tag], options=MotifOptions(method=method), inputs=inputs,
                    run=RunOptions(device=device, progress=False))
    ref, got = out["cpu"].read_text().splitlines(), out["device"].read_text().splitlines()
    n = len(ref) - 1  # header
    differ = len(set(ref) ^ set(got))
    return [Row("motif agreement", f"{ctx.device} dense vs cpu lookahead, {len(motifs)} motifs",
                mbp(ctx.sizes.motif_slice_mbp * 1e6),
                f"{n:,} hits; " + ("identical" if ref == got else f"{differ:,} rows differ"), ref == got and n > 0)]


HG38_MBP = 3099  # issue 13's target: hg38 to bigWig in under 20 s on one H100/H200


def check_process_to_bigwig(ctx: Context) -> list[Row]:
    """``motifscan scan`` as a user runs it (a fresh process, the .fai built first) to bigWig."""
    g = ctx.genome()
    out = ctx.workdir / "process.bw"
    total = sum(g.sizes.values())
    cmd = [sys.executable, "-m", "motifscan", "scan", str(MODEL), str(g.path), "-o", str(out),
           "--device", ctx.device, "--quiet"]
    say(f"motifscan scan (whole process) of {mbp(total)} on {ctx.device} ...")
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        return [Row("process -> bigWig", " ".join(cmd[3:]), mbp(total), res.stderr.strip()[-300:], False)]
    rate = total / 1e6 / wall
    return [Row("process -> bigWig", f"`motifscan scan MODEL genome.fa -o out.bw --device {ctx.device}`", mbp(total),
                f"**{wall:.1f} s** whole process ({rate:.1f} Mbp/s); hg38 ({HG38_MBP:,} Mbp) at this rate: "
                f"{HG38_MBP / rate:.0f} s (target < 20 s)", _bigwig_chroms(out) == g.sizes)]


def _snv_vcf(ctx: Context, n: int, name: str) -> Path:
    """``n`` random SNVs (sorted) on the genome's first chromosome, REF from the genome."""
    from motifscan.io.fasta import IndexedFasta

    g = ctx.genome()
    chrom, size = next(iter(g.sizes.items()))
    fa = IndexedFasta(g.path)
    rng = np.random.default_rng(0)
    seq = fa.fetch(chrom, 0, size)
    pos = np.sort(rng.choice(np.flatnonzero(seq < 4), min(n, int((seq < 4).sum())), replace=False))
    alt = (seq[pos] + rng.integers(1, 4, len(pos))) % 4
    path = ctx.workdir / f"{name}.vcf"
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n" + f"##contig=<ID={chrom},length={size}>\n"
                 + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        fh.write("".join(f"{chrom}\t{p + 1}\t.\t{'ACGT'[r]}\t{'ACGT'[a]}\t.\t.\t.\n"
                         for p, r, a in zip(pos.tolist(), seq[pos].tolist(), alt.tolist())))
    return path


def check_variants(ctx: Context) -> list[Row]:
    """Variant effects on the device against the CPU: model deltas to 1e-4, motif rows identical."""
    from motifscan.scan.options import RunOptions
    from motifscan.interpret.variants import motif_variants, score_variants

    n, n_motif = (200_000, 20_000) if not ctx.dry_run else (500, 200)
    vcf = _snv_vcf(ctx, n, "snvs")
    g = ctx.genome()
    model = _model()
    say(f"variants: {n:,} SNVs, model and {len(_motifs(ctx.sizes.n_motifs))} motifs, {ctx.device} vs cpu ...")
    rows, out, seconds = [], {}, {}
    for tag, device in (("cpu", "cpu"), ("device", ctx.device)):
        out[tag] = ctx.workdir / f"effects_{tag}.tsv"
        t = time.perf_counter()
        score_variants(model, vcf, g.path, out[tag], run=RunOptions(device=device, progress=False))
        seconds[tag] = time.perf_counter() - t

    def deltas(path: Path) -> np.ndarray:
        return np.loadtxt(path, skiprows=1, usecols=9, dtype=np.float64, ndmin=1)  # logit_delta

    diff = float(np.abs(deltas(out["cpu"]) - deltas(out["device"])).max())
    rows.append(Row("variants, model", f"{ctx.device} vs cpu (fp32), logit deltas", f"{n:,} SNVs",
                    f"{n / seconds['device']:,.0f} variants/s on {ctx.device} ({n / seconds['cpu']:,.0f}/s cpu); "
                    f"largest logit delta difference {diff:.2g}", diff <= 1e-4))
    motifs = _motifs(ctx.sizes.n_motifs)
    vcf, n = _snv_vcf(ctx, n_motif, "snvs_motif"), n_motif  # the CPU side does ~1,700 variants/s
    for tag, device in (("cpu", "cpu"), ("device", ctx.device)):
        out[tag] = ctx.workdir / f"breaks_{tag}.tsv"
        t = time.perf_counter()
        motif_variants(motifs, vcf, g.path, out[tag], run=RunOptions(device=device, progress=False))
        seconds[tag] = time.perf_counter() - t
    same = out["cpu"].read_bytes() == out["device"].read_bytes()
    n_rows = len(out["cpu"].read_text().splitlines()) - 1
    rows.append(Row("variants, motifs", f"{len(motifs)} motifs, {ctx.device} vs cpu", f"{n:,} SNVs",
                    f"{n / seconds['device']:,.0f} variants/s on {ctx.device} ({n / seconds['cpu']:,.0f}/s cpu); "
                    f"{n_rows:,} rows, " + ("identical" if same else "DIFFER"), same))
    return rows


def check_ism(ctx: Context) -> list[Row]:
    """Exact ISM of 1 kb sequences on the device against the CPU."""
    from motifscan.interpret.attribute import attribute_codes

    n = 512 if not ctx.dry_run else 4
    codes = np.random.default_rng(1).integers(0, 4, (n, 1000)).astype(np.uint8)
    model = _model()
    say(f"ISM of {n} x 1 kb on {ctx.device} vs cpu ...")
    got, seconds = {}, {}
    for tag, device in (("cpu", "cpu"), ("device", ctx.device)):
        t = time.perf_counter()
        got[tag] = attribute_codes(model, codes, method="ism", device=device)
        seconds[tag] = time.perf_counter() - t
    diff = float(np.abs(got["cpu"] - got["device"]).max())
    return [Row("ISM", f"{ctx.device} vs cpu, exact in-silico mutagenesis", f"{n} x 1 kb",
                f"{seconds['device'] / n * 1e3:.2f} ms per sequence on {ctx.device} "
                f"({seconds['cpu'] / n * 1e3:.1f} ms cpu); largest difference {diff:.2g}", diff <= 1e-4)]


CHECKS: list[Callable[[Context], list[Row]]] = [
    check_environment,
    check_cuda_tests,
    check_model_scan,
    check_precision_agreement,
    check_motif_scan,
    check_motif_agreement,
    check_process_to_bigwig,
    check_variants,
    check_ism,
]


def table(rows: list[Row]) -> str:
    """The rows as one markdown table."""
    mark = {True: "pass", False: "**FAIL**", None: ""}
    lines = ["| check | setting | size | result | ok |", "|---|---|---|---|---|"]
    for r in rows:
        cells = [r.check, r.setting, r.size, r.result, mark[r.ok]]
        lines.append("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def run_checks(ctx: Context, only: set[str] | None = None) -> list[Row]:
    rows = []
    t0 = time.perf_counter()
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        if only and name not in only and name != "environment":
            continue
        t = time.perf_counter()
        try:
            rows.extend(check(ctx))
        except Exception as exc:  # one broken check must not hide the others' numbers
            traceback.print_exc()
            rows.append(Row(name, "crashed", "", f"{type(exc).__name__}: {exc}"[:300], False))
        say(f"{name}: {time.perf_counter() - t:.1f} s")
    total = time.perf_counter() - t0
    rows.append(Row("total", "every check above", "", f"{total:.0f} s" + ("" if ctx.dry_run else f" (budget {BUDGET_S} s)"),
                    None if ctx.dry_run or only else total <= BUDGET_S))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes, CPU: the same code path in seconds")
    ap.add_argument("--device", help="device to check (default: cuda; cpu with --dry-run)")
    ap.add_argument("--out", type=Path, default=Path("gpu_check.md"), help="write the table here too")
    ap.add_argument("--workdir", type=Path, help="keep the genome and outputs here (default: a temporary dir)")
    ap.add_argument("--genome-mbp", type=float, help=f"genome size (default {FULL.genome_mbp:g})")
    ap.add_argument("--motif-mbp", type=float, help=f"motif-scan size (default {FULL.motif_mbp:g})")
    ap.add_argument("--only", help="comma-separated checks: " + ", ".join(c.__name__[6:] for c in CHECKS))
    args = ap.parse_args(argv)
    sizes = DRY if args.dry_run else FULL
    overrides = {k: v for k, v in (("genome_mbp", args.genome_mbp), ("motif_mbp", args.motif_mbp)) if v}
    if overrides:
        sizes = Sizes(**{**sizes.__dict__, **overrides})
    device = args.device or ("cpu" if args.dry_run else "cuda")
    only = set(args.only.split(",")) if args.only else None
    logging.getLogger("motifscan").setLevel(logging.WARNING)

    from motifscan.atomic import atomic_open
    from motifscan.device import resolve_device
    from motifscan.errors import MotifscanError

    try:
        resolve_device(device)
    except MotifscanError as exc:
        print(f"gpu_check: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="gpu_check.") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        rows = run_checks(Context(device, sizes, workdir, args.dry_run), only)
    text = table(rows)
    print(text, end="")
    with atomic_open(args.out) as fh:
        fh.write(text)
    say(f"table written to {args.out}")
    return 1 if any(r.ok is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
