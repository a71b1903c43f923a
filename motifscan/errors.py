"""The motifscan exception hierarchy and warning class.

Every problem a user can fix raises a :class:`MotifscanError`. The CLI turns one into a single
line, ``motifscan: error: FILE:WHERE: what is wrong; what to do``, and an exit code:

* ``2`` -- :class:`UsageError`: the command line itself is wrong (bad option values, an output
  directory that does not exist, options that do not go together);
* ``1`` -- every other :class:`MotifscanError` (:class:`InputError`, :class:`ModelFileError`, ...):
  the command line is fine but a file's contents are not.

The classes also derive from the builtin types a Python caller would expect (``ValueError``,
``FileNotFoundError``), so library users can catch either.
"""

from __future__ import annotations

import os

__all__ = [
    "MotifscanError",
    "UsageError",
    "InputError",
    "ModelFileError",
    "DiskFullError",
    "MotifscanWarning",
]


class MotifscanError(Exception):
    """A problem the user can fix, described in one line.

    Parameters
    ----------
    message
        What is wrong.
    path
        The file at fault, if any.
    where
        The record, line (``"line 12"``) or position within ``path``.
    hint
        What to do about it.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike | None = None,
        where: str | int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        prefix = ""
        if self.path is not None:
            prefix = f"{self.path}:"
            if self.where is not None:
                prefix += f"{self.where}:"
            prefix += " "
        elif self.where is not None:
            prefix = f"{self.where}: "
        text = prefix + self.message
        if self.hint:
            text += f"; {self.hint}"
        return text

    def located(self, path: str | os.PathLike | None = None, where: str | int | None = None):
        """Return the same error with a file and location filled in where missing."""
        if self.path is None and path is not None:
            self.path = os.fspath(path)
        if self.where is None and where is not None:
            self.where = where
        self.args = (str(self),)
        return self


class UsageError(MotifscanError, ValueError):
    """The command line or call is wrong (exit code 2)."""

    exit_code = 2


class InputError(MotifscanError, ValueError):
    """An input file is missing, unreadable or malformed (exit code 1)."""


class ModelFileError(InputError):
    """A model file is not a motifscan HDF5 model of a known format version."""


class DiskFullError(MotifscanError, OSError):
    """An output could not be written because its disk (or quota) is full (exit code 1).

    Also an :class:`OSError` (``errno`` ``ENOSPC``), as a Python caller of the writers would expect.
    """

    def __init__(self, path: str | os.PathLike, *, hint: str | None = None) -> None:
        import errno

        folder = os.path.dirname(os.path.abspath(os.fspath(path)))
        super().__init__(f"cannot write it: the disk is full (no space left on the device holding {folder})",
                         path=path, hint=hint or "free some space there, or write the output elsewhere")
        self.errno = errno.ENOSPC
        self.strerror = os.strerror(errno.ENOSPC)
        self.filename = os.fspath(path)


class MotifscanWarning(UserWarning):
    """Warnings from motifscan; filter them with ``warnings.simplefilter(..., MotifscanWarning)``."""
