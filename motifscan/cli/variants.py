"""``motifscan variants``: what each VCF allele does to binding, by a model or a motif file.

The options become :class:`~motifscan.scan.options.VariantOptions`, ``RunOptions`` and (motif
files) ``MotifOptions``; :func:`motifscan.interpret.variants.score_variants` or
:func:`motifscan.interpret.variants.motif_variants` does the work.
"""

from __future__ import annotations

import logging
import shlex

import click

from ..errors import UsageError
from ..scan.options import CONV_METHODS, MOTIF_METHODS, REF_FROM, MotifOptions, RunOptions, VariantOptions, changed
from ._base import cli, device_options, invocation, quiet_option
from ._inputs import VCF_ENDINGS, model_or_motifs

log = logging.getLogger("motifscan")


@cli.command(context_settings={"show_default": True})
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("vcf", type=click.Path(dir_okay=False))
@click.option("--genome", required=True, type=click.Path(dir_okay=False),
              help="Genome FASTA (plain or bgzip; indexed on first use) the VCF refers to.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output TSV: effects (model) or created/broken sites (motif file), one row per ALT "
                   "(per ALT and motif), in input order.")
@click.option("--vcf-out", type=click.Path(dir_okay=False),
              help="Models: also write the VCF with MS_REF/MS_ALT/MS_DELTA/MS_CHECK INFO fields "
                   "(bgzipped and tabix-indexed when the name ends in .gz).")
@click.option("--window", type=click.IntRange(min=1),
              help="Models: window centred on the variant [default: the model's training length].")
@click.option("--ref-from", type=click.Choice(REF_FROM), default=VariantOptions.ref_from,
              help="genome: a REF that disagrees with the genome gets ref_check=mismatch and no scores; "
                   "vcf: trust the VCF's REF (still flagged mismatch).")
@click.option("--null-variants", type=click.IntRange(min=0), default=VariantOptions.null_variants,
              help="Models: random SNVs of the genome forming the null of the SNVs' p-values (pvalue, "
                   "qvalue columns; MS_P, MS_Q in --vcf-out); 0: no p-values.")
@click.option("--seed", type=int, default=VariantOptions.seed, help="Models: seed of the null's random SNVs.")
@click.option("--pvalue", type=click.FloatRange(min=0, max=1, min_open=True), default=MotifOptions.pvalue,
              help="Motif files: report (ALT, motif) pairs where either allele's best site has p <= this.")
@click.option("--bg", default=MotifOptions.background,
              help="Motif files: background: motif-file, uniform or a MEME background file (made symmetric).")
@click.option("--motif-pseudo", type=click.FloatRange(min=0), default=MotifOptions.pseudocount,
              help="Motif files: pseudocount added to each motif (FIMO --motif-pseudo).")
@click.option("--pssm-range", type=click.IntRange(min=10), default=MotifOptions.pssm_range,
              help="Motif files: integer range of a PSSM column (MEME PSSM_RANGE).")
@click.option("--motif-format", type=click.Choice(["meme", "jaspar", "transfac", "homer"]),
              help="Motif files: the format, when the extension does not say.")
@click.option("--motif-method", type=click.Choice(MOTIF_METHODS), default=MotifOptions.method,
              help="Motif files: how candidate sites are found (same rows either way): dense "
                   "convolution on a GPU, lookahead index on CPU.")
@click.option("--conv-method", type=click.Choice(CONV_METHODS), default=RunOptions.conv_method,
              help="Models: 'table' (k-mer table, CPU; 'fused' is the same here) or 'dense' (conv1d); auto: table on CPU.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Alleles per batch [default: 1024; motif files 4096].")
@device_options
@quiet_option
def variants(model, vcf, genome, output, vcf_out, window, ref_from, null_variants, seed, pvalue, bg, motif_pseudo,
             pssm_range, motif_format, motif_method, conv_method, batch_size, device, threads, quiet):
    """Score every ALT of VCF (VCF, VCF.gz or BCF, streamed) with MODEL.

    MODEL is a model file (.h5): each ALT gets the probability of the window centred on it with
    the reference and with the alternative allele (SNVs and MNVs by local updates of cached
    activations, indels by full forward passes); each SNV a two-sided p-value of its logit change
    against --null-variants random SNVs of the genome with the same REF base and window GC, and
    a Benjamini-Hochberg q-value over the file's SNVs. MODEL may instead be a motif file (.meme,
    .jaspar, .transfac, .motif): each ALT and motif gets the best site overlapping the variant
    in each allele, with FIMO-exact p-values, reported when either reaches --pvalue.

    Symbolic ALTs (<DEL>, *, breakends) are skipped and counted; a REF that disagrees with the
    genome and contigs missing from it are rows flagged in ref_check.

    \b
    Examples:
      motifscan variants model.h5 calls.vcf.gz --genome hg38.fa -o effects.tsv --vcf-out annotated.vcf.gz
      motifscan variants JASPAR.meme calls.vcf.gz --genome hg38.fa -o breaks.tsv --pvalue 1e-4
    """
    kind, model = model_or_motifs(model, vcf, command="variants", usage="MODEL_OR_MOTIFS VCF --genome FASTA -o OUT",
                                  what="VCF", endings=VCF_ENDINGS, motif_format=motif_format)
    opts = VariantOptions(window=window, ref_from=ref_from, null_variants=null_variants, seed=seed)
    run = RunOptions(device=device, threads=threads, batch_size=batch_size, conv_method=conv_method,
                     progress=not quiet)
    motifs = MotifOptions(pvalue=pvalue, background=bg, pseudocount=motif_pseudo, pssm_range=pssm_range,
                          motif_format=motif_format, method=motif_method)
    if kind == "motifs":
        from ..interpret.variants import motif_variants

        if vcf_out:
            raise UsageError("--vcf-out is for models; a motif file writes its rows to -o")
        model_only = (*(k for k in ("window",) if window is not None), *(k for k in ("null_variants", "seed")
                                                                            if k in changed(opts)),
                      *(k for k in ("conv_method",) if k in changed(run)))
        for name in model_only:
            log.warning("--%s applies to models and is ignored for motif files", name.replace("_", "-"))
        motif_variants(model, vcf, genome, output, options=motifs, variant=opts, run=run)
        return 0
    from ..model import load_model
    from ..interpret.variants import score_variants

    for name in changed(motifs):
        log.warning("--%s applies to motif files and is ignored for models", name.replace("_", "-"))
    net = load_model(model)  # on the CPU: the job moves it to its device
    score_variants(net, vcf, genome, output, vcf_out=vcf_out, options=opts, run=run, command=shlex.join(invocation))
    return 0
