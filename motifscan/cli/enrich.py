"""``motifscan enrich``: known motifs enriched in peaks against shuffled or genomic controls (SEA-style)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from ..errors import UsageError
from ._base import cli, quiet_option


def _peak_sets(peaks, samplesheet, names=None):
    from ..interpret.enrich import PeakSet
    from ..io.samplesheet import read_samplesheet

    if samplesheet:
        if peaks or names:
            raise UsageError("give PEAKS (with --names) or --samplesheet, not both")
        # a training samplesheet's 'background' negatives are the genome background here
        return [PeakSet(t.name, t.peaks, {"background": "genome"}.get(t.negatives, t.negatives), t.genome)
                for t in read_samplesheet(samplesheet)]
    if not peaks:
        raise UsageError("no PEAKS given", hint="give a FASTA or BED/narrowPeak file, several, or --samplesheet TSV")
    for p in peaks:
        if not Path(p).exists():
            raise UsageError(f"input file not found: {p}")
    labels = [n.strip() for n in names.split(",")] if names else [Path(p).name.split(".")[0] for p in peaks]
    if len(labels) != len(peaks):
        raise UsageError(f"--names gives {len(labels)} names for {len(peaks)} PEAKS files")
    for name in labels:  # names go into file names
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
            raise UsageError(f"--names: {name!r} is not usable in file names", hint="use letters, digits, '_', '.', '-'")
    return [PeakSet(name, p) for name, p in zip(labels, peaks)]


@cli.command("enrich", context_settings={"show_default": True})
@click.argument("peaks", nargs=-1, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Enrichment table (TSV, SEA's columns); with several sets, NAME goes before the suffix.")
@click.option("--motifs", type=click.Path(dir_okay=False),
              help="Motif file (MEME/JASPAR/TRANSFAC/HOMER, or a model's export), or 'jaspar' for the bundled "
                   "JASPAR 2024 CORE vertebrates [default: jaspar].")
@click.option("--genome", type=click.Path(exists=True, dir_okay=False),
              help="Genome FASTA: for BED/narrowPeak PEAKS and --background genome.")
@click.option("--background", default="shuffle",
              help="'shuffle' (dinucleotide shuffles of the peaks), 'genome' (GC-matched regions away from "
                   "the peaks) or a FASTA/BED file of control sequences.")
@click.option("--controls", type=click.IntRange(min=1), default=1,
              help="Controls per peak (shuffle and genome backgrounds; SEA uses 1).")
@click.option("--pvalue", type=click.FloatRange(0, 1, min_open=True), default=1e-4,
              help="A sequence has a motif when its best site reaches this FIMO p-value.")
@click.option("--length", type=click.IntRange(min=1),
              help="BED/narrowPeak: windows of this length centred on the summit [default: whole intervals].")
@click.option("--names", help="Several PEAKS: comma-separated set names [default: the file stems].")
@click.option("--samplesheet", type=click.Path(exists=True, dir_okay=False),
              help="Peak sets from a TSV (columns name, peaks; optional negatives, genome) instead of PEAKS.")
@click.option("--plot", type=click.Path(dir_okay=False),
              help="Bar chart of -log10 q of the top motifs with their logos (.png or .svg).")
@click.option("--top", type=click.IntRange(min=1), default=20, help="Motifs in the plot.")
@click.option("--sites", type=click.Path(dir_okay=False),
              help="TSV of every site in the peaks (FIMO's columns without q-values).")
@click.option("--seed", type=int, default=0, help="Random seed of the shuffles and genome draws.")
@click.option("--threads", type=click.IntRange(min=0), default=0, help="CPU threads (0: torch's default).")
@quiet_option
def enrich(peaks, output, motifs, genome, background, controls, pvalue, length, names, samplesheet, plot, top,
           sites, seed, threads, quiet):
    """Which known motifs are enriched in PEAKS (FASTA, or BED/narrowPeak with --genome).

    Per motif: peaks and controls whose best site reaches --pvalue, Fisher's exact test
    (one-sided), E = p x motifs, Benjamini-Hochberg q-values; rows sorted by p-value. Several
    PEAKS (or --samplesheet) give one table per set, each against its own controls.

    \b
    Example:
      motifscan enrich peaks.fa -o enrichment.tsv --plot enrichment.png
      motifscan enrich peaks.narrowPeak --genome hg38.fa --length 200 --background genome -o enr.tsv
    """
    import torch

    from ..interpret.enrich import EnrichOptions, enrich_sets
    from ..motifs import motif_file

    motifs = None if motifs is None else str(motif_file(motifs))
    if threads:
        torch.set_num_threads(threads)
    options = EnrichOptions(motifs=motifs, genome=genome, background=background, controls=controls,
                            pvalue=pvalue, length=length, seed=seed, top=top)
    enrich_sets(_peak_sets(peaks, samplesheet, names), output, options, plot=plot, sites=sites)
