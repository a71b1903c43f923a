"""File formats: one module per format, readers and writers (every output written atomically).

Inputs
    :mod:`.fasta` (FASTA, gzip, bgzip; streamed or indexed), :mod:`.intervals` (BED /
    narrowPeak), :mod:`.reads` (BAM / CRAM / SAM), :mod:`.motif_formats` (MEME, JASPAR,
    TRANSFAC, HOMER; also written).
Scan outputs
    :mod:`.outputs` (which format a path means), :mod:`.tracks` (bedGraph, bigWig), :mod:`.peaks`
    (narrowPeak-like peaks), :mod:`.hits` (filter hits), :mod:`.records` (records TSV, tagged
    BAM), :mod:`.fimo` (FIMO-style motif hits with q-values); :mod:`.writer` is their base;
    :mod:`.bigwig` writes (and reads back) bigWig files as values stream in; :mod:`.gather` joins
    the tracks and peaks of a sharded scan.

This package imports nothing above it but the ground floor (errors, atomic outputs, codes) and
the :class:`~motifscan.motifs.pwm.Motif` value type.
"""
