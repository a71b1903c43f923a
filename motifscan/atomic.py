"""Atomic outputs: written under a temporary name beside the target, renamed together at the end.

Every output file of motifscan is written here first, under a temporary name in the target's own
folder (``.STEM.tmp-PID-HOST-XXXXXXXX.EXT``: hidden, marked, the extension kept for libraries that
look at it), so the final ``os.replace`` is a same-filesystem rename and no reader -- a user,
Snakemake's incomplete-output check -- ever sees a half-written file.

**Output sets.** The outputs of one run (a scan's track, peaks and hits; a VCF, its index and the
effects TSV) form one :class:`OutputSet`: every file is written to its temporary, and only when
the whole run has succeeded are they committed together:

1. every temporary is flushed to disk (``fsync``);
2. with SIGINT/SIGTERM held back, each existing target is kept as a hard-linked backup, index
   files beside a replaced target (``.fai .gzi .tbi .csi .bai .crai``; they describe the old
   file) are removed, the temporaries are renamed in a fixed order (data files in the order they
   were written, then their indexes), and the folders are flushed;
3. the backups are dropped.

A failure or interrupt before step 2 removes every temporary and leaves every earlier file as
it was; a failure inside step 2 (a rename refused) rolls the renames back, restoring the backups,
so again nothing changes. Renaming several files cannot be one atomic act: a reader looking at the
folder *during* step 2 may see some files new and others old (never a new file with an old
index), and a ``SIGKILL`` or power cut inside it may leave such a mix. Temporaries of a killed
run are recognised by their name (the process id and host in it) and removed by the next run
that writes the same output.

:func:`output_set` opens a set that every :func:`atomic_path` / :func:`atomic_open` inside the
``with`` block (in this thread or task) joins; without one each file is a set of its own.

**Distinct files.** :func:`check_distinct` refuses, before any work, an output that is the same
file as an input or as another output (paths compared after following links).

**Disk full.** A write refused for want of space becomes a :class:`~motifscan.errors.DiskFullError`
naming the output, whatever library (h5py, pysam, numpy) reported it and however.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import functools
import hashlib
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path
from typing import IO, Iterable, Iterator, Sequence

from .errors import DiskFullError, MotifscanError, UsageError

__all__ = [
    "atomic_path",
    "atomic_open",
    "output_set",
    "writes_outputs",
    "OutputSet",
    "current_output_set",
    "temporary_file",
    "remove_stale_temporaries",
    "check_output_path",
    "check_output_dir",
    "check_distinct",
    "named_inputs",
    "index_paths",
    "disk_full_error",
    "TMP_MARKER",
    "INDEX_SUFFIXES",
]

TMP_MARKER = ".tmp-"
#: Index files named after the file they index (``FILE.EXT``): removed when FILE is replaced.
INDEX_SUFFIXES = (".fai", ".gzi", ".tbi", ".csi", ".bai", ".crai")
#: A failing write with less free space than this on its disk is taken for a full disk (libraries
#: such as htslib report it as "Error closing BGZFile object" or "1311 requested and 0 written").
LOW_SPACE = 1 << 20

_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_CURRENT: contextvars.ContextVar["OutputSet | None"] = contextvars.ContextVar("motifscan_output_set", default=None)
_LIVE: set[Path] = set()  # temporaries this process is writing (absolute paths)


# ---------------------------------------------------------------------------- checks before work
def check_output_path(path: str | os.PathLike, *, option: str = "-o") -> Path:
    """Check before any work that ``path`` can be written.

    Raises
    ------
    UsageError
        The directory does not exist, is not writable, or ``path`` is a directory; or ``path`` is
        ``-``, which names standard output to a user but would be written as a file called ``-``
        (an output here is renamed into place whole, which a stream cannot be).
    """
    if os.fspath(path) == "-":
        raise UsageError(f"{option} -: standard output is not an output here (every output is a file, "
                         "written whole or not at all)", hint="give a file name (./- for a file named '-')")
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


def index_paths(path: str | os.PathLike) -> list[Path]:
    """The index files that may sit beside ``path`` (``PATH.fai``, ``PATH.tbi``, ...)."""
    return [Path(os.fspath(path) + ext) for ext in INDEX_SUFFIXES]


def _file_key(path: str | os.PathLike):
    """What makes two names one file: the inode where it exists, else the path with links followed."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.realpath(os.fspath(path)))


