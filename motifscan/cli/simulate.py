"""``motifscan simulate``: a random genome with planted motif sites and their truth BED."""

from __future__ import annotations

import click

from ..errors import UsageError
from ._base import cli, quiet_option

DEFAULT_MOTIF = "MA0139.2"  # CTCF, in the bundled JASPAR 2024 file


def _pick_motif(motifs_path: str | None, motif_id: str | None):
    from ..io.motif_formats import read_motifs
    from ..motifs import jaspar_path, motif_file

    path = jaspar_path() if motifs_path is None else motif_file(motifs_path)
    if not path.exists():
        raise UsageError(f"--motifs {motifs_path}: file not found", hint="give a motif file, or 'jaspar'")
    motifs = read_motifs(path)
    wanted = motif_id or (DEFAULT_MOTIF if path == jaspar_path() else None)
    if wanted is None:
        if len(motifs) > 1:
            raise UsageError(f"{path} holds {len(motifs)} motifs; which one should be planted?",
                             hint=f"add --motif-id (e.g. --motif-id {motifs[0].id})")
        return motifs[0]
    for m in motifs:
        if wanted in (m.id, m.alt):
            return m
    raise UsageError(f"no motif with id or name {wanted!r} in {path}",
                     hint=f"pick one of its ids, e.g. {', '.join(m.id for m in motifs[:3])}")


@cli.command("simulate")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="Output genome FASTA.")
@click.option("--truth", required=True, type=click.Path(dir_okay=False),
              help="Output BED6 of the planted sites (chrom start end motif 0 strand).")
@click.option("--motifs", "motifs_path", type=click.Path(dir_okay=False),
              help="Motif file (MEME/JASPAR/TRANSFAC/HOMER) to plant from, or 'jaspar' for the "
                   "bundled JASPAR 2024 [default: jaspar].")
@click.option("--motif-id", help=f"Id or name of the motif to plant [default: {DEFAULT_MOTIF} "
                                 "(CTCF) with the bundled JASPAR; the only motif of --motifs].")
@click.option("--length", type=click.IntRange(min=1), default=3_000_000, show_default=True,
              help="Total genome length (bp), split evenly over the chromosomes.")
@click.option("--chroms", type=click.IntRange(min=1), default=3, show_default=True,
              help="Number of chromosomes (named chr1..chrN).")
@click.option("--n-sites", type=click.IntRange(min=0), default=300, show_default=True,
              help="Number of motif instances to plant (non-overlapping, both strands).")
@click.option("--gc", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.41,
              show_default=True, help="GC fraction of the random background.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@quiet_option
def simulate(output, truth, motifs_path, motif_id, length, chroms, n_sites, gc, seed, quiet):
    """Write a random genome with motif instances planted on both strands.

    Each site is sampled from the motif's probability matrix; their positions go to the
    --truth BED, so a scan's recovery of them can be measured. Same seed, same files.

    \b
    Example:
      motifscan simulate -o genome.fa --truth truth.bed --length 3000000 --n-sites 300
    """
    from ..atomic import check_distinct, check_output_path
    from ..simulate import simulate_genome

    check_output_path(output)
    check_output_path(truth, option="--truth")
    check_distinct([("--motifs", motifs_path)], [("-o", output), ("--truth", truth)])
    motif = _pick_motif(motifs_path, motif_id)
    if motif.width * n_sites > length:
        raise UsageError(f"{n_sites} sites of width {motif.width} do not fit in {length} bp",
                         hint="raise --length or lower --n-sites")
    try:
        simulate_genome(output, truth, length=length, n_chroms=chroms, motif=motif,
                        n_sites=n_sites, seed=seed, gc=gc)
    except UsageError:
        raise
    except ValueError as exc:  # sites that do not fit their chromosome
        raise UsageError(str(exc), hint="raise --length or lower --n-sites") from None
