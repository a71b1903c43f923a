"""Negative sequences: dinucleotide-preserving shuffles and GC-matched genomic background.

The shuffle follows Altschul & Erickson (1985) in the form of Kandel et al. (1996), as uShuffle and
the MEME suite's ``fasta-shuffle-letters -kmer 2`` do: the sequence is a walk over its
dinucleotide multigraph; a random spanning arborescence rooted at the last letter fixes each
letter's last out-edge (Wilson's loop-erased random walk), the other out-edges are permuted, and
the Eulerian walk they define is read off. Every dinucleotide count (``N`` included, as a fifth
letter) and the first and last letters are kept exactly.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from ..codes import N_CODE
from ..errors import InputError
from ..io.fasta import IndexedFasta
from ..io.intervals import Interval
from ..jit import njit

__all__ = ["dinucleotide_shuffle", "shuffle_rows", "shuffle_all", "shuffle_copies", "gc_content",
           "gc_matched_background", "pick_background"]

log = logging.getLogger("motifscan")


def dinucleotide_shuffle(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shuffle a code sequence keeping every dinucleotide count exactly.

    Parameters
    ----------
    codes
        ``uint8`` codes (0-3 bases, 4 for N), shape ``(L,)``.
    rng
        Source of randomness (seed it for reproducible negatives).

    Returns
    -------
    numpy.ndarray
        A new ``uint8`` array of the same length, with the same first and last letter and the same
        count of each of the 25 dinucleotides.
    """
    codes = np.asarray(codes, dtype=np.uint8)
    n = len(codes)
    if n < 3:
        return codes.copy()
    src, dst = codes[:-1], codes[1:]
    # out-edges of each letter, in sequence order: edges[u] = targets of u's out-edges
    order = np.argsort(src, kind="stable")
    bounds = np.searchsorted(src[order], np.arange(N_CODE + 2))
    edges = [dst[order[bounds[u] : bounds[u + 1]]] for u in range(N_CODE + 1)]
    root = int(codes[-1])
    # Wilson's algorithm: a uniformly random arborescence of last edges, pointing to the root
    in_tree = [False] * (N_CODE + 1)
    in_tree[root] = True
    last_edge = [-1] * (N_CODE + 1)
    for start in range(N_CODE + 1):
        if len(edges[start]) == 0:
            continue
        u = start
        while not in_tree[u]:
            last_edge[u] = int(rng.integers(len(edges[u])))
            u = int(edges[u][last_edge[u]])
        u = start
        while not in_tree[u]:
            in_tree[u] = True
            u = int(edges[u][last_edge[u]])
    walk_lists = []
    for u in range(N_CODE + 1):
        e = edges[u]
        if len(e) == 0 or u == root:
            walk_lists.append(list(rng.permutation(e)) if len(e) else [])
            continue
        keep = e[last_edge[u]]
        rest = np.delete(e, last_edge[u])
        walk_lists.append(list(rng.permutation(rest)) + [keep])
    # read off the Eulerian walk (a walk over L letters: inherently sequential, lists are fast)
    out = np.empty(n, dtype=np.uint8)
    pos = [0] * (N_CODE + 1)
    cur = int(codes[0])
    out[0] = cur
    for i in range(1, n):
        nxt = walk_lists[cur][pos[cur]]
        pos[cur] += 1
        out[i] = nxt
        cur = int(nxt)
    return out


