"""Fixed-step data sections of a bigWig, packed in one compiled pass.

A section (``bwgSectionHead`` of the UCSC format, type 3) is a 24-byte header (chromosome id,
start, end, step, span, type, reserved, value count) and its float32 values. Runs of values are
cut into sections of ``block_values`` from each run's start; every section is either left raw,
for the caller to deflate, or, when it holds fewer than ``stored_below`` values, written here as a
*stored* zlib stream (RFC 1950/1951: the header ``78 01``, one final stored block ``01`` with LEN
and NLEN little-endian, the bytes, their Adler-32 big-endian): a draft assembly's scaffolds have a
few values each, which deflate would shrink by under 1% at the price of a call per section.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..jit import njit

__all__ = ["Sections", "pack_sections", "SECTION_HEAD"]

#: Bytes of a section's header.
SECTION_HEAD = 24


class Sections(NamedTuple):
    """Sections of some runs, in order: ``buf[at[i]:at[i + 1]]`` is section ``i``'s bytes, a
    stored zlib stream where ``stored[i]``, else raw (to deflate); ``tid``, ``start``, ``end``
    ``(S,)`` what it covers (for the index); ``raw_size`` its uncompressed bytes."""

    buf: np.ndarray
    at: np.ndarray
    stored: np.ndarray
    tid: np.ndarray
    start: np.ndarray
    end: np.ndarray
    raw_size: np.ndarray


def pack_sections(tids: np.ndarray, starts: np.ndarray, counts: np.ndarray, span: int, step: int,
                  values: np.ndarray, block_values: int, stored_below: int) -> Sections:
    """Sections of runs: run ``j`` holds ``counts[j] > 0`` values of chromosome ``tids[j]`` from ``starts[j]``.

    Parameters
    ----------
    tids, starts, counts
        ``(R,)`` integers, one run each.
    span, step
        Every value covers ``[starts[j] + i * step, ... + span)``.
    values
        ``float32`` values of the runs end to end ``(counts.sum(),)``.
    block_values
        Values per section (at most 65,535: the header counts them in 16 bits); a run's last
        section holds the rest.
    stored_below
        Sections of fewer values are stored zlib streams (0: none), all others raw.
    """
    tids = np.asarray(tids, np.int64)
    starts = np.asarray(starts, np.int64)
    counts = np.asarray(counts, np.int64)
    per_run = -(-counts // block_values)
    n = int(per_run.sum())
    raw_size = np.empty(n, np.int64)
    stored = np.empty(n, np.bool_)
    tid, start, end = np.empty(n, np.uint32), np.empty(n, np.uint32), np.empty(n, np.uint32)
    at = np.empty(n + 1, np.int64)
    size = _layout(tids, starts, counts, span, step, block_values, stored_below, raw_size, stored, tid, start, end, at)
    buf = np.empty(size, np.uint8)
    values = np.ascontiguousarray(values, dtype="<f4").view(np.uint8)
    _fill(tid, start, end, step, span, raw_size, stored, at, values, buf)
    return Sections(buf, at, stored, tid, start, end, raw_size)


@njit
def _layout(tids, starts, counts, span, step, block_values, stored_below, raw_size, stored, tid, start, end,
            at):  # pragma: no cover - compiled
    s = 0
    pos = 0
    for j in range(len(tids)):
        done = 0
        while done < counts[j]:
            c = min(block_values, counts[j] - done)
            a = starts[j] + done * step
            tid[s] = tids[j]
            start[s] = a
            end[s] = a + (c - 1) * step + span
            raw_size[s] = 24 + 4 * c
            stored[s] = c < stored_below
            at[s] = pos
            pos += raw_size[s] + (11 if stored[s] else 0)
            done += c
            s += 1
    at[s] = pos
    return pos


@njit
def _put_u32(buf, o, x):  # pragma: no cover - compiled
    buf[o] = x & 0xFF
    buf[o + 1] = (x >> 8) & 0xFF
    buf[o + 2] = (x >> 16) & 0xFF
    buf[o + 3] = (x >> 24) & 0xFF


@njit
def _fill(tid, start, end, step, span, raw_size, stored, at, values, buf):  # pragma: no cover - compiled
    v = 0  # next value's first byte
    for s in range(len(tid)):
        o = at[s]
        n = raw_size[s]
        if stored[s]:
            buf[o], buf[o + 1], buf[o + 2] = 0x78, 0x01, 0x01
            buf[o + 3], buf[o + 4] = n & 0xFF, (n >> 8) & 0xFF
            buf[o + 5], buf[o + 6] = ~n & 0xFF, (~n >> 8) & 0xFF
            o += 7
        c = (n - 24) // 4
        _put_u32(buf, o, np.int64(tid[s]))
        _put_u32(buf, o + 4, np.int64(start[s]))
        _put_u32(buf, o + 8, np.int64(end[s]))
        _put_u32(buf, o + 12, step)
        _put_u32(buf, o + 16, span)
        buf[o + 20], buf[o + 21] = 3, 0
        buf[o + 22], buf[o + 23] = c & 0xFF, (c >> 8) & 0xFF
        buf[o + 24 : o + n] = values[v : v + 4 * c]
        v += 4 * c
        if stored[s]:
            a, b = 1, 0  # Adler-32 (a section is under 64 kB: no overflow before the final modulo)
            for i in range(o, o + n):
                a += buf[i]
                b += a
            a %= 65521
            b %= 65521
            buf[o + n], buf[o + n + 1], buf[o + n + 2], buf[o + n + 3] = b >> 8, b & 0xFF, a >> 8, a & 0xFF
