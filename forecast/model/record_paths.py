"""The record process evaluated from posterior draws: the frontier F(t) of each growth form at any times, its
continuation after the cut-off, and simulated record paths (the forecast the backtest scores and the checks use).

The equations are those of `forecast.model.record`; this module only evaluates them per draw with numpy.
After the cut-off each form continues its own process: the constant slope and the hinge (already past its
changepoint) as straight lines, the local linear trend as a random walk of the slope (so its fan widens with the
horizon: the slope's variance grows linearly in time, the level's as its cube).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecast.model.record import (
    GRID_STEP_YEARS,
    KNOT_SPACING_YEARS,
    GrowthForm,
    RecordData,
    hinge_frontier,
    interpolate_knots,
    knot_years,
    largest_release_location,
)
from forecast.model.trend import ANCHOR_YEAR


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def growth_form_of(posterior: dict[str, np.ndarray]) -> GrowthForm:
    """Which growth form a record-process posterior was fitted with (from its variables)."""
    if "dataset_frontier_knots" in posterior:
        return "local_linear"
    if "dataset_changepoint" in posterior:
        return "hinge"
    return "constant"


@dataclass(frozen=True)
class RecordFrontier:
    """F(t) per posterior draw for one fitted record process (flat draws)."""

    form: GrowthForm
    draws: dict[str, np.ndarray]  # flat posterior arrays; `dataset_frontier_knots` is (draws, knots)
    start_year: float  # of the fitted record (the knots of the local linear trend start here)
    end_year: float  # the fit's cut-off: after it the process is continued

    @property
    def size(self) -> int:
        return int(self.draws["dataset_level"].size)

    def at(self, t: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """F at sorted times `t`, shape (draws, len(t)); times after the cut-off continue the process (the
        local linear trend needs `rng` for its future slopes)."""
        t = np.asarray(t, dtype=float)
        d = self.draws
        if self.form == "constant":
            return d["dataset_level"][:, None] + d["dataset_growth"][:, None] * (t[None, :] - ANCHOR_YEAR)
        if self.form == "hinge":
            return hinge_frontier(
                t[None, :],
                d["dataset_level"][:, None],
                d["dataset_growth"][:, None],
                d["dataset_growth_before"][:, None],
                d["dataset_changepoint"][:, None],
                _softplus,
            )
        knots, values = self._knots_through(float(t.max()) if t.size else self.end_year, rng)
        return interpolate_knots(t, knots, values)

    def _knots_through(self, last: float, rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
        """The fitted knots, extended by the slope's random walk to cover `last`."""
        d = self.draws
        knots = knot_years(self.start_year, self.end_year)
        values = d["dataset_frontier_knots"]
        steps = int(np.ceil(max(last - self.end_year, 0.0) / KNOT_SPACING_YEARS))
        if steps == 0:
            return knots, values
        if rng is None:
            raise ValueError("the local linear trend needs a random generator for its slopes after the cut-off")
        innovations = rng.standard_normal((self.size, steps)) * np.sqrt(KNOT_SPACING_YEARS)
        slopes = d["dataset_growth"][:, None] + d["dataset_slope_walk_sd"][:, None] * np.cumsum(innovations, axis=1)
        future = values[:, -1:] + np.cumsum(slopes * KNOT_SPACING_YEARS, axis=1)
        future_knots = self.end_year + KNOT_SPACING_YEARS * np.arange(1, steps + 1)
        return np.concatenate([knots, future_knots]), np.concatenate([values, future], axis=1)


def record_frontier(posterior: dict[str, np.ndarray], data: RecordData) -> RecordFrontier:
    """The fitted frontier of a record-process posterior (arrays flattened over chains and draws)."""
    flat = {}
    for name, values in posterior.items():
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            continue
        flat[name] = values.reshape(-1, *values.shape[2:]) if values.ndim >= 2 else values
    return RecordFrontier(growth_form_of(flat), flat, data.start_year, data.end_year)