Named = Iterable[tuple[str, "str | os.PathLike | None"]]


def check_distinct(inputs: Named, outputs: Named) -> None:
    """Refuse, before any work, an output that is the same file as an input or as another output.

    Parameters
    ----------
    inputs, outputs
        ``(option, path)`` pairs: the option (``"-o"``, ``"--vcf-out"``) or argument (``"VCF"``)
        that names each file, for the message. ``None`` and ``"-"`` (standard input/output)
        are skipped, and so are inputs that do not exist. An input's existing index files (``.fai``, ``.tbi``, ...) count as inputs
        too; give an output's own index (``OUT.vcf.gz.tbi``) as an output where one is written.

    Raises
    ------
    UsageError
        One line naming both options and the file, e.g. ``-o in.vcf is the same file as the
        input VCF in.vcf``. Names are compared after following links (``os.path.realpath``) and,
        for files that exist, by inode (hard links, different spellings).
    """
    seen: dict[object, tuple[str, str, bool]] = {}
    for option, path in inputs:
        if path is None or os.fspath(path) == "-":
            continue
        for p, what in ((Path(path), option), *((i, f"{option}'s index") for i in index_paths(path))):
            if os.path.exists(p):  # a file that is not there cannot be overwritten ('shuffle', say)
                seen.setdefault(_file_key(p), (what, os.fspath(p), True))
    for option, path in outputs:
        if path is None or os.fspath(path) == "-":
            continue
        key = _file_key(path)
        if key in seen:
            other, other_path, is_input = seen[key]
            kind = "the input" if is_input else "the output"
            same = "" if os.fspath(path) == other_path else f" {other_path}"
            raise UsageError(f"{option} {os.fspath(path)} is the same file as {kind} {other}{same}",
                             hint="give the output another name" if is_input else "give each output its own name")
        seen[key] = (option, os.fspath(path), False)


def named_inputs(option: str, value) -> list[tuple[str, "str | os.PathLike"]]:
    """``(option, path)`` pairs for :func:`check_distinct` from an input given as a path, a list of
    paths, or task specifications (objects with ``peaks``, ``negatives`` and ``genome`` paths)."""
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [(option, value)]
    out: list[tuple[str, str | os.PathLike]] = []
    if isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, (str, os.PathLike)):
                out.append((option, item))
            else:
                out += [(option, getattr(item, a)) for a in ("peaks", "negatives", "genome")
                        if isinstance(getattr(item, a, None), (str, os.PathLike))]
    return out


# ---------------------------------------------------------------------------- temporaries
def _split(target: Path) -> tuple[str, str]:
    suffix = "".join(target.suffixes[-2:]) if target.suffixes else ""
    stem = target.name[: len(target.name) - len(suffix)] if suffix else target.name
    return stem, suffix


