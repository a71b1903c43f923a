"""Check an experiment's peaks, summarise them, and write the held-out (test-chromosome) part.

    python prepare_peaks.py PEAKS [--genome FA] --test-chroms chr1,chr3 -o peaks.json --heldout OUT

PEAKS is FASTA (records named chrom:start-end) or BED/narrowPeak (needs --genome, checked
against it). OUT gets the peaks on the test chromosomes, in the same format, for
`motifscan evaluate` (training never sees them).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import one_line_errors  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("peaks")
    ap.add_argument("--genome")
    ap.add_argument("--test-chroms", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--heldout", required=True)
    args = ap.parse_args()
    with one_line_errors(__file__):
        run(args)


def run(args) -> None:
    from motifscan.atomic import atomic_open, check_output_path
    from motifscan.data.datasets import is_fasta
    from motifscan.errors import InputError
    from motifscan.io.fasta import IndexedFasta, read_fasta
    from motifscan.codes import decode
    from motifscan.io.intervals import check_chromosomes, parse_region_name, read_intervals

    check_output_path(args.output)
    check_output_path(args.heldout, option="--heldout")
    test = set(args.test_chroms.split(","))
    path = Path(args.peaks)
    if is_fasta(path):
        kind, lengths, chroms, held = "fasta", [], [], []
        for rec in read_fasta(path):
            region = parse_region_name(rec.name)
            chrom = region[0] if region else None
            lengths.append(len(rec))
            chroms.append(chrom)
            if chrom in test:
                held.append(f">{rec.name}\n{decode(rec.codes)}\n")
    else:
        if not args.genome:
            raise InputError("peaks are not FASTA, so they are BED and need a genome",
                             path=path, hint="add `genome:` to the experiment in the config")
        kind = "bed"
        ivs = read_intervals(path)
        check_chromosomes(ivs, IndexedFasta(args.genome).sizes, path, args.genome)
        lengths = [iv.end - iv.start for iv in ivs]
        chroms = [iv.chrom for iv in ivs]
        with open(path) as fh:
            held = [ln for ln in fh if ln.split("\t", 1)[0] in test]
    if not lengths:
        raise InputError("no peaks", path=path)
    if not held:
        raise InputError(f"no peaks on the test chromosomes {args.test_chroms}", path=path,
                         hint="set train: test_chroms: to chromosomes that have peaks")
    with atomic_open(args.heldout, "w") as fh:
        fh.writelines(held)
    lengths = np.asarray(lengths)
    summary = {
        "path": str(path), "format": kind, "n": int(len(lengths)), "n_heldout": len(held),
        "test_chroms": sorted(test),
        "length": {"min": int(lengths.min()), "median": float(np.median(lengths)),
                   "max": int(lengths.max())},
        "chroms": dict(Counter(c or "?" for c in chroms).most_common()),
    }
    with atomic_open(args.output, "w") as fh:
        json.dump(summary, fh, indent=2)


if __name__ == "__main__":
    main()
