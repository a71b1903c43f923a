"""Sequence input: encoding, FASTA, BED/narrowPeak intervals and aligned reads."""

from .encode import decode, encode, one_hot, one_hot_torch, reverse_complement, soft_mask
from .fasta import Chunk, FastaRecord, IndexedFasta, read_fasta, stream_chunks
from .intervals import Interval, centre, read_intervals

__all__ = [
    "encode", "decode", "one_hot", "one_hot_torch", "reverse_complement", "soft_mask",
    "Chunk", "FastaRecord", "IndexedFasta", "read_fasta", "stream_chunks",
    "Interval", "centre", "read_intervals",
]
