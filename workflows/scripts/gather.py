"""Gather the shards of a genome-wide scan: one bigWig track and one merged peak BED.

    python gather.py --sizes chrom.sizes --tracks 1.bedgraph 2.bedgraph ... \
        --peaks 1.peaks.bed 2.peaks.bed ... --out-track track.bw --out-peaks peaks.bed

`motifscan scan --shard I/N` outputs concatenate, in shard order, to the unsharded output, so the
tracks stream into the bigWig in order (checked: a chromosome out of order or a start going
back is an error). Peaks from different shards that overlap or touch (a peak cut at a shard
boundary) are merged, keeping the best window's score, signal and summit.
"""

from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import one_line_errors  # noqa: E402

LINES_PER_BATCH = 1 << 20


def read_sizes(path) -> list[tuple[str, int]]:
    rows = [ln.split("\t") for ln in Path(path).read_text().splitlines() if ln.strip()]
    return [(c, int(n)) for c, n in rows]


def write_bigwig(tracks: list[str], sizes: list[tuple[str, int]], out: str) -> int:
    """Stream bedGraph shards into a bigWig; returns the number of intervals."""
    import pyBigWig

    from motifscan.atomic import atomic_path

    rank = {c: i for i, (c, _) in enumerate(sizes)}
    n, last = 0, (-1, -1)
    with atomic_path(out) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader(sizes)
            for path in tracks:
                with open(path) as fh:
                    while True:
                        lines = list(islice(fh, LINES_PER_BATCH))
                        if not lines:
                            break
                        f = np.array([ln.split("\t") for ln in lines if ln.strip()], dtype=object)
                        if not len(f):
                            continue
                        chroms = f[:, 0].tolist()
                        starts = f[:, 1].astype(np.int64)
                        ends = f[:, 2].astype(np.int64)
                        vals = f[:, 3].astype(np.float64)
                        key = np.array([rank[c] for c in chroms]) * (1 << 40) + starts
                        if key[0] < last[0] * (1 << 40) + last[1] or np.any(np.diff(key) < 0):
                            raise ValueError(f"{path}: intervals are not in genome order")
                        last = (rank[chroms[-1]], int(starts[-1]))
                        bw.addEntries(chroms, starts.tolist(), ends=ends.tolist(),
                                      values=vals.tolist())
                        n += len(chroms)
        finally:
            bw.close()
    return n


def merge_peaks(peak_files: list[str], sizes: list[tuple[str, int]], out: str) -> int:
    """Concatenate peak BEDs, sort them, merge overlapping/touching ones; returns the count."""
    from motifscan.atomic import atomic_open

    rank = {c: i for i, (c, _) in enumerate(sizes)}
    rows = []
    for path in peak_files:
        with open(path) as fh:
            rows += [ln.rstrip("\n").split("\t") for ln in fh if ln.strip()]
    rows.sort(key=lambda r: (rank.get(r[0], len(rank)), int(r[1]), int(r[2])))
    merged: list[list] = []
    for r in rows:
        chrom, s, e = r[0], int(r[1]), int(r[2])
        signal = float(r[6]) if len(r) > 6 else float(r[4])
        summit = s + int(r[9]) if len(r) > 9 and int(r[9]) >= 0 else (s + e) // 2
        cur = merged[-1] if merged else None
        if cur is not None and cur[0] == chrom and s <= cur[2]:
            cur[2] = max(cur[2], e)
            if signal > cur[3]:
                cur[3], cur[4] = signal, summit
        else:
            merged.append([chrom, s, e, signal, summit])
    with atomic_open(out, "w") as fh:
        for chrom, s, e, v, summit in merged:
            fh.write(f"{chrom}\t{s}\t{e}\t{chrom}:{s}-{e}\t{min(1000, int(1000 * v))}\t.\t"
                     f"{v:.6g}\t-1\t-1\t{summit - s}\n")
    return len(merged)


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

        check_output_path(args.out_track)
        check_output_path(args.out_peaks)
        sizes = read_sizes(args.sizes)
        n = write_bigwig(args.tracks, sizes, args.out_track)
        k = merge_peaks(args.peaks, sizes, args.out_peaks)
        print(f"gather: {n} track intervals from {len(args.tracks)} shards -> {args.out_track}; "
              f"{k} peaks -> {args.out_peaks}", file=sys.stderr)


if __name__ == "__main__":
    main()
