"""Redundant filters: group the filters whose motifs match one another.

A model often learns one motif many times over (a 64-filter model trained on 40,000 CTCF peaks
had 20 CTCF filters). Knocked out one at a time, each of them looks useless -- the others stand
in for it -- and a motif list with 20 copies hides what the model relies on. So export groups
them:

1. **Similarity.** Every motif, trimmed of flanking columns below :data:`GROUP_TRIM_IC` bits, is
   compared with every other by our Tomtom (:func:`motifscan.motifs.compare.compare_motifs`:
   Pearson column scores, minimum overlap 5, both strands, the motifs' own columns as the column
   null, as Tomtom does with a database). ``E = p * n`` for ``n`` motifs; a pair's E-value is the
   larger of its two directions (both motifs must find the other). The trim matters: a filter's
   flanks are near-uniform columns, and a Pearson correlation is blind to scale, so two such
   columns correlate at random and blur the alignment of two cores -- two 19-wide CTCF filters
   holding the core at different offsets matched at E = 9e-4 untrimmed, 4e-8 trimmed. A real
   collection can join the null (``background``): with the bundled JASPAR the E-values of a
   64-filter CTCF model moved by less than a factor of two, at four times the cost, so the default
   is Tomtom's own null.
2. **Groups.** Greedy stars around the most influential filter, not single linkage: the most
   influential motif not yet grouped seeds a group, and every ungrouped motif that matches the
   seed with ``E <= evalue`` joins it. A chain of partial overlaps (a CTCF half-site filter next
   to a core filter next to a half-site of something else) cannot pull unrelated motifs together.

:data:`GROUP_EVALUE` is the default cut. On the 40,000-peak CTCF model 99% of the pairs of CTCF
filters matched at E <= 1e-4 (all at <= 5.4e-4) while no two of the other filters came below
9.6e-3; on the 500-peak model 90% of the CTCF pairs matched at E <= 1e-4.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .compare import MotifDatabase, compare_motifs
from .pwm import Motif

__all__ = ["GROUP_EVALUE", "GROUP_TRIM_IC", "pair_evalues", "group_motifs"]

#: Two filters' motifs are "the same" when both match the other with an E-value at most this.
GROUP_EVALUE = 1e-4

#: Motifs are compared without their flanking columns below this many bits.
GROUP_TRIM_IC = 0.25


def pair_evalues(
    motifs: Sequence[Motif],
    *,
    background: Sequence[Motif] = (),
    min_overlap: int = 5,
    trim_ic: float | None = None,
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
    trim_ic
        Compare the motifs without their flanking columns below this many bits
        (:meth:`~motifscan.motifs.pwm.Motif.trim`); ``None``: as they are.

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
    if trim_ic is not None:
        motifs = [m.trim(trim_ic) for m in motifs]
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
    trim_ic: float | None = GROUP_TRIM_IC,
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
    trim_ic, background
        Flank trim and column null for :func:`pair_evalues`.
    evalues
        Precomputed :func:`pair_evalues` (then ``trim_ic`` and ``background`` are not used).

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
        evalues = pair_evalues(motifs, background=background, trim_ic=trim_ic)
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
