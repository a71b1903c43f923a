"""Which sequences hold a site of which motif: one compiled pass of a whole motif bank.

For known-motif enrichment only a yes/no per (sequence, motif) matters: does the sequence's best
window (either strand) reach the motif's score cutoff? This walks the motif bank's lookahead
index (:meth:`motifscan.scan.motif_bank.MotifBank.lookahead_index`, the same index and the same
4-column score tables as the CPU hit search of :mod:`motifscan.scan.motif_scan`) over every
position of every sequence, in one numba loop with no intermediate arrays, and stops looking at a
(sequence, motif) pair as soon as one site is found. The answer equals "any hit of the full
scan" (tested), so the counts are FIMO-exact.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np

from ..jit import njit

__all__ = ["motif_presence", "pack_sequences"]

@njit
def _group_presence(x, dist, id4, seq_start, seq_end, lo, hi, k, counts, indptr, shift, entries,
                    prefix, use_prefix, tables, nbmax, n_blocks, width, block_order, need,
                    filter_motif, present):  # pragma: no cover - compiled
    mask = (1 << shift) - 1
    pmask = (1 << 16) - 1  # the 8-mer prefix of a long k-mer id (first letter lowest)
    for i in range(lo, hi):
        a = seq_start[i]
        b = seq_end[i]
        for p in range(a, b - k + 1):
            if dist[p] < k:
                continue
            kid = 0
            for j in range(k):
                kid |= np.int64(x[p + j]) << (2 * j)
            if use_prefix and prefix[kid & pmask] == 0:
                continue
            c = counts[kid]
            if c == 0:
                continue
            base = indptr[kid]
            for e in range(base, base + c):
                packed = entries[e]
                f = packed >> shift
                ws = p - (packed & mask)
                if ws < a or dist[ws] < width[f]:
                    continue
                m = filter_motif[f]
                if present[i, m]:
                    continue
                score = 0
                ok = True
                for j in range(n_blocks):
                    blk = block_order[j, f]
                    score += tables[(f * nbmax + blk) * 256 + id4[ws + 4 * blk]]
                    if score < need[j, f]:
                        ok = False
                        break
                if ok:
                    present[i, m] = 1


def pack_sequences(sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay sequences end to end with an N (code 4) after each.

    Returns
    -------
    flat, starts, ends
        ``uint8`` codes, and each sequence's ``[start, end)`` in ``flat`` (int64).
    """
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
    flat = np.full(int((lengths + 1).sum()), 4, dtype=np.uint8)
    for s, a in zip(sequences, starts):
        flat[a : a + len(s)] = s
    return flat, starts, starts + lengths


def _n_free_run(x: np.ndarray) -> np.ndarray:
    """Length of the N-free run starting at each position (the end counts as an N)."""
    n = len(x)
    pos = np.arange(n, dtype=np.int64)
    idx = np.where(x > 3, pos, n)
    return np.minimum.accumulate(idx[::-1])[::-1] - pos


def motif_presence(
    sequences: Sequence[np.ndarray],
    index,
    filter_motif: np.ndarray,
    n_motifs: int,
    *,
    threads: int = 1,
) -> np.ndarray:
    """Which sequences have a window reaching each motif's cutoff, on either strand.

    Parameters
    ----------
    sequences
        ``uint8`` code arrays (A, C, G, T = 0-3; N and other codes = 4), any lengths. A window
        holding an N or running off its sequence is never counted.
    index
        The bank's :class:`~motifscan.scan.motif_bank.LookaheadIndex` (its filters are the
        motifs and their reverse complements).
    filter_motif
        ``(n_filters,)`` the motif of each filter (``MotifBank.filter_motif``).
    n_motifs
        Number of motifs (columns of the result).
    threads
        Threads to split the sequences over (the compiled loop releases the GIL).

    Returns
    -------
    numpy.ndarray
        ``(len(sequences), n_motifs)`` ``uint8``: 1 where the sequence has a site of the motif.
    """
    n_seq = len(sequences)
    present = np.zeros((n_seq, n_motifs), dtype=np.uint8)
    if n_seq == 0 or not index.groups:
        return present
    flat, starts, ends = pack_sequences(sequences)
    dist = _n_free_run(flat)
    nbmax = index.max_blocks
    xs = np.full(len(flat) + 4 * nbmax + 4, 3, dtype=np.int32)
    np.minimum(flat, 3, out=xs[: len(flat)], casting="unsafe")
    m4 = len(flat) + 4 * nbmax
    id4 = xs[:m4] | (xs[1 : m4 + 1] << 2) | (xs[2 : m4 + 2] << 4) | (xs[3 : m4 + 3] << 6)
    x = xs[: len(flat)].astype(np.uint8)
    fm = np.ascontiguousarray(filter_motif, dtype=np.int64)
    empty = np.zeros(1, dtype=np.uint8)

    def run(lo: int, hi: int) -> None:
        for g in index.groups:
            _group_presence(x, dist, id4, starts, ends, lo, hi, g.k, g.counts, g.indptr, g.shift,
                            g.entries, empty if g.prefix is None else g.prefix, g.prefix is not None,
                            index.tables, nbmax, g.n_blocks, index.width, index.block_order,
                            index.need, fm, present)

    threads = max(1, min(threads, n_seq))
    if threads == 1:
        run(0, n_seq)
    else:  # rows of `present` are disjoint between threads
        cuts = np.linspace(0, n_seq, threads + 1).astype(int)
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda ab: run(*ab), zip(cuts[:-1], cuts[1:])))
    return present
