"""The hits of a motif bank in a batch of sequence: FIMO-exact, found two ways with identical results.

``dense``
    One convolution of the one-hot sequence with the padded bank of all motifs and their
    reverse complements (integer weights in fp32, exact: sums stay far below 2**24), then a
    comparison with the per-filter cutoffs and ``torch.nonzero`` on the mask. Best on a GPU.
``lookahead``
    (CPU default.) The dense convolution costs ~4*W multiply-adds per filter per base; on a CPU
    most of that is wasted because almost no window comes near the cutoff. The bank's lookahead
    index (:meth:`~motifscan.scan.motif_bank.MotifBank.lookahead_index`) turns every sequence
    position into the few (position, filter) candidates that can still be hits; only those are
    scored exactly, with 4-column lookup tables visited most informative first, dropping a
    candidate as soon as it cannot reach its cutoff. No hit can be missed: a window outside the
    index cannot reach its cutoff. All of it is numpy on int32 arrays (torch's CPU gathers are an
    order of magnitude slower here), in steps of ``LOOKAHEAD_STEP`` bases run on ``--threads``
    threads.

Invariants: a window containing N (or any IUPAC code, or running off a record) is never
reported; a motif whose best window cannot reach ``--pvalue`` reports nothing (it is listed in
:attr:`~motifscan.scan.motif_bank.MotifBank.unreachable` and logged); results do not depend on
chunk or batch size, shard split or device, because each window start is owned by one engine
row (see :mod:`motifscan.scan.batching`).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from ..codes import LETTERS, N_CODE
from ..kernels.methods import MOTIF_METHODS, motif_method
from .motif_bank import LOOKAHEAD_Q, LOOKAHEAD_Q_LONG, DenseBank, LookaheadIndex, MotifBank, hit_dtype

log = logging.getLogger("motifscan")

METHODS = MOTIF_METHODS
#: Positions scored per lookahead step (bounds the candidate arrays' memory) ...
LOOKAHEAD_STEP = 1 << 17
#: ... and fewer for a large bank: a step holds about this many (position, filter) candidates
#: (some 40 bytes each, per worker thread), so memory does not grow with the bank times the step.
CANDIDATE_BUDGET = 1 << 21


def lookahead_step(index: LookaheadIndex) -> int:
    """Positions per lookahead step: :data:`LOOKAHEAD_STEP`, or fewer so that the expected
    candidates of a step (the index's entries per k-mer, summed over its groups) stay near
    :data:`CANDIDATE_BUDGET`."""
    per_position = sum(len(g.entries) / 4 ** g.k for g in index.groups)
    return int(min(LOOKAHEAD_STEP, max(1 << 12, CANDIDATE_BUDGET // max(per_position, 1e-9))))
#: Filter scores per dense step (positions * filters): bounds the dense output's memory.
DENSE_ELEMENTS = 1 << 26


def _kmer_ids(xs: np.ndarray, id4: np.ndarray, n: int, ks) -> dict[int, np.ndarray]:
    """k-mer ids at positions ``0..n-1`` (first letter in the lowest 2 bits) for each k in ``ks``.

    ``id4`` holds the 4-mer ids (same convention) of ``xs``; longer ids are put together from
    4-mers and single letters, a few array passes each.
    """
    out = {}
    for k in ks:
        cur = id4[:n].copy() if k >= 4 else xs[:n].copy()
        done = 4 if k >= 4 else 1
        while done + 4 <= k:
            cur |= id4[done : done + n] << (2 * done)
            done += 4
        while done < k:
            cur |= xs[done : done + n] << (2 * done)
            done += 1
        out[k] = cur
    return out


def next_n_distance(x: np.ndarray) -> np.ndarray:
    """For each position of uint8 codes, the length of the N-free run starting there.

    The end of ``x`` counts as an N, so a window of width ``w`` starting at ``p`` lies inside
    ``x`` and holds no N exactly when ``dist[p] >= w``.
    """
    n = len(x)
    pos = np.arange(n, dtype=np.int64)
    isn = x > 3
    if not isn.any():
        return n - pos
    idx = np.where(isn, pos, n)
    return np.minimum.accumulate(idx[::-1])[::-1] - pos


def _lookahead_hits(x: np.ndarray, dist: np.ndarray, index: LookaheadIndex) -> tuple[np.ndarray, ...]:
    """(start, filter, score) of every hit in uint8 codes ``x``, through the lookahead index."""
    n = len(x)
    nbmax = index.max_blocks
    xs = np.empty(n + 4 * nbmax + LOOKAHEAD_Q_LONG, dtype=np.int32)
    np.minimum(x, 3, out=xs[:n], casting="unsafe")
    xs[n:] = 3
    m4 = n + 4 * nbmax
    id4 = xs[:m4] | (xs[1 : m4 + 1] << 2) | (xs[2 : m4 + 2] << 4) | (xs[3 : m4 + 3] << 6)
    ids_by_k = _kmer_ids(xs, id4, n, index.kmer_lengths)
    width, tables = index.width, index.tables
    block_order, need = index.block_order, index.need
    starts, filts, scores = [], [], []
    npos = np.flatnonzero(dist == 0)  # N positions (and the end)
    few_n = len(npos) * LOOKAHEAD_Q_LONG < n // 4
    for group in index.groups:
        k = group.k
        ids = ids_by_k[k]
        prefix = group.prefix
        if prefix is not None:
            # sparse long index: look up its (cache-resident) 8-mer prefix flags first, and
            # the big table only where some k-mer with that prefix has candidates
            where = np.flatnonzero(prefix[ids_by_k[LOOKAHEAD_Q]]).astype(np.int32)
            where = where[dist[where] >= k]
            ids = ids[where]
            counts = group.counts[ids].astype(np.int32)
            total = int(counts.sum(dtype=np.int64))
            if total == 0:
                continue
        else:
            if few_n:  # k-mers that hold an N: the k positions up to each N
                bad = (npos[:, None] - np.arange(k)[None, :]).reshape(-1)
                ids = ids.copy()
                ids[bad[bad >= 0]] = 4 ** k
                ids[max(0, n - k + 1):] = 4 ** k  # k-mers running off the end
            else:
                ids = np.where(dist >= k, ids, 4 ** k)
            counts = group.counts[ids]
            nonzero = int(np.count_nonzero(counts))
            if nonzero == 0:
                continue
            if nonzero < n // 4:  # sparse (few motifs): only the positions that have candidates
                where = np.flatnonzero(counts).astype(np.int32)
                counts, ids = counts[where].astype(np.int32), ids[where]
            else:
                where = np.arange(n, dtype=np.int32)
                counts = counts.astype(np.int32)
            total = int(counts.sum(dtype=np.int64))
        pos = np.repeat(where, counts)
        # the entries of a position are indptr[id] .. indptr[id] + count - 1
        first = np.cumsum(counts, dtype=np.int64) - counts
        entry = np.repeat(group.indptr[ids] - first, counts) + np.arange(total, dtype=np.int64)
        packed = group.entries[entry]
        filt = packed >> group.shift
        ws = pos - (packed & ((1 << group.shift) - 1))
        del pos, entry, first
        ok = ws >= 0
        np.maximum(ws, 0, out=ws)
        ok &= dist[ws] >= width[filt]
        ws, filt = ws[ok], filt[ok]
        score = np.zeros(len(ws), dtype=np.int32)
        for j in range(group.n_blocks):
            if len(ws) == 0:
                break
            b = block_order[j][filt]
            score += tables[(filt * nbmax + b) * 256 + id4[ws + 4 * b]]
            keep = score >= need[j][filt]  # can it still reach the cutoff?
            # dropping costs three copies: worth it only once many candidates have failed
            if j == group.n_blocks - 1 or np.count_nonzero(keep) < 0.75 * len(keep):
                idx = np.flatnonzero(keep)
                ws, filt, score = ws[idx], filt[idx], score[idx]
        starts.append(ws.astype(np.int64))
        filts.append(filt.astype(np.int64))
        scores.append(score)
    if not starts:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e.astype(np.int32)
    return np.concatenate(starts), np.concatenate(filts).astype(np.int64), np.concatenate(scores)


def _dense_hits(x: torch.Tensor, dist: np.ndarray, dense: DenseBank) -> tuple[np.ndarray, ...]:
    """Same as :func:`_lookahead_hits` by one convolution of the whole padded bank."""
    w = dense.weight
    nf, _, wmax = w.shape
    n = x.numel()
    budget = DENSE_ELEMENTS * (8 if x.device.type == "cuda" else 1)
    step = max(1024, budget // max(nf, 1))
    starts, filts, scores = [], [], []
    xp = torch.cat([x.to(torch.int64), torch.full((wmax,), 4, dtype=torch.int64, device=x.device)])
    dist_t = torch.as_tensor(dist, device=x.device)
    for a in range(0, n, step):
        b = min(n, a + step)
        seg = xp[a : b + wmax - 1].clamp(max=4)
        onehot = F.one_hot(seg, 5)[:, :4].T.to(torch.float32)[None]  # N = an all-zero column
        with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):  # keep sums exact
            out = F.conv1d(onehot, w)[0]  # (nf, b - a); integer sums, exact in fp32
        f, p = torch.nonzero(out >= dense.cut[:, None], as_tuple=True)
        ws = p + a
        ok = dist_t[ws] >= dense.width[f]
        starts.append(ws[ok])
        filts.append(f[ok])
        scores.append(out[f[ok], p[ok]].round().to(torch.int32))
    return (torch.cat(starts).cpu().numpy(), torch.cat(filts).cpu().numpy(),
            torch.cat(scores).cpu().numpy())


def scan_codes(
    bank: MotifBank,
    codes: np.ndarray | torch.Tensor,
    method: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Find every hit of the bank in a 1-D array of codes.

    Parameters
    ----------
    bank
        The motif bank.
    codes
        1-D uint8 codes (A,C,G,T = 0..3, N = 4), numpy or torch (on any device). Several
        sequences may be laid end to end with an N between them. A window holding a code > 3
        or running past the end is never reported.
    method
        ``auto`` (``dense`` for a CUDA tensor, else ``lookahead``), ``lookahead`` or ``dense``.

    Returns
    -------
    start, filter, score, dist
        Window starts (int64), filter indices into ``bank.filter_*`` (int64), integer scores
        (int32), in no particular order; and :func:`next_n_distance` of ``codes``.
    """
    is_tensor = isinstance(codes, torch.Tensor)
    method = motif_method(method, codes.device if is_tensor else "cpu")
    host = codes.reshape(-1).cpu().numpy() if is_tensor else np.asarray(codes).reshape(-1)
    host = host.astype(np.uint8, copy=False)
    dist = next_n_distance(host)
    e = np.zeros(0, dtype=np.int64)
    if bank.n_filters == 0 or len(host) == 0:
        return e, e, e.astype(np.int32), dist
    if method == "dense":
        t = codes.reshape(-1) if is_tensor else torch.from_numpy(host)
        s, f, sc = _dense_hits(t, dist, bank.dense_bank(t.device))
        return s.astype(np.int64), f.astype(np.int64), sc.astype(np.int32), dist
    index = bank.lookahead_index()
    n = len(host)
    step_size = lookahead_step(index)
    if n <= step_size:
        s, f, sc = _lookahead_hits(host, dist, index)
        return s, f, sc, dist
    ctx = bank.max_width - 1

    def step(a: int):
        b = min(n, a + step_size)
        # each step owns starts [a, b) and sees the context its windows need
        e_ = min(n, b + ctx)
        seg_dist = np.minimum(dist[a:e_], e_ - a - np.arange(e_ - a))
        s, f, sc = _lookahead_hits(host[a:e_], seg_dist, index)
        keep = s < (b - a)
        return s[keep] + a, f[keep], sc[keep]

    steps = range(0, n, step_size)
    workers = min(len(steps), scan_threads())
    if workers > 1:  # numpy releases the GIL in the heavy array operations
        outs = list(_pool(workers).map(step, steps))
    else:
        outs = [step(a) for a in steps]
    return (np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs]),
            np.concatenate([o[2] for o in outs]), dist)


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(workers: int) -> ThreadPoolExecutor:
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="motifscan-pwm")
    return _POOLS[workers]


