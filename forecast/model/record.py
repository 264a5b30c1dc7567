"""The record process: the largest disclosed training dataset as the running maximum of frontier-class releases.

The quantity the exhaustion date is about is the *record*, R(t) = the largest dataset trained so far. This module
models it directly (a marked Poisson process, as in records in a trending series, Ballerini & Resnick 1985):

- frontier-class releases arrive over time, and the rate at which releases larger than r arrive at time t is
  λ(t, r) = exp(θ·(F(t) − r)) per year (log10 tokens r): sizes have an exponential upper tail of rate θ per OOM
  above a location F(t). F(t) is the **frontier**: the size that one release a year exceeds, on average;
- so a flat spell is evidence: the chance that no release beat the record R over (a, b) is
  exp(−∫ₐᵇ λ(s, R) ds), which is small when F(t) rose well above R;
- a new record at t_k with size x_k has density λ(t_k, x_k)·θ (a lower bound, "over 20T", has λ(t_k, x_k));
- the overshoot of a new record above the old one is exponential with rate θ whatever F is, so the jump sizes
  identify θ and the timing of jumps identifies F relative to the record.

Which growth F(t) follows is a model choice (`GROWTH_FORMS`): a constant slope, a hinge (the slope changes once,
at an uncertain date), or a local linear trend (the slope follows a random walk, non-centred). The likelihood
integrates λ on a grid (every month and every record date), exactly for F linear between nodes.

Leaked figures and continued-pretraining increments never set the record; neither do upper bounds ("up to 18T").
Runs published on the same date count once, by the largest. The process starts at the first recorded run and is
conditioned on its value (nothing is modelled before it).

Every equation is written once, for numpy arrays and PyTensor tensors alike (the array module is passed in): the fit
(`add_record_block`), the pointwise log-likelihood for LOO/LFO (`segment_log_likelihood`), and the forward
simulation of the backtest, the checks and the figures (`simulate_records`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from forecast.data import is_leak, is_whole_dataset
from forecast.model.trend import ANCHOR_YEAR
from forecast.units import decimal_year

if TYPE_CHECKING:
    from forecast.config.schema import FitSettings

GrowthForm = Literal["constant", "hinge", "local_linear"]
GROWTH_FORMS: tuple[GrowthForm, ...] = ("constant", "hinge", "local_linear")

#: Token bounds that can set the record: a point, or a lower bound (the record is at least that).
RECORD_BOUNDS = ("point", "lower")
#: Longest step of the integration grid, years (a month).
GRID_STEP_YEARS = 1.0 / 12.0
#: Record dates closer than this (years, ~1 hour) are the same date.
SAME_DATE_YEARS = 1e-4

# Priors (OOM = orders of magnitude of tokens). The frontier's level and growth come from the config (`fit`).
#: Scale 1/θ of the exponential tail of release sizes, OOM: LogNormal(log 0.2, 0.75), 90% within 0.06–0.7 OOM,
#: i.e. a typical new record is 15% to 5× above the one it beats.
RECORD_SCALE_PRIOR = (float(np.log(0.2)), 0.75)
#: Hinge: a change of growth spreads over about this many years (softplus width), and the changepoint lies at
#: least this far inside the record's history (Uniform between the first record + width and the cut-off − width).
HINGE_WIDTH_YEARS = 0.5
#: Local linear trend: knots every half year; the slope's random walk has HalfNormal(0.15) OOM/yr per sqrt(yr)
#: innovations (so over two years the slope moves by ~0.2 OOM/yr, the spread of the fitted growths across cut-offs).
KNOT_SPACING_YEARS = 1.0
SLOPE_WALK_SCALE = 0.15


@dataclass(frozen=True)
class RecordData:
    """The observed record: its start, its new values, and the integration grid up to the cut-off."""

    start_year: float  # decimal year of the first recorded run (conditioned on)
    start_log10: float
    event_year: np.ndarray  # dates of new records (after the start)
    event_log10: np.ndarray  # their values (log10 tokens)
    event_lower: np.ndarray  # bool: the value is a lower bound
    event_model: np.ndarray  # names of the runs that set them
    end_year: float  # the cut-off: the last flat spell runs to here
    grid: np.ndarray  # integration nodes: every month from the start, every record date, and the end
    grid_record: np.ndarray  # the record in force on (grid[i], grid[i+1]), per interval
    grid_segment: np.ndarray  # which segment (spell ending at event k, or the final spell) each interval is in
    event_node: np.ndarray  # index of each event in `grid`

    @property
    def segments(self) -> int:
        """Units of the pointwise log-likelihood: one per new record (its spell before it) and the final spell."""
        return int(self.event_year.size) + 1


def record_setters(runs: pd.DataFrame, leaks: bool = False) -> pd.Series:
    """Rows that can set the record: a whole-dataset token count, a point or a lower bound, and not leaked
    (`leaks=True` keeps leaks, for the sensitivity in which they do set it)."""
    usable = runs["dataset_tokens"].notna() & (runs["dataset_tokens"] > 0) & is_whole_dataset(runs)
    if not leaks:
        usable &= ~is_leak(runs)
    if "tokens_bound" in runs:
        bound = runs["tokens_bound"].fillna("").astype(str).str.strip()
        usable &= bound.replace("", "point").isin(RECORD_BOUNDS)
    return usable


def _setter_rows(runs: pd.DataFrame, after: float, end_year: float) -> pd.DataFrame:
    """Runs that can set the record, published in (after, end_year], one per date (the largest), by date."""
    rows = runs[record_setters(runs)].copy()
    rows["year"] = decimal_year(rows["publication_date"])
    rows = rows[(rows["year"] > after) & (rows["year"] <= end_year + SAME_DATE_YEARS)]
    rows = rows.sort_values(["year", "dataset_tokens"], ascending=[True, False], kind="stable")
    return rows.drop_duplicates("year", keep="first")


def record_data(runs: pd.DataFrame, end_year: float) -> RecordData:
    """The record path of `runs` from its first run (conditioned on) to `end_year`."""
    rows = _setter_rows(runs, -np.inf, end_year)
    if rows.empty:
        raise ValueError("no run that can set the record before the cut-off")
    first = rows.iloc[0]
    return record_data_after(rows.iloc[1:], float(first["year"]), float(np.log10(first["dataset_tokens"])), end_year)


def record_data_after(runs: pd.DataFrame, start_year: float, start_log10: float, end_year: float) -> RecordData:
    """The record path from a known record `start_log10` at `start_year` to `end_year`, from the runs
    published after the start (the future of a backtest cut-off, or the history after the first run)."""
    rows = _setter_rows(runs, start_year + SAME_DATE_YEARS, end_year)
    values = np.log10(rows["dataset_tokens"].to_numpy(float))
    lower = rows["tokens_bound"].to_numpy(str) == "lower" if "tokens_bound" in rows else np.zeros(len(rows), bool)
    previous = np.maximum.accumulate(np.concatenate([[start_log10], values]))[:-1]
    new = values > previous
    years = rows["year"].to_numpy(float)
    models = rows["model"].to_numpy(str)
    return _with_grid(start_year, start_log10, years[new], values[new], lower[new], models[new], float(end_year))


def _with_grid(
    start: float,
    start_log10: float,
    ev_year: np.ndarray,
    ev_log10: np.ndarray,
    lower: np.ndarray,
    models: np.ndarray,
    end: float,
) -> RecordData:
    months = np.arange(start, end, GRID_STEP_YEARS)
    grid = np.unique(np.concatenate([months, ev_year, [start, end]]))
    event_node = np.searchsorted(grid, ev_year)
    # The record in force on each interval, and the segment it belongs to (the spell ending at event k).
    in_force = np.searchsorted(ev_year, grid[:-1], side="right")  # events at or before the interval's start
    record = np.concatenate([[start_log10], ev_log10])[in_force]
    return RecordData(
        start_year=float(start),
        start_log10=float(start_log10),
        event_year=ev_year,
        event_log10=ev_log10,
        event_lower=lower,
        event_model=models,
        end_year=end,
        grid=grid,
        grid_record=record,
        grid_segment=in_force,
        event_node=event_node,
    )


# ----------------------------------------------------------------------------------------------------
# The equations (numpy or PyTensor: `exp` is np.exp or pt.exp)
# ----------------------------------------------------------------------------------------------------

Fn = Callable[[object], object]


def log_exceedance(frontier: object, record: object, dt: object, scale: object, xp: Any) -> object:
    """log of the expected number of releases above `record` on each grid interval, ∫ exp((F(s) − R)/scale) ds,
    exact for F linear between the interval's two ends (`frontier` has one more entry on its last axis): with
    u = (F − R)/scale at the ends, Δt·(e^u₁ − e^u₀)/(u₁ − u₀), written as max(u) + log Δt + log((1 − e^−d)/d),
    d = |u₁ − u₀|. `xp` is numpy or `pytensor.tensor` (the same equation in the fit and in numpy).

    (The trapezoid rule this replaced overstates the integral by ≈ d²/12: 0.1% for the fitted scale, but 10% at
    the small scales the prior allows, which biased the simulation-based calibration of the scale.)"""
    left = (frontier[..., :-1] - record) / scale  # type: ignore[index, operator]
    right = (frontier[..., 1:] - record) / scale  # type: ignore[index, operator]
    gap = xp.abs(right - left)
    tiny = gap < SERIES_BELOW
    safe = xp.where(tiny, 1.0, gap)
    # (1 − e^−d)/d: its series 1 − d/2 where d is too small for expm1(−d)/d to keep its digits.
    relative = xp.where(tiny, 1.0 - 0.5 * gap, -xp.expm1(-safe) / safe)
    return xp.maximum(left, right) + xp.log(relative) + np.log(np.asarray(dt))  # type: ignore[operator]


#: Below this |u₁ − u₀| `log_exceedance` uses the series of (1 − e^−d)/d (error < d²/6 relative: < 1e-13).
SERIES_BELOW = 1e-6


def event_log_density(frontier_at: object, value: object, lower: object, scale: object, log_scale: object) -> object:
    """log of the rate of a new record of size `value` at a date where the frontier is `frontier_at`: the
    rate of releases above it, (F − x)/scale, times the exponential density 1/scale unless only a lower bound."""
    return (frontier_at - value) / scale - (1.0 - lower) * log_scale  # type: ignore[operator]


def segment_log_likelihood(data: RecordData, frontier: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Pointwise log-likelihood, shape (draws, segments): each new record with the spell before it, then the
    final spell to the cut-off. `frontier` is F at `data.grid` per draw (draws, nodes), `scale` per draw."""
    scale = np.asarray(scale, float)[:, None]
    counts = np.exp(log_exceedance(frontier, data.grid_record, np.diff(data.grid), scale, np))
    spells = np.zeros((frontier.shape[0], data.segments))
    np.add.at(spells.T, data.grid_segment, counts.T)
    events = event_log_density(
        frontier[:, data.event_node], data.event_log10, data.event_lower.astype(float), scale, np.log(scale)
    )
    out = -spells
    out[:, :-1] += events
    return out


