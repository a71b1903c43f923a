"""``motifscan gather``: the shards of a sharded scan (``scan --shard I/N``) joined into one output."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..text import plural
from ._base import cli, log, quiet_option


@cli.command("gather")
@click.argument("tracks", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The joined bigWig: byte for byte the unsharded scan's.")
@click.option("--shard-peaks", multiple=True, type=click.Path(dir_okay=False),
              help="Each shard's --peaks BED, in the order of TRACKS (once per shard).")
@click.option("--peaks", type=click.Path(dir_okay=False),
              help="With --shard-peaks: the joined peaks (peaks cut at shard edges merged).")
@quiet_option
def gather(tracks, output, shard_peaks, peaks, quiet):
    """Join the bigWigs TRACKS of shards 1..N (in that order), and their peaks, into one.

    Text outputs of a sharded scan (bedGraph, TSV, filter hits) concatenate in shard order;
    bigWigs do not, and peaks may be cut at shard edges: this joins them into the outputs of
    the same scan without --shard (same model and options). See motifscan.io.gather.

    \b
    Example:
      for i in 1 2 3 4; do motifscan scan model.h5 genome.fa --shard $i/4 -o $i.bw --peaks $i.bed; done
      motifscan gather 1.bw 2.bw 3.bw 4.bw -o track.bw --shard-peaks 1.bed --shard-peaks 2.bed \\
          --shard-peaks 3.bed --shard-peaks 4.bed --peaks peaks.bed
    """
    from ..atomic import check_output_path
    from ..io.gather import gather as gather_shards
    from ..io.gather import gather_tracks

    if bool(shard_peaks) != bool(peaks):
        raise UsageError("--peaks (the joined peaks) and --shard-peaks (each shard's) go together")
    check_output_path(output)
    if peaks:
        check_output_path(peaks, option="--peaks")
        from ..scan.significance import gather_significant_peaks, has_sidecars

        # shards scanned with a null (scan --null/--fdr) left p-value counts for genome-wide q-values
        merge = gather_significant_peaks if has_sidecars(shard_peaks) else None
        got = gather_shards(tracks, shard_peaks, output, peaks, merge_peaks=merge)
        log.info("gathered %d track values from %s -> %s; %d peaks -> %s", got["values"], plural(len(tracks), "shard"),
                 output, got["peaks"], peaks)
    else:
        n = gather_tracks(tracks, output)
        log.info("gathered %d track values from %s -> %s", n, plural(len(tracks), "shard"), output)
    return 0
