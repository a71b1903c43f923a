"""Jobs that explain a model or a motif set, over the scan engine and the bank's maths.

* :mod:`.variants` -- :func:`~.variants.score_variants` and :func:`~.variants.motif_variants`,
  what ``motifscan variants`` runs;
* :mod:`.attribute` -- :func:`~.attribute.attribute` (exact ISM, gradient x input, seqlets),
  what ``motifscan attribute`` runs;
* :mod:`.enrich` -- :func:`~.enrich.enrich` and :func:`~.enrich.enrich_sets` (known motifs enriched
  in peaks against controls, SEA-style), what ``motifscan enrich`` runs.
"""
