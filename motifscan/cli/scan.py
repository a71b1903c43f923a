"""``motifscan scan``: score genomes or reads with a model (or, given a motif file, a PWM scan)."""

from __future__ import annotations

from pathlib import Path

import click

from ..atomic import check_output_path
from ..errors import InputError, UsageError
from ._base import cli, device_options, quiet_option

from .scan import pwm_options, run_motif_scan  # the PWM (FIMO-like) scan of motif files


def _chroms(values: tuple[str, ...]) -> list[str] | None:
    out = [c.strip() for v in values for c in v.split(",") if c.strip()]
    return out or None


@cli.command(context_settings={"show_default": True})
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output; format from the extension: .bedGraph, .bw, .bed (peaks), .tsv (records).")
@click.option("--mode", type=click.Choice(["windows", "records"]),
              help="windows: sliding-window track/peaks; records: one score per record or read "
                   "[default: records for BAM/CRAM/SAM or a .tsv output, else windows].")
@click.option("--format", "fmt", type=click.Choice(["bedgraph", "bigwig", "peaks", "tsv"]),
              help="Output format, when the extension does not say.")
@click.option("--window", type=click.IntRange(min=1), help="Window length [default: the model's training length].")
@click.option("--stride", type=click.IntRange(min=1), default=50, help="Step between window starts.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, help="Peaks: windows scoring at least this are merged.")
@click.option("--hits", type=click.Path(dir_okay=False), help="Also write filter hits as BED6 + matched sequence.")
@click.option("--hit-fraction", type=click.FloatRange(0, 1, min_open=True), default=0.75,
              help="A filter hit needs this fraction of the filter's maximum possible activation.")
@click.option("--shard", help="Scan part I of N (I/N, 1-based); shard outputs concatenate to the full output.")
@click.option("--chrom", "chroms", multiple=True, help="Only these chromosomes (comma-separated or repeated; indexed FASTA).")
@click.option("--regions", type=click.Path(dir_okay=False), help="Only these BED regions (indexed FASTA); windows lie wholly inside them.")
@click.option("--skip-masked", is_flag=True, help="Read soft-masked (lower-case) bases as N.")
@click.option("--reference", type=click.Path(dir_okay=False), help="Reference FASTA for CRAM input.")
@click.option("--include-secondary", is_flag=True, help="Also score secondary and supplementary alignments.")
@click.option("--tag-bam", type=click.Path(dir_okay=False), help="Reads: also write them back as BAM with the score in tag 'ms'.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Rows (chunks or reads) per batch [default: from free memory].")
@click.option("--chunk-size", type=click.IntRange(min=1), help="Bases per chunk [default: 8192 on CPU, 1 Mbp on CUDA].")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]), default="fp32",
              help="Convolution precision (bf16/fp16 for GPUs).")
@click.option("--conv-method", type=click.Choice(["auto", "table", "dense"]), default="auto",
              help="Model scans: 'table' sums precomputed k-mer rows (CPU, fp32; several times faster), "
                   "'dense' is conv1d; auto: table on CPU in fp32, else dense.")
@pwm_options
@device_options
@quiet_option
def scan(model, input_path, output, mode, fmt, window, stride, threshold, hits, hit_fraction, shard, chroms,
         regions, skip_masked, reference, include_secondary, tag_bam, batch_size, chunk_size, precision,
         conv_method, device, threads, quiet, **pwm_params):
    """Scan INPUT (FASTA, FASTA.gz, bgzip, '-', or BAM/CRAM/SAM) with MODEL.

    MODEL is a model file (.h5) from 'motifscan train', or a motif file (.meme, .jaspar,
    .transfac, .motif) for a FIMO-like PWM scan. Windows that are more than half N are skipped;
    windows must fit wholly in their sequence.
    """
    import h5py

    from ..device import set_threads
    from ..scan.shard import parse_shard

    if not Path(model).exists():
        raise InputError("model or motif file not found", path=model)
    if input_path != "-" and not Path(input_path).exists():
        raise InputError("input file not found", path=input_path)
    for path, opt in ((output, "-o"), (hits, "--hits"), (tag_bam, "--tag-bam")):
        if path is not None:
            check_output_path(path, option=opt)
    outputs = [Path(p).resolve() for p in (output, hits, tag_bam) if p]
    if len(set(outputs)) < len(outputs):
        raise UsageError("-o, --hits and --tag-bam must name different files", hint="give each output its own path")
    set_threads(threads)
    shard_spec = parse_shard(shard)
    if not h5py.is_hdf5(model):
        params = dict(mode=mode, fmt=fmt, window=window, stride=stride, threshold=threshold, hits=hits,
                      shard=shard_spec, chroms=_chroms(chroms), regions=regions, skip_masked=skip_masked,
                      reference=reference, include_secondary=include_secondary, batch_size=batch_size,
                      chunk_size=chunk_size, precision=precision, device=device, quiet=quiet, **pwm_params)
        return run_motif_scan(model, input_path, output, **params)
    from ..device import resolve_device
    from ..model import load_model
    from ..scan.run import scan_model

    dev = resolve_device(device)
    net = load_model(model, device=dev)
    scan_model(net, input_path, output, mode=mode, fmt=fmt, window=window, stride=stride, threshold=threshold,
               hits=hits, hit_fraction=hit_fraction, shard=shard_spec, chroms=_chroms(chroms), regions=regions,
               batch_size=batch_size, chunk_size=chunk_size, precision=precision, device=dev,
               skip_masked=skip_masked, reference=reference, include_secondary=include_secondary,
               tag_bam=tag_bam, quiet=quiet, conv_method=conv_method)
    return 0
