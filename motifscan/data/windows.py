"""Fixed-length windows read from one genome held once: codes gathered a batch at a time.

Atlas-size pooled sets (10^5-10^6 regions and as many background negatives) would hold every
window's codes, ``N x L`` bytes, most of it the same bases twice (pooled regions overlap by up
to half a window). :class:`Windows` holds instead the bases the windows cover, once, as one
``uint8`` code array (each chromosome's covered stretches, concatenated), and one ``int64``
offset per window; ``windows[idx]`` gathers the rows' codes with one vectorised index, so a
training batch costs a gather of ``B x L`` bytes and memory is bounded by the genome (or by the
bases covered, when less) plus eight bytes a window, not by ``N x L``.

Rows that are not genome windows (dinucleotide shuffles) are held as ``extra`` rows, addressed
by negative offsets (``-1 - k`` is extra row ``k``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Windows", "covered", "take_rows"]


class Windows:
    """Codes ``(N, L)`` uint8 of windows ``bases[starts[i] : starts[i] + L]``, gathered on demand.

    Indexing (an int, a slice, an index or boolean array) returns the codes as a new ``ndarray``,
    as indexing the materialised ``(N, L)`` array would; :meth:`take` returns the subset as
    :class:`Windows` (no codes copied). ``np.asarray(windows)`` materialises every row.

    Parameters
    ----------
    bases
        The codes the windows are read from ``(G,)`` uint8.
    starts
        Offset of each window in ``bases`` ``(N,)`` int64; ``-1 - k`` names ``extra[k]``.
    length
        Window length ``L``.
    extra
        Rows that are not windows of ``bases`` ``(M, L)`` uint8, or ``None``.
    """

    ndim = 2
    dtype = np.dtype(np.uint8)

    def __init__(self, bases: np.ndarray, starts: np.ndarray, length: int, extra: np.ndarray | None = None) -> None:
        self.bases = bases
        self.starts = np.asarray(starts, dtype=np.int64)
        self.length = int(length)
        self.extra = extra
        self._span = np.arange(self.length, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.starts), self.length)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):  # codes[rows, cols]: rows gathered, then the columns
            rows, *rest = key
            return self[rows][(slice(None), *rest)]
        s = self.starts[key]
        if np.ndim(s) == 0:
            return self._gather(np.atleast_1d(s))[0]
        return self._gather(s)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._gather(self.starts)
        return out if dtype is None else out.astype(dtype, copy=False)

    def take(self, idx: np.ndarray) -> "Windows":
        """The windows at ``idx``, in that order (sharing ``bases`` and ``extra``)."""
        return Windows(self.bases, self.starts[np.asarray(idx, dtype=np.int64)], self.length, self.extra)

    def _gather(self, s: np.ndarray, block: int = 1 << 14) -> np.ndarray:
        out = np.empty((len(s), self.length), dtype=np.uint8)
        for i in range(0, len(s), block):  # in blocks: the int64 index is 8 bytes a base
            b = s[i : i + block]
            if self.extra is None:
                out[i : i + len(b)] = self.bases[b[:, None] + self._span]
                continue
            g = b >= 0
            out[i : i + len(b)][g] = self.bases[b[g, None] + self._span]
            out[i : i + len(b)][~g] = self.extra[-1 - b[~g]]
        return out


def take_rows(codes: np.ndarray | Windows, idx: np.ndarray) -> np.ndarray | Windows:
    """``codes[idx]``, kept as :class:`Windows` (no codes copied) when ``codes`` is one."""
    return codes.take(idx) if isinstance(codes, Windows) else codes[idx]


def covered(seq: np.ndarray, starts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The bases of ``seq`` that windows ``[s, s + length)`` cover, and each window's offset in them.

    Parameters
    ----------
    seq
        A chromosome's codes ``(S,)`` uint8.
    starts
        Window starts ``(N,)`` int64, any order, ``0 <= s <= S - length``.

    Returns
    -------
    bases, offsets
        The covered stretches concatenated in genome order ``(C,)`` uint8 (``C <= min(S, N * L)``),
        and ``offsets`` ``(N,)`` int64 with ``bases[offsets[i] : offsets[i] + L] ==
        seq[starts[i] : starts[i] + L]``.
    """
    starts = np.asarray(starts, dtype=np.int64)
    if len(starts) == 0:
        return seq[:0].copy(), starts.copy()
    u = np.unique(starts)
    new = np.r_[True, u[1:] > u[:-1] + length]  # a gap before this start: a new stretch
    lo = u[new]
    hi = np.r_[u[np.flatnonzero(new)[1:] - 1], u[-1]] + length
    at = np.r_[0, np.cumsum(hi - lo)]
    bases = np.concatenate([seq[a:b] for a, b in zip(lo.tolist(), hi.tolist())])
    k = np.searchsorted(lo, starts, side="right") - 1
    return bases, at[k] + (starts - lo[k])
