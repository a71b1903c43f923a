"""Random SNVs on a simulated genome, for the demo's variants stage: half in planted sites, half away.

    python simulate_snvs.py genome.fa --truth truth.bed --n 400 --seed 0 -o snvs.vcf

Each planted site (truth BED) gets SNVs at random positions inside it; the rest fall at least
100 bp from every site. The ID column says which (``site_CHROM_POS`` / ``bg_CHROM_POS``), so the
report can compare their effects. ALT is a random other base; the VCF is sorted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import one_line_errors, read_bed  # noqa: E402


def simulate(genome: str, truth: str, n: int, seed: int) -> str:
    from motifscan.io.fasta import IndexedFasta

    fa = IndexedFasta(genome)
    sites = read_bed(truth)
    rng = np.random.default_rng(seed)
    rows = []
    k = min(n // 2, len(sites["start"]))
    for i in rng.choice(len(sites["start"]), k, replace=False) if k else []:
        c, s, e = sites["chrom"][i], int(sites["start"][i]), int(sites["end"][i])
        rows.append((c, int(rng.integers(s, e)), "site"))
    chroms = list(fa.sizes)
    while len(rows) < n:
        c = chroms[int(rng.integers(len(chroms)))]
        p = int(rng.integers(0, fa.sizes[c]))
        sel = sites["chrom"] == c
        if sel.any() and np.min(np.maximum(sites["start"][sel] - p, p - sites["end"][sel] + 1)) < 100:
            continue
        rows.append((c, p, "bg"))
    order = {c: i for i, c in enumerate(chroms)}
    rows.sort(key=lambda r: (order[r[0]], r[1]))
    out = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={n}>" for c, n in fa.sizes.items()),
           "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for c, p, kind in rows:
        ref = fa.fetch_raw(c, p, p + 1).upper()
        if ref not in "ACGT" or not ref:
            continue
        alt = "ACGT".replace(ref, "")[int(rng.integers(3))]
        out.append(f"{c}\t{p + 1}\t{kind}_{c}_{p + 1}\t{ref}\t{alt}\t.\t.\t.")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("genome")
    ap.add_argument("--truth", required=True)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    with one_line_errors(__file__):
        from motifscan.atomic import atomic_open, check_output_path

        check_output_path(args.output)
        text = simulate(args.genome, args.truth, args.n, args.seed)
        with atomic_open(args.output, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
