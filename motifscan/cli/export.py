"""``motifscan export``: a model's filters as motifs (ordered by influence), a TSV and logos."""

from __future__ import annotations

import click

from ..motifs.export import ExportOptions
from ._base import cli, device_options, quiet_option, task_inputs


@cli.command("export")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Motif file (.meme, .jaspar, .transfac or .motif); a .tsv goes beside it.")
@click.option("--sequences", type=click.Path(dir_okay=False), multiple=True,
              help="FASTA of sequences (e.g. the training positives), or a BED/narrowPeak with --genome. "
                   "Without it, motifs come from the weights (rougher). Multi-task models: once per task "
                   "(with --task-names), or once with --task.")
@click.option("--task", help="Multi-task models: order the motifs by this task's (name or 0-based index) influence (and, with one "
                             "--sequences, the task whose peaks they are) [default: the mean over tasks].")
@click.option("--task-names", help="Several --sequences: the task of each, comma-separated [default: the file stems].")
@click.option("--samplesheet", type=click.Path(dir_okay=False),
              help="Multi-task models: the tasks' peaks from a TSV (columns name, peaks, and optionally "
                   "negatives, genome), as in train.")
@click.option("--genome", type=click.Path(dir_okay=False),
              help="Genome FASTA for a --sequences BED (windows of the model's length) and for "
                   "background negatives.")
@click.option("--negatives",
              help="What the sequences are contrasted with for the influence: 'shuffle', 'background' "
                   "(BED --sequences and --genome) or a FASTA/BED file, as in train "
                   "[default: what the model was trained with].")
@click.option("--format", "fmt", type=click.Choice(["meme", "jaspar", "transfac", "homer"]),
              help="Motif format [default: from the -o extension].")
@click.option("--fraction", type=click.FloatRange(0, 1, max_open=True), default=ExportOptions.fraction,
              show_default=True, help="Activation threshold: mean + FRACTION * (max - mean) per filter.")
@click.option("--min-sites", type=click.IntRange(min=1), default=ExportOptions.min_sites, show_default=True,
              help="Leave out filters with fewer sites (listed on stderr).")
@click.option("--trim", is_flag=True, help="Trim flanks below 0.5 bits of information.")
@click.option("--no-merge", is_flag=True,
              help="One motif per filter, ranked by its own influence, instead of one per group of "
                   "filters whose motifs match one another.")
@click.option("--group-evalue", type=click.FloatRange(min=0), default=ExportOptions.group_evalue,
              show_default=True, help="Group two filters when their motifs match with at most this "
                                      "Tomtom E-value.")
@click.option("--max-negatives", type=click.IntRange(min=1), default=ExportOptions.max_negatives,
              show_default=True, help="Make negatives for a sample of at most this many sequences.")
@click.option("--db", type=str,
              help="Motif database to match against (MEME/JASPAR/TRANSFAC/HOMER file, or "
                   "'jaspar' for the bundled JASPAR 2024 vertebrates); best match goes in the TSV.")
@click.option("--logos", "logos_dir", type=click.Path(file_okay=False),
              help="Directory for one PNG logo per motif.")
@click.option("--svg", is_flag=True, help="Also write SVG logos (with --logos).")
@click.option("--seed", type=int, default=ExportOptions.seed, show_default=True,
              help="Seed of the negatives.")
@device_options
@quiet_option
def export(model, output, sequences, task, task_names, samplesheet, genome, negatives, fmt, fraction, min_sites, trim, no_merge,
           group_evalue, max_negatives, db, logos_dir, svg, seed, device, threads, quiet):
    """Write MODEL's filters as motifs, most influential first.

    With --sequences, each filter becomes the motif of the sequence windows that activate it
    (above mean + FRACTION * (max - mean); Kelley et al. 2016). Filters whose motifs match one
    another (Tomtom E <= --group-evalue) form a group, written once as its best member's motif;
    a group's influence is the change in loss and predictions when all its filters' outputs are
    replaced by their mean, the sequences and their negatives weighed equally (so the measure
    does not depend on how many sequences there are). The TSV beside
    the motif file lists per motif: filter, group members, sites, information content, influence
    and, with --db, the best database match.

    A multi-task model's table has one influence column per task (which filters each task's
    head relies on); --task orders the motifs by one task's influence.

    \b
    Example:
      motifscan export model.h5 --sequences peaks.fa -o motifs.meme --db jaspar --logos logos/
    """
    from ..device import set_threads
    from ..errors import UsageError
    from ..motifs.export import export_motifs

    if svg and not logos_dir:
        raise UsageError("--svg needs --logos DIR")
    options = ExportOptions(fraction=fraction, min_sites=min_sites, trim=trim, merge=not no_merge,
                            group_evalue=group_evalue, max_negatives=max_negatives, seed=seed, task=task)
    if sequences or samplesheet or task_names:
        sequences = task_inputs(sequences, task_names, samplesheet, genome, negatives, what="--sequences")
    else:
        sequences = None
    set_threads(threads)
    result = export_motifs(
        model, output, sequences=sequences, genome=genome, negatives=negatives, format=fmt, db=db,
        logos_dir=logos_dir, svg=svg, device=device, options=options,
    )
    return 0 if result.motifs else 1
