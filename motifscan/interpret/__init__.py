"""Jobs that explain a model or a motif set, over the scan engine and the bank's maths.

* :mod:`.variants` -- :func:`~.variants.score_variants` and :func:`~.variants.motif_variants`,
  what ``motifscan variants`` runs;
* :mod:`.variant_null` -- :class:`~.variant_null.VariantNull`, the null of SNV effects (random SNVs
  of the genome per GC stratum and REF base) behind the variants' p-values;
* :mod:`.attribute` -- :func:`~.attribute.attribute` (exact ISM, gradient x input, seqlets),
  what ``motifscan attribute`` runs;
* :mod:`.enrich` -- :func:`~.enrich.enrich` and :func:`~.enrich.enrich_sets` (known motifs enriched
  in peaks against controls, SEA-style), what ``motifscan enrich`` runs.
"""
