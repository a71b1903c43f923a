"""Grouping redundant filters: Tomtom E-values between motifs, greedy stars around the best one."""

from __future__ import annotations

import numpy as np
import pytest

from motifscan.motifs.groups import GROUP_EVALUE, GROUP_TRIM_IC, group_motifs, pair_evalues
from motifscan.motifs.pwm import Motif

from conftest import consensus_probs

CORE = "GCCACTAGGTGG"


def _padded(consensus: str, offset: int, width: int = 16, strength: float = 0.85, flanks: float = 50.0,
            seed: int | None = None) -> np.ndarray:
    """``consensus`` at ``offset`` inside ``width`` columns of flanks drawn from Dirichlet(``flanks``)
    (the larger, the closer to uniform)."""
    rng = np.random.default_rng(offset if seed is None else seed)
    probs = rng.dirichlet(np.full(4, flanks), size=width)
    probs[offset : offset + len(consensus)] = consensus_probs(consensus, strength)
    return probs


@pytest.fixture(scope="module")
def motifs() -> list[Motif]:
    rng = np.random.default_rng(5)
    core = _padded(CORE, 2)
    alike = [
        Motif("core", core),
        Motif("shifted", _padded(CORE, 0)),
        Motif("revcomp", core[::-1, ::-1].copy()),
    ]
    unrelated = [Motif(f"other{i}", _padded("".join(rng.choice(list("ACGT"), 12)), 2)) for i in range(5)]
    return alike + unrelated


def test_pair_evalues_link_copies_shifts_and_reverse_complements(motifs):
    e = pair_evalues(motifs)
    assert e.shape == (8, 8)
    np.testing.assert_array_equal(e, e.T)
    np.testing.assert_array_equal(np.diag(e), 0.0)
    assert e[0, 2] < 1e-12  # a motif and its reverse complement: every column alike
    assert e[:3, :3].max() < GROUP_EVALUE  # the three views of one motif
    assert e[:3, 3:].min() > 100 * GROUP_EVALUE  # nothing else comes near
    # with a real collection in the column null, the same pairs match
    from motifscan.motifs import jaspar_path, read_motifs

    wider = pair_evalues(motifs, background=read_motifs(jaspar_path())[:200])
    assert wider[:3, :3].max() < GROUP_EVALUE < wider[:3, 3:].min()


def test_pair_evalues_need_distinct_ids():
    m = Motif("a", consensus_probs(CORE))
    with pytest.raises(ValueError, match="distinct"):
        pair_evalues([m, m])
    assert pair_evalues([m]).shape == (1, 1)


def test_group_motifs_gathers_the_copies_around_the_best(motifs):
    priority = np.array([1.0, 5.0, 2.0, 0.0, 4.0, 3.0, -1.0, -2.0])
    groups = group_motifs(motifs, priority)
    assert groups[0] == [1, 2, 0]  # the best copy first, the others by priority
    assert groups[1] == [4]  # an unrelated motif with high priority is a group of its own
    flat = sorted(i for g in groups for i in g)
    assert flat == list(range(8))
    # the seed of each group has the highest priority in it; groups come in seed order
    assert [g[0] for g in groups] == sorted((g[0] for g in groups), key=lambda i: -priority[i])
    assert all(priority[g[0]] == priority[g].max() for g in groups)
    # a cut below every E-value leaves every motif alone
    assert group_motifs(motifs, priority, evalue=0.0) == [[int(i)] for i in np.argsort(-priority, kind="stable")]


def test_groups_are_stars_not_chains():
    """a matches b, b matches c, a does not match c: the best seed takes only its own matches."""
    e = np.array([[0.0, 1e-9, 1.0], [1e-9, 0.0, 1e-9], [1.0, 1e-9, 0.0]])
    dummy = [Motif(n, consensus_probs(CORE)) for n in "abc"]
    assert group_motifs(dummy, np.array([3.0, 2.0, 1.0]), evalues=e) == [[0, 1], [2]]
    assert group_motifs(dummy, np.array([2.0, 3.0, 1.0]), evalues=e) == [[1, 0, 2]]
    assert group_motifs(dummy, np.zeros(3), evalues=e) == [[0, 1], [2]]  # ties: lower index first
    with pytest.raises(ValueError, match="priority"):
        group_motifs(dummy, np.zeros(2), evalues=e)


def test_flanks_are_trimmed_before_comparing():
    """Two filters holding one core at different offsets of 19 columns, with weak random flanks
    (as trained filters have): a Pearson correlation is blind to scale, so the flanks blur the
    alignment; without them the two match clearly and are grouped."""
    rng = np.random.default_rng(3)
    motifs = [Motif("left", _padded(CORE, 0, width=19, flanks=10.0, seed=1)),
              Motif("right", _padded(CORE, 7, width=19, flanks=10.0, seed=2))]
    motifs += [Motif(f"other{i}", _padded("".join(rng.choice(list("ACGT"), 12)), 3, width=19, flanks=10.0,
                                          seed=10 + i)) for i in range(6)]
    whole = pair_evalues(motifs)
    trimmed = pair_evalues(motifs, trim_ic=GROUP_TRIM_IC)
    assert whole[0, 1] > GROUP_EVALUE > 10 * trimmed[0, 1]
    assert trimmed[:2, 2:].min() > 100 * GROUP_EVALUE
    groups = group_motifs(motifs, np.arange(8, 0, -1))
    assert groups[0] == [0, 1] and len(groups) == 7
    assert group_motifs(motifs, np.arange(8, 0, -1), trim_ic=None)[0] == [0]
