"""Floats as ``%.6g`` text, byte for byte Python's, many at once in one compiled pass.

A TSV of 10^5-10^6 rows spends more on Python's float formatting (~0.2 us a value) than on
anything else it writes. :func:`insert_g` adds rows of values to lines of text as tab-separated
``"%.{d}g"`` fields, in one numba pass over the text.

Python's ``%g`` rounds the exact binary value half to even. Here a value is scaled by an exact
power of ten (one rounding: an error under 2e-10 of a unit in the last digit kept) and rounded.
A value whose scaled fraction lies within 1e-9 of one half (a tie, or too close to call from one
rounding), or that is not finite, or too small or large for an exact power of ten, is formatted
by Python instead. The text is therefore always Python's.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..jit import njit

__all__ = ["insert_g"]

#: Powers of ten that are exact doubles (10^0 .. 10^22).
_POW10 = np.array([10.0 ** k for k in range(23)])
#: Bytes a value's text may take: sign, "0.000", the digits, or a mantissa and "e-308".
_WIDTH = 32


def insert_g(lines: str, after: Sequence[int], blocks: Sequence[np.ndarray], *, blank: np.ndarray | None = None,
             digits: int = 6) -> str:
    """``lines`` with each block's row of values inserted as new tab-separated ``%g`` fields.

    Parameters
    ----------
    lines
        ``n`` lines, each ending in ``"\n"``, fields separated by tabs.
    after
        Block ``j``'s fields go after field ``after[j]`` (0-based) of the line as given, increasing.
    blocks
        ``(n, k_j)`` floats each (``(n,)``: one field).
    blank
        ``(n,)`` bool: rows whose inserted fields are empty.
    digits
        Significant digits, 1-9.

    Returns
    -------
    str
        The lines with the new fields: each value's text as ``"%.{digits}g" % value``.
    """
    if not 1 <= digits <= 9:
        raise ValueError(f"digits {digits} outside 1-9")
    data = np.frombuffer(lines.encode(), dtype=np.uint8)
    vals = [v[:, None] if v.ndim == 1 else v for v in (np.asarray(b, dtype=np.float64) for b in blocks)]
    n = len(vals[0]) if vals else 0
    blank = np.zeros(n, np.bool_) if blank is None else np.asarray(blank, dtype=np.bool_)
    after_arr = np.asarray(after, dtype=np.int64)
    if len(vals) != len(after_arr) or (len(after_arr) > 1 and (np.diff(after_arr) <= 0).any()):
        raise ValueError("one increasing field number per block")
    if not vals or _MARK in data:
        return _insert_python(lines, after_arr, vals, blank, digits)
    width = np.array([v.shape[1] for v in vals], dtype=np.int64)
    flat = np.ascontiguousarray(np.concatenate(vals, axis=1))
    out = np.empty(len(data) + n * int(width.sum()) * _WIDTH, dtype=np.uint8)
    python = np.zeros(flat.shape, dtype=np.bool_)
    size = _insert(data, after_arr, width, flat, blank, digits, _POW10, out, python)
    if size < 0:  # fewer lines or fields than the blocks say
        raise ValueError(f"lines do not hold {n} lines of more than {int(after_arr[-1])} fields")
    text = out[:size].tobytes().decode()
    if not python.any():
        return text
    fmt = f"%.{digits}g"
    parts = text.split(chr(_MARK))
    rows, cols = np.nonzero(python)  # row-major: the marks' order in the text
    texts = [fmt % x for x in flat[rows, cols].tolist()]
    return "".join([p for pair in zip(parts, texts) for p in pair] + [parts[-1]])


def _insert_python(lines: str, after: np.ndarray, vals: list[np.ndarray], blank: np.ndarray, digits: int) -> str:
    """:func:`insert_g` in Python (lines that hold the mark byte)."""
    fmt = f"%.{digits}g"
    out = []
    for i, line in enumerate(lines.split("\n")[:-1]):
        fields = line.split("\t")
        for a, v in sorted(zip(after.tolist(), vals), key=lambda t: -t[0]):
            new = [""] * v.shape[1] if blank[i] else [fmt % x for x in v[i].tolist()]
            fields[a + 1 : a + 1] = new
        out.append("\t".join(fields) + "\n")
    return "".join(out)


#: Byte left where a value's text is Python's to write (never in the lines: checked).
_MARK = 3


@njit
def _insert(data, after, width, values, blank, digits, pow10, out, python):  # pragma: no cover - compiled
    """:func:`insert_g`'s pass: ``data`` copied to ``out`` with block ``b``'s ``width[b]`` values
    (columns of ``values``) written as ``\t``-led fields where field ``after[b]`` ends; a value
    left to Python gets the mark byte and ``python`` set. The end of ``out``, or -1 when the lines
    or their fields are fewer than the blocks need."""
    n = values.shape[0]
    nb = after.shape[0]
    at = 0
    i = 0
    f = 0
    b = 0  # the next block of this line
    col0 = 0  # its first column in values
    for p in range(data.shape[0]):
        c = data[p]
        if c == 9 or c == 10:
            if b < nb and after[b] == f:
                if i >= n:
                    return -1
                out[at] = 9
                at += 1
                for j in range(width[b]):
                    if j:
                        out[at] = 9
                        at += 1
                    if not blank[i]:
                        w = _g_one(values[i, col0 + j], digits, pow10, out, at)
                        if w < 0:
                            python[i, col0 + j] = True
                            out[at] = 3
                            at += 1
                        else:
                            at = w
                col0 += width[b]
                b += 1
            if c == 10:
                if b < nb:
                    return -1
                out[at] = 10
                at += 1
                i += 1
                f = 0
                b = 0
                col0 = 0
            else:
                out[at] = 9
                at += 1
                f += 1
            continue
        out[at] = c
        at += 1
    return at if i == n else -1


@njit
def _g_one(x, digits, pow10, buf, at):  # pragma: no cover - compiled
    """Write ``"%.{digits}g" % x`` into ``buf`` from ``at``; the end, or -1 when Python must (not
    finite, beyond an exact power of ten, or a rounding too close to a tie to call)."""
    if not np.isfinite(x):
        return -1
    if x == 0.0:
        if np.signbit(x):
            buf[at] = 45  # "-0"
            at += 1
        buf[at] = 48
        return at + 1
    low = 10 ** (digits - 1)  # the kept digits as an integer lie in [low, 10 * low)
    ax = abs(x)
    e = int(np.floor(np.log10(ax)))
    r = -1
    for _ in range(3):  # log10 may be one off at a power of ten: correct the exponent
        p = digits - 1 - e
        if p > 22 or p < -22:
            return -1
        m = ax * pow10[p] if p >= 0 else ax / pow10[-p]
        if m < low:
            e -= 1
            continue
        if m >= 10 * low:
            e += 1
            continue
        r = int(np.floor(m))
        frac = m - r
        if abs(frac - 0.5) < 1e-9:
            return -1  # a tie, or too close to tell from one rounding: Python decides
        if frac > 0.5:
            r += 1
        if r == 10 * low:
            r = low
            e += 1
        break
    if r < 0:
        return -1
    if x < 0:
        buf[at] = 45
        at += 1
    nd = digits  # digits kept once trailing zeros go
    while nd > 1 and r % 10 == 0:
        r //= 10
        nd -= 1
    if -4 <= e < digits:
        if e < 0:  # 0.000ddd
            buf[at] = 48
            buf[at + 1] = 46
            at += 2
            for _ in range(-e - 1):
                buf[at] = 48
                at += 1
            point = nd  # no point among the digits
        elif nd > e + 1:  # ddd.ddd
            point = e + 1
        else:  # ddd (zeros after the digits kept)
            point = nd
        end = at + nd + (1 if point < nd else 0)
        for q in range(nd - 1, -1, -1):  # right to left, the point skipped over
            buf[at + q + (1 if q >= point else 0)] = 48 + r % 10
            r //= 10
        if point < nd:
            buf[at + point] = 46
        at = end
        if e >= 0:
            for _ in range(nd, e + 1):
                buf[at] = 48
                at += 1
        return at
    # d.ddde+XX
    end = at + nd + (1 if nd > 1 else 0)
    for q in range(nd - 1, -1, -1):
        buf[at + q + (1 if q >= 1 else 0)] = 48 + r % 10
        r //= 10
    if nd > 1:
        buf[at + 1] = 46
    at = end
    buf[at] = 101  # e
    buf[at + 1] = 45 if e < 0 else 43
    at += 2
    ae = abs(e)
    if ae >= 100:
        buf[at] = 48 + ae // 100
        at += 1
    buf[at] = 48 + (ae // 10) % 10
    buf[at + 1] = 48 + ae % 10
    return at + 2