def scan_threads() -> int:
    """Threads for the CPU lookahead scan: torch's thread setting (``--threads``), at most 8."""
    return max(1, min(8, torch.get_num_threads()))




def scan_batch(bank: MotifBank, batch, method: str = "auto") -> tuple[np.ndarray, dict[int, str], np.ndarray]:
    """Scan one engine :class:`~motifscan.scan.batching.Batch`: its owned hits, names and tests.

    Rows are laid end to end with an N between them (a window never spans two rows); a hit is
    kept when its start is owned by its row (``begins <= start < own_ends``), so every window
    of the input is looked at exactly once whatever the chunking.

    Returns
    -------
    hits
        Structured array (:func:`hit_dtype`) sorted by record, start, motif, strand.
    names
        ``{record serial: name}`` for the records that have hits.
    tests
        ``(max_width + 2,)`` int64: ``tests[d]`` = owned positions whose N-free run is exactly
        ``d`` (the last bin: longer); windows of width ``w`` tested = ``tests[w:].sum()`` per strand.
    """
    host = np.asarray(batch.host_codes)
    rows, width = host.shape
    stride = width + 1
    flat = np.full((rows, stride), 4, dtype=np.uint8)
    flat[:, :width] = host
    flat = flat.reshape(-1)
    use_device = motif_method(method, batch.codes.device) == "dense"
    if use_device:
        dev = batch.codes
        codes = torch.cat([dev, torch.full((rows, 1), 4, dtype=dev.dtype, device=dev.device)], 1).reshape(-1)
        s, f, sc, dist = scan_codes(bank, codes, "dense")
    else:
        s, f, sc, dist = scan_codes(bank, flat, "lookahead")
    starts = np.asarray(batch.starts, dtype=np.int64)
    begins = np.asarray(batch.begins, dtype=np.int64)
    own_ends = np.asarray(batch.own_ends, dtype=np.int64)
    # tests: owned positions by N-free run length
    col = np.arange(width, dtype=np.int64)[None, :]
    pos_grid = starts[:, None] + col
    owned = (pos_grid >= begins[:, None]) & (pos_grid < own_ends[:, None])
    d = dist.reshape(rows, stride)[:, :width][owned]
    tests = np.bincount(np.minimum(d, bank.max_width + 1), minlength=bank.max_width + 2).astype(np.int64)
    # hits owned by their row
    row = s // stride
    pos = starts[row] + (s - row * stride)
    keep = (pos >= begins[row]) & (pos < own_ends[row])
    s, f, sc, row, pos = s[keep], f[keep], sc[keep], row[keep], pos[keep]
    dt = hit_dtype(bank.max_width)
    out = np.zeros(len(s), dtype=dt)
    out["motif"] = bank.filter_motif[f]
    out["record"] = np.asarray(batch.records, dtype=np.int64)[row]
    out["start"] = pos
    strand = bank.filter_strand[f]
    out["strand"] = strand
    out["score"] = sc
    if len(s):
        w = bank.filter_width[f]
        j = np.arange(bank.max_width)[None, :]
        rev = strand[:, None] == 1
        idx = s[:, None] + np.where(rev, w[:, None] - 1 - j, j)
        inside = j < w[:, None]
        c = flat[np.clip(idx, 0, len(flat) - 1)]
        c = np.where(rev & (c < 4), 3 - c, c)
        letters = np.where(inside, LETTERS[np.minimum(c, N_CODE)], 0).astype(np.uint8)
        out["seq"] = letters.view(f"S{bank.max_width}").reshape(-1)
        order = np.lexsort((out["strand"], out["motif"], out["start"], out["record"]))
        out = out[order]
    names = {int(r): batch.names[i] for i, r in enumerate(batch.records)} if len(out) else {}
    return out, names, tests
