"""``motifscan scan``: score genomes or reads with a model, or scan them with a motif file (FIMO-like).

The options become the scan's options objects (:mod:`motifscan.scan.options`), whose class
defaults are the option defaults; :func:`motifscan.scan.run.scan_model` or
:func:`motifscan.scan.run.scan_motifs` does the work.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

import click

from ..errors import InputError, UsageError
from ..io.outputs import FORMAT_CHOICES

from ..scan.options import (
    CONV_METHODS,
    MOTIF_METHODS,
    PRECISIONS,
    TRACK_VALUES,
    InputOptions,
    MotifOptions,
    OutputOptions,
    RunOptions,
    WindowOptions,
    changed,
)
from ._base import cli, device_options, invocation, quiet_option
from ._inputs import SEQUENCE_ENDINGS, model_or_motifs

log = logging.getLogger("motifscan")


def genome_part_options(f):
    """``--chrom``, ``--regions``, ``--skip-masked``: the part of a genome read (scan, and calibrate's null)."""
    f = click.option("--skip-masked", is_flag=True, help="Read soft-masked (lower-case) bases as N.")(f)
    f = click.option("--regions", type=click.Path(dir_okay=False),
                     help="Only these BED regions (indexed FASTA); windows lie wholly inside them.")(f)
    return click.option("--chrom", "chroms", multiple=True,
                        help="Only these chromosomes (comma-separated or repeated; indexed FASTA).")(f)


def split_chroms(values: tuple[str, ...]) -> tuple[str, ...] | None:
    out = tuple(c.strip() for v in values for c in v.split(",") if c.strip())
    return out or None


def check_genome_input(path: str) -> None:
    """The genome named on the command line exists (checked before a model is read)."""
    if not Path(path).exists():
        raise InputError("genome file not found", path=path)


@cli.command(context_settings={"show_default": True})
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output; format from the extension. Models: .bedGraph/.bw (track), .bed (peaks), "
                   ".tsv (one row per record: records mode). Motif files: .tsv (FIMO columns), .bed, .gff3.")
@click.option("--mode", type=click.Choice(["windows", "records"]),
              help="Models: windows (sliding-window track or peaks) or records (one score per record or "
                   "read) [default: records for BAM/CRAM/SAM input or a .tsv output, else windows; the "
                   "log names the mode chosen].")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES),
              help="Output format, when the extension does not say.")
@click.option("--task", help="Multi-task models: write only this task's (name or 0-based index) track and peaks [default: one file per "
                             "task, OUT.TASK.EXT].")
@click.option("--peaks", type=click.Path(dir_okay=False),
              help="Models, windows mode: also write the peaks here (BED), from the same pass as the track.")
@click.option("--window", type=click.IntRange(min=1), help="Window length [default: the model's training length].")
@click.option("--stride", type=click.IntRange(min=1), default=WindowOptions.stride, help="Step between window starts.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=WindowOptions.threshold,
              help="Peaks: windows scoring at least this probability are merged (see the README on choosing it).")
@click.option("--null", "null_path", type=click.Path(dir_okay=False),
              help="Models, windows mode: the null from 'motifscan calibrate' (same model, window, stride): "
                   "peaks get -log10 p and -log10 q in narrowPeak columns 8 and 9.")
@click.option("--fdr", type=float,
              help="Peaks at a false-discovery rate in (0, 1], instead of --threshold: peaks with q <= FDR "
                   "(Benjamini-Hochberg, every window scanned a test, peaks the discoveries; see the README); "
                   "builds the null on the fly (default size) when --null is not given.")
@click.option("--track-value", type=click.Choice(TRACK_VALUES), default=WindowOptions.track_value,
              help="Track values: the model's probability, or -log10 p against the null.")
@click.option("--hits", type=click.Path(dir_okay=False), help="Also write filter hits as BED6 + matched sequence.")
@click.option("--hit-fraction", type=click.FloatRange(0, 1, min_open=True), default=WindowOptions.hit_fraction,
              help="A filter hit needs this fraction of the filter's maximum possible activation.")
@click.option("--shard", help="Scan part I of N (I/N, 1-based). Text outputs (bedGraph, TSV, hits) concatenate in "
                             "shard order; join bigWigs and peaks with 'motifscan gather'.")
@genome_part_options
@click.option("--reference", type=click.Path(dir_okay=False), help="Reference FASTA for CRAM input.")
@click.option("--include-secondary", is_flag=True, help="Also score secondary and supplementary alignments.")
@click.option("--tag-bam", type=click.Path(dir_okay=False), help="Reads: also write them back as BAM with the score in tag 'ms'.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Rows (chunks or reads) per batch [default: from free memory].")
@click.option("--chunk-size", type=click.IntRange(min=1), help="Bases per chunk [default: 8192 on CPU, 1 Mbp on CUDA].")
@click.option("--precision", type=click.Choice(PRECISIONS), default=RunOptions.precision,
              help="Convolution precision (bf16/fp16 for GPUs).")
@click.option("--conv-method", type=click.Choice(CONV_METHODS), default=RunOptions.conv_method,
              help="Models: 'fused' sums precomputed k-mer rows and pools them in one pass (CPU, fp32; "
                   "the fastest), 'table' sums them and pools in torch (same windows, bit for bit), "
                   "'dense' is conv1d; auto: fused on CPU in fp32, else dense.")
@click.option("--pvalue", type=click.FloatRange(min=0, max=1, min_open=True), default=MotifOptions.pvalue,
              help="Motif files: report windows with p-value <= this (FIMO --thresh).")
