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

import zlib
from typing import NamedTuple

import numpy as np

from ..jit import njit

__all__ = ["Sections", "Runs", "pack_sections", "unpack_sections", "SECTION_HEAD"]

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


class Runs(NamedTuple):
    """Fixed-step sections read back, one run each: ``counts[i]`` values of chromosome
    ``tids[i]`` from ``starts[i]``, ``spans[i]`` long and ``steps[i]`` apart (``int64`` ``(S,)``);
    ``values`` (float32) end to end."""

    tids: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    spans: np.ndarray
    steps: np.ndarray
    values: np.ndarray


def unpack_sections(buf: np.ndarray, off: np.ndarray, size: np.ndarray, compressed: bool) -> Runs:
    """The sections stored at ``buf[off[i]:off[i] + size[i]]`` (``uint8`` buffer, ``int64`` bounds).

    ``compressed``: each is a zlib stream (else raw). Stored streams (a draft assembly's many
    small sections) are unpacked in compiled passes, their Adler-32 checked; deflated ones are
    inflated by zlib, a call each.

    Raises
    ------
    zlib.error
        A stream that does not inflate (or a stored one whose checksum is wrong).
    ValueError
        A section that does not fit in its bytes, or not of fixed steps (type 3).
    """
    n = len(off)
    body = np.empty(n, np.int64)   # where each section's raw bytes start in buf, -1: inflate it
    length = np.empty(n, np.int64)
    if compressed:
        _find_stored(buf, off, size, body, length)
    else:
        body[:], length[:] = off, size
    inflated = {i: np.frombuffer(zlib.decompress(buf[off[i] : off[i] + size[i]]), np.uint8)
                for i in np.flatnonzero(body < 0).tolist()}
    for i, raw in inflated.items():
        length[i] = len(raw)
    at = np.zeros(n + 1, np.int64)
    np.cumsum(length, out=at[1:])
    raw = np.empty(int(at[-1]), np.uint8)
    _copy_stored(buf, body, length, at, raw)
    for i, part in inflated.items():
        raw[at[i] : at[i + 1]] = part
    head = np.empty((n, 7), np.int64)
    if not _read_heads(raw, at, head):
        raise ValueError("a bigWig section runs past its block")
    other = np.flatnonzero(head[:, 5] != 3)
    if len(other):
        raise ValueError(f"a bigWig section of type {int(head[other[0], 5])}, not fixed-step")
    values = np.empty(int(head[:, 6].sum()), "<f4")
    _copy_values(raw, at, head, values.view(np.uint8))
    return Runs(head[:, 0], head[:, 1], head[:, 6], head[:, 4], head[:, 3], values)


@njit
def _find_stored(buf, off, size, body, length):  # pragma: no cover - compiled
    # a stored stream: 78 01, one final stored block (01, LEN, NLEN), LEN bytes, Adler-32
    for i in range(len(off)):
        o, m = off[i], size[i]
        body[i] = -1
        if m < 11 or buf[o] != 0x78 or buf[o + 1] != 0x01 or buf[o + 2] != 0x01:
            continue
        n = buf[o + 3] | (np.int64(buf[o + 4]) << 8)
        if n != m - 11 or (n ^ (buf[o + 5] | (np.int64(buf[o + 6]) << 8))) != 0xFFFF:
            continue
        a, b = 1, 0
        for j in range(o + 7, o + 7 + n):
            a += buf[j]
            b += a
            if (j & 4095) == 4095:
                a %= 65521
                b %= 65521
        a %= 65521
        b %= 65521
        e = o + 7 + n
        want = (np.int64(buf[e]) << 24) | (np.int64(buf[e + 1]) << 16) | (np.int64(buf[e + 2]) << 8) | buf[e + 3]
        if want == ((b << 16) | a):
            body[i], length[i] = o + 7, n


@njit
def _copy_stored(buf, body, length, at, raw):  # pragma: no cover - compiled
    for i in range(len(body)):
        if body[i] >= 0:
            raw[at[i] : at[i] + length[i]] = buf[body[i] : body[i] + length[i]]


@njit
def _u32(raw, o):  # pragma: no cover - compiled
    return (np.int64(raw[o]) | (np.int64(raw[o + 1]) << 8) | (np.int64(raw[o + 2]) << 16)
            | (np.int64(raw[o + 3]) << 24))


@njit
def _read_heads(raw, at, head):  # pragma: no cover - compiled
    # tid, start, end, step, span, type, count of each section (bwgSectionHead)
    for i in range(len(at) - 1):
        o = at[i]
        if at[i + 1] - o < 24:
            return False
        head[i, 0], head[i, 1], head[i, 2] = _u32(raw, o), _u32(raw, o + 4), _u32(raw, o + 8)
        head[i, 3], head[i, 4] = _u32(raw, o + 12), _u32(raw, o + 16)
        head[i, 5] = raw[o + 20]
        head[i, 6] = np.int64(raw[o + 22]) | (np.int64(raw[o + 23]) << 8)
        if head[i, 5] == 3 and 24 + 4 * head[i, 6] > at[i + 1] - o:
            return False
    return True


@njit
def _copy_values(raw, at, head, out):  # pragma: no cover - compiled
    v = 0
    for i in range(len(at) - 1):
        k = 4 * head[i, 6]
        out[v : v + k] = raw[at[i] + 24 : at[i] + 24 + k]
        v += k
