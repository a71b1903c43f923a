"""``motifscan calibrate``: the null of a model's window scores on a genome, saved for scans."""

from __future__ import annotations

from pathlib import Path

import click

from ..interpret.calibrate import DEFAULT_MBP, CalibrateOptions
from ..scan.options import CONV_METHODS, PRECISIONS, InputOptions, RunOptions, WindowOptions
from ._base import cli, device_options, quiet_option
from .scan import genome_part_options, split_chroms


@cli.command("calibrate", context_settings={"show_default": True})
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("genome", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The null (HDF5), for scan --null.")
@click.option("--mbp", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_MBP,
              help="Mbp of genome windows to sample and shuffle.")
@click.option("--window", type=click.IntRange(min=1), help="Window length [default: the model's training length]; "
                                                           "the scan's.")
@click.option("--stride", type=click.IntRange(min=1), default=WindowOptions.stride, help="The scan's stride.")
@click.option("--seed", type=int, default=CalibrateOptions.seed, help="Seed of the sampling and shuffles.")
@click.option("--plot", type=click.Path(dir_okay=False),
              help="QQ plot of held-out shuffles per GC stratum [default: null.png beside the output].")
@click.option("--precision", type=click.Choice(PRECISIONS), default=RunOptions.precision,
              help="Convolution precision (as the scan's).")
@click.option("--conv-method", type=click.Choice(CONV_METHODS), default=RunOptions.conv_method,
              help="Convolution method (as the scan's).")
@genome_part_options
@device_options
@quiet_option
def calibrate(model, genome, output, mbp, window, stride, seed, plot, precision, conv_method, chroms, regions,
              skip_masked, device, threads, quiet):
    """Build the null of MODEL's window scores on GENOME (indexable FASTA) for 'scan --null'.

    Windows of GENOME (without N) are shuffled keeping their dinucleotides and scored by MODEL
    as the scan scores windows; the scores are kept per GC stratum, with a fitted tail for small
    p-values. A tenth is held out for the QQ plot. The null serves scans of this model, window
    and stride only. With --chrom/--regions/--skip-masked the windows come from the part of
    GENOME the scan will read (give the scan the same options).
    """
    from ..atomic import check_distinct, check_output_path
    from ..interpret.calibrate import calibrate as build, qq_plot, save_null
    from ..model_file import read_model_file
    from .scan import check_genome_input

    check_output_path(output)
    plot = plot or str(Path(output).with_name("null.png"))
    check_output_path(plot, option="--plot")
    check_distinct([("MODEL", model), ("GENOME", genome)], [("-o", output), ("--plot", plot)])
    check_genome_input(genome)
    options = CalibrateOptions(mbp=mbp, window=window, stride=stride, seed=seed)
    run = RunOptions(device=device, threads=threads, precision=precision, conv_method=conv_method, progress=not quiet)
    net = read_model_file(model)  # numpy: the scan builds the torch module if it needs one
    inputs = InputOptions(chroms=split_chroms(chroms), regions=regions, skip_masked=skip_masked)
    calib = build(net, genome, options, run=run, inputs=inputs)
    save_null(output, calib)
    qq_plot(calib, plot)
    return 0