def shuffle_rows(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dinucleotide shuffles of every row of ``codes`` ``(N, L)`` at once (compiled).

    The same shuffle as :func:`dinucleotide_shuffle` (every dinucleotide count, ``N`` included,
    and the first and last letters kept; a uniform draw among the sequences that keep them), for
    the hundreds of thousands of windows of a null (:mod:`motifscan.interpret.calibrate`): about
    a few microseconds per 200 bp row instead of a Python loop per base. Draws from numba's
    generator, seeded per row from ``rng``: reproducible, but not the same draws as
    :func:`dinucleotide_shuffle`.

    Returns
    -------
    numpy.ndarray
        ``uint8`` ``(N, L)``.
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim != 2:
        raise ValueError(f"codes must be (N, L), got shape {codes.shape}")
    if codes.size and int(codes.max()) > N_CODE:
        raise ValueError("codes must be 0-4")
    n_rows, length = codes.shape
    out = np.empty_like(codes)
    if n_rows:
        bounds = np.arange(n_rows + 1, dtype=np.int64) * length
        _shuffle_many(codes.reshape(-1), bounds, rng.integers(0, 2**31 - 1, size=n_rows), out.reshape(-1))
    return out


def shuffle_all(codes: np.ndarray, ratio: int, seed: int) -> np.ndarray:
    """``ratio`` dinucleotide shuffles of each row of ``codes`` ``(N, L)``; returns ``(N*ratio, L)``.

    Row ``k * N + i`` is the ``k``-th shuffle of sequence ``i``.
    """
    rng = np.random.default_rng(seed)
    return np.stack([dinucleotide_shuffle(row, rng) for _ in range(ratio) for row in codes])


@njit
def _shuffle_one(codes, seed, out):  # pragma: no cover - compiled
    # the algorithm of dinucleotide_shuffle (same distribution), on numba's own generator
    np.random.seed(seed)
    n = len(codes)
    out[:] = codes
    if n < 3:
        return
    k = 5
    deg = np.zeros(k, np.int64)
    for i in range(n - 1):
        deg[codes[i]] += 1
    first = np.zeros(k + 1, np.int64)
    for u in range(k):
        first[u + 1] = first[u] + deg[u]
    edges = np.empty(n - 1, np.uint8)  # out-edge targets of each letter, in sequence order
    fill = first[:k].copy()
    for i in range(n - 1):
        u = codes[i]
        edges[fill[u]] = codes[i + 1]
        fill[u] += 1
    root = codes[n - 1]
    in_tree = np.zeros(k, np.bool_)
    in_tree[root] = True
    last = np.full(k, -1, np.int64)
    for start in range(k):  # Wilson's algorithm: a random arborescence of last edges
        if deg[start] == 0:
            continue
        u = start
        while not in_tree[u]:
            last[u] = np.random.randint(0, deg[u])
            u = edges[first[u] + last[u]]
        u = start
        while not in_tree[u]:
            in_tree[u] = True
            u = edges[first[u] + last[u]]
    for u in range(k):  # permute the other out-edges; the last edge goes last
        a, d = first[u], deg[u]
        if d == 0:
            continue
        m = d
        if u != root:
            j = a + last[u]
            edges[j], edges[a + d - 1] = edges[a + d - 1], edges[j]
            m = d - 1
        for i in range(m - 1, 0, -1):
            j = np.random.randint(0, i + 1)
            edges[a + i], edges[a + j] = edges[a + j], edges[a + i]
    pos = first[:k].copy()
    cur = codes[0]
    for i in range(1, n):
        nxt = edges[pos[cur]]
        pos[cur] += 1
        out[i] = nxt
        cur = nxt


def shuffle_copies(sequences: Sequence[np.ndarray], copies: int, seed: int, first_index: int = 0) -> list[np.ndarray]:
    """``copies`` dinucleotide shuffles of each sequence (any lengths), compiled.

    The same shuffle as :func:`dinucleotide_shuffle` (every dinucleotide count, N included, and
    the first and last letters kept; uniform over such sequences), with numba's generator seeded
    per sequence and copy from ``(seed, first_index + i, copy)``, so a sequence's shuffles do not
    depend on how the input is cut into batches.

    Returns
    -------
    list of numpy.ndarray
        ``copies * len(sequences)`` ``uint8`` arrays; item ``c * len(sequences) + i`` is copy ``c``
        of sequence ``i``.
    """
    n = len(sequences)
    if n == 0:
        return []
    index = np.arange(first_index, first_index + n, dtype=np.uint64)
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.concatenate([np.asarray(s, dtype=np.uint8) for s in sequences])
    out = []
    for c in range(copies):
        keys = _mix(_mix(np.uint64(seed) ^ (np.uint64(c) << np.uint64(40))) ^ index) >> np.uint64(32)
        shuffled = np.empty_like(flat)
        _shuffle_many(flat, bounds, keys.astype(np.int64), shuffled)
        out.extend(np.split(shuffled, bounds[1:-1]))
    return out


@njit
def _shuffle_many(flat, bounds, keys, out):  # pragma: no cover - compiled
    for i in range(len(bounds) - 1):
        _shuffle_one(flat[bounds[i] : bounds[i + 1]], keys[i], out[bounds[i] : bounds[i + 1]])


def _mix(x):
    """splitmix64's finaliser: distinct inputs give unrelated 64-bit outputs (wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def gc_content(codes: np.ndarray) -> np.ndarray:
    """GC fraction of each row of ``codes`` ``(N, L)`` among its non-N bases (0.5 if all N)."""
    codes = np.atleast_2d(codes)
    gc = ((codes == 1) | (codes == 2)).sum(axis=1)
    acgt = (codes < N_CODE).sum(axis=1)
    return np.where(acgt > 0, gc / np.maximum(acgt, 1), 0.5)


def _closest_unused(values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each target in turn, the unused candidate whose value is closest (ties: the lowest
    index), then used: what ``argmin(|values[free] - target|)`` over the free candidates gives,
    in about O(log) per target instead of O(candidates).

    Candidates with equal values form a queue (lowest index first); only the nearest non-empty
    value below and above a target can hold the closest candidate (found through union-find
    links that skip used-up values).
    """
    distinct, group = np.unique(values, return_inverse=True)
    G = len(distinct)
    order = np.argsort(group, kind="stable")  # candidate indices by value, ascending index within
    bounds = np.r_[0, np.cumsum(np.bincount(group, minlength=G))]
    head = bounds[:-1].copy()  # next unused position of each value's queue
    down = list(range(G + 1))  # down[g + 1]: nearest non-empty value <= g (0: none)
    up = list(range(G + 1))    # up[g]: nearest non-empty value >= g (G: none)

    def root(link: list, i: int) -> int:
        r = i
        while link[r] != r:
            r = link[r]
        while link[i] != r:
            link[i], i = r, link[i]
        return r

    out = np.empty(len(targets), dtype=np.int64)
    at = np.searchsorted(distinct, targets).tolist()
    dv = distinct.tolist()
    for j, t in enumerate(targets.tolist()):
        lo, hi = root(down, at[j]) - 1, root(up, at[j])
        best, pick, best_d = -1, -1, np.inf
        for g in (lo, hi):
            if 0 <= g < G:
                d, c = abs(dv[g] - t), int(order[head[g]])
                if d < best_d or (d == best_d and c < best):
                    best, pick, best_d = c, g, d
        if best < 0:
            raise ValueError("more targets than candidates")
        head[pick] += 1
        if head[pick] == bounds[pick + 1]:  # used up: skip it from now on
            down[pick + 1], up[pick] = pick, pick + 1
        out[j] = best
    return out


def _window_counts(hit: np.ndarray, starts: np.ndarray, length: int, block: int = 1 << 24) -> np.ndarray:
    """``hit[s : s + length].sum()`` for every ``s`` of ``starts`` (sorted), from running counts
    taken a block at a time (a chromosome's running counts would take 4-8 bytes a base)."""
    pos = np.r_[starts, starts + length]
    out = np.empty(len(pos), dtype=np.int64)
    carry = 0
    for b0 in range(0, len(hit) + 1, block):
        b1 = min(b0 + block, len(hit))
        sel = np.flatnonzero((pos >= b0) & (pos <= b1))
        cs = np.r_[0, np.cumsum(hit[b0:b1], dtype=np.int64)]
        out[sel] = carry + cs[pos[sel] - b0]
        carry += int(cs[-1])
        if b1 == len(hit):
            break
    return out[len(starts):] - out[: len(starts)]


def pick_background(
    seq: np.ndarray,
    occupied: np.ndarray,
    target_gc: np.ndarray,
    rng: np.random.Generator,
    *,
    length: int,
    max_n_fraction: float = 0.05,
    candidates_per_sequence: int = 20,
    chrom: str = "",
    path: object = None,
) -> np.ndarray:
    """Starts of GC-matched background windows on one chromosome, one per ``target_gc``.

    The step of :func:`gc_matched_background` for one chromosome (pooled task sets call it as
    they read each chromosome once): ``len(target_gc) * candidates_per_sequence`` random
    candidate starts, those overlapping ``occupied`` or with more than ``max_n_fraction`` N
    rejected, then for each target in turn the unused candidate of closest GC.

    Parameters
    ----------
    seq
        The chromosome's codes ``(S,)`` uint8.
    occupied
        Spans to avoid ``(K, 2)`` int (start, end), sorted.
    target_gc
        GC fraction to match ``(n,)``.
    length
        Window length.

    Returns
    -------
    np.ndarray
        Chosen starts ``(n,)`` int64, in the order of ``target_gc``.
    """
    size = len(seq)
    if size < length * 2:
        raise InputError(f"chromosome {chrom} is too short for background regions", path=path)
    need = len(target_gc)
    n_cand = max(need * candidates_per_sequence, 50)
    starts = np.sort(rng.integers(0, size - length, n_cand))
    occ = np.asarray(occupied).reshape(-1, 2)
    # reject candidates overlapping a positive: any positive with start < end_c and end > start_c
    j = np.searchsorted(occ[:, 0], starts + length)
    max_end_before = np.maximum.accumulate(occ[:, 1])
    overlaps = (j > 0) & (max_end_before[np.maximum(j - 1, 0)] > starts)
    starts = starts[~overlaps]
    # candidates' N and GC counts from the chromosome's running counts: no candidate is copied
    # out, so 20 candidates per positive cost no memory at atlas size
    n_n = _window_counts(seq == N_CODE, starts, length)
    ok = n_n / length <= max_n_fraction
    starts, n_n = starts[ok], n_n[ok]
    if len(starts) < need:
        raise InputError(
            f"could not find {need} background regions on {chrom} (found {len(starts)})",
            path=path,
            hint="use --negatives shuffle, or give negatives with --negatives FILE",
        )
    gc = _window_counts((seq == 1) | (seq == 2), starts, length)
    acgt = length - n_n
    cand_gc = np.where(acgt > 0, gc / np.maximum(acgt, 1), 0.5)  # as gc_content
    return starts[_closest_unused(cand_gc, target_gc)].astype(np.int64)


def gc_matched_background(
    genome: IndexedFasta,
    positives: Sequence[Interval],
    positive_codes: np.ndarray,
    *,
    ratio: int = 1,
    seed: int = 0,
    max_n_fraction: float = 0.05,
    candidates_per_sequence: int = 20,
    avoid: Sequence[Interval] = (),
) -> tuple[list[Interval], np.ndarray]:
    """Random genomic regions that match the positives' GC content and avoid them.

    For each positive, ``ratio`` regions of the same length are taken from the *same chromosome*
    (so chromosome hold-out splits stay clean), chosen among random candidates by closest GC
    content; candidates overlapping any positive or any interval of ``avoid`` (e.g. the other
    peaks, when negatives are drawn for a sample of them), or with more than ``max_n_fraction``
    N, are rejected.

    Returns
    -------
    intervals, codes
        The chosen regions and their codes ``(len(positives) * ratio, L)``.
    """
    rng = np.random.default_rng(seed)
    length = positive_codes.shape[1]
    target_gc = gc_content(positive_codes)
    by_chrom: dict[str, list[int]] = {}
    for i, iv in enumerate(positives):
        by_chrom.setdefault(iv.chrom, []).append(i)
    spans: dict[str, list[tuple[int, int]]] = {}
    for iv in list(positives) + list(avoid):
        spans.setdefault(iv.chrom, []).append((iv.start, iv.end))
    occupied: dict[str, np.ndarray] = {c: np.array(sorted(spans[c])) for c in by_chrom}
    chosen_iv: list[Interval | None] = [None] * (len(positives) * ratio)
    chosen_codes = np.full((len(positives) * ratio, length), N_CODE, dtype=np.uint8)
    for chrom, idx in by_chrom.items():
        seq = genome.fetch(chrom, 0, genome.sizes[chrom])
        picks = pick_background(seq, occupied[chrom], target_gc[np.tile(np.asarray(idx), ratio)], rng,
                                length=length, max_n_fraction=max_n_fraction,
                                candidates_per_sequence=candidates_per_sequence, chrom=chrom, path=genome.path)
        for j, best in enumerate(picks.tolist()):
            row = (j // len(idx)) * len(positives) + idx[j % len(idx)]
            chosen_iv[row] = Interval(chrom, best, best + length, f"bg_{chrom}:{best}")
        rows = np.asarray([(k * len(positives) + i) for k in range(ratio) for i in idx], dtype=np.int64)
        chosen_codes[rows] = seq[picks[:, None] + np.arange(length)]
    log.info(
        "background negatives: %d GC-matched regions (positives GC %.3f, background GC %.3f)",
        len(chosen_iv), float(target_gc.mean()), float(gc_content(chosen_codes).mean()),
    )
    return [iv for iv in chosen_iv if iv is not None], chosen_codes
