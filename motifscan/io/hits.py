"""Filter hits of a model scan: BED6 (chrom, start, end, filter, activation, strand) plus a 7th
column with the matched sequence read 5'->3' on the hit's strand.

(FIMO-style hits of a motif-file scan, with p- and q-values, are :mod:`motifscan.io.fimo`.)
"""

from __future__ import annotations

from typing import Iterable

from .writer import TextWriter

__all__ = ["HitsWriter"]


class HitsWriter(TextWriter):
    """Filter hits as BED6 + matched sequence."""

    def __init__(self, path) -> None:
        super().__init__(path)
        self.count = 0

    def write(self, hits: Iterable) -> None:
        text = "".join(f"{h.chrom}\t{h.start}\t{h.end}\t{h.name}\t{h.score:.4g}\t{h.strand}\t{h.sequence}\n" for h in hits)
        self.count += text.count("\n")
        self.fh.write(text)
