"""The bounded tail of the record process (`fit.frontier.tail: bounded`): releases above r arrive at
(1 − κ(r − F)/s)₊^(1/κ) a year, which is the exponential tail at κ → 0 and has an upper end F + s/κ. The
likelihood, the simulation, the projection's closed form and the now-cast density are one process."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forecast.config import FitSettings
from forecast.model import record
from forecast.model.record_paths import simulate_records
from forecast.model.trend import ANCHOR_YEAR, record_quantile_path


def test_rate_is_the_exponential_tail_in_the_limit_and_zero_above_the_upper_end() -> None:
    excess = np.linspace(-2.0, 0.5, 11)
    exponential = record.log_rate_above(excess, 0.3, None, np.log, np.maximum)
    near = record.log_rate_above(excess, 0.3, 1e-7, np.log, np.maximum)
    np.testing.assert_allclose(near, exponential, atol=1e-5)
    bounded = record.log_rate_above(np.array([0.29, 0.31]), 0.3, 1.0, np.log, np.maximum)  # upper end F + s/κ
    assert np.isfinite(bounded[0]) and np.exp(bounded[1]) == 0.0


def test_event_density_integrates_to_the_rate() -> None:
    # The density of a new record's size is −∂(rate above x)/∂x: its integral above x is the rate above x.
    for tail in (None, 0.4):
        x = np.linspace(12.0, 14.0, 200_001)
        lower = np.zeros_like(x)
        density = np.exp(record.event_log_density(13.0, x, lower, 0.25, np.log(0.25), tail, np.log, np.maximum))
        above = np.exp(record.event_log_density(13.0, 12.5, 1.0, 0.25, np.log(0.25), tail, np.log, np.maximum))
        keep = x >= 12.5
        assert np.trapezoid(density[keep], x[keep]) == pytest.approx(float(above), rel=1e-4)


def test_simulated_interval_maxima_follow_the_trapezoid_count() -> None:
    """Per grid interval the largest release has P(max ≤ x) = exp(−N(x)), N the likelihood's count."""
    rng = np.random.default_rng(3)
    grid = np.array([2024.0, 2024.0 + 1 / 12])
    frontier = np.tile([[13.0, 13.04]], (40_000, 1))
    scale, tail = np.full(40_000, 0.25), np.full(40_000, 0.5)
    paths = simulate_records(frontier, grid, scale, -np.inf, rng, tail)
    for x in (12.4, 12.6, 12.9):
        count = np.exp(record.log_exceedance(frontier[:1], x, np.diff(grid), 0.25, np.logaddexp, 0.5))[0, 0]
        assert np.mean(paths[:, 1] <= x) == pytest.approx(np.exp(-count), abs=4 * 0.0025)  # ~4 binomial sd


def test_quantile_path_matches_the_simulated_record() -> None:
    """The projection's closed form and the month-by-month simulation give one distribution of the record."""
    rng = np.random.default_rng(5)
    n, tail, scale, growth = 20_000, 0.4, 0.25, 0.4
    start_year, start = 2026.5, 13.6
    t = np.array([2027.5, 2029.5])
    level = 13.0
    at_start = level + growth * (start_year - ANCHOR_YEAR)
    u = rng.random(n)
    closed = record_quantile_path(
        t[:, None], np.full(n, at_start), np.full(n, growth), np.full(n, scale), start_year, start, u, np.full(n, tail)
    )
    grid = np.arange(start_year, t[-1] + 1e-9, 1 / 24)
    frontier = level + growth * (grid[None, :] - ANCHOR_YEAR) * np.ones((n, 1))
    simulated = simulate_records(frontier, grid, np.full(n, scale), start, rng, np.full(n, tail))
    for i, year in enumerate(t):
        node = int(np.argmin(np.abs(grid - year)))
        ks = stats.ks_2samp(closed[i], simulated[:, node])
        assert ks.statistic < 0.03, year  # half-month grid and trapezoid: a small, known discretisation


def test_nowcast_density_is_the_generalised_extreme_value_of_a_year() -> None:
    from forecast.projection.nowcast import record_log_density

    frontier = np.array([13.4, 13.6])
    inputs = {"fitted_dataset_record_scale": np.array([0.3, 0.3]), "fitted_dataset_record_tail": np.array([0.5, 0.5])}
    expected = stats.genextreme.logpdf(13.5, 0.5, loc=frontier, scale=0.3)
    np.testing.assert_allclose(record_log_density(13.5, frontier, inputs), expected)


def test_pymc_block_with_a_bounded_tail_computes_the_numpy_likelihood() -> None:
    import pymc as pm

    from tests.model.test_record import RUNS

    data = record.record_data(RUNS, end_year=2023.0)
    with pm.Model() as model:
        record.add_record_block(data, "constant", FitSettings(), tail="bounded")
    assert "dataset_record_tail" in {v.name for v in model.free_RVs}
    centre = record.information_centre(data)
    above = (12.4 + 0.45 * (centre - ANCHOR_YEAR) - record.record_in_force(data, centre)) / 0.3
    point = {
        "dataset_frontier_above_record": above,
        "dataset_growth": 0.45,
        "dataset_record_scale_log__": np.log(0.3),
        "dataset_record_tail_logodds__": np.log(0.2 / 0.8),
    }
    (potential_of_values,) = model.replace_rvs_by_values([model.potentials[0]])
    potential = model.compile_fn(potential_of_values, inputs=model.value_vars, on_unused_input="ignore")(point)
    frontier = (12.4 + 0.45 * (data.grid - ANCHOR_YEAR))[None, :]
    numpy_total = record.segment_log_likelihood(data, frontier, np.array([0.3]), np.array([0.2])).sum()
    assert float(potential) == pytest.approx(numpy_total, rel=1e-9)