@click.option("--bg", default=MotifOptions.background,
              help="Motif files: background for log-odds and p-values: motif-file, uniform, input "
                   "(the scanned sequences' composition) or a MEME background file; made symmetric.")
@click.option("--motif-pseudo", type=click.FloatRange(min=0), default=MotifOptions.pseudocount,
              help="Motif files: pseudocount added to each motif (FIMO --motif-pseudo).")
@click.option("--pssm-range", type=click.IntRange(min=10), default=MotifOptions.pssm_range,
              help="Motif files: integer range of a PSSM column (MEME PSSM_RANGE): 1000 as MEME 5; "
                   "100 gives the p-values of FIMO releases before 2013.")
@click.option("--motif-format", type=click.Choice(["meme", "jaspar", "transfac", "homer"]),
              help="Motif files: the format, when the extension does not say.")
@click.option("--motif-method", type=click.Choice(MOTIF_METHODS), default=MotifOptions.method,
              help="Motif files: how windows are found (same hits either way): auto = dense "
                   "convolution on a GPU, lookahead index on CPU.")
@device_options
@quiet_option
def scan(model, input_path, output, mode, fmt, task, peaks, window, stride, threshold, null_path, fdr, track_value,
         hits, hit_fraction, shard, chroms, regions, skip_masked, reference, include_secondary, tag_bam, batch_size,
         chunk_size, precision, conv_method, pvalue, bg, motif_pseudo, pssm_range, motif_format, motif_method, device,
         threads, quiet):
    """Scan INPUT (FASTA, FASTA.gz, bgzip, '-', or BAM/CRAM/SAM) with MODEL.

    MODEL is a model file (.h5) from 'motifscan train', or a motif file (.meme, .jaspar,
    .transfac, .motif) for a FIMO-like scan with exact p-values. Windows that are more than half
    N are skipped; windows must fit wholly in their sequence.
    """
    from ..scan.shard import parse_shard

    if fdr is not None:
        if not 0 < fdr <= 1:
            raise UsageError(f"--fdr must be in (0, 1], got {fdr}")
        source = click.get_current_context().get_parameter_source("threshold")
        if source is not None and source.name != "DEFAULT":
            raise UsageError("--fdr and --threshold both choose the peaks", hint="give one of them")
    kind, model = model_or_motifs(model, input_path, command="scan", usage="MODEL_OR_MOTIFS INPUT -o OUT",
                                  what="input", endings=SEQUENCE_ENDINGS, motif_format=motif_format)
    out = OutputOptions(output, fmt=fmt, mode=mode, peaks=peaks, hits=hits, tag_bam=tag_bam,
                        command=shlex.join(invocation), task=task)
    inputs = InputOptions(chroms=split_chroms(chroms), regions=regions, shard=parse_shard(shard), skip_masked=skip_masked,
                          reference=reference, include_secondary=include_secondary)
    run = RunOptions(device=device, threads=threads, chunk_size=chunk_size, batch_size=batch_size,
                     precision=precision, conv_method=conv_method, progress=not quiet)
    windows = WindowOptions(window=window, stride=stride, threshold=threshold, hit_fraction=hit_fraction, fdr=fdr,
                            track_value=track_value)
    motifs = MotifOptions(pvalue=pvalue, background=bg, pseudocount=motif_pseudo, pssm_range=pssm_range,
                          motif_format=motif_format, method=motif_method)
    if kind == "motifs":
        from ..scan.run import check_motif_outputs, scan_motifs

        check_motif_outputs(out)
        if null_path is not None:
            log.warning("--null applies to model scans and is ignored for motif files (they have exact p-values)")
        for name in (*changed(windows), *(k for k in ("precision", "conv_method") if k in changed(run))):
            log.warning("--%s applies to model scans and is ignored for motif files", name.replace("_", "-"))
        scan_motifs(model, input_path, out, options=motifs, inputs=inputs, run=run)
        return 0
    from ..model_file import read_model_file
    from ..scan.run import check_fdr_output, model_scan_mode, scan_model

    model_scan_mode(input_path, out)  # every output checked before the model is read
    check_fdr_output(out, windows)
    for name in changed(motifs):
        log.warning("--%s applies to motif files and is ignored for model scans", name.replace("_", "-"))
    net = read_model_file(model)  # numpy: the scan builds the torch module if it needs one
    null = _scan_null(net, null_path, input_path, windows, run, inputs)
    scan_model(net, input_path, out, windows=windows, inputs=inputs, run=run, null=null)
    return 0


def _scan_null(net, null_path, input_path, windows: WindowOptions, run: RunOptions, inputs: InputOptions):
    """The scan's null: loaded (checked against the model, window and stride), built on the fly
    when --fdr or --track-value pvalue needs one, else ``None``."""
    from ..interpret.calibrate import CalibrateOptions, calibrate, load_null

    window = int(windows.window or net.config.seq_length)
    if null_path is not None:
        return load_null(null_path, net, window=window, stride=windows.stride)
    if windows.fdr is None and windows.track_value != "pvalue":
        return None
    if input_path == "-":
        raise UsageError("building a null needs the genome file, not standard input",
                         hint="give the FASTA path, or --null null.h5 from 'motifscan calibrate'")
    options = CalibrateOptions(window=window, stride=windows.stride)
    if inputs.shard is not None:  # the same null in every shard (drawn from the whole genome), built N times
        log.warning("every shard builds the same null: run 'motifscan calibrate' once and give each shard --null")
    log.info("no --null: building one from %s (%g Mbp of shuffled windows; 'motifscan calibrate' saves it "
             "for reuse)", input_path, options.mbp)
    return calibrate(net, input_path, options, run=run, inputs=inputs).null
