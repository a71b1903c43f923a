"""Gather the shards of a genome-wide scan: one bigWig track and one merged peak BED.

    python gather.py --sizes chrom.sizes --tracks 1.bw 2.bw ... \
        --peaks 1.peaks.bed 2.peaks.bed ... --out-track track.bw --out-peaks peaks.bed

Each shard (``motifscan scan --shard I/N -o I.bw --peaks I.peaks.bed``, one pass) hands over a
bigWig and its peaks; :func:`motifscan.io.gather.gather` joins them, in shard order, into the
outputs of the unsharded scan, byte for byte (no text is parsed but the peaks; memory does not
grow with the genome).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import one_line_errors  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--tracks", nargs="+", required=True)
    ap.add_argument("--peaks", nargs="+", required=True)
    ap.add_argument("--out-track", required=True)
    ap.add_argument("--out-peaks", required=True)
    args = ap.parse_args()
    with one_line_errors(__file__):
        from motifscan.atomic import check_output_path
        from motifscan.io.gather import gather
        from motifscan.io.intervals import read_sizes  # chrom.sizes or a .fai
        from motifscan.scan.significance import gather_significant_peaks, has_sidecars

        check_output_path(args.out_track)
        check_output_path(args.out_peaks)
        # shards scanned with a null (scan --fdr/--null) carry p-value counts for genome-wide q-values
        merge = gather_significant_peaks if has_sidecars(args.peaks) else None
        got = gather(args.tracks, args.peaks, args.out_track, args.out_peaks, sizes=read_sizes(args.sizes),
                     merge_peaks=merge)
        print(f"gather: {got['values']} track values from {len(args.tracks)} shards -> {args.out_track}; "
              f"{got['peaks']} peaks -> {args.out_peaks}", file=sys.stderr)


if __name__ == "__main__":
    main()
