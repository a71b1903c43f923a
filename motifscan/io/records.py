"""Per-record results: the records TSV and reads written back as a tagged BAM."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..atomic import atomic_path
from .writer import AtomicWriter, TextWriter

__all__ = ["RecordsWriter", "TaggedBamWriter"]


class RecordsWriter(TextWriter):
    """One row per scored record: ``name length score [score_TASK ...] best_position strand top_filter``.

    ``score`` is the probability of the first task; with several tasks each also gets its own
    ``score_TASK`` column. Records that could not be scored are left out (and counted).
    """

    def __init__(self, path, tasks: list[str], filter_names: list[str]) -> None:
        super().__init__(path)
        self.tasks, self.filter_names = list(tasks), filter_names
        extra = [f"score_{t}" for t in self.tasks] if len(self.tasks) > 1 else []
        self.fh.write("\t".join(["name", "length", "score", *extra, "best_position", "strand", "top_filter"]) + "\n")
        self.count = 0

    def write(self, records: Iterable) -> None:
        out = []
        multi = len(self.tasks) > 1
        for r in records:
            if r.score is None:
                continue
            scores = [f"{r.score[0]:.6g}"] + ([f"{x:.6g}" for x in r.score] if multi else [])
            out.append("\t".join([r.name, str(r.length), *scores, str(r.best_position), r.strand,
                                  self.filter_names[r.top_filter]]) + "\n")
        self.count += len(out)
        self.fh.write("".join(out))


class TaggedBamWriter(AtomicWriter):
    """The input reads written back as BAM, each scored read with its score in tag ``tag`` (float).

    Reads that could not be scored (no sequence, too short) are written unchanged, so the output
    holds exactly the reads that were read.
    """

    def __init__(self, path, header, tag: str = "ms") -> None:
        super().__init__()
        import pysam

        self.path = Path(path)
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._bam = pysam.AlignmentFile(str(tmp), "wb", header=header)
        self._stack.callback(self._bam.close)
        self.tag = tag

    def write(self, records: Iterable) -> None:
        for r in records:
            read = r.payload
            if read is None:
                continue
            if r.score is not None:
                read.set_tag(self.tag, float(r.score[0]), value_type="f")
            self._bam.write(read)
