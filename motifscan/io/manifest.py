"""Shard manifests: what each shard of a scan hands to the gathering, so a set can be checked whole.

``motifscan scan --shard I/N -o OUT ...`` writes, with each track it writes, a small JSON file
``OUT.manifest.json`` (:func:`manifest_path`), in the same output set as the track (it appears
with it or not at all). Gathering (:func:`motifscan.io.gather.gather`) reads the manifest of
every shard track and refuses a set that is not whole and consistent (:func:`check_shard_set`):
shards missing or given twice, of different ``N``, out of order, scanned with different settings
(model, window, stride, threshold, task, chromosomes, regions...), or whose files are not the ones
the shard wrote (size differs: replaced, cut off, or paired with another shard's peaks).

The record (:class:`ShardManifest`) is a plain dict, written as JSON with sorted keys::

    {
      "format": "motifscan-shard-manifest", "version": 1,
      "shard": [I, N],
      "settings": {...},                      # equal across the shards of one scan
      "files": {"track": {"name": "1.bw", "bytes": 123456},
                "peaks": {"name": "1.peaks.bed", "bytes": 789}},
      ...                                     # more keys: see below
    }

**Extending it.** Any key may be added (``record["pvalue_counts"] = {...}``) by the code that
writes the shard, before :func:`write_manifest`; readers keep every key they do not know, and
:func:`check_shard_set` compares only ``shard``, ``settings`` and ``files``. A value every shard
must share belongs in ``settings``; a per-shard quantity to be combined at gathering time (counts,
sums) gets its own top-level key, read back with ``record.get(key)``. Values must be JSON
(numbers, strings, lists, dicts); a change to the meaning of an existing key needs a new
``version``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..atomic import atomic_open
from ..errors import InputError

__all__ = ["ShardManifest", "manifest_path", "write_manifest", "read_manifest", "check_shard_set", "file_entry",
           "MANIFEST_SUFFIX", "MANIFEST_FORMAT", "MANIFEST_VERSION"]

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = "motifscan-shard-manifest"
MANIFEST_VERSION = 1

PathLike = str | os.PathLike


class ShardManifest(dict):
    """A shard's manifest: a dict (see the module docstring) with typed views of its core keys."""

    @classmethod
    def new(cls, shard: tuple[int, int], settings: Mapping[str, Any], files: Mapping[str, Mapping[str, Any]],
            **extra: Any) -> "ShardManifest":
        """A manifest of shard ``shard = (I, N)`` with ``settings``, ``files`` and any ``extra`` keys."""
        return cls(format=MANIFEST_FORMAT, version=MANIFEST_VERSION, shard=[int(shard[0]), int(shard[1])],
                   settings=dict(settings), files={k: dict(v) for k, v in files.items()}, **extra)

    @property
    def shard(self) -> tuple[int, int]:
        """``(I, N)``: this is shard ``I`` of ``N`` (1-based)."""
        i, n = self["shard"]
        return int(i), int(n)

    @property
    def settings(self) -> dict[str, Any]:
        """What must be equal across the shards of one scan."""
        return self["settings"]

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """Per role (``track``, ``peaks``): the file's ``name`` and size in ``bytes``."""
        return self["files"]


def manifest_path(output: PathLike) -> Path:
    """The manifest beside a shard output: ``OUT.manifest.json``."""
    return Path(os.fspath(output) + MANIFEST_SUFFIX)


def file_entry(path: PathLike, written: PathLike | None = None) -> dict[str, Any]:
    """The ``files`` entry of an output named ``path`` whose bytes are in ``written`` (its temporary)."""
    return {"name": Path(path).name, "bytes": os.path.getsize(written if written is not None else path)}


def write_manifest(output: PathLike, manifest: ShardManifest) -> Path:
    """Write ``manifest`` beside ``output`` (atomically; in the current output set, if any)."""
    target = manifest_path(output)
    with atomic_open(target) as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.write("\n")
    return target


def read_manifest(output: PathLike) -> ShardManifest:
    """Read the manifest of shard output ``output``.

    Raises
    ------
    InputError
        No manifest (not the output of ``scan --shard``, or of an older motifscan), or one that
        is not a motifscan shard manifest of a known version.
    """
    path = manifest_path(output)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise InputError(f"no shard manifest ({path.name}) beside it", path=output,
                         hint="gather the outputs of 'motifscan scan --shard I/N' of this version (scan them again)"
                         ) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"unreadable shard manifest ({exc})", path=path) from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise InputError("not a motifscan shard manifest", path=path)
    if data.get("version") != MANIFEST_VERSION:
        raise InputError(f"shard manifest version {data.get('version')} (this motifscan reads {MANIFEST_VERSION})",
                         path=path, hint="scan the shards again with this motifscan")
    try:
        record = ShardManifest(data)
        i, n = record.shard
        if not 1 <= i <= n or not isinstance(record.settings, dict) or not isinstance(record.files, dict):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise InputError("shard manifest lacks a valid shard, settings or files entry", path=path) from None
    return record


def _check_file(role: str, path: PathLike, manifest: ShardManifest, track: PathLike) -> None:
    entry = manifest.files.get(role)
    if entry is None:
        raise InputError(f"its shard wrote no {role} file", path=path if role == "track" else track)
    size = os.path.getsize(path) if os.path.exists(path) else None
    if size != entry.get("bytes"):
        i, n = manifest.shard
        raise InputError(f"is not the {role} file that shard {i}/{n} wrote ({entry.get('name')}, "
                         f"{entry.get('bytes')} bytes; this one has {size})", path=path,
                         hint="give each shard's own files, as the scan wrote them")


def check_shard_set(tracks: Sequence[PathLike], manifests: Sequence[ShardManifest],
                    peaks: Sequence[PathLike] | None = None) -> int:
    """Check that ``tracks`` (with their ``manifests``, and ``peaks``) are the whole set of one scan.

    Shards must be ``1..N`` of one ``N``, each once and in order; their ``settings`` equal; and
    each given file the one its shard wrote (same size). Returns ``N``.

    Raises
    ------
    InputError
        Naming the shard file at fault and what is wrong (missing shards, a setting that differs
        and its two values, a file of another shard).
    """
    first = manifests[0]
    n = first.shard[1]
    seen: dict[int, PathLike] = {}
    for k, (track, m) in enumerate(zip(tracks, manifests)):
        i, n_here = m.shard
        if n_here != n:
            raise InputError(f"is shard {i}/{n_here}, but {tracks[0]} is of {n} shards", path=track,
                             hint="gather the shards of one scan")
        if i in seen:
            raise InputError(f"shard {i}/{n} is given twice (also {seen[i]})", path=track)
        seen[i] = track
        for key in sorted(set(first.settings) | set(m.settings)):
            a, b = first.settings.get(key), m.settings.get(key)
            if a != b:
                raise InputError(f"scanned with {key} {b!r}, but {tracks[0]} with {a!r}", path=track,
                                 hint="gather the shards of one scan (same model and options)")
        _check_file("track", track, m, track)
        if peaks is not None:
            _check_file("peaks", peaks[k], m, track)
    missing = [i for i in range(1, n + 1) if i not in seen]
    if missing:
        shown = ", ".join(f"{i}/{n}" for i in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise InputError(f"{len(missing)} of {n} shards missing: {shown}", path=tracks[0],
                         hint="give every shard's track (and peaks) to gather")
    for k, (track, m) in enumerate(zip(tracks, manifests)):
        if m.shard[0] != k + 1:
            raise InputError(f"shard {m.shard[0]}/{n} is given in place {k + 1}: shards must come in order 1..N",
                             path=track)
    return n