def largest_release_location(frontier: np.ndarray, dt: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Per grid interval, the location of the largest release in it: P(max ≤ r) = exp(−N(r)) with N(r) the
    expected number above r = exp(log_exceedance at 0 − r/scale), a Gumbel with this location and `scale`."""
    return scale * log_exceedance(frontier, 0.0, dt, scale, np)


# ----------------------------------------------------------------------------------------------------
# Growth forms of F(t)
# ----------------------------------------------------------------------------------------------------


def hinge_frontier(
    t: object, level: object, growth: object, growth_before: object, changepoint: object, softplus: Fn
) -> object:
    """F(t) of the hinge: slope `growth_before` long before `changepoint`, `growth` long after, with `level` the
    log10 at 2024-01-01 of the line after (the line the projection continues)."""
    bend = HINGE_WIDTH_YEARS * softplus((t - changepoint) / HINGE_WIDTH_YEARS)  # type: ignore[operator]
    return (
        level
        - growth * (ANCHOR_YEAR - changepoint)  # type: ignore[operator]
        + growth_before * (t - changepoint)  # type: ignore[operator]
        + (growth - growth_before) * bend  # type: ignore[operator]
    )


def knot_years(start: float, end: float) -> np.ndarray:
    """Knots of the local linear trend: every `KNOT_SPACING_YEARS` from the start, and the end."""
    knots = np.arange(start, end, KNOT_SPACING_YEARS)
    return np.append(knots, end) if end - knots[-1] > 1e-9 else knots


def hinge_range(data: RecordData) -> tuple[float, float] | None:
    """Where the hinge's changepoint may lie, or None when the record's history is too short for one."""
    low, high = data.start_year + HINGE_WIDTH_YEARS, data.end_year - HINGE_WIDTH_YEARS
    return (low, high) if high > low + HINGE_WIDTH_YEARS else None


def add_record_block(data: RecordData, form: GrowthForm, priors: FitSettings, prefix: str = "dataset") -> None:
    """Add the record-process likelihood of `data` with growth `form` to the model in context.

    Public names: `{prefix}_level` and `{prefix}_growth` (the line the projection continues: log10 at 2024-01-01
    and OOM/yr at the cut-off), `{prefix}_record_scale` (1/θ, OOM), and per form `{prefix}_growth_before`,
    `{prefix}_changepoint` (hinge) or `{prefix}_slope_walk_sd` (local linear)."""
    import pymc as pm
    import pytensor.tensor as pt

    scale = pm.LogNormal(f"{prefix}_record_scale", *RECORD_SCALE_PRIOR)
    grid = data.grid
    level_prior, growth_prior = priors.dataset_level_2024, priors.dataset_growth
    if form == "hinge" and hinge_range(data) is None:
        form = "constant"  # no room for a change: the hinge is the constant slope
    if form == "local_linear" and knot_years(data.start_year, data.end_year).size < 3:
        form = "constant"  # one slope interval only: the local linear trend is the constant slope
    if form == "constant":
        # Sampled as the slope and the frontier at the record's centre in time, where the records pin it down
        # (at 2024 the level and slope are correlated up to 0.84); the prior is the same: given the slope, the
        # frontier at the centre is the 2024 level's normal moved along the line.
        # And the frontier there in units of the record scale s above the record then, as the likelihood sees it,
        # exp((F − R)/s): the records pin it down to about one unit, so s does not squeeze it into a funnel
        # (divergences at s near 0.1). A linear map, given s, of the same normal: the prior is unchanged.
        # (The slope per s as well was worse: it is correlated with s, as the records fix the slope in OOM/yr.)
        centre = information_centre(data)
        reference = record_in_force(data, centre)
        growth = pm.Normal(f"{prefix}_growth", growth_prior.mean, growth_prior.sd)
        prior_at_centre = level_prior.mean + growth * (centre - ANCHOR_YEAR)
        above = pm.Normal(
            f"{prefix}_frontier_above_record", (prior_at_centre - reference) / scale, level_prior.sd / scale
        )
        at_centre = pm.Deterministic(f"{prefix}_frontier_at_centre", reference + scale * above)
        pm.Deterministic(f"{prefix}_level", at_centre - growth * (centre - ANCHOR_YEAR))
        frontier = at_centre + growth * (grid - centre)
    elif form == "hinge":
        low, high = hinge_range(data)  # type: ignore[misc]
        level = pm.Normal(f"{prefix}_level", level_prior.mean, level_prior.sd)
        growth = pm.Normal(f"{prefix}_growth", growth_prior.mean, growth_prior.sd)
        before = pm.Normal(f"{prefix}_growth_before", growth_prior.mean, growth_prior.sd)
        changepoint = pm.Uniform(f"{prefix}_changepoint", low, high)
        frontier = hinge_frontier(grid, level, growth, before, changepoint, pt.softplus)
    else:
        knots = knot_years(data.start_year, data.end_year)
        widths = np.diff(knots)
        walk_sd = pm.Gamma(f"{prefix}_slope_walk_sd", alpha=2.0, beta=2.0 / SLOPE_WALK_SCALE)
        # The walk is anchored at the cut-off, where the forecast continues it: the slope and F there are free,
        # earlier slopes walk back from it (non-centred), earlier values of F follow from the slopes.
        growth = pm.Normal(f"{prefix}_growth", growth_prior.mean, growth_prior.sd)
        steps = pm.Normal(f"{prefix}_slope_steps", 0.0, 1.0, shape=knots.size - 2)
        back = walk_sd * pt.cumsum((steps * np.sqrt(0.5 * (widths[1:] + widths[:-1])))[::-1])[::-1]
        slopes = pt.concatenate([growth - back, pt.stack([growth])])
        end_level = pm.Normal(
            f"{prefix}_frontier_at_cutoff",
            level_prior.mean + growth_prior.mean * (data.end_year - ANCHOR_YEAR),
            level_prior.sd,
        )
        rises = slopes * widths
        at_knots = end_level - pt.concatenate([pt.cumsum(rises[::-1])[::-1], pt.zeros(1)])
        pm.Deterministic(f"{prefix}_frontier_knots", at_knots)
        frontier = interpolate_knots(grid, knots, at_knots)
        pm.Deterministic(f"{prefix}_level", end_level - growth * (data.end_year - ANCHOR_YEAR))
    counts = pt.exp(log_exceedance(frontier, data.grid_record, np.diff(grid), scale, pt))
    at_events = frontier[data.event_node]
    events = event_log_density(at_events, data.event_log10, data.event_lower.astype(float), scale, pt.log(scale))
    pm.Potential(f"{prefix}_record_loglik", events.sum() - counts.sum())


def information_centre(data: RecordData) -> float:
    """The year the record path pins the frontier down best: the mean date of its new records (the middle of
    the path without any)."""
    return float(np.mean(data.event_year)) if data.event_year.size else 0.5 * (data.start_year + data.end_year)


def record_in_force(data: RecordData, year: float) -> float:
    """log10 of the record in force at `year` on the path (the start's before the first new record)."""
    index = int(np.clip(np.searchsorted(data.grid, year, side="right") - 1, 0, data.grid_record.size - 1))
    return float(data.grid_record[index])


def interpolate_knots(t: np.ndarray, knots: np.ndarray, values: object) -> object:
    """Piecewise-linear values at `t` (numpy) between `values` at `knots` (a tensor or array, knots last)."""
    index = np.clip(np.searchsorted(knots, t, side="right") - 1, 0, knots.size - 2)
    weight = (t - knots[index]) / (knots[index + 1] - knots[index])
    return values[..., index] * (1.0 - weight) + values[..., index + 1] * weight  # type: ignore[index, operator]
