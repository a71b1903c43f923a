"""Which output a path means: the format tables of model scans and motif-file scans, in one place.

Model scans (:func:`output_format`): ``.bedGraph``/``.bg``/``.bdg`` track, ``.bw``/``.bigWig``
track, ``.bed``/``.narrowPeak`` **peaks**, ``.tsv``/``.txt`` records. Motif-file scans
(:func:`hit_output_format`): ``.tsv``/``.txt`` FIMO columns, ``.bed`` **motif hits**, ``.gff``/``.gff3``.
The same extension can mean different things to the two scans (``.bed``), so each scan asks its
own table, and both tables live here.

The tables are one registry of :class:`OutputFormat` (name, extensions, mode, writer): the CLI's
``--format`` choices (:data:`FORMAT_CHOICES`), :func:`output_format` / :func:`hit_output_format`
and the model scan's window-writer dispatch all read it, so a new format is one entry here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import UsageError
from .peaks import PeakWriter
from .tracks import BedGraphWriter, BigWigWriter

__all__ = ["OutputFormat", "WindowTarget", "MODEL_FORMATS", "HIT_FORMAT_TABLE", "FORMAT_CHOICES", "WINDOW_FORMATS",
           "HIT_FORMATS", "output_format", "hit_output_format", "task_path"]


@dataclass(frozen=True)
class WindowTarget:
    """What a window writer needs besides its path: window, stride, peak threshold, sizes, task column."""

    window: int
    stride: int
    threshold: float
    sizes: dict[str, int] | None = None
    column: int = 0


@dataclass(frozen=True)
class OutputFormat:
    """One output format: its ``--format`` name, file extensions, scan mode and writer.

    Attributes
    ----------
    name
        The ``--format`` value.
    extensions
        Lower-case file extensions that mean it (the first is the one to suggest).
    mode
        ``windows`` or ``records`` (model scans), ``hits`` (motif-file scans).
    writer
        Window formats: ``writer(path, WindowTarget) -> writer``; ``None`` for the others (records
        and hits have one writer each, :class:`~motifscan.io.records.RecordsWriter` and
        :class:`~motifscan.io.fimo.HitSink`).
    """

    name: str
    extensions: tuple[str, ...]
    mode: str
    writer: Callable[[Any, WindowTarget], Any] | None = None


def _bedgraph(path, t: WindowTarget):
    return BedGraphWriter(path, t.window, t.stride, column=t.column)


def _bigwig(path, t: WindowTarget):
    return BigWigWriter(path, t.window, t.stride, t.sizes, column=t.column)


def _peaks(path, t: WindowTarget):
    return PeakWriter(path, t.window, t.threshold, column=t.column)


#: Model-scan outputs, in ``--format`` order.
MODEL_FORMATS: dict[str, OutputFormat] = {f.name: f for f in (
    OutputFormat("bedgraph", (".bedgraph", ".bg", ".bdg"), "windows", _bedgraph),
    OutputFormat("bigwig", (".bw", ".bigwig"), "windows", _bigwig),
    OutputFormat("peaks", (".bed", ".narrowpeak"), "windows", _peaks),
    OutputFormat("tsv", (".tsv", ".txt"), "records"),
)}
#: Motif-file scan outputs (``gff`` is accepted as ``gff3``).
HIT_FORMAT_TABLE: dict[str, OutputFormat] = {f.name: f for f in (
    OutputFormat("tsv", (".tsv", ".txt"), "hits"),
    OutputFormat("bed", (".bed",), "hits"),
    OutputFormat("gff3", (".gff", ".gff3"), "hits"),
)}
#: The ``--format`` choices of ``motifscan scan``.
FORMAT_CHOICES = tuple(dict.fromkeys([*MODEL_FORMATS, *HIT_FORMAT_TABLE]))
WINDOW_FORMATS = tuple(f.name for f in MODEL_FORMATS.values() if f.mode == "windows")
_EXT = {ext: f.name for f in MODEL_FORMATS.values() for ext in f.extensions}


def output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``bedgraph``, ``bigwig``, ``peaks`` or ``tsv``: ``fmt`` if given, else from the extension."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in MODEL_FORMATS:
            raise UsageError(f"--format {fmt!r} is not known", hint="use " + ", ".join(MODEL_FORMATS))
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


HIT_FORMATS = {ext: f.name for f in HIT_FORMAT_TABLE.values() for ext in f.extensions}


def hit_output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``tsv``, ``bed`` or ``gff3`` from ``fmt`` or the file extension (``.gz`` is not supported)."""
    if fmt:
        fmt = fmt.lower()
        fmt = "gff3" if fmt == "gff" else fmt
        if fmt in HIT_FORMAT_TABLE:
            return fmt
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