def fine_grid(times: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """A sorted grid through `times` with no step longer than `step`, and where each of `times` sits in it."""
    times = np.asarray(times, dtype=float)
    lo, hi = float(times.min()), float(times.max())
    grid = np.unique(np.concatenate([np.arange(lo, hi, step), times]))
    return grid, np.searchsorted(grid, times)


def simulate_records(
    frontier: np.ndarray, grid: np.ndarray, scale: np.ndarray, start_log10: float, rng: np.random.Generator
) -> np.ndarray:
    """Record paths on `grid` (draws, nodes) from `start_log10` at grid[0]: per interval the largest release is a
    Gumbel draw (`largest_release_location`, scale 1/θ), and the record is the running maximum."""
    scale = np.asarray(scale, dtype=float)[:, None]
    location = largest_release_location(frontier, np.diff(grid), scale)
    largest = location + scale * rng.gumbel(size=location.shape)
    paths = np.empty(frontier.shape)
    paths[:, 0] = start_log10
    paths[:, 1:] = np.maximum(np.maximum.accumulate(largest, axis=1), start_log10)
    return paths


def future_log_likelihood(
    frontier: RecordFrontier, scale: np.ndarray, future: RecordData, rng: np.random.Generator
) -> np.ndarray:
    """Per draw, the log-likelihood of the record path observed after the fit's cut-off (`future`, which starts
    at the record known then): the term of leave-future-out cross-validation (Bürkner, Gabry & Vehtari 2020)."""
    from forecast.model.record import segment_log_likelihood

    return segment_log_likelihood(future, frontier.at(future.grid, rng), scale).sum(axis=1)


def log_mean_exp(values: np.ndarray) -> float:
    """log of the mean of exp(values): a predictive density from per-draw log-likelihoods."""
    top = float(np.max(values))
    return top + float(np.log(np.mean(np.exp(values - top))))


def longest_spell(paths: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Per path (draws, nodes on `grid`), the longest time in years without a new record, the spell still open
    at the end included: the plateau statistic of the record-path check."""
    rises = np.diff(paths, axis=1) > 0
    # Times of the record's rises per path, with the grid's two ends as bounds.
    longest = np.zeros(paths.shape[0])
    last = np.full(paths.shape[0], grid[0])
    for i in range(rises.shape[1]):
        at = grid[i + 1]
        rose = rises[:, i]
        longest = np.where(rose, np.maximum(longest, at - last), longest)
        last = np.where(rose, at, last)
    return np.maximum(longest, grid[-1] - last)


def months_with_a_record(paths: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Per path (draws, nodes on `grid`), the number of months (`GRID_STEP_YEARS` steps from the grid's start) in
    which the record rose: the record-count statistic of the check. A simulated path rises at most once per grid
    interval while the observed one may rise twice in a month (the grid runs through each record date), so
    counting records would favour the observed path; months count both alike."""
    rises = np.diff(paths, axis=1) > 0
    month = np.floor((grid[1:] - grid[0] - 1e-9) / GRID_STEP_YEARS).astype(int)
    hits = np.zeros((paths.shape[0], int(month.max()) + 1 if month.size else 0), dtype=bool)
    np.logical_or.at(hits.T, month, rises.T)
    return hits.sum(axis=1)


@dataclass(frozen=True)
class RecordPathCheck:
    """Posterior predictive check of the record path a record-process fit saw: simulated record paths from the
    first record to the cut-off, against the observed one (its months with a new record and longest plateau)."""

    grid: np.ndarray
    observed: np.ndarray  # the observed record on the grid (log10)
    simulated_bands: np.ndarray  # (3, nodes): 5%, 50%, 95% of the simulated records
    observed_records: int  # months with a new record (`months_with_a_record`)
    simulated_records: np.ndarray  # per simulated path
    observed_longest: float  # years
    simulated_longest: np.ndarray

    @property
    def p_longest(self) -> float:
        """P(simulated longest plateau ≥ observed): small when the data's plateau is longer than the model allows."""
        return float(np.mean(self.simulated_longest >= self.observed_longest))

    @property
    def p_records(self) -> float:
        """P(simulated number of months with a new record ≥ observed)."""
        return float(np.mean(self.simulated_records >= self.observed_records))


def record_path_check(
    posterior: dict[str, np.ndarray], data: RecordData, rng: np.random.Generator, draws: int = 1000
) -> RecordPathCheck:
    """`RecordPathCheck` of the fitted `data` from `draws` posterior draws (evenly spaced over the posterior)."""
    frontier = record_frontier(posterior, data)
    rows = np.unique(np.linspace(0, frontier.size - 1, min(draws, frontier.size)).astype(int))
    grid = data.grid
    values = frontier.at(grid, rng)[rows]
    scale = frontier.draws["dataset_record_scale"][rows]
    paths = simulate_records(values, grid, scale, data.start_log10, rng)
    observed = np.concatenate([data.grid_record, data.grid_record[-1:]])
    # `grid_record` holds the record in force on each interval; at each event node the new record starts.
    observed[data.event_node] = np.maximum(observed[data.event_node], data.event_log10)
    observed = np.maximum.accumulate(observed)
    return RecordPathCheck(
        grid=grid,
        observed=observed,
        simulated_bands=np.quantile(paths, [0.05, 0.5, 0.95], axis=0),
        observed_records=int(months_with_a_record(observed[None, :], grid)[0]),
        simulated_records=months_with_a_record(paths, grid),
        observed_longest=float(longest_spell(observed[None, :], grid)[0]),
        simulated_longest=longest_spell(paths, grid),
    )
