"""Benchmark ``motifscan enrich``: speed at ChIP-seq size, peak memory, counts against FIMO, real peaks.

Parts (each optional):

``--speed``
    40,000 synthetic peaks of 500 bp (GC drawn per peak from Beta(9, 11), a CTCF site planted in
    a third of them) against all 879 JASPAR motifs with one dinucleotide-shuffled control each:
    the whole job end to end (read the FASTA, build the bank, shuffle, scan, test, write the
    table), and the engine alone (the presence pass over peaks and controls).
``--rss``
    Peak resident memory of the whole job (a fresh process each) at 4,000 and 40,000 peaks.
``--fimo``
    Peaks with a site per motif from a plain per-motif loop over pymemesuite's FIMO (both
    strands, the same p-value threshold and background) against ``enrich``'s counts, on a subset
    (``--fimo-peaks`` peaks x ``--fimo-motifs`` motifs).
``--real``
    Top 5 motifs for the bundled CTCF peaks and for a MafK FASTA (``--mafk PATH``; default the
    bundled first 500).

Usage::

    python benchmarks/enrich_bench.py --speed --rss --fimo --real --mafk ../shared/data/mafk_peaks.fa

The machine load (``os.getloadavg``) is printed with the timings: on a shared machine they vary.

Measured 2026-12-06 on the 2-core dev machine, heavily loaded by other jobs (load average 7-13):

==========================================  =============================================
40,000 x 500 bp peaks + 40,000 shuffles,     whole job 104 s wall / 33.2 s CPU (load ~8);
879 JASPAR motifs, p <= 1e-4                 171 s wall / 32.9 s CPU (load ~12); engine alone
                                             (presence pass, 40 Mbp) 27-32 s CPU = 1.3-1.5 Mbp
                                             per CPU-second; bank build 3-9 s, shuffles 2-7 s
peak RSS (whole job, fresh process)          760 MB at 4,000 peaks, 760 MB at 40,000 peaks
counts vs per-motif pymemesuite FIMO loop    same counts, 500 peaks x 80 motifs (3,065 pairs)
CTCF example (500 peaks)                     MA0139.2 CTCF first (q 3.7e-172)
MafK (3,900 peaks of mafk_peaks.fa)          Mafb, MAFF, NRL, MAFA, MAF (q 1e-1034 ...)
==========================================  =============================================

The job is CPU-bound (its CPU time hardly moves with the load). On the same machine once quiet
(load average 0.2-1.0): whole job 23.2 s wall / 37.7 s CPU; bank build 1.3 s, shuffles 0.9 s,
engine 14.9 s wall (28.0 s CPU on 2 threads, 2.69 Mbp/s): under the 60 s target.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def synthetic_peaks(path: Path, n: int, length: int = 500, seed: int = 0) -> Path:
    """``n`` peaks of ``length`` bp: per-peak GC from Beta(9, 11), a sampled CTCF site in a third."""
    from motifscan.io.motif_formats import read_motifs
    from motifscan.motifs import jaspar_path

    rng = np.random.default_rng(seed)
    ctcf = next(m for m in read_motifs(jaspar_path()) if m.id.startswith("MA0139"))
    gc = rng.beta(9, 11, n)
    with open(path, "w") as fh:
        for i in range(n):
            p = np.array([1 - gc[i], gc[i], gc[i], 1 - gc[i]]) / 2
            seq = rng.choice(4, length, p=p)
            if i % 3 == 0:
                site = (rng.random((ctcf.width, 1)) > ctcf.probs.cumsum(axis=1)).sum(axis=1)
                at = int(rng.integers(0, length - ctcf.width))
                seq[at: at + ctcf.width] = site
            fh.write(f">peak{i}\n{''.join(np.array(list('ACGT'))[seq])}\n")
    return path


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def speed(fasta: Path, out: Path) -> None:
    import torch

    from motifscan.data.negatives import shuffle_copies
    from motifscan.interpret.enrich import EnrichOptions, build_bank, enrich
    from motifscan.io.fasta import read_fasta
    from motifscan.io.motif_formats import read_motifs
    from motifscan.kernels.presence import motif_presence
    from motifscan.motifs import jaspar_path
    from motifscan.scan.motif_scan import scan_threads

    print(f"threads: {torch.get_num_threads()}; {load()}", flush=True)
    t, c = time.perf_counter(), time.process_time()
    res = enrich(fasta, out / "enrichment.tsv", EnrichOptions())
    whole, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"whole job: {res.n_pos} peaks + {res.n_neg} controls x {len(res.motifs)} motifs: {whole:.1f} s wall, "
          f"{cpu:.1f} s CPU (all threads) ({load()})", flush=True)
    # the engine alone: the bank is built, the sequences are in memory
    bank = build_bank(read_motifs(jaspar_path()), EnrichOptions())
    t = time.perf_counter()
    bank.lookahead_index()
    t_bank = time.perf_counter() - t
    seqs = [r.codes for r in read_fasta(fasta)]
    t = time.perf_counter()
    ctrl = shuffle_copies(seqs, 1, seed=0)
    t_shuffle = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    for part in (seqs, ctrl):
        for a in range(0, len(part), 2000):
            motif_presence(part[a: a + 2000], bank.lookahead_index(), bank.filter_motif, len(bank.motifs),
                           threads=scan_threads())
    t_engine, c_engine = time.perf_counter() - t, time.process_time() - c
    mbp = 2 * sum(len(s) for s in seqs) / 1e6
    print(f"bank build {t_bank:.1f} s; shuffles {t_shuffle:.1f} s; engine (presence pass over {mbp:.0f} Mbp) "
          f"{t_engine:.1f} s wall = {mbp / t_engine:.2f} Mbp/s, {c_engine:.1f} s CPU ({load()})", flush=True)


def rss(n: int, work: Path) -> float:
    """Peak RSS (MB) of the whole job on ``n`` peaks, in a fresh process."""
    fasta = synthetic_peaks(work / f"peaks{n}.fa", n)
    code = ("import resource, sys; from motifscan.interpret.enrich import EnrichOptions, enrich; "
            f"enrich({str(fasta)!r}, {str(work / f'e{n}.tsv')!r}, EnrichOptions()); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1]) / 1024


def fimo_counts(meme: Path, fasta: Path, pvalue: float) -> dict[str, int]:
    """Sequences with at least one FIMO hit (p <= pvalue, both strands), per motif: a plain loop."""
    from pymemesuite.common import MotifFile, Sequence
    from pymemesuite.fimo import FIMO

    from motifscan.io.fasta import read_fasta
    from motifscan.codes import decode

    # pymemesuite's FIMO does not score a sequence's last window (a site ending at the last base is
    # never reported); a trailing N makes that window an ordinary one and adds no window of its own
    seqs = [Sequence(decode(r.codes) + "N", name=r.name.encode()) for r in read_fasta(fasta)]
    mf = MotifFile(str(meme), symmetrical=True)
    motifs = list(mf)
    fimo = FIMO(both_strands=True, threshold=pvalue, max_stored_scores=10_000_000)
    out = {}
    for m in motifs:
        pattern = fimo.score_motif(m, seqs, mf.background)
        out[m.accession.decode()] = len({e.source.accession for e in pattern.matched_elements
                                         if e.pvalue <= pvalue})
    return out


def fimo(work: Path, n_peaks: int, n_motifs: int, pvalue: float = 1e-4) -> None:
    from motifscan.interpret.enrich import EnrichOptions, count_sites
    from motifscan.io.motif_formats import read_motifs, write_motifs
    from motifscan.motifs import jaspar_path

    motifs = read_motifs(jaspar_path())
    pick = [motifs[i] for i in np.random.default_rng(1).choice(len(motifs), n_motifs, replace=False)]
    meme = work / "subset.meme"
    write_motifs(pick, meme)
    fasta = synthetic_peaks(work / "fimo_peaks.fa", n_peaks, seed=3)
    t = time.perf_counter()
    want = fimo_counts(meme, fasta, pvalue)
    t_fimo = time.perf_counter() - t
    from pymemesuite.common import MotifFile

    from motifscan.scan.motif_bank import MotifBank

    # pymemesuite's MotifFile(symmetrical=True) takes its own (NRDB) background, not the file's:
    # the same one for both, as benchmarks/pwm_bench.py does
    mf = MotifFile(str(meme), symmetrical=True)
    mf.read()
    bg = np.array(list(mf.background.frequencies))[:4]
    options = EnrichOptions(pvalue=pvalue)
    t = time.perf_counter()
    tp, _, n_pos, _ = count_sites(fasta, MotifBank(pick, background=bg, pvalue=pvalue), options)
    t_ours = time.perf_counter() - t
    got = {m.id: int(c) for m, c in zip(pick, tp)}
    diff = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
    print(f"FIMO per-motif loop vs enrich on {n_pos} peaks x {len(pick)} motifs (p <= {pvalue:g}): "
          f"{'same counts' if not diff else f'{len(diff)} motifs differ: {diff}'} "
          f"({sum(want.values())} (peak, motif) pairs; FIMO {t_fimo:.1f} s, enrich with controls {t_ours:.1f} s)",
          flush=True)


def real(mafk: Path) -> None:
    from motifscan.interpret.enrich import EnrichOptions, build_bank, count_sites, enrichment_statistics
    from motifscan.io.enrichment import format_log_value
    from motifscan.io.motif_formats import read_motifs
    from motifscan.motifs import jaspar_path

    bank = build_bank(read_motifs(jaspar_path()), EnrichOptions())
    for label, path in (("CTCF", REPO / "examples" / "ctcf" / "ctcf_gm12878_top500.fa"), ("MafK", mafk)):
        tp, fp, n_pos, n_neg = count_sites(path, bank, EnrichOptions())
        res = enrichment_statistics(bank.motifs, tp, fp, n_pos, n_neg)
        print(f"{label} ({path.name}, {n_pos} peaks vs {n_neg} shuffles): top 5")
        for rank, i in enumerate(res.order[:5], 1):
            m = bank.motifs[i]
            print(f"  {rank}. {m.id} {m.alt}: tp {tp[i]} ({100 * tp[i] / n_pos:.1f}%), fp {fp[i]} "
                  f"({100 * fp[i] / n_neg:.1f}%), p {format_log_value(res.log_pvalue[i])}, "
                  f"q {format_log_value(res.log_qvalue[i])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--rss", action="store_true")
    ap.add_argument("--fimo", action="store_true")
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--peaks", type=int, default=40_000)
    ap.add_argument("--fimo-peaks", type=int, default=500)
    ap.add_argument("--fimo-motifs", type=int, default=40)
    ap.add_argument("--mafk", type=Path, default=REPO / "examples" / "mafk" / "mafk_first500.fa")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="enrich-bench-") as tmp:
        work = Path(tmp)
        if args.speed:
            speed(synthetic_peaks(work / "peaks.fa", args.peaks), work)
        if args.rss:
            for n in (4_000, 40_000):
                print(f"peak RSS, {n} peaks: {rss(n, work):.0f} MB ({load()})", flush=True)
        if args.fimo:
            fimo(work, args.fimo_peaks, args.fimo_motifs)
        if args.real:
            real(args.mafk)


if __name__ == "__main__":
    main()
