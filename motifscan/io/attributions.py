"""Attribution outputs: NPZ arrays (TF-MoDISco's layout), a contribution bigWig, seqlets BED.

* :func:`write_npz` -- ``arr_0`` holds the ``(N, 4, L)`` array, as ``modisco motifs -s seqs.npz
  -a attributions.npz`` (modisco-lite) reads it (``np.load(path)["arr_0"]``); other arrays
  (record names, method) ride along under their own keys, which modisco ignores.
* :func:`write_contribution_bigwig` -- one value per base of each window (the attribution at
  the reference base); where windows overlap, the first window (in genome order) wins, since
  a bigWig cannot hold two values for one base.
* :func:`write_seqlets` -- BED6: ``chrom start end name score strand``.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

from ..atomic import atomic_path

__all__ = ["write_npz", "write_contribution_bigwig", "write_seqlets"]


def write_npz(path: str | os.PathLike, array: np.ndarray, **extra: np.ndarray) -> None:
    """Write ``array`` as ``arr_0`` of a compressed NPZ (atomically), with ``extra`` arrays beside it."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a file object: numpy would append .npz to a name
            np.savez_compressed(fh, array, **extra)


def write_contribution_bigwig(
    path: str | os.PathLike,
    sizes: Mapping[str, int],
    chroms: Sequence[str],
    starts: Sequence[int],
    values: np.ndarray,
) -> None:
    """Per-base values ``(N, L)`` of windows ``chroms[i]:starts[i]..+L`` as a bigWig (atomically).

    Windows are written in genome order (``sizes`` order, then start); bases an earlier window
    already covered are skipped.
    """
    import pyBigWig

    order_of = {c: k for k, c in enumerate(sizes)}
    order = sorted(range(len(chroms)), key=lambda i: (order_of[chroms[i]], starts[i]))
    L = values.shape[1]
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader(list(sizes.items()), maxZooms=10)
            done_chrom, done_end = None, 0
            for i in order:
                c, s = chroms[i], int(starts[i])
                if c != done_chrom:
                    done_chrom, done_end = c, 0
                a = max(s, done_end)
                if a >= s + L:
                    continue
                vals = values[i, a - s :].astype(np.float64)
                bw.addEntries(c, a, values=vals, span=1, step=1)
                done_end = s + L
        finally:
            bw.close()


def write_seqlets(path: str | os.PathLike, rows: Sequence[tuple]) -> None:
    """BED6 rows ``(chrom, start, end, name, score, strand)``, written as given (atomically)."""
    from ..atomic import atomic_open

    with atomic_open(path, "w") as fh:
        for chrom, start, end, name, score, strand in rows:
            fh.write(f"{chrom}\t{start}\t{end}\t{name}\t{score:.6g}\t{strand}\n")
