"""``motifscan attribute``: per-base attributions (exact ISM or gradient x input) of sequences.

The options become :class:`~motifscan.scan.options.AttributionOptions` and ``RunOptions``;
:func:`motifscan.interpret.attribute.attribute` does the work.
"""

from __future__ import annotations

import click

from ..scan.options import ATTRIBUTION_METHODS, CONV_METHODS, AttributionOptions, RunOptions
from ._base import cli, device_options, quiet_option
from ._inputs import model_first


@cli.command(context_settings={"show_default": True})
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="NPZ of attributions: arr_0 = (N, 4, L) float32 (modisco motifs -a), names = records, "
                   "scores = the model's probabilities.")
@click.option("--genome", type=click.Path(dir_okay=False), help="Genome FASTA for BED/narrowPeak INPUT.")
@click.option("--length", type=click.IntRange(min=1),
              help="Sequence length: BED windows centred on the summit (or midpoint), FASTA records "
                   "centre-cropped or padded with N [default: the model's training length].")
@click.option("--method", type=click.Choice(ATTRIBUTION_METHODS), default=AttributionOptions.method,
              help="ism: exact in-silico saturation mutagenesis (logit change of every substitution); "
                   "grad: gradient x input (the gradient at every base).")
@click.option("--task", help="Task name or 0-based index [default: the first task].")
@click.option("--center", is_flag=True, help="Subtract the per-position mean over the 4 bases.")
@click.option("--onehot-out", type=click.Path(dir_okay=False),
              help="Also write the one-hot sequences: NPZ arr_0 = (N, 4, L) float32 (modisco motifs -s).")
@click.option("--bigwig", type=click.Path(dir_okay=False),
              help="BED input: the per-base contribution (centred attribution at the reference base) as bigWig.")
@click.option("--seqlets", type=click.Path(dir_okay=False),
              help="BED6 of high-contribution stretches (threshold from dinucleotide-shuffled sequences).")
@click.option("--motifs", type=click.Path(dir_okay=False),
              help="Name each seqlet after its best match in this motif file, or 'jaspar' for the bundled "
                   "JASPAR 2024 (Tomtom-style, E <= 1).")
@click.option("--seqlet-quantile", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=AttributionOptions.seqlet_quantile,
              help="Seqlets: quantile of the shuffled sequences' smoothed contributions to exceed.")
@click.option("--seqlet-window", type=click.IntRange(min=1), default=AttributionOptions.seqlet_window,
              help="Seqlets: bases in the running mean of contributions.")
@click.option("--seed", type=int, default=AttributionOptions.seed, help="Seed of the shuffles behind the seqlet threshold.")
@click.option("--conv-method", type=click.Choice(CONV_METHODS), default=RunOptions.conv_method,
              help="ISM convolution: 'table' (k-mer table, CPU; 'fused' is the same here) or 'dense' (conv1d); "
                   "auto: table on CPU.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Sequences per batch [default: from the sequence length].")
@device_options
@quiet_option
def attribute(model, input_path, output, genome, length, method, task, center, onehot_out, bigwig, seqlets, motifs,
              seqlet_quantile, seqlet_window, seed, conv_method, batch_size, device, threads, quiet):
    """Per-base attributions of INPUT (FASTA, or BED/narrowPeak with --genome) under MODEL.

    --method ism (default) is exact saturation mutagenesis: the value at (base b, position i) is
    logit(sequence with b at i) - logit(sequence) for --task, 0 at the reference base. The NPZ
    files are what TF-MoDISco reads:

    \b
      motifscan attribute model.h5 peaks.narrowPeak --genome hg38.fa --length 400 \\
          -o attr.npz --onehot-out seqs.npz --center --bigwig contrib.bw --seqlets seqlets.bed --motifs JASPAR.meme
      modisco motifs -s seqs.npz -a attr.npz -n 2000 -w 400 -o modisco.h5
    """
    from ..interpret.attribute import attribute as run_attribute
    from ..model import load_model
    from ..motifs import motif_file

    model_first(model, [input_path], command="attribute", usage="MODEL INPUT -o OUT", what="input")
    motifs = None if motifs is None else str(motif_file(motifs))
    opts = AttributionOptions(method=method, task=task, center=center, length=length, seqlet_quantile=seqlet_quantile,
                              seqlet_window=seqlet_window, seed=seed)
    run = RunOptions(device=device, threads=threads, batch_size=batch_size, conv_method=conv_method,
                     progress=not quiet)
    net = load_model(model)  # on the CPU: the job moves it to its device
    run_attribute(net, input_path, output, genome=genome, onehot_out=onehot_out, bigwig=bigwig, seqlets=seqlets,
                  motifs=motifs, options=opts, run=run)
    return 0
