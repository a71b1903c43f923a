"""``motifscan compare``: Tomtom-style matches of query motifs against a motif database."""

from __future__ import annotations

import logging

import click

from ..errors import UsageError
from ..io.motif_formats import FORMATS
from ._base import cli, quiet_option

log = logging.getLogger("motifscan")


@cli.command("compare")
@click.argument("query", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", "db_path", type=click.Path(dir_okay=False),
              help="Motif database (MEME/JASPAR/TRANSFAC/HOMER), or 'jaspar' for the bundled "
                   "JASPAR 2024 CORE vertebrates [default: jaspar].")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output TSV (Tomtom's columns plus Target_alt).")
@click.option("--format", "query_format", type=click.Choice(FORMATS),
              help="Format of QUERY [default: from its extension].")
@click.option("--db-format", type=click.Choice(FORMATS),
              help="Format of --db [default: from its extension].")
@click.option("--evalue-threshold", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Report matches with E-value at most this.")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Report at most N matches per query (best first).")
@click.option("--min-overlap", type=click.IntRange(min=1), default=5, show_default=True,
              help="Minimum aligned columns (capped at the motif widths).")
@click.option("--dist", "distance", type=click.Choice(["pearson", "ed"]), default="pearson",
              show_default=True, help="Column similarity: Pearson correlation (Tomtom's default) "
                                      "or Euclidean distance.")
@quiet_option
def compare(query, db_path, output, query_format, db_format, evalue_threshold, top, min_overlap,
            distance, quiet):
    """Compare the motifs in QUERY with a motif database (Tomtom-style p/E/q-values).

    Columns are compared by Pearson correlation over all offsets and both strands; p-values
    come from the database's own column null, E = p x database size, q by Benjamini-Hochberg
    per query. See motifscan.motifs.compare.

    \b
    Example:
      motifscan compare motifs.meme -o matches.tsv --top 5
    """
    from ..atomic import check_distinct, check_output_path
    from ..io.motif_formats import read_motifs
    from ..motifs import jaspar_path, motif_file
    from ..motifs.compare import best_matches, compare_motifs, write_matches

    check_output_path(output)
    check_distinct([("QUERY", query), ("--db", db_path)], [("-o", output)])
    queries = read_motifs(query, query_format)
    db_file = jaspar_path() if db_path is None else motif_file(db_path)
    if not db_file.exists():
        raise UsageError(f"--db {db_path}: file not found", hint="give a motif file, or 'jaspar'")
    database = read_motifs(db_file, db_format)
    log.info("comparing %d motifs with %d database motifs (%s)", len(queries), len(database),
             db_file)
    rows = compare_motifs(queries, database, min_overlap=min_overlap,
                          evalue_threshold=evalue_threshold, top=top, distance=distance)
    write_matches(rows, output)
    best = best_matches(rows)
    for q in queries:  # one line per motif only with --debug; the summary below says the rest
        m = best.get(q.id)
        if m is None:
            log.debug("%s: no match with E <= %g", q.id, evalue_threshold)
        else:
            log.debug("%s: best match %s %s (E = %.3g)", q.id, m.target_id, m.target_alt, m.e_value)
    top = min(best.values(), key=lambda m: m.e_value, default=None)
    strongest = "" if top is None else (
        f" (strongest: {top.query_id} ~ {' '.join(x for x in (top.target_id, top.target_alt) if x)}, "
        f"E = {top.e_value:.3g})")
    log.info("%d of %d motifs match with E <= %g%s; wrote %d matches to %s", len(best), len(queries),
             evalue_threshold, strongest, len(rows), output)
