"""Scanning: stream genomes and reads through a model or a motif file, in bounded memory.

* :mod:`.options` -- the options objects: what to read, how to run, what to write, how to score;
* :mod:`.sources`, :mod:`.shard` -- inputs as pieces (FASTA streamed or by index segments,
  BAM/CRAM/SAM reads; ``--chrom``, ``--regions``, ``--shard``, ``--skip-masked``);
* :mod:`.batching` -- pieces -> batches of uint8 codes on the device (background reader);
* :mod:`.model_scan` -- a model's window scores, record scores and filter hits per batch (the
  bank's maths is in :mod:`motifscan.kernels`);
* :mod:`.motif_bank`, :mod:`.motif_scan` -- a motif file as a bank of FIMO PSSMs (and its
  background), and its hits;
* :mod:`.progress` -- the progress bar;
* :mod:`.run` -- :func:`scan_model` and :func:`scan_motifs`, what ``motifscan scan`` runs.

The jobs that explain a model (``variants``, ``attribute``) are in :mod:`motifscan.interpret`.
"""

from .options import InputOptions, MotifOptions, OutputOptions, RunOptions, WindowOptions
from .run import scan_model, scan_motifs
from .shard import Shard, parse_shard

__all__ = [
    "InputOptions", "RunOptions", "OutputOptions", "WindowOptions", "MotifOptions",
    "scan_model", "scan_motifs", "Shard", "parse_shard",
]
