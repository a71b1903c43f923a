"""Redundant filters: group the filters whose motifs match one another.

A model often learns one motif many times over (a 64-filter CTCF model had 21 CTCF filters).
Knocked out one at a time, each of them looks useless -- the others stand in for it -- and a
motif list with 21 copies hides what the model relies on. So export groups them:

1. **Similarity.** Every motif is compared with every other by our Tomtom
   (:func:`motifscan.motifs.compare.compare_motifs`: Pearson column scores, minimum overlap 5,
   both strands, the motifs' own columns as the column null, as Tomtom does with a database).
   ``E = p * n`` for ``n`` motifs; a pair's E-value is the larger of its two directions (both
   motifs must find the other). A real collection can join the null (``background``): with the
   bundled JASPAR the E-values of a 64-filter CTCF model moved by less than a factor of two,
   at four times the cost, so the default is Tomtom's own null.
2. **Groups.** Greedy stars around the most influential filter, not single linkage: the most
   influential motif not yet grouped seeds a group, and every ungrouped motif that matches the
   seed with ``E <= evalue`` joins it. A chain of partial overlaps (a CTCF half-site filter next
   to a core filter next to a half-site of something else) cannot pull unrelated motifs together.

:data:`GROUP_EVALUE` is the default cut. On the 500-peak CTCF model (64 filters) the filters
that learned CTCF matched the best one with E from 1e-14 to 7e-5, while no two of the other
filters came below 1.3e-3: 1e-4 keeps a factor of ten from the closest unrelated pair.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .compare import MotifDatabase, compare_motifs
from .pwm import Motif

__all__ = ["GROUP_EVALUE", "pair_evalues", "group_motifs"]

#: Two filters' motifs are "the same" when both match the other with an E-value at most this.
GROUP_EVALUE = 1e-4


def pair_evalues(
    motifs: Sequence[Motif],
    *,
    background: Sequence[Motif] = (),
    min_overlap: int = 5,
) -> np.ndarray:
    """Tomtom E-values of every motif against every other, symmetrised.

    Parameters
    ----------
    motifs
        The ``n`` motifs to compare (ids must be distinct).
    background
        Motifs whose columns join the motifs' own in the column null (not compared themselves;
        see :class:`~motifscan.motifs.compare.MotifDatabase`); empty: Tomtom's null.
    min_overlap
        Minimum number of aligned columns.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` float64: ``max(E(i -> j), E(j -> i))`` with ``E = p * n``; the diagonal is 0.
    """
    motifs = list(motifs)
    n = len(motifs)
    ids = [m.id for m in motifs]
    if len(set(ids)) != n:
        raise ValueError("motif ids must be distinct")
    if n < 2:
        return np.zeros((n, n))
    db = MotifDatabase(motifs, background=background)
    index = {mid: i for i, mid in enumerate(ids)}
    e = np.ones((n, n))
    for match in compare_motifs(motifs, db, min_overlap=min_overlap):
        e[index[match.query_id], index[match.target_id]] = match.e_value
    e = np.maximum(e, e.T)
    np.fill_diagonal(e, 0.0)
    return e


def group_motifs(
    motifs: Sequence[Motif],
    priority: np.ndarray,
    *,
    evalue: float = GROUP_EVALUE,
    background: Sequence[Motif] = (),
    evalues: np.ndarray | None = None,
) -> list[list[int]]:
    """Group motifs that match one another: greedy stars around the highest-priority motif.

    Parameters
    ----------
    motifs
        ``n`` motifs (one per filter).
    priority
        ``(n,)`` higher first (e.g. each filter's own influence); ties go to the lower index.
    evalue
        A motif joins a seed when :func:`pair_evalues` is at most this.
    background
        Column null for :func:`pair_evalues`.
    evalues
        Precomputed :func:`pair_evalues` (then ``background`` is not used).

    Returns
    -------
    list of list of int
        Indices into ``motifs``; each group starts with its seed (its best member), then the
        others by priority; groups in seed order. Every index is in exactly one group.
    """
    n = len(motifs)
    priority = np.asarray(priority, dtype=np.float64)
    if priority.shape != (n,):
        raise ValueError(f"priority has shape {priority.shape}, expected ({n},)")
    if evalues is None:
        evalues = pair_evalues(motifs, background=background)
    order = np.lexsort((np.arange(n), -priority))
    free = np.ones(n, dtype=bool)
    groups = []
    for seed in order:
        if not free[seed]:
            continue
        join = free & (evalues[seed] <= evalue)
        join[seed] = False
        members = [int(seed)] + [int(i) for i in order if join[i]]
        free[members] = False
        groups.append(members)
    return groups
