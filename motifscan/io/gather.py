"""Gather the outputs of a sharded scan (``motifscan scan --shard I/N``) into one track and one peak file.

Shards hand over binary pieces: each shard's bigWig (written as it scanned, with the whole
genome's chromosome list) and its peaks. :func:`gather_tracks` streams the shards' fixed-step
sections, in shard order, into one bigWig (:class:`~motifscan.io.bigwig.BigWigStream`: zoom
levels recomputed, memory flat in the genome's size); runs cut at shard edges are joined, so the
result is byte for byte the bigWig of the unsharded scan. :func:`merge_peak_files` joins peaks
cut at shard edges, reading the exact values of their best windows from the shard tracks.

Each shard must be scanned with the same options (model, window, stride, threshold), as
``motifscan scan --shard I/N`` of one command line gives.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

from ..atomic import atomic_path
from ..errors import InputError
from .bigwig import ZOOM_LEVELS, BigWigSections, BigWigStream
from .peaks import merge_peak_files

__all__ = ["gather_tracks", "gather"]

PathLike = str | os.PathLike


def _sections(path: PathLike) -> BigWigSections:
    try:
        return BigWigSections(path)
    except FileNotFoundError:
        raise InputError("shard track not found", path=path) from None
    except ValueError as exc:
        raise InputError(str(exc).split(": ", 1)[-1], path=path) from None


def gather_tracks(tracks: Sequence[PathLike], out: PathLike, *, zoom_levels: int = ZOOM_LEVELS,
                  sizes: Sequence[tuple[str, int]] | None = None) -> int:
    """Join the shard bigWigs of shards ``1..N`` (in order) into ``out``; returns the values written.

    Parameters
    ----------
    tracks
        Shard bigWigs from ``motifscan scan --shard I/N -o I.bw``, in shard order.
    out
        The joined bigWig (written atomically).
    zoom_levels
        Zoom levels of the joined file (the scan's default unless changed).
    sizes
        The genome's ``(chrom, length)`` list, checked against the shards' when given.
    """
    if not tracks:
        raise InputError("no shard tracks to gather")
    readers = [_sections(t) for t in tracks]
    genome = readers[0].sizes
    for t, r in zip(tracks, readers):
        if r.sizes != genome:
            raise InputError("its chromosome list differs from the first shard's (shards of one scan?)", path=t)
    if sizes is not None and [tuple(x) for x in sizes] != genome:
        raise InputError("the shards' chromosomes differ from the genome's sizes file",
                         path=tracks[0], hint="gather the shards of a scan of this genome")
    with atomic_path(out) as tmp, open(tmp, "w+b") as fh:
        bw = BigWigStream(fh, genome, zoom_levels=zoom_levels)
        try:
            for t, r in zip(tracks, readers):
                for chrom, start, span, step, values in r.sections():
                    try:
                        bw.add(chrom, start, span, step, values)
                    except ValueError as exc:
                        raise InputError(f"{exc} (shards must come in order 1..N)", path=t) from None
            bw.close()
        finally:
            bw.abort()
    return bw.n_values


def gather(tracks: Sequence[PathLike], peaks: Sequence[PathLike], out_track: PathLike, out_peaks: PathLike, *,
           zoom_levels: int = ZOOM_LEVELS, sizes: Sequence[tuple[str, int]] | None = None,
           merge_peaks: Callable[[Sequence[PathLike], PathLike], int] | None = None) -> dict[str, int]:
    """One bigWig and one peak file from the tracks and peaks of shards ``1..N``.

    Equal, byte for byte, to ``motifscan scan MODEL GENOME -o out.bw --peaks out.bed`` without
    ``--shard`` (same options). Returns ``{"values": ..., "peaks": ...}``. ``merge_peaks(peaks,
    out)`` replaces the joining of peak files: shards scanned with a null hand over p-value counts
    instead (:func:`motifscan.scan.significance.gather_significant_peaks`).
    """
    if len(tracks) != len(peaks):
        raise InputError(f"{len(tracks)} shard tracks but {len(peaks)} shard peak files")
    n_values = gather_tracks(tracks, out_track, zoom_levels=zoom_levels, sizes=sizes)
    if merge_peaks is not None:
        return {"values": n_values, "peaks": merge_peaks(peaks, out_peaks)}
    import pyBigWig

    opened: dict[int, object] = {}

    def value_at(k: int, chrom: str, start: int, end: int) -> float:
        if k not in opened:
            opened[k] = pyBigWig.open(os.fspath(tracks[k]))
        return float(opened[k].stats(chrom, start, end, type="max", exact=True)[0])

    try:
        n_peaks = merge_peak_files(peaks, out_peaks, order=[c for c, _n in _sections(tracks[0]).sizes],
                                   value_at=value_at)
    finally:
        for bw in opened.values():
            bw.close()
    return {"values": n_values, "peaks": n_peaks}
