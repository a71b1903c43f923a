"""Chromosome sizes of a FASTA; indexes it (.fai beside it) when it can, else streams it.

    python chrom_sizes.py GENOME.fa -o chrom.sizes
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import one_line_errors  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("fasta")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    with one_line_errors(__file__):
        from motifscan.atomic import atomic_open, check_output_path
        from motifscan.errors import InputError
        from motifscan.io.fasta import IndexedFasta, fasta_sizes, read_fasta

        check_output_path(args.output)
        # the .fai built by htslib and read in a few C calls (a draft of 10^6 scaffolds in seconds);
        # pyfaidx explains a file htslib cannot index; plain gzip or a read-only folder: streamed
        index = fasta_sizes(args.fasta)
        try:
            sizes = list(index.items()) if index is not None else list(IndexedFasta(args.fasta).sizes.items())
        except (InputError, OSError):
            sizes = [(rec.name, len(rec)) for rec in read_fasta(args.fasta)]
        with atomic_open(args.output, "w") as fh:
            fh.writelines(f"{name}\t{size}\n" for name, size in sizes)


if __name__ == "__main__":
    main()
