"""The names of the bank's computation methods and precisions, shared by every command's options."""

from __future__ import annotations

__all__ = ["PRECISIONS", "CONV_METHODS", "CPU_CONV_METHODS", "MOTIF_METHODS"]

PRECISIONS = ("fp32", "bf16", "fp16")
#: Model-scan convolution: ``fused`` (k-mer table lookup fused with the window and strand maxima),
#: ``table`` (the table lookup, pooled in torch), both CPU fp32; ``dense`` (conv1d); ``auto``.
CONV_METHODS = ("auto", "fused", "table", "dense")
#: The convolution methods that run on the CPU in float32 only.
CPU_CONV_METHODS = ("fused", "table")
#: Motif-file search: ``lookahead`` (CPU index), ``dense`` (one convolution), ``auto``.
MOTIF_METHODS = ("auto", "lookahead", "dense")
