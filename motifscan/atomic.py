"""Atomic output files: written under a temporary name beside the target, renamed at the end.

A failure, ``KeyboardInterrupt`` or SIGTERM (the CLI turns it into ``SystemExit``) inside the
``with`` block removes the temporary and leaves any earlier file at the target untouched, so no
reader -- a user, Snakemake's incomplete-output check -- ever sees a half-written file.

Temporaries are hidden files in the target's own directory (``.NAME.tmp-XXXXXX.EXT``) so the final
``os.replace`` is a same-filesystem rename; the extension is kept for libraries that look at it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .errors import UsageError

__all__ = ["atomic_path", "atomic_open", "check_output_path", "check_output_dir", "TMP_MARKER"]

TMP_MARKER = ".tmp-"


def check_output_path(path: str | os.PathLike, *, option: str = "-o") -> Path:
    """Check before any work that ``path`` can be written.

    Raises
    ------
    UsageError
        The directory does not exist, is not writable, or ``path`` is a directory.
    """
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise UsageError(f"{option} {p} is a directory, not a file", hint="give a file name")
    if not parent.is_dir():
        raise UsageError(
            f"output directory {parent} does not exist",
            path=p,
            hint=f"create it first (mkdir -p {parent})",
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"output directory {parent} is not writable", path=p)
    return p


def check_output_dir(path: str | os.PathLike, *, option: str = "-o") -> Path:
    """Check before any work that directory ``path`` can be written or created (with its parents).

    Raises
    ------
    UsageError
        ``path`` exists and is not a directory, or the closest existing ancestor is a file or
        not writable.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{option} {p} exists and is not a directory")
    existing = p if p.is_dir() else next(a for a in p.absolute().parents if a.exists())
    if not existing.is_dir():
        raise UsageError(f"{option} {p}: {existing} is a file, not a directory", hint="give another folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"output directory {existing} is not writable", path=p)
    return p


def _file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give (mkstemp's own 0600 would hide outputs)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _temp_name(target: Path) -> Path:
    suffix = "".join(target.suffixes[-2:]) if target.suffixes else ""
    stem = target.name[: len(target.name) - len(suffix)] if suffix else target.name
    fd, name = tempfile.mkstemp(prefix=f".{stem}{TMP_MARKER}", suffix=suffix, dir=target.parent or ".")
    os.fchmod(fd, _file_mode())
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success rename it to ``target``.

    Examples
    --------
    >>> with atomic_path("model.h5") as tmp:            # doctest: +SKIP
    ...     h5py.File(tmp, "w").close()
    """
    target = Path(target)
    check_output_path(target)
    tmp = _temp_name(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file for writing; on success rename it to ``target``.

    ``mode`` is ``"w"`` (text, UTF-8 unless ``encoding`` is given) or ``"wb"``.
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_open writes only, not mode {mode!r}")
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("newline", "\n")
    with atomic_path(target) as tmp:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
