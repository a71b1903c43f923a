"""Null files (``motifscan calibrate -o null.h5``): a window-score null in HDF5, with what it was made for.

Layout: root attributes ``format`` (``motifscan-null``), ``format_version``, ``model_sha256``
(a digest of the model's weights and config, see :func:`motifscan.model.model_digest`),
``genome`` (the genome's file name), ``window``, ``stride``, ``tasks`` (JSON list), ``options``
(JSON: how the null was drawn); group ``null`` holds the arrays of
:meth:`motifscan.stats.null.WindowNull.to_arrays` (stratum edges and sizes, one sorted null and
tail fit per stratum and task). Written atomically; never pickled.

:func:`read_null` refuses, with one line, a file that is not a null of ours (exit 1), a null of
another model (exit 1) and a null made for another window or stride (exit 2: the command line
asks for what the null does not hold).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..atomic import atomic_path
from ..errors import InputError, UsageError

__all__ = ["NullMeta", "write_null", "read_null", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "motifscan-null"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class NullMeta:
    """What a null was made for: model digest, genome, window, stride, tasks, how it was drawn."""

    model_sha256: str
    genome: str
    window: int
    stride: int
    tasks: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


def write_null(path: str | os.PathLike, meta: NullMeta, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` (group ``null``) and ``meta`` (root attributes) to ``path``, atomically."""
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["format"] = FORMAT_NAME
            h5.attrs["format_version"] = FORMAT_VERSION
            h5.attrs["model_sha256"] = meta.model_sha256
            h5.attrs["genome"] = meta.genome
            h5.attrs["window"] = int(meta.window)
            h5.attrs["stride"] = int(meta.stride)
            h5.attrs["tasks"] = json.dumps(list(meta.tasks))
            h5.attrs["options"] = json.dumps(meta.options, sort_keys=True)
            group = h5.create_group("null")
            for key, value in sorted(arrays.items()):
                group.create_dataset(key, data=np.asarray(value))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_null(path: str | os.PathLike, *, model_sha256: str | None = None, window: int | None = None,
              stride: int | None = None) -> tuple[NullMeta, dict[str, np.ndarray]]:
    """Read a null file, checking it was made for this model, window and stride (when given).

    Raises
    ------
    InputError
        Missing, not a motifscan null, an unknown format version, or another model's null.
    UsageError
        Made for another window or stride.
    """
    import h5py

    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError("null file not found", path=path)
    if os.path.isdir(path) or not h5py.is_hdf5(path):
        raise InputError("not a motifscan null file (not HDF5)", path=path,
                         hint="give a file written by 'motifscan calibrate -o null.h5'")
    try:
        with h5py.File(path, "r") as h5:
            if _text(h5.attrs.get("format", "")) != FORMAT_NAME:
                raise InputError("not a motifscan null file (no 'format: motifscan-null' attribute)", path=path,
                                 hint="give a file written by 'motifscan calibrate -o null.h5'")
            version = int(h5.attrs.get("format_version", -1))
            if version != FORMAT_VERSION:
                raise InputError(f"null format version {version} is not supported (this motifscan reads "
                                 f"{FORMAT_VERSION})", path=path, hint="run 'motifscan calibrate' again")
            meta = NullMeta(_text(h5.attrs["model_sha256"]), _text(h5.attrs["genome"]), int(h5.attrs["window"]),
                            int(h5.attrs["stride"]), tuple(json.loads(_text(h5.attrs["tasks"]))),
                            json.loads(_text(h5.attrs["options"])))
            if model_sha256 is not None and meta.model_sha256 != model_sha256:
                raise InputError("this null was made for another model (model digests differ)", path=path,
                                 hint="run 'motifscan calibrate MODEL GENOME -o null.h5' with this model")
            for name, want, have in (("window", window, meta.window), ("stride", stride, meta.stride)):
                if want is not None and want != have:
                    raise UsageError(f"this null was made for --{name} {have}, not {want}", path=path,
                                     hint=f"scan with --{name} {have}, or calibrate again with --{name} {want}")
            arrays: dict[str, np.ndarray] = {}
            h5["null"].visititems(lambda k, v: arrays.__setitem__(k, v[()]) if isinstance(v, h5py.Dataset) else None)
    except (KeyError, OSError, ValueError, TypeError) as exc:
        if isinstance(exc, (InputError, UsageError)):
            raise
        raise InputError(f"truncated or corrupt null file ({exc})", path=path) from None
    return meta, arrays
