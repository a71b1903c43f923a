"""FIMO scores and exact p-values: brute force over all 4**W words, MEME's rounding, oracles."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.motifs.pvalues import (
    MEME_LOG2_E,
    PSSM_RANGE,
    build_pssm,
    fimo_probabilities,
    pvalue_table,
    scale_log_odds,
    symmetric_background,
)
from motifscan.motifs.pwm import Motif

BG = np.array([0.35, 0.15, 0.2, 0.3])  # deliberately not symmetric and not uniform


def all_words(w: int) -> np.ndarray:
    return np.array(list(itertools.product(range(4), repeat=w)), dtype=np.int64)


def brute_pvalues(scaled: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score and probability of every word, enumerated."""
    words = all_words(len(scaled))
    scores = scaled[np.arange(len(scaled))[None, :], words].sum(axis=1)
    probs = np.prod(bg[words], axis=1)
    return scores, probs


def random_motif(w: int, seed: int, nsites: int = 20) -> Motif:
    rng = np.random.default_rng(seed)
    return Motif(f"m{seed}", rng.dirichlet(np.full(4, 0.5), size=w), nsites=nsites)


@pytest.mark.parametrize("w,seed", [(1, 0), (3, 1), (5, 2), (6, 3)])
def test_pvalue_table_matches_brute_force(w, seed):
    pssm = build_pssm(random_motif(w, seed), BG, symmetric=False)
    scores, probs = brute_pvalues(pssm.matrix, pssm.background)
    assert probs.sum() == pytest.approx(1.0)
    for x in np.unique(np.concatenate([scores, [0, pssm.max_score]])):
        exact = probs[scores >= x].sum()
        assert pssm.pv[x] == pytest.approx(min(exact, 1.0), rel=1e-9, abs=1e-15)
    assert pssm.pv[pssm.max_score + 1 :].max(initial=0.0) == 0.0
    assert pssm.pv[0] == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(w=st.integers(1, 5), seed=st.integers(0, 10_000),
       a=st.floats(0.05, 0.6), c=st.floats(0.05, 0.6))
def test_pvalue_table_property(w, seed, a, c):
    bg = np.array([a, c, 0.3, 0.3])
    bg = bg / bg.sum()
    pssm = build_pssm(random_motif(w, seed), bg, symmetric=True)
    scores, probs = brute_pvalues(pssm.matrix, pssm.background)
    cut = pssm.cutoff(1e-2)
    # the cutoff is the smallest score whose p-value is <= 1e-2
    if cut <= pssm.max_score:
        assert probs[scores >= cut].sum() <= 1e-2 * (1 + 1e-9)
        assert cut == 0 or pssm.pv[cut - 1] > 1e-2
    else:
        assert pssm.min_pvalue > 1e-2
    assert np.all(np.diff(pssm.pv) <= 1e-15)  # never increases


def test_scaling_follows_meme():
    """offset = floor(min), scale = floor(range / (max - offset)), nint rounds half away."""
    lo = np.array([[-3.2, 0.5, 1.0, 1.9], [0.0, -0.7, 0.25, 1.2]])
    scaled, scale, offset = scale_log_odds(lo, PSSM_RANGE)
    assert offset == -4.0
    assert scale == np.floor(1000 / (1.9 + 4.0))
    assert np.array_equal(scaled, np.floor((lo + 4.0) * scale + 0.5).astype(int))
    assert scaled.min() >= 0 and scaled.max() <= PSSM_RANGE
    half = scale_log_odds(np.array([[0.0, 0.5, 1.0, 2.0]]), 4)  # (x+0)*2: 0, 1, 2, 4
    assert half[0].tolist() == [[0, 1, 2, 4]]


def test_pseudocount_and_background_as_fimo():
    m = Motif("x", [[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]], nsites=10)
    bg = symmetric_background([0.4, 0.1, 0.2, 0.3])
    assert np.allclose(bg, [0.35, 0.15, 0.15, 0.35])
    p = fimo_probabilities(m, bg, 0.1)
    assert np.allclose(p[0], (np.array([10, 0, 0, 0]) + 0.1 * bg) / 10.1)
    pssm = build_pssm(m, [0.4, 0.1, 0.2, 0.3], pseudocount=0.1)
    lo = np.log(p / bg) * MEME_LOG2_E
    raw = pssm.raw_scores(pssm.matrix[0, 0] + pssm.matrix[1, 0])  # the word "AA"
    assert raw == pytest.approx(lo[0, 0] + lo[1, 0], abs=1 / pssm.scale)  # two roundings of 0.5


def test_reverse_complement_is_symmetric():
    pssm = build_pssm(random_motif(6, 9), BG)
    rc = pssm.reverse_complement()
    codes = np.random.default_rng(0).integers(0, 4, 200).astype(np.uint8)
    from motifscan.codes import reverse_complement

    fwd = pssm.score_codes(codes)
    rev = rc.score_codes(reverse_complement(codes))[::-1]
    assert np.array_equal(fwd, rev)


def test_unreachable_motif_cutoff():
    flat = Motif("flat", np.full((5, 4), 0.25) + np.eye(4, 4)[[0, 1, 2, 3, 0]] * 0.01, nsites=20)
    pssm = build_pssm(flat, None)
    assert pssm.min_pvalue > 1e-4
    assert pssm.cutoff(1e-4) == pssm.max_score + 1


def test_matches_pymemesuite_on_jaspar():
    """The integer PSSMs, scale, offset and p-value tables equal MEME's (pymemesuite)."""
    import pymemesuite.common as common

    from motifscan.motifs import jaspar_path
    from motifscan.io.motif_formats import read_motifs

    path = str(jaspar_path())
    mf = common.MotifFile(path, symmetrical=True)
    theirs = [mf.read() for _ in range(25)]
    bg = np.array(list(mf.background.frequencies))[:4]
    ours = read_motifs(path)[:25]
    for m, o in zip(theirs, ours):
        pssm = m.build_pssm(mf.background)
        mat = np.array([[pssm.matrix[r][c] for c in range(4)] for r in range(pssm.width)])
        mine = build_pssm(o, bg, 0.1)
        assert (pssm.scale, pssm.offset) == (mine.scale, mine.offset)
        # printed probabilities are rounded to 6 digits, so allow one unit in a rare cell
        assert np.abs(mat - mine.matrix).max() <= 1
        pv = np.array(list(pssm.pvalues))
        assert len(pv) == len(mine.pv)
        if np.array_equal(mat, mine.matrix):
            assert np.allclose(pv, mine.pv, rtol=1e-9, atol=0)


def test_pvalue_table_rejects_out_of_range():
    with pytest.raises(ValueError):
        pvalue_table(np.array([[0, 1, 2, 2000]]), BG)
