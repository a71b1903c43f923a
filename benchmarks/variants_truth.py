"""Do variant effects find the planted sites? (tests/test_variants.py checks the same at CI size.)

    python benchmarks/variants_truth.py [--genome-mb 3] [--sites 300] [--positions 6]

A synthetic genome with planted CTCF sites (``motifscan simulate``, JASPAR MA0139.2); SNVs at the
``--positions`` most informative columns of every planted site (the complementary base) and as
many SNVs at least 100 bp from any site. Reports, with the pretrained model
(``models/ctcf_gm12878.h5``), the AUROC of ``|logit_delta|`` for in-site vs far SNVs, and with
the JASPAR file, the fraction of in-site SNVs that break or weaken MA0139.2 (and of far SNVs).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genome-mb", type=float, default=3.0)
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--positions", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import pandas as pd

    from motifscan.io.fasta import IndexedFasta
    from motifscan.io.motif_formats import read_motifs
    from motifscan.metrics import auroc
    from motifscan.model import load_model
    from motifscan.motifs import jaspar_path
    from motifscan.scan.options import RunOptions
    from motifscan.interpret.variants import motif_variants, score_variants
    from motifscan.simulate import simulate_genome

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    ctcf = next(m for m in read_motifs(jaspar_path()) if m.id == "MA0139.2")
    ic = np.log2(4) + (ctcf.probs * np.log2(np.maximum(ctcf.probs, 1e-12))).sum(axis=1)
    top = np.argsort(-ic)[: args.positions]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        sim = simulate_genome(d / "g.fa", d / "t.bed", length=int(args.genome_mb * 1e6), n_chroms=1, motif=ctcf,
                              n_sites=args.sites, seed=args.seed)
        fa = IndexedFasta(d / "g.fa")
        (chrom, size), = fa.sizes.items()
        seq = fa.fetch_raw(chrom, 0, size).upper()
        starts = np.array([s for _c, s, _e, _st in sim.sites])
        rng = np.random.default_rng(args.seed)
        near = [s + j if st == "+" else e - 1 - j for _c, s, e, st in sim.sites for j in top]
        far: list[int] = []
        while len(far) < len(near):
            p = int(rng.integers(200, size - 200))
            if np.abs(starts - p).min() >= 100 + ctcf.width:
                far.append(p)
        comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
        rows = sorted([(p, f"near{p}") for p in near] + [(p, f"far{p}") for p in far])
        lines = ["##fileformat=VCFv4.2", f"##contig=<ID={chrom},length={size}>",
                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
        lines += [f"{chrom}\t{p + 1}\t{i}\t{seq[p]}\t{comp[seq[p]]}\t.\t.\t." for p, i in rows]
        (d / "v.vcf").write_text("\n".join(lines) + "\n")
        run = RunOptions(device="cpu")
        t = time.perf_counter()
        score_variants(load_model(REPO / "models" / "ctcf_gm12878.h5"), d / "v.vcf", d / "g.fa", d / "e.tsv", run=run)
        df = pd.read_csv(d / "e.tsv", sep="\t")
        is_near = df.id.str.startswith("near").to_numpy()
        auc = auroc(is_near.astype(float), df.logit_delta.abs().to_numpy())
        print(f"{args.genome_mb:g} Mbp, {args.sites} planted CTCF sites, {len(near)} in-site SNVs (top {args.positions} "
              f"IC positions) vs {len(far)} SNVs >= 100 bp away ({time.perf_counter() - t:.1f} s)")
        print(f"model mode: AUROC of |logit_delta| = {auc:.4f}; median |logit_delta| in sites "
              f"{df.logit_delta.abs()[is_near].median():.3g}, far {df.logit_delta.abs()[~is_near].median():.3g}")
        motif_variants(jaspar_path(), d / "v.vcf", d / "g.fa", d / "b.tsv", run=run)
        b = pd.read_csv(d / "b.tsv", sep="\t")
        hit = b[(b.motif_id == "MA0139.2") & b.effect.isin(["broken", "weakened"])]
        n_near = hit.id.str.startswith("near").groupby(hit.id).first().sum()
        n_far = (~hit.id.str.startswith("near")).groupby(hit.id).first().sum()
        print(f"motif mode: MA0139.2 broken or weakened by {n_near}/{len(near)} in-site SNVs "
              f"({n_near / len(near):.1%}) and {n_far}/{len(far)} far SNVs")


if __name__ == "__main__":
    main()
