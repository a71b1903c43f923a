"""Benjamini-Hochberg q-values against a direct implementation of the step-up rule."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.stats.multitest import bh_log_qvalues, bh_qvalues


def _direct(p, m):
    """q_i = min over every p_j >= p_i of p_j m / rank_j, computed pair by pair."""
    n = len(p)
    order = np.argsort(p, kind="stable")
    rank = np.empty(n, int)
    rank[order] = np.arange(1, n + 1)
    return np.array([min(min(p[j] * m / rank[j] for j in range(n) if rank[j] >= rank[i]), 1.0)
                     for i in range(n)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.integers(0, 30))
def test_bh_equals_direct(p, extra):
    p = np.array(p)
    m = len(p) + extra
    np.testing.assert_allclose(bh_qvalues(p, m), _direct(p, m), rtol=1e-12, atol=1e-300)


def test_log_space_keeps_tiny_p_values():
    log_p = np.array([-2000.0, -1000.0, np.log(0.5)])
    lq = bh_log_qvalues(log_p)
    np.testing.assert_allclose(lq[:2], [-2000 + np.log(3), -1000 + np.log(1.5)])
    assert np.isclose(lq[2], np.log(0.5))


def test_bh_controls_fdr_on_planted_truth():
    rng = np.random.default_rng(0)
    fdps = []
    for _ in range(200):
        null = rng.uniform(size=900)
        alt = rng.beta(0.05, 1, size=100)
        q = bh_qvalues(np.concatenate([null, alt]))
        called = q <= 0.1
        fdps.append(called[:900].sum() / max(called.sum(), 1))
    assert np.mean(fdps) <= 0.1 * 900 / 1000 + 0.02


def test_bad_family_size():
    import pytest
    with pytest.raises(ValueError):
        bh_qvalues(np.array([0.1, 0.2]), m=1)
