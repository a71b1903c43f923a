"""Gather the outputs of a sharded scan (``motifscan scan --shard I/N``) into one track and one peak file.

Shards hand over binary pieces: each shard's bigWig (written as it scanned, with the whole
genome's chromosome list) and its peaks. :func:`gather_tracks` streams the shards' fixed-step
sections, in shard order, into one bigWig (:class:`~motifscan.io.bigwig.BigWigStream`: zoom
levels recomputed, memory flat in the genome's size); runs cut at shard edges are joined, so the
result is byte for byte the bigWig of the unsharded scan. :func:`merge_peak_files` joins peaks
cut at shard edges, reading the exact values of their best windows from the shard tracks.

Each shard must be scanned with the same options (model, window, stride, threshold), as
``motifscan scan --shard I/N`` of one command line gives: every shard track carries a manifest
(:mod:`motifscan.io.manifest`) and a set that is incomplete, out of order, scanned with different
options, or paired with files its shards did not write is refused before anything is written.
The gathered track and peaks are one output set (:func:`~motifscan.atomic.output_set`): both
appear, or neither does (a bad line in a shard's peaks leaves no track behind).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..atomic import atomic_path, check_distinct, output_set
from ..errors import InputError
from .bigwig import ZOOM_LEVELS, BigWigSections, BigWigStream
from .manifest import check_shard_set, manifest_path, read_manifest
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


def _check_files(tracks: Sequence[PathLike], peaks: Sequence[PathLike], outputs: Sequence[tuple[str, PathLike]]
                 ) -> None:
    check_distinct([*(("shard track", t) for t in tracks), *(("shard manifest", manifest_path(t)) for t in tracks),
                    *(("shard peaks", p) for p in peaks)], outputs)


def gather_tracks(tracks: Sequence[PathLike], out: PathLike, *, zoom_levels: int = ZOOM_LEVELS,
                  sizes: Sequence[tuple[str, int]] | None = None) -> int:
    """Join the shard bigWigs of shards ``1..N`` (in order) into ``out``; returns the values written.

    Parameters
    ----------
    tracks
        Shard bigWigs from ``motifscan scan --shard I/N -o I.bw``, in shard order, each with its
        manifest (``I.bw.manifest.json``): the set must be whole and of one scan.
    out
        The joined bigWig (written atomically).
    zoom_levels
        Zoom levels of the joined file (the scan's default unless changed).
    sizes
        The genome's ``(chrom, length)`` list, checked against the shards' when given.

    Raises
    ------
    InputError
        A shard track missing, unreadable, without its manifest; shards missing, repeated, out of
        order, of different scans or settings; chromosome lists that differ.
    UsageError
        ``out`` is one of the shards' files.
    """
    if not tracks:
        raise InputError("no shard tracks to gather")
    _check_files(tracks, [], [("gathered track", out)])
    readers = _readers(tracks, sizes)
    check_shard_set(tracks, [read_manifest(t) for t in tracks])
    return _join_tracks(tracks, readers, out, zoom_levels)


def _readers(tracks: Sequence[PathLike], sizes) -> list[BigWigSections]:
    readers: list[BigWigSections] = []
    for t in tracks:  # one at a time: one chromosome list for every shard (a draft's has 10^6 names)
        r = _sections(t)
        if readers and r.sizes != genome:
            raise InputError("its chromosome list differs from the first shard's (shards of one scan?)", path=t)
        genome = r.sizes = readers[0].sizes if readers else r.sizes
        readers.append(r)
    if sizes is not None and [tuple(x) for x in sizes] != genome:
        raise InputError("the shards' chromosomes differ from the genome's sizes file",
                         path=tracks[0], hint="gather the shards of a scan of this genome")
    return readers


def _join_tracks(tracks: Sequence[PathLike], readers: Sequence[BigWigSections], out: PathLike,
                 zoom_levels: int) -> int:
    with atomic_path(out) as tmp, open(tmp, "w+b") as fh:
        bw = BigWigStream(fh, readers[0].sizes, zoom_levels=zoom_levels)
        try:
            for t, r in zip(tracks, readers):
                try:
                    _add_runs(bw, r.runs())
                except ValueError as exc:
                    raise InputError(f"{exc} (shards must come in order 1..N)", path=t) from None
            bw.close()
        finally:
            bw.abort()
    return bw.n_values


def _add_runs(bw: BigWigStream, batches) -> None:
    """Add the sections of a shard track (:meth:`BigWigSections.runs` batches) to ``bw``, a call
    per batch and layout (``add_runs`` writes what ``add`` would run by run; a draft assembly's
    shard holds 10^5 one-scaffold sections)."""
    n_chroms = len(bw.sizes)
    for r in batches:
        if len(r.tids) and int(r.tids.max()) >= n_chroms:
            raise ValueError(f"chromosome id {int(r.tids.max())} is not in the bigWig's chromosome list")
        cut = np.r_[0, np.flatnonzero((np.diff(r.spans) != 0) | (np.diff(r.steps) != 0)) + 1, len(r.tids)]
        at = np.r_[0, np.cumsum(r.counts)]
        for lo, hi in zip(cut[:-1].tolist(), cut[1:].tolist()):
            if lo < hi:
                bw.add_runs(r.tids[lo:hi], r.starts[lo:hi], r.counts[lo:hi], int(r.spans[lo]), int(r.steps[lo]),
                            r.values[at[lo] : at[hi]])


def gather(tracks: Sequence[PathLike], peaks: Sequence[PathLike], out_track: PathLike, out_peaks: PathLike, *,
           zoom_levels: int = ZOOM_LEVELS, sizes: Sequence[tuple[str, int]] | None = None,
           merge_peaks: Callable[[Sequence[PathLike], PathLike], int] | None = None) -> dict[str, int]:
    """One bigWig and one peak file from the tracks and peaks of shards ``1..N``.

    Equal, byte for byte, to ``motifscan scan MODEL GENOME -o out.bw --peaks out.bed`` without
    ``--shard`` (same options). Every check (:func:`gather_tracks`, and each peak file is the one
    its shard wrote) comes before any writing; both outputs appear together or not at all.
    Returns ``{"values": ..., "peaks": ...}``. ``merge_peaks(peaks, out)`` replaces the joining
    of peak files: shards scanned with a null hand over p-value counts instead
    (:func:`motifscan.scan.significance.gather_significant_peaks`).
    """
    if len(tracks) != len(peaks):
        raise InputError(f"{len(tracks)} shard tracks but {len(peaks)} shard peak files")
    if not tracks:
        raise InputError("no shard tracks to gather")
    _check_files(tracks, peaks, [("gathered track", out_track), ("gathered peaks", out_peaks)])
    readers = _readers(tracks, sizes)
    manifests = [read_manifest(t) for t in tracks]
    check_shard_set(tracks, manifests, peaks)
    if merge_peaks is not None:  # each shard's p-value counts are the ones it wrote beside its peaks
        for p, t, m in zip(peaks, tracks, manifests):
            side = Path(os.fspath(p) + ".pvalues.npz")
            entry = m.files.get("pvalues")
            size = os.path.getsize(side) if side.exists() else None
            if entry is None or size != entry.get("bytes"):
                raise InputError("is not the peak p-value file its shard wrote" if entry else
                                 "its shard wrote no peak p-values (scanned without --null/--fdr?)",
                                 path=side if entry else t, hint="give each shard's own files, as the scan wrote them")
    import pyBigWig

    opened: dict[int, object] = {}

    def value_at(k: int, chrom: str, start: int, end: int) -> float:
        if k not in opened:
            opened[k] = pyBigWig.open(os.fspath(tracks[k]))
        return float(opened[k].stats(chrom, start, end, type="max", exact=True)[0])

    with output_set():
        n_values = _join_tracks(tracks, readers, out_track, zoom_levels)
        if merge_peaks is not None:
            return {"values": n_values, "peaks": merge_peaks(peaks, out_peaks)}
        try:
            n_peaks = merge_peak_files(peaks, out_peaks, order=[c for c, _n in readers[0].sizes],
                                       value_at=value_at)
        finally:
            for bw in opened.values():
                bw.close()
    return {"values": n_values, "peaks": n_peaks}
