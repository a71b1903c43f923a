"""Helpers shared by the workflow scripts: one-line errors, BED reading, interval overlap."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np


@contextmanager
def one_line_errors(script: str) -> Iterator[None]:
    """Turn a motifscan error (or a missing file) into one line on stderr and exit 1."""
    from motifscan.errors import MotifscanError

    try:
        yield
    except (MotifscanError, OSError, ValueError) as exc:
        print(f"{Path(script).name}: error: {exc}", file=sys.stderr)
        sys.exit(1)


def read_bed(path) -> dict[str, np.ndarray]:
    """BED columns chrom, start, end (and score, column 5, NaN when absent) as arrays."""
    chroms, starts, ends, scores = [], [], [], []
    with open(path) as fh:
        for line in fh:
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            chroms.append(f[0])
            starts.append(int(f[1]))
            ends.append(int(f[2]))
            scores.append(float(f[4]) if len(f) > 4 and f[4] not in ("", ".") else np.nan)
    return {"chrom": np.array(chroms, dtype=object), "start": np.array(starts, dtype=np.int64),
            "end": np.array(ends, dtype=np.int64), "score": np.array(scores, dtype=np.float64)}


def overlapped(a: dict, b: dict) -> np.ndarray:
    """For each interval of ``a``, whether it overlaps (>= 1 bp) any interval of ``b``.

    Vectorised per chromosome: with ``b`` sorted by start and its running maximum of ends, an
    interval [s, e) of ``a`` overlaps ``b`` iff some ``b`` interval starting before ``e`` ends
    after ``s``, i.e. the running max end of the ``b`` intervals with start < e exceeds s.
    """
    hit = np.zeros(len(a["start"]), dtype=bool)
    for chrom in np.unique(a["chrom"]):
        ia = np.flatnonzero(a["chrom"] == chrom)
        ib = np.flatnonzero(b["chrom"] == chrom)
        if not len(ib):
            continue
        order = np.argsort(b["start"][ib], kind="stable")
        bs, be = b["start"][ib][order], np.maximum.accumulate(b["end"][ib][order])
        k = np.searchsorted(bs, a["end"][ia], side="left")  # b intervals with start < e
        ok = k > 0
        hit[ia[ok]] = be[k[ok] - 1] > a["start"][ia][ok]
    return hit
