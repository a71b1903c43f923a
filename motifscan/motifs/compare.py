"""Tomtom-style motif comparison: which database motifs does a query resemble, and how surely?

The method follows Tomtom (Gupta et al., Genome Biology 2007, "complete" scores, ``-dist
pearson``, ``-min-overlap 5``), written in vectorised NumPy:

1. **Column scores.** Every query column is scored against every column of every database
   motif, on both strands, by Pearson correlation of the four probabilities (a constant column,
   e.g. uniform, correlates 0 with anything; ``distance="ed"``: negated Euclidean distance).
   As in Tomtom, the query's scores are binned to integers 0..100 between their min and max.
2. **Column null.** For query column *i* the null distribution is the histogram of its scores
   against *all* database columns (both strands) -- Tomtom's "database column null". Scores are
   shifted by that column's median, so a query column that hangs over a target's end adds its
   median, i.e. 0 (Tomtom's complete score).
3. **Alignment null.** For every span of consecutive query columns the null of the summed score
   is the convolution of the columns' nulls (exact, direct convolution: tail probabilities far
   below 1e-16 stay accurate).
4. **Per-target p-value.** Each target (both orientations) is aligned at every offset whose
   overlap is at least ``min(min_overlap, query width, target width)``; the best complete score
   ``s`` wins (ties: larger overlap). Its p-value is the chance that the best of those offsets
   scores ``>= s`` under the null, ``1 - prod_o (1 - P_o(S >= s))``, and the two orientations
   count as two tries: ``1 - (1 - p)^2`` (as memelite's Tomtom merges strands).
5. **E- and q-values.** ``E = p * number of database motifs``; q-values by Benjamini-Hochberg over
   each query's p-values against the whole database.

``offset`` is Tomtom's ``Optimal_offset``: query column *i* is aligned with column ``i + offset``
of the target, in the reported orientation (``-``: the target's reverse complement).

memelite's numba Tomtom (``memelite.tomtom``) was evaluated as the engine and is used as the
cross-check in the tests instead: it scores columns by Euclidean distance rather than Tomtom's
default Pearson correlation, has no minimum overlap, and its first call compiles for about two
minutes (cached in its install directory, when writable), too slow for a command-line tool.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..atomic import atomic_open
from .pwm import Motif

__all__ = ["Match", "MotifDatabase", "compare_motifs", "write_matches", "MATCH_COLUMNS"]

N_BINS = 100  # Tomtom's default number of score bins

MATCH_COLUMNS = ("Query_ID", "Target_ID", "Optimal_offset", "p-value", "E-value", "q-value",
                 "Overlap", "Query_consensus", "Target_consensus", "Orientation", "Target_alt")


@dataclass(frozen=True)
class Match:
    """One query-target comparison (a row of Tomtom's output).

    Attributes
    ----------
    query_id, target_id, target_alt
        Identifiers of the query and the database motif (and the latter's alternate name).
    offset
        Query column *i* aligns with target column ``i + offset`` (target in ``orientation``).
    p_value, e_value, q_value
        Tomtom's p-value of the best alignment, ``p * database size``, Benjamini-Hochberg q.
    overlap
        Number of aligned columns.
    orientation
        ``+`` the target as given, ``-`` its reverse complement.
    score
        Best complete score in score bins (1/100 of the query's score range), relative to the
        column medians.
    query_consensus, target_consensus
        Argmax consensus of the query and of the target (as given in the database).
    """

    query_id: str
    target_id: str
    target_alt: str
    offset: int
    p_value: float
    e_value: float
    q_value: float
    overlap: int
    orientation: str
    score: int = 0
    query_consensus: str = ""
    target_consensus: str = ""


def _unit_centred(x: np.ndarray) -> np.ndarray:
    """Rows centred and scaled to unit norm; constant rows become 0 (they correlate 0)."""
    c = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt((c * c).sum(axis=1, keepdims=True))
    return np.divide(c, norm, out=np.zeros_like(c), where=norm > 1e-12)


def _pearson_columns(query: np.ndarray, db: "MotifDatabase") -> np.ndarray:
    """``(Wq, N)`` Pearson correlations between rows of ``query (Wq, 4)`` and the database columns."""
    return np.clip(_unit_centred(query) @ db.unit_columns.T, -1.0, 1.0)


class MotifDatabase:
    """Database motifs prepared for comparison (columns of both strands, grouped by width).

    Build once and pass to :func:`compare_motifs` to compare many query sets against it.

    Parameters
    ----------
    motifs
        The targets: every query is compared with each of them.
    background
        More motifs whose columns join the targets' in the column null (step 2 of the module
        docstring) without being targets themselves. Tomtom's null is the database's own
        columns; with few targets, or many alike (a model's filters, 21 of which learned CTCF),
        that null is thin or skewed, and a real collection such as JASPAR as background gives
        E-values that do not depend on how many targets there are or how alike they are.
        E-values are ``p * len(motifs)``.
    """

    def __init__(self, motifs: Sequence[Motif], *, background: Sequence[Motif] = ()):
        motifs = list(motifs)
        if not motifs:
            raise ValueError("the motif database is empty")
        self.motifs = motifs
        every = motifs + list(background)
        widths = np.array([m.width for m in every])
        self.widths = widths[: len(motifs)]
        fwd = np.concatenate([m.probs for m in every])
        rev = np.concatenate([m.probs[::-1, ::-1] for m in every])
        self.columns = np.concatenate([fwd, rev])  # (2 * total width, 4)
        self.unit_columns = _unit_centred(self.columns)
        self.sq_norms = (self.columns * self.columns).sum(axis=1)
        self.consensus = [m.consensus for m in motifs]
        starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
        self.starts = {"+": starts, "-": starts + fwd.shape[0]}
        self.by_width = {int(w): np.flatnonzero(self.widths == w) for w in np.unique(self.widths)}

    def __len__(self) -> int:
        return len(self.motifs)


def _offset_curves(d: list[np.ndarray], lows: np.ndarray, grid_lo: int, grid_len: int,
                   usage: np.ndarray) -> np.ndarray:
    """``log prod_o P(S_o < s)`` on an integer grid, one curve per target width.

    ``d[i]`` is the probability vector of query column *i*'s shifted score (support starting at
    ``lows[i]``); the null of an alignment covering query columns ``a..b`` is their convolution.
    ``usage[k, a, b - a]`` counts the offsets of target width *k* that cover exactly ``a..b``
    (an alignment spans at most the widest target, ``usage.shape[2]`` columns, so a wide query
    costs ``Wq x widest target`` convolutions, not ``Wq**2``). Spans are built by extending
    ``a..b-1`` with column *b*, so each is one direct convolution, and only ``n_widths`` curves
    are held (memory does not grow with the query width squared).
    """
    nq = len(d)
    curves = np.zeros((usage.shape[0], grid_len))
    # Below a span's support P(S >= s) == 1 (log 0: the whole curve is -inf there), above it
    # P(S >= s) == 0 (log 1 == 0 adds nothing): only the support is added, and the -inf prefix
    # of each curve is set once at the end, so a span costs its support, not the whole grid.
    floor = np.zeros(usage.shape[0], dtype=np.int64)
    reach = usage.any(axis=0)  # (nq, span): spans some target width uses
    for a in range(nq):
        used_spans = np.flatnonzero(reach[a])
        if used_spans.size == 0:
            continue
        dist, lo = d[a], int(lows[a])
        for b in range(a, a + int(used_spans[-1]) + 1):
            if b > a:
                dist = np.convolve(dist, d[b])
                lo += int(lows[b])
            used = np.flatnonzero(usage[:, a, b - a])
            if used.size == 0:
                continue
            tail = np.cumsum(dist[::-1])[::-1]  # P(S >= lo + k)
            start = lo - grid_lo
            with np.errstate(divide="ignore"):  # P(S >= s) == 1 -> log 0 -> p == 1
                keep = np.log1p(-np.minimum(tail, 1.0))
            curves[used, start:start + tail.size] += usage[used, a, b - a][:, None] * keep[None, :]
            floor[used] = np.maximum(floor[used], start)
    for k, f in enumerate(floor.tolist()):
        curves[k, :f] = -np.inf
    return curves


def _euclidean_columns(query: np.ndarray, db: "MotifDatabase") -> np.ndarray:
    """``(Wq, N)`` negated Euclidean distances (higher = more similar), Tomtom's ``-dist ed``."""
    sq = (query * query).sum(axis=1)[:, None] + db.sq_norms[None, :]
    sq -= 2.0 * (query @ db.columns.T)
    return -np.sqrt(np.maximum(sq, 0.0))


_DISTANCES = {"pearson": _pearson_columns, "ed": _euclidean_columns}


def _compare_one(query: Motif, db: MotifDatabase, min_overlap: int, distance: str) -> list[tuple]:
    """Best alignment, score and p-value of ``query`` against every database motif."""
    nq = query.width
    scores = _DISTANCES[distance](query.probs, db)  # (nq, N)
    # Tomtom bins the query's scores to integers 0..N_BINS between their min and max
    lo, hi = float(scores.min()), float(scores.max())
    scale = N_BINS / (hi - lo) if hi > lo else 0.0
    ints = np.rint((scores - lo) * scale).astype(np.int64)
    # per-column null over all database columns, shifted by its median (complete score)
    medians = np.rint(np.median(ints, axis=1)).astype(np.int64)
    shifted = ints - medians[:, None]
    lows = shifted.min(axis=1)
    highs = shifted.max(axis=1)
    d = [np.bincount(shifted[i] - lows[i]) / shifted.shape[1] for i in range(nq)]
    grid_lo, grid_hi = int(lows.sum()), int(highs.sum())
    grid_len = grid_hi - grid_lo + 2
    # the offsets of each target width, and which query span each one covers
    widths = list(db.by_width)
    spans = []
    usage = np.zeros((len(widths), nq, min(nq, max(widths))), dtype=np.int64)  # [k, a, b - a]
    for k, nt in enumerate(widths):
        mo = min(min_overlap, nq, nt)
        offsets = np.array([o for o in range(-(nq - 1), nt)
                            if min(nq, nt - o) - max(0, -o) >= mo])
        a_idx = np.maximum(0, -offsets)
        b_idx = np.minimum(nq, nt - offsets) - 1
        np.add.at(usage[k], (a_idx, b_idx - a_idx), 1)
        spans.append((offsets, b_idx - a_idx + 1))
    # P(best offset >= s) = 1 - prod_o P(S_o < s): one curve per target width
    p_curves = -np.expm1(_offset_curves(d, lows, grid_lo, grid_len, usage))

    n = len(db)
    best = {
        "score": np.full((2, n), np.iinfo(np.int64).min),
        "p": np.ones((2, n)),
        "offset": np.zeros((2, n), dtype=np.int64),
        "overlap": np.zeros((2, n), dtype=np.int64),
    }
    for k, (nt, members) in enumerate(db.by_width.items()):
        offsets, overlaps = spans[k]
        p_curve = p_curves[k]
        for si, strand in enumerate("+-"):
            cols = db.starts[strand][members][:, None] + np.arange(nt)  # (m, nt)
            sub = shifted[:, cols]  # (nq, m, nt)
            sub = np.moveaxis(sub, 0, 1)  # (m, nq, nt)
            sums = np.stack([np.trace(sub, offset=int(o), axis1=1, axis2=2) for o in offsets],
                            axis=1)  # (m, n_offsets)
            # best score; ties -> larger overlap
            key = sums * (nq + nt + 1) + overlaps[None, :]
            k = np.argmax(key, axis=1)
            s = sums[np.arange(len(members)), k]
            best["score"][si, members] = s
            best["offset"][si, members] = offsets[k]
            best["overlap"][si, members] = overlaps[k]
            idx = np.clip(s - grid_lo, 0, grid_len - 1)
            best["p"][si, members] = p_curve[idx]
    # merge strands: the better p; two orientations are two tries
    pick = np.where(best["p"][1] < best["p"][0], 1, 0)
    tie = best["p"][1] == best["p"][0]
    pick = np.where(tie & (best["score"][1] > best["score"][0]), 1, pick)
    cols = np.arange(n)
    p = best["p"][pick, cols]
    p = p * (2.0 - p)
    return [(p[j], int(best["score"][pick[j], j]), int(best["offset"][pick[j], j]),
             int(best["overlap"][pick[j], j]), "+-"[pick[j]]) for j in range(n)]


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values."""
    n = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def compare_motifs(
    queries: Sequence[Motif] | Motif,
    database: Sequence[Motif] | MotifDatabase,
    *,
    min_overlap: int = 5,
    evalue_threshold: float | None = None,
    top: int | None = None,
    distance: str = "pearson",
) -> list[Match]:
    """Compare query motifs with a motif database, Tomtom-style (see the module docstring).

    Parameters
    ----------
    queries
        One motif or a list of motifs.
    database
        The database motifs (e.g. ``read_motifs(jaspar_path())``) or a prepared
        :class:`MotifDatabase`. p-values use the database's columns as the null, so use a whole
        database (Tomtom and memelite warn below 50 and 25 motifs).
    min_overlap
        Minimum number of aligned columns (capped at the widths of query and target).
    evalue_threshold
        Keep matches with ``E <= evalue_threshold`` (``None``: keep all).
    top
        Keep at most this many matches per query (best first).
    distance
        Column similarity: ``"pearson"`` (Tomtom's default) or ``"ed"`` (negated Euclidean
        distance, as memelite's Tomtom).

    Returns
    -------
    list[Match]
        For each query in order, its matches sorted by p-value (then E, target order).
    """
    if isinstance(queries, Motif):
        queries = [queries]
    if min_overlap < 1:
        raise ValueError("min_overlap must be >= 1")
    if distance not in _DISTANCES:
        raise ValueError(f"distance must be one of {', '.join(_DISTANCES)}, not {distance!r}")
    db = database if isinstance(database, MotifDatabase) else MotifDatabase(database)
    rows: list[Match] = []
    for q in queries:
        res = _compare_one(q, db, min_overlap, distance)
        p = np.array([r[0] for r in res])
        qv = _bh(p)
        order = np.argsort(p, kind="stable")
        kept = 0
        q_cons = q.consensus
        for j in order:
            pj, score, offset, overlap, strand = res[j]
            e = float(pj * len(db))
            if evalue_threshold is not None and e > evalue_threshold:
                break
            t = db.motifs[j]
            rows.append(Match(q.id, t.id, t.alt, offset, float(pj), e, float(qv[j]), overlap,
                              strand, score, q_cons, db.consensus[j]))
            kept += 1
            if top is not None and kept >= top:
                break
    return rows


def best_matches(matches: Iterable[Match]) -> dict[str, Match]:
    """The best (first) match of each query, keyed by query id."""
    out: dict[str, Match] = {}
    for m in matches:
        out.setdefault(m.query_id, m)
    return out


def _g(x: float) -> str:
    return f"{x:.3g}" if x != 0 else "0"


def write_matches(rows: Iterable[Match], path: str | os.PathLike) -> Path:
    """Write matches as a Tomtom-style TSV (atomically).

    Columns: ``Query_ID Target_ID Optimal_offset p-value E-value q-value Overlap
    Query_consensus Target_consensus Orientation`` (Tomtom's names) plus ``Target_alt``.
    """
    with atomic_open(path, "w") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(MATCH_COLUMNS)
        for m in rows:
            w.writerow([m.query_id, m.target_id, m.offset, _g(m.p_value), _g(m.e_value),
                        _g(m.q_value), m.overlap, m.query_consensus, m.target_consensus,
                        m.orientation, m.target_alt])
    return Path(path)
