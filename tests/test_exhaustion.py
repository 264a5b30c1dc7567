"""First crossing, censoring and summaries on hand-computed cases."""

import numpy as np
import pytest

from forecast.exhaustion import (
    censored_quantiles,
    first_crossing,
    probability_by_year,
    share_censored,
    value_at_crossing,
)

GRID = np.arange(2024.0, 2031.0)


def test_crossing_interpolates_between_grid_points() -> None:
    gap = np.array([[-2.0, -1.0, 0.5, 1.0, 2.0, 3.0, 4.0]])
    c = first_crossing(GRID, gap)
    # Between 2025 (gap -1) and 2026 (gap 0.5): 2025 + 1/1.5.
    assert c.year[0] == pytest.approx(2025 + 2 / 3)
    assert not c.censored[0] and not c.at_start[0]
    path = np.array([[10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]])
    assert value_at_crossing(path, c)[0] == pytest.approx(11 + 2 / 3)


def test_first_of_several_crossings_and_exact_zero() -> None:
    gap = np.array([[-1.0, 0.0, -1.0, 1.0, 1.0, 1.0, 1.0]])
    assert first_crossing(GRID, gap).year[0] == pytest.approx(2025.0)


def test_censored_and_at_start() -> None:
    gap = np.array([[-5.0] * 7, [1.0] * 7])
    c = first_crossing(GRID, gap)
    assert np.isnan(c.year[0]) and c.censored[0]
    assert c.year[1] == 2024.0 and c.at_start[1]
    assert np.isnan(value_at_crossing(np.ones((2, 7)), c)[0])


def test_censored_quantiles_put_censored_after_horizon() -> None:
    years = np.array([2025.0, 2026.0, np.nan, 2027.0, np.nan])
    q = censored_quantiles(years, {"median": 0.5, "q10": 0.1, "q90": 0.9})
    assert q["median"] == 2027.0  # sorted: 2025, 2026, 2027, inf, inf
    assert q["q10"] == pytest.approx(2025.4)
    assert q["q90"] == np.inf
    assert share_censored(years) == pytest.approx(0.4)


def test_quantiles_agree_with_numpy_without_censoring() -> None:
    x = np.random.default_rng(0).normal(2030, 2, 1001)
    q = censored_quantiles(x)
    np.testing.assert_allclose(list(q.values()), np.quantile(x, [0.05, 0.1, 0.5, 0.9, 0.95]))


def test_probability_by_year() -> None:
    years = np.array([2025.5, 2026.0, np.nan, 2030.0])
    np.testing.assert_allclose(probability_by_year(years, np.array([2025.0, 2026.0, 2031.0])), [0, 0.5, 0.75])
