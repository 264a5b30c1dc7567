"""Record paths simulated from a record-process posterior: they follow the distribution the likelihood assigns
(the same equations), and each growth form continues its own process after the cut-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.model import record
from forecast.model.record_paths import (
    RecordFrontier,
    fine_grid,
    future_log_likelihood,
    log_mean_exp,
    record_frontier,
    simulate_records,
)
from forecast.model.trend import ANCHOR_YEAR, record_quantile_path

PATHS = 40_000


def _constant(level: float, growth: float, scale: float, n: int = PATHS) -> RecordFrontier:
    draws = {
        "dataset_level": np.full(n, level),
        "dataset_growth": np.full(n, growth),
        "dataset_record_scale": np.full(n, scale),
    }
    return RecordFrontier("constant", draws, start_year=2020.0, end_year=2025.0)


def _expected_count(level: float, growth: float, scale: float, r: float, t0: float, t1: float) -> float:
    """Expected releases above r in [t0, t1] under a linear frontier (closed form of the rate's integral)."""
    at = lambda t: np.exp((level + growth * (t - ANCHOR_YEAR) - r) / scale)  # noqa: E731
    return scale / growth * (at(t1) - at(t0))


def test_simulated_records_follow_the_likelihoods_distribution() -> None:
    # P(record at T ≤ r) = exp(−N(r)) for r above the starting record, N the expected releases above r: the
    # chance of a flat spell that the likelihood uses. 4e4 paths: binomial SE ≤ 0.0025; tolerance 4 SE plus the
    # monthly trapezoid error (< 0.5% of N).
    level, growth, scale, start = 13.5, 0.4, 0.25, 13.3
    frontier = _constant(level, growth, scale)
    grid, _ = fine_grid(np.array([2025.0, 2027.0]), 1 / 12)
    paths = simulate_records(
        frontier.at(grid), grid, frontier.draws["dataset_record_scale"], start, np.random.default_rng(5)
    )
    assert np.all(np.diff(paths, axis=1) >= 0) and np.all(paths[:, 0] == start)
    for r in (start, 13.8, 14.2, 14.6):
        expected = np.exp(-_expected_count(level, growth, scale, r, 2025.0, 2027.0))
        assert np.mean(paths[:, -1] <= r) == pytest.approx(expected, abs=4 * 0.0025 + 0.005 * expected)


def test_record_quantile_path_has_the_simulated_records_distribution() -> None:
    # The projection's closed-form record (one quantile per draw) and the backtest's simulated record paths are
    # the same distribution at every date: compare their quantiles (4e4 draws: the quantiles' SE is < 0.01 OOM
    # at these levels; 0.02 OOM allows for it and the monthly grid of the simulation).
    level, growth, scale, start = 13.5, 0.4, 0.25, 13.3
    frontier = _constant(level, growth, scale)
    grid, _ = fine_grid(np.array([2025.0, 2028.0]), 1 / 12)
    simulated = simulate_records(
        frontier.at(grid), grid, frontier.draws["dataset_record_scale"], start, np.random.default_rng(6)
    )
    at_start = level + growth * (2025.0 - ANCHOR_YEAR)
    u = np.random.default_rng(7).random(PATHS)
    for year in (2025.5, 2026.0, 2028.0):
        closed = record_quantile_path(np.array(year), at_start, growth, scale, 2025.0, start, u)
        column = simulated[:, np.argmin(np.abs(grid - year))]
        qs = [0.1, 0.5, 0.9]
        assert np.allclose(np.quantile(closed, qs), np.quantile(column, qs), atol=0.02)
    assert np.all(record_quantile_path(np.array(2025.0), at_start, growth, scale, 2025.0, start, u) == start)


def test_future_log_likelihood_is_the_segment_likelihood_of_the_future_path() -> None:
    frontier = _constant(13.4, 0.35, 0.3, n=3)
    future_runs = pd.DataFrame(
        {
            "model": ["X", "Y"],
            "publication_date": pd.to_datetime(["2025-05-01", "2026-02-01"]),
            "dataset_tokens": [3e13, 2e13],  # Y is below X's record: not an event
        }
    )
    future = record.record_data_after(future_runs, 2025.0, 13.3, 2027.0)
    expected = record.segment_log_likelihood(future, frontier.at(future.grid), np.full(3, 0.3)).sum(axis=1)
    got = future_log_likelihood(frontier, np.full(3, 0.3), future, np.random.default_rng(0))
    assert np.allclose(got, expected) and list(future.event_model) == ["X"]


def test_local_linear_trend_widens_after_the_cut_off() -> None:
    # After the cut-off the slope keeps walking: the spread of F grows (as t^1.5 in sd for the level), the
    # constant slope's spread grows only with the slope's posterior spread (zero here).
    n, knots = 4000, record.knot_years(2020.0, 2025.0)
    line = 13.0 + 0.4 * (knots - 2025.0)
    draws = {
        "dataset_level": np.full(n, 13.0 - 0.4 * (2025.0 - ANCHOR_YEAR)),
        "dataset_growth": np.full(n, 0.4),
        "dataset_record_scale": np.full(n, 0.25),
        "dataset_slope_walk_sd": np.full(n, 0.1),
        "dataset_frontier_knots": np.tile(line, (n, 1)),
    }
    walk = RecordFrontier("local_linear", draws, 2020.0, 2025.0)
    at = walk.at(np.array([2024.0, 2025.0, 2027.0, 2030.0]), np.random.default_rng(1))
    sd = at.std(axis=0)
    assert sd[0] < 1e-12 and sd[1] < 1e-12 and 0 < sd[2] < sd[3]
    # sd after h whole years of yearly steps: walk_sd·sqrt(Σ_{k=1..h} k²) (the slope's k-th step moves h−k+1 knots).
    for h, s in ((2, sd[2]), (5, sd[3])):
        assert s == pytest.approx(0.1 * np.sqrt(sum(k * k for k in range(1, h + 1))), rel=0.05)  # 4000 draws: SE ~1.1%
    assert np.allclose(at.mean(axis=0), 13.0 + 0.4 * (np.array([2024.0, 2025.0, 2027.0, 2030.0]) - 2025.0), atol=0.03)
    with pytest.raises(ValueError, match="random generator"):
        walk.at(np.array([2026.0]))


def test_record_frontier_flattens_chains_and_skips_empty_variables() -> None:
    posterior = {
        "dataset_level": np.zeros((2, 5)),
        "dataset_growth": np.full((2, 5), 0.3),
        "dataset_record_scale": np.full((2, 5), 0.2),
        "dataset_slope_steps": np.zeros((2, 5, 0)),
    }
    data = record.record_data_after(
        pd.DataFrame(columns=["model", "publication_date", "dataset_tokens"]), 2020.0, 12.0, 2024.0
    )
    frontier = record_frontier(posterior, data)
    assert frontier.form == "constant" and frontier.size == 10 and "dataset_slope_steps" not in frontier.draws


def test_log_mean_exp_is_stable() -> None:
    values = np.array([-1000.0, -1001.0, -1002.0])
    assert log_mean_exp(values) == pytest.approx(-1000 + np.log(np.mean(np.exp([0.0, -1.0, -2.0]))))
    assert log_mean_exp(np.log(np.array([1.0, 3.0]))) == pytest.approx(np.log(2.0))
