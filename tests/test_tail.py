"""Upper-tail p-values: the GPD fit against known distributions, empirical p-values uniform on
the null, monotone in the score, and conservative where the fitted tail must extrapolate."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from motifscan.stats.tail import (
    LOG_P_FLOOR, MIN_COUNT, ScoreNull, _anderson_darling, _zhang_stephens, fit_gpd_tail,
)


def _gpd_sample(shape, scale, n, rng):
    u = rng.uniform(size=n)
    return np.sort(scale * ((u ** -shape - 1) / shape if shape else -np.log(u)))


@pytest.mark.parametrize("shape", [-0.3, 0.0, 0.2])
def test_zhang_stephens_recovers_a_known_gpd(shape):
    x = _gpd_sample(shape, 2.0, 20_000, np.random.default_rng(1))
    xi, sigma = _zhang_stephens(x)
    assert abs(xi - shape) < 0.04
    assert abs(sigma / 2.0 - 1) < 0.05


@pytest.mark.parametrize("shape", [-0.2, 0.0, 0.3])
def test_anderson_darling_rejects_about_five_percent_of_true_fits(shape):
    from motifscan.stats.tail import _AD_CRITICAL, _AD_SHAPES
    rng = np.random.default_rng(2)
    rejected = 0
    for _ in range(300):
        x = _gpd_sample(shape, 1.0, 250, rng)
        xi, sigma = _zhang_stephens(x)
        rejected += _anderson_darling(x, xi, sigma) > np.interp(xi, _AD_SHAPES, _AD_CRITICAL)
    assert 0.01 <= rejected / 300 <= 0.12


def test_anderson_darling_rejects_a_wrong_tail():
    x = np.sort(np.random.default_rng(3).uniform(1, 2, size=250)) ** 8  # not a GPD of any shape
    xi, sigma = _zhang_stephens(x - x[0] + 1e-3)
    assert _anderson_darling(x - x[0] + 1e-3, 0.0, float((x - x[0]).mean())) > 2


def test_exponential_tail_extrapolates():
    """A true GPD (exponential) null of 1e5: at 1e-8, four orders past the sample, the median
    error over seeds is under one log10 unit and no seed is anti-conservative by 4x."""
    errors = []
    for seed in range(6):
        null = ScoreNull.fit(stats.expon.rvs(size=100_000, random_state=seed))
        assert null.tail is not None
        errors.append(null.log_pvalues(stats.expon.isf(1e-8)) / np.log(10) + 8)
    assert np.median(np.abs(errors)) < 1
    assert min(errors) > -0.6


@pytest.mark.parametrize("seed", range(3))
def test_window_max_like_scores_within_an_order_at_1e7(seed):
    """Maxima of normals (the shape of a window max score): tail p-values within 10x of the truth."""
    x = np.random.default_rng(seed).standard_normal((100_000, 50)).max(1)
    null = ScoreNull.fit(x)
    for p, tol in ((1e-5, 0.5), (1e-7, 1.2)):
        score = stats.norm.isf(1 - (1 - p) ** (1 / 50))
        assert abs(null.log_pvalues(score) / np.log(10) - np.log10(p)) < tol


@pytest.mark.parametrize("seed", range(3))
def test_bounded_tail_is_conservative(seed):
    """A bounded null (Beta) is fitted with an exponential tail: p-values too large, never 0."""
    dist = stats.beta(2, 5)
    null = ScoreNull.fit(dist.rvs(size=100_000, random_state=seed))
    for p in (1e-5, 1e-7, 1e-9):
        est = null.log_pvalues(dist.isf(p))
        assert est >= np.log(p) - 0.1
        assert est > LOG_P_FLOOR


@pytest.mark.parametrize("alpha", [0.1, 0.01, 0.001])
def test_pvalues_uniform_on_the_null(alpha):
    rng = np.random.default_rng(5)
    null = ScoreNull.fit(rng.gumbel(size=100_000))
    p = null.pvalues(rng.gumbel(size=200_000))
    assert 0.8 * alpha <= (p <= alpha).mean() <= 1.2 * alpha


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 30, allow_nan=False), min_size=2, max_size=50))
def test_pvalues_decrease_with_the_score(xs):
    null = _NULL
    xs = np.sort(np.array(xs))
    lp = null.log_pvalues(xs)
    assert (np.diff(lp) <= 1e-12).all()
    assert (lp <= 0).all() and (lp >= LOG_P_FLOOR).all()


_NULL = ScoreNull.fit(np.random.default_rng(6).gumbel(size=20_000))


def test_empirical_part_counts_the_null():
    scores = np.arange(100, dtype=float)
    null = ScoreNull(np.sort(scores), None)
    # 5 null scores >= 95: p = (1 + 5) / 101
    assert np.isclose(null.pvalues(95.0), 6 / 101)
    assert np.isclose(null.pvalues(1e9), 1 / 101)  # no tail: never below 1 / (n + 1)
    assert np.isnan(null.log_pvalues(np.nan))


def test_tail_only_below_the_empirical_resolution():
    null = _NULL
    x = null.scores[-MIN_COUNT - 5]  # enough null mass above: empirical
    n = len(null.scores)
    count = n - np.searchsorted(null.scores, x, side="left")
    assert np.isclose(null.pvalues(x), (1 + count) / (n + 1))


def test_lattice_scores_get_no_tail():
    x = np.random.default_rng(7).integers(0, 5, size=50_000).astype(float)
    assert fit_gpd_tail(x) is None


def test_round_trip_arrays():
    null = _NULL
    back = ScoreNull.from_arrays({k: v.copy() for k, v in null.to_arrays().items()})
    x = np.linspace(-3, 40, 50)
    np.testing.assert_array_equal(back.log_pvalues(x), null.log_pvalues(x))
    none = ScoreNull(np.arange(10.0), None)
    assert ScoreNull.from_arrays(none.to_arrays()).tail is None


def test_bad_null():
    with pytest.raises(ValueError):
        ScoreNull.fit(np.array([]))
    with pytest.raises(ValueError):
        ScoreNull.fit(np.array([1.0, np.inf]))
