"""Scoring functions on hand-computed cases: coverage, CRPS (point mass, two points, normal), log score."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from forecast.backtest.scoring import (
    crps_from_samples,
    crps_normal,
    interval_coverage,
    log_score_from_samples,
    silverman_bandwidth,
)


def _normal_samples(mu: float, sigma: float, n: int = 20_000) -> np.ndarray:
    """Evenly spaced quantiles of a normal: a deterministic sample with the right distribution."""
    return mu + sigma * norm.ppf((np.arange(n) + 0.5) / n)


def _crps_brute_force(samples: np.ndarray, y: float) -> float:
    """E|X − y| − ½ E|X − X'| over all pairs (i = j included), O(n²)."""
    x = np.asarray(samples, dtype=float)
    return float(np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :])))


# ---------------------------------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------------------------------


def test_coverage_hand_computed() -> None:
    lower = [0.0, 0.0, 1.0, 2.0]
    upper = [1.0, 1.0, 2.0, 3.0]
    observed = [0.5, 1.5, 1.0, 3.0]  # inside, above, on the lower end, on the upper end
    assert interval_coverage(lower, upper, observed) == pytest.approx(0.75)


def test_coverage_includes_both_ends_for_an_atom() -> None:
    # A predictive with an atom (no new record) has lower == upper == the atom; an observation on it is inside.
    assert interval_coverage([12.4], [12.4], [12.4]) == 1.0
    assert interval_coverage([12.4], [12.4], [12.5]) == 0.0


def test_coverage_broadcasts_and_handles_no_points() -> None:
    assert interval_coverage(0.0, 1.0, [0.2, 0.8, 1.2, -0.1, 0.5]) == pytest.approx(0.6)
    assert math.isnan(interval_coverage([], [], []))


def test_coverage_rejects_inverted_interval() -> None:
    with pytest.raises(ValueError, match="lower bound"):
        interval_coverage([2.0], [1.0], [1.5])


# ---------------------------------------------------------------------------------------------------
# CRPS
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "y"), [(3.0, 1.0), (12.5, 13.1), (0.0, 0.0), (-2.0, 5.0)])
def test_crps_of_point_mass_is_absolute_error(x: float, y: float) -> None:
    assert crps_from_samples(np.full(50, x), y) == pytest.approx(abs(x - y))


def test_crps_two_point_distribution_hand_computed() -> None:
    # X uniform on {0, 1}, y = 0: E|X − y| = 1/2, E|X − X'| = (0 + 1 + 1 + 0)/4 = 1/2, CRPS = 1/2 − 1/4.
    assert crps_from_samples([0.0, 1.0], 0.0) == pytest.approx(0.25)
    # y = 0.5: E|X − y| = 1/2, CRPS = 1/2 − 1/4 = 1/4; y = 2: E|X − y| = 3/2, CRPS = 5/4.
    assert crps_from_samples([1.0, 0.0], 0.5) == pytest.approx(0.25)
    assert crps_from_samples([0.0, 1.0], 2.0) == pytest.approx(1.25)


def test_crps_sorted_form_equals_brute_force() -> None:
    rng = np.random.default_rng(7)
    samples = rng.gamma(2.0, 1.0, 301)
    for y in (-1.0, 0.3, 2.0, 9.0):
        assert crps_from_samples(samples, y) == pytest.approx(_crps_brute_force(samples, y), abs=1e-12)


def test_crps_normal_closed_form_values() -> None:
    # At the mean of a standard normal: 2φ(0) − 1/√π = √(2/π) − 1/√π.
    assert crps_normal(0.0, 1.0, 0.0) == pytest.approx(math.sqrt(2 / math.pi) - 1 / math.sqrt(math.pi))
    # Scale equivariance: CRPS(N(μ, σ), y) = σ · CRPS(N(0, 1), (y − μ)/σ).
    assert crps_normal(13.0, 0.2, 13.3) == pytest.approx(0.2 * crps_normal(0.0, 1.0, 1.5))
    # Far in the tail the CRPS approaches the absolute error minus σ/√π.
    assert crps_normal(0.0, 1.0, 10.0) == pytest.approx(10.0 - 1 / math.sqrt(math.pi), abs=1e-9)


