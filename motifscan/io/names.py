"""Many record names held as one buffer: a draft assembly's 10^6 scaffold names without 10^6 strings.

A Python ``str`` per name costs ~70 bytes and a list slot 8 more: ~80 MB and about half a CPU
second to make for 10^6 scaffolds, though a scan needs the names only to write a bigWig's
chromosome tree (bytes, sorted bytewise) and to check that its batches come in the index's order.
:class:`RecordNames` keeps them as they are in the ``.fai``: UTF-8 bytes, each name followed by a
newline (a name holds no newline), and the offset of each; a name is decoded when asked for.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence, overload

import numpy as np

__all__ = ["RecordNames"]


class RecordNames(Sequence[str]):
    """Record names in file order: ``blob`` (bytes or bytearray: each name's UTF-8 bytes and a
    newline) and ``starts`` ``(n + 1,)`` int64 (name ``i`` is ``blob[starts[i] : starts[i + 1] - 1]``).

    A read-only sequence of ``str`` like the list it stands for (indexing, slicing, iteration,
    ``==`` with a list); :meth:`matches` and :meth:`find` work on the bytes.
    """

    __slots__ = ("blob", "starts")

    #: Names decoded at a time when iterating (memory stays flat whatever the count).
    STEP = 1 << 16

    def __init__(self, blob: bytes | bytearray, starts: np.ndarray) -> None:
        self.blob = blob
        self.starts = np.asarray(starts, dtype=np.int64)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> "RecordNames":
        """From ``str`` names (none holding a newline)."""
        names = names if isinstance(names, list) else list(names)
        blob = ("\n".join(names) + "\n").encode() if names else b""
        ends = np.flatnonzero(np.frombuffer(blob, np.uint8) == 0x0A) + 1
        if len(ends) != len(names):
            raise ValueError("a record name holds a newline")
        return cls(blob, np.r_[0, ends].astype(np.int64))

    def __len__(self) -> int:
        return len(self.starts) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            lo, hi, step = i.indices(len(self))
            if step != 1:
                return self.tolist()[i]
            return self._decode(lo, hi) if hi > lo else []
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("record name index out of range")
        return self.blob[int(self.starts[i]) : int(self.starts[i + 1]) - 1].decode()

    def _decode(self, lo: int, hi: int) -> list[str]:
        return self.blob[int(self.starts[lo]) : int(self.starts[hi]) - 1].decode().split("\n")

    def tolist(self) -> list[str]:
        """Every name as a ``str``."""
        return self._decode(0, len(self)) if len(self) else []

    def __iter__(self) -> Iterator[str]:
        for lo in range(0, len(self), self.STEP):
            yield from self._decode(lo, min(lo + self.STEP, len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordNames):
            return self.blob == other.blob
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and self.tolist() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RecordNames({len(self)} names)"

    def matches(self, lo: int, names: list[str]) -> bool:
        """Whether ``names`` are the names from ``lo`` on, in order (one join and one bytes
        comparison: 10^5 names in a few ms)."""
        hi = lo + len(names)
        if lo < 0 or hi > len(self) or not names:
            return lo >= 0 and hi <= len(self)
        try:
            got = "\n".join(names).encode()
        except (TypeError, UnicodeEncodeError):  # not strings, or not text a file could hold
            return False
        # a name holding a newline would join into two: the counts tell (and such a name is no record's)
        return self.blob[int(self.starts[lo]) : int(self.starts[hi]) - 1] == got and got.count(b"\n") == hi - lo - 1

    def find(self, name: str) -> int:
        """Index of the first record called ``name``, ``-1`` if none (a search of the bytes)."""
        try:
            key = name.encode() + b"\n"
        except UnicodeEncodeError:
            return -1
        if b"\n" in key[:-1]:
            return -1
        if self.blob.startswith(key):
            return 0
        at = self.blob.find(b"\n" + key)
        if at < 0:
            return -1
        return int(np.searchsorted(self.starts, at + 1))

    def sizes(self) -> np.ndarray:
        """Bytes of each name (without its newline), int64 ``(n,)``."""
        return np.diff(self.starts) - 1
