"""``motifscan export``: a model's filters as motifs (ordered by influence), a TSV and logos."""

from __future__ import annotations

import click

from ._base import cli, device_options, quiet_option


@cli.command("export")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Motif file (.meme, .jaspar, .transfac or .motif); a .tsv goes beside it.")
@click.option("--sequences", type=click.Path(dir_okay=False),
              help="FASTA of sequences (e.g. the training positives), or a BED with --genome. "
                   "Without it, motifs come from the weights (rougher).")
@click.option("--genome", type=click.Path(dir_okay=False),
              help="Genome FASTA for a --sequences BED (windows of the model's length).")
@click.option("--format", "fmt", type=click.Choice(["meme", "jaspar", "transfac", "homer"]),
              help="Motif format [default: from the -o extension].")
@click.option("--fraction", type=click.FloatRange(0, 1, max_open=True), default=0.5, show_default=True,
              help="Activation threshold: mean + FRACTION * (max - mean) per filter.")
@click.option("--min-sites", type=click.IntRange(min=1), default=10, show_default=True,
              help="Leave out filters with fewer sites (listed on stderr).")
@click.option("--trim", is_flag=True, help="Trim flanks below 0.5 bits of information.")
@click.option("--db", type=str,
              help="Motif database to match against (MEME/JASPAR/TRANSFAC/HOMER file, or "
                   "'jaspar' for the bundled JASPAR 2024 vertebrates); best match goes in the TSV.")
@click.option("--logos", "logos_dir", type=click.Path(file_okay=False),
              help="Directory for one PNG logo per motif.")
@click.option("--svg", is_flag=True, help="Also write SVG logos (with --logos).")
@device_options
@quiet_option
def export(model, output, sequences, genome, fmt, fraction, min_sites, trim, db, logos_dir, svg,
           device, threads, quiet):
    """Write MODEL's filters as motifs, most influential first.

    With --sequences, each filter becomes the motif of the sequence windows that activate it
    (above mean + FRACTION * (max - mean); Kelley et al. 2016), and its influence is the change
    in loss and predictions when its output is replaced by its mean. The TSV beside the motif
    file lists per motif: filter, sites, information content, influence and, with --db, the
    best database match.

    \b
    Example:
      motifscan export model.h5 --sequences peaks.fa -o motifs.meme --db jaspar --logos logos/
    """
    from ..device import set_threads
    from ..errors import UsageError
    from ..motifs.export import export_motifs

    if svg and not logos_dir:
        raise UsageError("--svg needs --logos DIR")
    set_threads(threads)
    result = export_motifs(
        model, output, sequences=sequences, genome=genome, format=fmt, fraction=fraction,
        min_sites=min_sites, trim=trim, db=db, logos_dir=logos_dir, svg=svg, device=device,
    )
    return 0 if result.motifs else 1