@pytest.mark.parametrize(("mu", "sigma", "y"), [(0.0, 1.0, 0.0), (0.0, 1.0, 0.7), (12.8, 0.25, 13.2), (5.0, 2.0, -1.0)])
def test_crps_of_normal_samples_matches_closed_form(mu: float, sigma: float, y: float) -> None:
    samples = _normal_samples(mu, sigma)
    assert crps_from_samples(samples, y) == pytest.approx(crps_normal(mu, sigma, y), rel=1e-3, abs=1e-5)


def test_crps_vectorised_over_points() -> None:
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(4, 200))
    observed = np.array([0.0, 1.0, -2.0, 0.5])
    scores = crps_from_samples(samples, observed)
    assert scores.shape == (4,)
    for row, y, score in zip(samples, observed, scores, strict=True):
        assert score == pytest.approx(_crps_brute_force(row, y))


def test_crps_rejects_empty_and_non_finite() -> None:
    with pytest.raises(ValueError):
        crps_from_samples([], 0.0)
    with pytest.raises(ValueError):
        crps_from_samples([0.0, np.nan], 0.0)


# ---------------------------------------------------------------------------------------------------
# Log score
# ---------------------------------------------------------------------------------------------------


def test_log_score_of_normal_samples_is_the_smoothed_normal_density() -> None:
    # A Gaussian KDE of N(μ, σ) samples with bandwidth h estimates the N(μ, √(σ² + h²)) density.
    samples = _normal_samples(12.8, 0.25)
    h = silverman_bandwidth(samples)
    assert h == pytest.approx(0.9 * 0.25 * 20_000 ** (-0.2), rel=0.01)
    for y in (12.8, 13.0, 12.4):
        score = log_score_from_samples(samples, y, min_bandwidth=1e-3)
        assert score == pytest.approx(norm.logpdf(y, 12.8, math.hypot(0.25, h)), abs=2e-3)
        assert score == pytest.approx(norm.logpdf(y, 12.8, 0.25), abs=0.02)


def test_log_score_of_point_mass_uses_the_bandwidth_floor() -> None:
    # All samples equal: Silverman's bandwidth is 0, so the floor h applies and the score is log N(y; x, h).
    h = 0.02
    assert silverman_bandwidth(np.full(10, 3.0)) == 0.0
    assert log_score_from_samples(np.full(10, 3.0), 3.0, min_bandwidth=h) == pytest.approx(norm.logpdf(0.0, 0.0, h))
    assert log_score_from_samples(np.full(10, 3.0), 3.1, min_bandwidth=h) == pytest.approx(norm.logpdf(0.1, 0.0, h))


def test_log_score_stays_finite_far_in_the_tail() -> None:
    score = log_score_from_samples(np.zeros(5), 100.0, min_bandwidth=0.02)
    assert np.isfinite(score)
    assert score == pytest.approx(norm.logpdf(100.0, 0.0, 0.02))


def test_log_score_explicit_bandwidth_and_vectorised() -> None:
    samples = np.array([[0.0, 1.0], [2.0, 2.0]])
    scores = log_score_from_samples(samples, [0.0, 2.5], min_bandwidth=0.1, bandwidth=0.5)
    expected0 = math.log(0.5 * (norm.pdf(0.0, 0.0, 0.5) + norm.pdf(0.0, 1.0, 0.5)))
    expected1 = norm.logpdf(2.5, 2.0, 0.5)
    assert scores == pytest.approx([expected0, expected1])


def test_log_score_needs_a_positive_floor() -> None:
    with pytest.raises(ValueError, match="min_bandwidth"):
        log_score_from_samples([0.0, 1.0], 0.0, min_bandwidth=0.0)
