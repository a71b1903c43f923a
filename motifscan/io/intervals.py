"""BED / narrowPeak intervals: reading, validation against a genome, fixed-length centring.

Coordinates are 0-based, half-open, as in BED. A narrowPeak summit (column 10) is an offset from
the interval start; ``-1`` means "no summit" and the midpoint is used instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from ..errors import InputError
from ..text import plural
from .fasta import open_binary

__all__ = ["Interval", "read_intervals", "centre", "check_chromosomes", "check_within", "parse_region_name",
           "merge_intervals", "read_sizes"]


@dataclass(frozen=True)
class Interval:
    """A BED interval; ``summit`` is an absolute 0-based position or ``None``."""

    chrom: str
    start: int
    end: int
    name: str = ""
    summit: int | None = None
    line: int = field(default=0, compare=False)  # 1-based line in its file (0: not from a file)

    @property
    def centre(self) -> int:
        """The summit if known, else the midpoint (rounded down)."""
        return self.summit if self.summit is not None else (self.start + self.end) // 2


def _int(field: str, what: str, path, lineno: int) -> int:
    try:
        return int(field)
    except ValueError:
        raise InputError(
            f"{what} {field!r} is not an integer", path=path, where=f"line {lineno}"
        ) from None


def read_intervals(path: str | os.PathLike) -> list[Interval]:
    """Read a BED (3+ columns) or narrowPeak file.

    ``track``, ``browser`` and ``#`` lines and blank lines are skipped; CRLF line endings are fine.

    Raises
    ------
    InputError
        Fewer than 3 columns, non-integer or negative coordinates, end < start, a summit outside
        its interval, or no intervals at all; the message names the line.
    """
    intervals: list[Interval] = []
    with open_binary(path) as fh:
        try:
            lines = fh.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not a text BED file (undecodable byte at offset {exc.start})", path=path
            ) from None
        except (EOFError, OSError) as exc:
            raise InputError(f"cannot read: {exc}", path=path) from None
    for lineno, line in enumerate(lines.splitlines(), start=1):
        line = line.strip("\r\n ")
        if not line or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 3:
            raise InputError(
                f"expected at least 3 tab-separated columns (chrom, start, end), found {len(fields)}",
                path=path,
                where=f"line {lineno}",
            )
        chrom = fields[0]
        start = _int(fields[1], "start", path, lineno)
        end = _int(fields[2], "end", path, lineno)
        if start < 0:
            raise InputError(f"negative start {start}", path=path, where=f"line {lineno}")
        if end < start:
            raise InputError(
                f"end {end} is before start {start}", path=path, where=f"line {lineno}"
            )
        summit = None
        if len(fields) >= 10:
            offset = _int(fields[9], "narrowPeak summit (column 10)", path, lineno)
            if offset != -1:
                if not 0 <= offset < max(end - start, 1):
                    raise InputError(
                        f"narrowPeak summit offset {offset} lies outside its interval "
                        f"(length {end - start})",
                        path=path,
                        where=f"line {lineno}",
                        hint="column 10 is the summit's offset from the start, or -1",
                    )
                summit = start + offset
        name = fields[3] if len(fields) >= 4 else ""
        intervals.append(Interval(chrom, start, end, name, summit, lineno))
    if not intervals:
        raise InputError("no intervals found", path=path, hint="give a BED or narrowPeak file")
    return intervals


def centre(interval: Interval, length: int, chrom_size: int) -> tuple[int, int] | None:
    """The ``length``-bp window centred on the summit or midpoint, or ``None`` off the end."""
    start = interval.centre - length // 2
    end = start + length
    if start < 0 or end > chrom_size:
        return None
    return start, end


def check_chromosomes(
    intervals: Iterable[Interval], sizes: Mapping[str, int], path, genome_path, what: str = "BED"
) -> None:
    """Raise if any interval names a chromosome the genome lacks (suggesting the ``chr`` fix).

    ``what`` names the kind of file in the fix (``BED``; ``VCF`` gets a bcftools command instead of sed).
    """
    missing = sorted({iv.chrom for iv in intervals} - set(sizes))
    if not missing:
        return
    shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
    hint = "use the genome assembly the intervals were called on"
    with_chr = sum(("chr" + m) in sizes for m in missing)
    without_chr = sum(m[3:] in sizes for m in missing if m.startswith("chr"))
    vcf = what == "VCF"
    if with_chr:
        hint = ("the genome names chromosomes with a 'chr' prefix: add it to the "
                + ("VCF (bcftools annotate --rename-chrs with lines like '1 chr1')" if vcf else f"{what} (sed 's/^/chr/')"))
    elif without_chr:
        hint = ("the genome names chromosomes without the 'chr' prefix: remove it from the "
                + ("VCF (bcftools annotate --rename-chrs with lines like 'chr1 1')" if vcf else f"{what} (sed 's/^chr//')"))
    raise InputError(
        f"{plural(len(missing), 'chromosome')} not in genome {genome_path}: {shown}", path=path, hint=hint
    )


def check_within(intervals: Iterable[Interval], sizes: Mapping[str, int], path, genome_path="") -> None:
    """Refuse the first interval that ends past its chromosome's end (naming its line).

    A region past the end is not clipped silently: it means another assembly or a BED made
    for another genome, and a clipped scan would quietly cover less than asked.
    """
    for iv in intervals:
        n = sizes.get(iv.chrom)
        if n is not None and iv.end > n:
            raise InputError(
                f"interval {iv.chrom}:{iv.start}-{iv.end} ends past the end of {iv.chrom} (length {n:,}"
                + (f" in {genome_path})" if genome_path else ")"),
                path=path, where=f"line {iv.line}" if iv.line else None,
                hint="clip the intervals to the genome (bedtools slop -b 0 -g GENOME.fa.fai -i FILE), "
                     "or check they are of this assembly",
            )


def read_sizes(path: str | os.PathLike) -> list[tuple[str, int]]:
    """Chromosome sizes from a ``chrom.sizes`` file or a FASTA ``.fai`` index (its first two columns).

    Raises
    ------
    InputError
        A line with fewer than 2 columns, a size that is not a positive integer, a name twice,
        or no line at all (naming the line).
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read a chrom.sizes file ({exc})", path=path) from None
    sizes: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r").split("\t") if "\t" in line else line.split()
        if len(fields) < 2:
            raise InputError("expected a name and a size (chrom.sizes or .fai)", path=path, where=f"line {lineno}")
        size = _int(fields[1], "size", path, lineno)
        if size <= 0 or fields[0] in sizes:
            raise InputError(f"size {size} of {fields[0]!r} is not positive" if size <= 0
                             else f"{fields[0]!r} is named twice", path=path, where=f"line {lineno}")
        sizes[fields[0]] = size
    if not sizes:
        raise InputError("no chromosome sizes found", path=path, hint="give a chrom.sizes file or a .fai index")
    return list(sizes.items())


def parse_region_name(name: str) -> tuple[str, int, int] | None:
    """Parse a FASTA name like ``chr1:100-300`` (optionally ``(+)``) into ``(chrom, start, end)``."""
    base = name.split("(")[0]
    chrom, sep, span = base.rpartition(":")
    if not sep or not chrom:
        return None
    a, dash, b = span.replace(",", "").partition("-")
    if not dash or not a.isdigit() or not b.isdigit():
        return None
    return chrom, int(a), int(b)



def merge_intervals(intervals) -> list[tuple[str, int, int]]:
    """Sort ``(chrom, start, end)`` per chromosome (first-seen chromosome order) and merge overlaps."""
    order: dict[str, int] = {}
    for iv in intervals:
        order.setdefault(iv[0], len(order))
    merged: list[tuple[str, int, int]] = []
    for chrom, start, end in sorted(intervals, key=lambda t: (order[t[0]], t[1], t[2])):
        if merged and merged[-1][0] == chrom and start <= merged[-1][2]:
            merged[-1] = (chrom, merged[-1][1], max(end, merged[-1][2]))
        else:
            merged.append((chrom, start, end))
    return merged