def _file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give (mkstemp's own 0600 would hide outputs)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _new_temp(target: Path, extra: str = "") -> Path:
    stem, suffix = _split(target)
    fd, name = tempfile.mkstemp(prefix=f".{stem}{TMP_MARKER}{os.getpid()}-{_HOST}-", suffix=suffix + extra,
                                dir=target.parent if str(target.parent) else ".")
    try:
        os.fchmod(fd, _file_mode())
    finally:
        os.close(fd)
    path = Path(name)
    _LIVE.add(path.absolute())
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of ``target`` left by killed runs (``SIGKILL``, power cut).

    A temporary belongs to a dead run when its name carries this host and the id of a process
    that no longer exists; others' (another host, a live process) are left alone. Returns the
    paths removed.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    stem, suffix = _split(target)
    pattern = re.compile(re.escape(f".{stem}{TMP_MARKER}") + r"(\d+)-" + re.escape(_HOST)
                         + r"-[A-Za-z0-9_]{8}" + re.escape(suffix) + r"(\..*)?$")
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = pattern.match(name)
        if m is None or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        p = folder / name
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def temporary_file(target: str | os.PathLike, extra: str = "") -> Path:
    """Create an empty, marked temporary beside ``target`` (``.STEM.tmp-PID-HOST-X.EXT`` + ``extra``).

    For scratch files of a writer (spills) that are not outputs: the caller removes it. Stale
    temporaries of ``target`` from killed runs are removed first (:func:`remove_stale_temporaries`).
    """
    target = Path(target)
    remove_stale_temporaries(target)
    outputs = _CURRENT.get()
    if outputs is not None:  # a write to it failing on a full disk is then said to be the target's
        outputs._scratch.append(target)
    return _new_temp(target, extra)


def _discard(path: Path) -> None:
    _LIVE.discard(path.absolute())
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# ---------------------------------------------------------------------------- disk full
def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _free_bytes(path: Path) -> int | None:
    folder = path if path.is_dir() else path.parent
    try:
        st = os.statvfs(folder if str(folder) else ".")
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def disk_full_error(exc: BaseException, paths: Sequence[Path], owner: dict[Path, Path] | None = None
                    ) -> DiskFullError | None:
    """A :class:`DiskFullError` for ``exc`` when it came from a full disk, else ``None``.

    ``paths`` are the outputs being written (the first one on a full disk is named); ``owner``
    maps temporaries to their targets, so an error naming a temporary names its output. An error
    counts as a full disk when it (or its cause) has errno ``ENOSPC``/``EDQUOT`` or says so, or
    when it is a library's ``OSError``/``RuntimeError`` while less than :data:`LOW_SPACE` bytes
    are free on an output's disk.
    """
    if isinstance(exc, DiskFullError):
        return exc
    if not isinstance(exc, Exception) or isinstance(exc, MotifscanError) or not paths:
        return None
    owner = owner or {}
    if any(not isinstance(e, Exception) for e in _chain(exc)):  # an interrupt (click's Abort wraps Ctrl-C)
        return None
    for e in _chain(exc):
        text = str(e)
        if ((isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT))
                or "No space left on device" in text or "errno = 28," in text):
            name = getattr(e, "filename", None)
            if name:
                p = Path(os.fspath(name)).absolute()
                return DiskFullError(owner.get(p, Path(name)) if p in owner else _target_of(Path(name), paths))
            return DiskFullError(paths[0])
    if isinstance(exc, (OSError, RuntimeError)):
        for p in paths:
            free = _free_bytes(Path(p))
            if free is not None and free < LOW_SPACE:
                return DiskFullError(p)
    return None


def _target_of(name: Path, paths: Sequence[Path]) -> Path:
    """The output a file name belongs to (itself, or the output whose temporary it is)."""
    for p in paths:
        stem, _suffix = _split(Path(p))
        if name.absolute() == Path(p).absolute() or (
                name.parent.absolute() == Path(p).parent.absolute()
                and name.name.startswith(f".{stem}{TMP_MARKER}")):
            return Path(p)
    return paths[0]


# ---------------------------------------------------------------------------- output sets
@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (main thread only) and deliver them once the block is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, lambda s, _f: got.append(s))
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if got:
            handler = previous.get(got[0])
            if callable(handler):
                handler(got[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), got[0])


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if not directory or exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _backup(path: Path) -> Path | None:
    """A hard link to ``path`` under a temporary name, or ``None`` where links are not supported."""
    tmp = _new_temp(path, ".old")
    tmp.unlink()
    try:
        os.link(path, tmp)
    except OSError as exc:
        _LIVE.discard(tmp.absolute())
        if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            return None
        raise
    return tmp


