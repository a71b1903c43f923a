"""Samplesheets: one row per task of a multi-task model (``motifscan train --samplesheet``).

A tab-separated file with a header line. Columns (any order; others are ignored):

``name``
    Task name (unique; letters, digits, ``_ . -``), used in column and file names.
``peaks``
    The task's positives: FASTA, or BED/narrowPeak with a genome.
``negatives`` (optional)
    ``shuffle``, ``background`` or a FASTA/BED file (default: shuffle, or GC-matched background
    for BED tasks pooled on one genome; see :mod:`motifscan.data.tasks`).
``genome`` (optional)
    Genome FASTA of a BED/narrowPeak task.

Relative paths are read relative to the samplesheet's folder, so a sheet travels with its files.
Empty cells and ``NA`` mean "not given"; lines starting with ``#`` are comments.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

__all__ = ["TaskSpec", "read_samplesheet", "check_task_name", "SAMPLESHEET_COLUMNS"]

SAMPLESHEET_COLUMNS = ("name", "peaks", "negatives", "genome")
_REQUIRED = ("name", "peaks")
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class TaskSpec:
    """One task: its name, its positives, their negatives and (for BED) their genome."""

    name: str
    peaks: str
    negatives: str | None = None  # None: the default of the labelling mode (shuffle, or background when pooled)
    genome: str | None = None


def check_task_name(name: str, path=None, where=None) -> str:
    """``name`` if it is a usable task name, else an :class:`InputError` naming the rule."""
    if not _NAME.fullmatch(name):
        raise InputError(f"task name {name!r} is not usable in column and file names", path=path, where=where,
                         hint="use letters, digits, '_', '.' and '-' only")
    return name


def read_samplesheet(path: str | os.PathLike) -> list[TaskSpec]:
    """Read a samplesheet (see the module docstring); every named file must exist.

    Raises
    ------
    InputError
        Missing file or columns, an empty sheet, a duplicate or unusable task name, a row without
        peaks, or a file the row names that does not exist (naming the line).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("samplesheet not found", path=path)
    base = path.parent
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # -sig: a leading BOM (Excel) is not text
    except UnicodeDecodeError:
        raise InputError("not a text file", path=path, hint="give a tab-separated samplesheet") from None
    rows = [(i, ln) for i, ln in enumerate(lines, 1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not rows:
        raise InputError("samplesheet is empty", path=path, hint="a header line, then one line per task")
    header_line, header = rows[0][0], [h.strip().lower() for h in rows[0][1].split("\t")]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise InputError(f"samplesheet has no {', '.join(repr(m) for m in missing)} column", path=path,
                         where=f"line {header_line}",
                         hint="tab-separated columns: name, peaks, and optionally negatives, genome")
    col: dict[str, int] = {}
    for k, h in enumerate(header):
        if h and h in col:
            raise InputError(f"samplesheet has two {h!r} columns (columns {col[h] + 1} and {k + 1})", path=path,
                             where=f"line {header_line}", hint="keep one column of each name")
        col[h] = k
    tasks: list[TaskSpec] = []
    seen: dict[str, int] = {}
    for lineno, line in rows[1:]:
        fields = [f.strip() for f in line.split("\t")]

        def cell(name: str) -> str | None:
            k = col.get(name)
            value = fields[k] if k is not None and k < len(fields) else ""
            return None if value in ("", "NA", "na", ".") else value

        name, peaks = cell("name"), cell("peaks")
        where = f"line {lineno}"
        if name is None or peaks is None:
            raise InputError(f"row has no {'name' if name is None else 'peaks'}", path=path, where=where)
        check_task_name(name, path, where)
        if name in seen:
            raise InputError(f"task {name!r} is named twice (lines {seen[name]} and {lineno})", path=path, where=where,
                             hint="give every task its own name")
        seen[name] = lineno
        negatives = cell("negatives")
        genome = cell("genome")

        def resolve(value: str, what: str) -> str:
            p = Path(value)
            p = p if p.is_absolute() else base / p
            if not p.exists():
                raise InputError(f"{what} file {value} not found", path=path, where=where)
            return str(p)

        tasks.append(TaskSpec(
            name=name,
            peaks=resolve(peaks, "peaks"),
            negatives=negatives if negatives in (None, "shuffle", "background") else resolve(negatives, "negatives"),
            genome=resolve(genome, "genome") if genome else None,
        ))
    if not tasks:
        raise InputError("samplesheet has a header but no task", path=path)
    return tasks
