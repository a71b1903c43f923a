"""Per-record results: the records TSV and reads written back as a tagged BAM."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from .._version import __version__
from .writer import AtomicWriter, TextWriter

__all__ = ["RecordsWriter", "TaggedBamWriter", "add_program_line"]


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


def add_program_line(header_text: str, *, command: str | None = None, program: str = "motifscan",
                     version: str = __version__) -> str:
    """A SAM header text with one ``@PG`` line for ``program`` appended, as samtools adds its own.

    ``ID`` is ``program``, or ``program.1``, ``program.2`` ... when the header already holds
    that ID; ``PN`` the program, ``VN`` its version, ``CL`` the command line (tabs and newlines
    made spaces; left out when ``None``); ``PP`` the ID of the last program of the input's
    ``@PG`` chain (the one no other ``@PG`` names as its ``PP``; the last such line when the
    header holds several chains), left out when the input has no ``@PG``.
    """
    ids, previous = [], set()
    for line in header_text.splitlines():
        if line.startswith("@PG\t"):
            tags = dict(f.split(":", 1) for f in line.split("\t")[1:] if ":" in f)
            if "ID" in tags:
                ids.append(tags["ID"])
            if "PP" in tags:
                previous.add(tags["PP"])
    pg_id, n = program, 0
    while pg_id in ids:
        n += 1
        pg_id = f"{program}.{n}"
    fields = [f"ID:{pg_id}", f"PN:{program}"]
    ends = [i for i in ids if i not in previous]
    if ids:
        fields.append(f"PP:{(ends or ids)[-1]}")
    fields.append(f"VN:{version}")
    if command is not None:
        fields.append("CL:" + re.sub(r"[\t\r\n]+", " ", command))
    # without @SQ lines (unaligned reads) pysam's header text ends in a blank line, which htslib
    # refuses: keep only the header's lines
    text = "".join(line + "\n" for line in header_text.splitlines() if line.strip())
    return text + "@PG\t" + "\t".join(fields) + "\n"


class TaggedBamWriter(AtomicWriter):
    """The input reads written back as BAM, each scored read with its score in tag ``tag`` (float).

    Reads that could not be scored (no sequence, too short) are written unchanged, so the output
    holds exactly the reads that were read. The header is the input's plus one ``@PG`` line for
    motifscan (:func:`add_program_line`; ``command`` is its ``CL``).
    """

    def __init__(self, path, header, tag: str = "ms", command: str | None = None) -> None:
        super().__init__()
        import pysam

        self.path = Path(path)
        header = pysam.AlignmentHeader.from_text(add_program_line(str(header), command=command))
        tmp = self._stack.enter_context(self.outputs.path(self.path))
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