class OutputSet:
    """The outputs of one run: written to temporaries, committed together (see the module docstring).

    Use :func:`output_set` rather than this class directly; writers call :meth:`path` (or
    :func:`atomic_path`, which joins the current set) for each file and :meth:`stage` for a file
    a library wrote beside one (an index).
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (temporary, target), in the order written
        self._temps: list[Path] = []  # every temporary of the set, removed unless renamed
        self._pending: list[Path] = []  # targets being written (not staged yet)
        self._scratch: list[Path] = []  # targets of scratch files (spills) made in this set
        self._made: list[Path] = []  # folders this set created (the outermost of each makedirs)
        self.committed = False

    @property
    def targets(self) -> list[Path]:
        """The outputs staged so far, in order."""
        return [t for _tmp, t in self._staged]

    def makedirs(self, folder: str | os.PathLike) -> Path:
        """Create ``folder`` and its missing parents (``mkdir -p``), taken back if the set fails."""
        folder = Path(folder)
        missing = [f for f in [*reversed(folder.absolute().parents), folder.absolute()] if not f.exists()]
        for f in missing:
            f.mkdir(exist_ok=True)
        if missing:
            self._made.append(missing[0])
        return folder

    def written(self, target: str | os.PathLike) -> Path | None:
        """The finished temporary staged for ``target`` (to read back before the commit), or ``None``."""
        for tmp, t in self._staged:
            if os.path.realpath(t) == os.path.realpath(target):
                return tmp
        return None

    def _paths(self) -> list[Path]:
        return [t for _tmp, t in self._staged] + list(self._pending) + list(self._scratch)

    @contextlib.contextmanager
    def path(self, target: str | os.PathLike) -> Iterator[Path]:
        """Yield a temporary to write for ``target``; staged for the commit if the block succeeds.

        A ``target`` that is itself a temporary being written (a writer handing its temporary to
        a library that writes atomically too) is yielded as it is.
        """
        target = Path(target)
        if target.absolute() in _LIVE:
            yield target
            return
        check_output_path(target)
        remove_stale_temporaries(target)
        tmp = _new_temp(target)
        self._temps.append(tmp)
        self._pending.append(target)
        try:
            yield tmp
        except BaseException as exc:
            _discard(tmp)
            full = disk_full_error(exc, [target], {tmp.absolute(): target})
            if full is not None and full is not exc:
                raise full from exc
            raise
        finally:
            self._pending.remove(target)
        self.stage(tmp, target)

    def stage(self, tmp: str | os.PathLike, target: str | os.PathLike) -> None:
        """Rename the finished file ``tmp`` to ``target`` at the commit (``tmp`` beside ``target``)."""
        tmp, target = Path(tmp), Path(target)
        if any(os.path.realpath(t) == os.path.realpath(target) for t in self.targets):
            _discard(tmp)
            raise UsageError(f"{target} would be written twice by one run", hint="give each output its own name")
        _LIVE.add(tmp.absolute())
        if tmp not in self._temps:
            self._temps.append(tmp)
        self._staged.append((tmp, target))

    def commit(self) -> None:
        """Rename every staged temporary into place, all or none (see the module docstring)."""
        try:
            for tmp, target in self._staged:
                try:
                    _fsync_path(tmp)
                except BaseException as exc:
                    raise (disk_full_error(exc, [target]) or exc) from None
            self._rename_all()
            self.committed = True
        finally:
            self._clean()
            if not self.committed:
                self._remove_made()

    def _rename_all(self) -> None:
        staged = sorted(self._staged, key=lambda p: (p[1].name.endswith(INDEX_SUFFIXES), self._staged.index(p)))
        data = [t for _tmp, t in staged if not t.name.endswith(INDEX_SUFFIXES)]
        old_indexes = [i for t in data for i in index_paths(t) if os.path.lexists(i)]
        folders = sorted({t.absolute().parent for _tmp, t in staged})
        backups: dict[Path, Path | None] = {}
        renamed: list[Path] = []
        removed: list[Path] = []
        with _signals_held():
            try:
                for path in [*(t for _tmp, t in staged), *old_indexes]:
                    if path not in backups and os.path.lexists(path) and not os.path.isdir(path):
                        backups[path] = _backup(path)
                for index in old_indexes:  # never a new file beside its old index
                    os.unlink(index)
                    removed.append(index)
                for tmp, target in staged:
                    os.replace(tmp, target)
                    _LIVE.discard(tmp.absolute())
                    renamed.append(target)
                for folder in folders:
                    _fsync_path(folder, directory=True)
            except BaseException as exc:
                self._roll_back(renamed, removed, backups)
                full = disk_full_error(exc, [t for _tmp, t in staged])
                if full is not None and full is not exc:
                    raise full from exc
                raise
            finally:
                for b in backups.values():
                    if b is not None:
                        _discard(b)

    @staticmethod
    def _roll_back(renamed: list[Path], removed: list[Path], backups: dict[Path, Path | None]) -> None:
        """Undo a commit that failed half-way: every target back as it was (best effort)."""
        for target in reversed(renamed):
            with contextlib.suppress(OSError):
                if backups.get(target) is not None:
                    os.replace(backups[target], target)
                else:
                    target.unlink()
        for index in removed:
            with contextlib.suppress(OSError):
                if backups.get(index) is not None and not os.path.lexists(index):
                    os.replace(backups[index], index)

    def abort(self) -> None:
        """Remove every temporary and every folder the set made; no target is touched."""
        self._clean()
        self._remove_made()

    def _remove_made(self) -> None:
        for folder in reversed(self._made):
            shutil.rmtree(folder, ignore_errors=True)
        self._made.clear()

    def _clean(self) -> None:
        for tmp in self._temps:
            _discard(tmp)
        self._temps.clear()
        self._staged.clear()


def current_output_set() -> OutputSet | None:
    """The output set the current code runs in (:func:`output_set`), or ``None``."""
    return _CURRENT.get()


@contextlib.contextmanager
def output_set(*, join: bool = True, ambient: bool = True) -> Iterator[OutputSet]:
    """Run a block whose outputs appear together when it succeeds, and none when it fails.

    Inside the block, :func:`atomic_path` and :func:`atomic_open` (and so every writer of
    :mod:`motifscan.io`) write temporaries that are renamed into place together at the end.
    Nested, the block joins the enclosing set (``join=False``: a set of its own). ``ambient=False``
    gives a set that only its owner writes to (:meth:`OutputSet.path`), for a writer's own files.

    Raises
    ------
    DiskFullError
        A write failed because a disk is full (whatever error the writing library raised).

    Examples
    --------
    >>> with output_set():                                       # doctest: +SKIP
    ...     with atomic_open("a.tsv") as fh: fh.write("...")
    ...     with atomic_open("b.bed") as fh: fh.write("...")     # a.tsv appears only with b.bed
    """
    outer = _CURRENT.get()
    if outer is not None and join:
        yield outer
        return
    outputs = OutputSet()
    token = _CURRENT.set(outputs) if ambient else None
    try:
        try:
            yield outputs
        except BaseException as exc:
            paths = outputs._paths()
            outputs.abort()
            full = disk_full_error(exc, paths)
            if full is not None and full is not exc:
                raise full from exc
            raise
        outputs.commit()
    finally:
        if token is not None:
            _CURRENT.reset(token)


def writes_outputs(func):
    """Decorator: every file ``func`` writes is one output set (joining the caller's, if any)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with output_set():
            return func(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success rename it to ``target``.

    Inside :func:`output_set` the rename waits for the set's commit.

    Examples
    --------
    >>> with atomic_path("model.h5") as tmp:            # doctest: +SKIP
    ...     h5py.File(tmp, "w").close()
    """
    with output_set(ambient=False) as outputs, outputs.path(target) as tmp:
        yield tmp


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
