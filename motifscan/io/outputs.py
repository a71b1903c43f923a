"""Which output a path means: the format tables of model scans and motif-file scans, in one place.

Model scans (:func:`output_format`): ``.bedGraph``/``.bg``/``.bdg`` track, ``.bw``/``.bigWig``
track, ``.bed``/``.narrowPeak`` **peaks**, ``.tsv``/``.txt`` records. Motif-file scans
(:func:`hit_output_format`): ``.tsv``/``.txt`` FIMO columns, ``.bed`` **motif hits**, ``.gff``/``.gff3``.
The same extension can mean different things to the two scans (``.bed``), so each scan asks its
own table, and both tables live here.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UsageError

__all__ = ["WINDOW_FORMATS", "HIT_FORMATS", "output_format", "hit_output_format", "task_path"]

WINDOW_FORMATS = ("bedgraph", "bigwig", "peaks")
_EXT = {
    ".bedgraph": "bedgraph", ".bg": "bedgraph", ".bdg": "bedgraph",
    ".bw": "bigwig", ".bigwig": "bigwig",
    ".bed": "peaks", ".narrowpeak": "peaks",
    ".tsv": "tsv", ".txt": "tsv",
}


def output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``bedgraph``, ``bigwig``, ``peaks`` or ``tsv``: ``fmt`` if given, else from the extension."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in (*WINDOW_FORMATS, "tsv"):
            raise UsageError(f"--format {fmt!r} is not known", hint="use bedgraph, bigwig, peaks or tsv")
        return fmt
    name = os.fspath(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = os.path.splitext(name)[1]
    if ext not in _EXT:
        raise UsageError(
            f"cannot tell the output format from {os.fspath(path)!r}",
            hint="use .bedGraph, .bw, .bed (peaks) or .tsv (records), or give --format",
        )
    return _EXT[ext]


HIT_FORMATS = {".tsv": "tsv", ".txt": "tsv", ".bed": "bed", ".gff": "gff3", ".gff3": "gff3"}


def hit_output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``tsv``, ``bed`` or ``gff3`` from ``fmt`` or the file extension (``.gz`` is not supported)."""
    if fmt:
        fmt = fmt.lower()
        if fmt in ("tsv", "bed", "gff3", "gff"):
            return "gff3" if fmt == "gff" else fmt
        raise UsageError(f"--format {fmt} is not a motif-hit format", hint="use tsv, bed or gff3")
    ext = Path(path).suffix.lower()
    if ext not in HIT_FORMATS:
        raise UsageError(
            f"cannot tell the motif-hit format from {Path(path).name!r}",
            hint="name the output .tsv (FIMO columns), .bed or .gff3",
        )
    return HIT_FORMATS[ext]


def task_path(path: str | os.PathLike, task: str) -> Path:
    """The file of one task of a multi-task output: ``track.bw`` -> ``track.TASK.bw``.

    The task goes before the format's extension (and before ``.gz``), so the format stays
    recognisable: ``peaks.narrowPeak`` -> ``peaks.TASK.narrowPeak``.
    """
    p = Path(path)
    name = p.name
    gz = ""
    if name.lower().endswith(".gz"):
        name, gz = name[:-3], name[-3:]
    stem, ext = os.path.splitext(name)
    return p.with_name(f"{stem}.{task}{ext}{gz}")
