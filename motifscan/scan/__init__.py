"""Scanning: stream genomes and reads through a model (or a motif bank) in bounded memory.

* :mod:`.engine` -- sources -> overlapping pieces -> batches of uint8 codes on the device;
  :func:`~.engine.strand_conv` (both strands from one convolution).
* :mod:`.sources` -- FASTA (streamed or indexed segments) inputs; reads live in
  :mod:`motifscan.sequences.alignments`.
* :mod:`.shard` -- ``--shard I/N``.
* :mod:`.model_scan` -- CNN window tracks, per-record scores and filter hits.
* :mod:`.run` -- :func:`scan_model` (what ``motifscan scan MODEL`` runs) and :func:`open_source`.
"""

from .batching import Batch, Piece, default_chunk_size, iter_batches
from .progress import Progress
from .conv import strand_conv
from .shard import Shard, parse_shard, split_segments
from .sources import FastaSource, Segment
from .sources import open_source
from .run import scan_model

__all__ = [
    "Batch", "Piece", "Progress", "default_chunk_size", "iter_batches", "strand_conv",
    "Shard", "parse_shard", "split_segments", "FastaSource", "Segment",
    "open_source", "scan_model",
]
