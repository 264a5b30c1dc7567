"""Projecting one scenario: from posterior draws and a resolved scenario to its exhaustion dates and bands.

For each scenario: draw its inputs and build its demand and stock models (`forecast.projection.scenario_model`),
evaluate them where the crossings can be, with the parts that scenarios share from a cache
(`forecast.projection.parts`), and find the first crossings (`forecast.projection.crossing`). Everything is array
code over draws. `forecast.projection.tables` gathers the results into datasets and tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecast.projection.compute_ahead import ComputeAhead, compute_ahead_of
from forecast.projection.crossing import Crossing, bracketed_crossing
from forecast.projection.memo import ProjectionCache, Rows
from forecast.projection.nowcast import KnownAtCutoff, NowcastReport, condition_on_record
from forecast.projection.parts import projection
from forecast.projection.scenario_model import (
    demand_model,
    grid_and_inputs,
    rising_window_draws,
    steadily_rising_draws,
    stock_model,
)
from forecast.projection.switches import RESULT_DEFAULTS, any_enabled, switch_results


@dataclass
class ScenarioResult:
    """Everything one scenario produces, before it is gathered into datasets."""

    name: str
    horizon: float
    crossing_year: np.ndarray
    censored: np.ndarray
    tokens: np.ndarray
    compute: np.ndarray
    stock_at_crossing: np.ndarray
    historical_arm: np.ndarray
    band_years: np.ndarray
    bands: dict[str, np.ndarray]  # name -> (year, quantile)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    baseline_year: np.ndarray | None = None  # same scenario, extensions off (None: no extension enabled)
    switch_results: dict[str, Any] = field(default_factory=dict)  # the fields the enabled switches add
    at_start: np.ndarray | None = None  # bool per draw: demand already above the stock at the projection start
    nowcast: NowcastReport | None = None  # how the draws were tied to the record at the cut-off (None: not)
    compute_ahead: ComputeAhead | None = None  # the compute arm year by year and its binding limits (None: no arm)

    def __getattr__(self, name: str) -> Any:
        """A switch's result field by name (`result.synthetic_year`), or what it reads as with the switch off.

        Only the switch registry names these fields, so a new switch adds its own without touching this class.
        """
        if name in RESULT_DEFAULTS:
            return self.__dict__.get("switch_results", {}).get(name, RESULT_DEFAULTS[name])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def exhaustion_crossing(scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray, seed: int) -> Crossing:
    """The first crossing of every draw's demand with its public effective stock, from the inputs alone.

    The scenario's date with its extensions off (its date, for a scenario without them), as `project_scenario`
    finds it, without the bands, the other dates and the caches: the demand and stock paths are evaluated only
    where the bisection from the grid's two ends needs them (~log2(T) + 2 points per draw; a draw not shown to
    rise at every step on the whole grid). What `benchmarks/bench.py` times as exhaustion draw-paths per second.
    """
    model, paths = demand_model(scenario, inputs, seed), stock_model(scenario, inputs)

    def gap_at(rows: Rows, index: np.ndarray) -> np.ndarray:
        t = grid[index]
        return model.tokens(t, rows) - paths.effective(t, rows)

    rising, window = steadily_rising_draws(model, paths, grid), rising_window_draws(model, paths, grid)
    return bracketed_crossing(grid, gap_at, rising, window=window)


def project_scenario(
    scenario: Any,
    posterior: dict[str, np.ndarray],
    stock_priors: pd.DataFrame,
    seed: int,
    cache: ProjectionCache | None = None,
    known: KnownAtCutoff | None = None,
) -> ScenarioResult:
    """Exhaustion draws and bands of one resolved scenario (with its extensions and their baseline).

    Parts shared with other scenarios come from `cache` (default `PROJECTION_CACHE`). A scenario with
    `nowcast.condition_on_record` has its draws tied to `known`, the record at the cut-off
    (`nowcast.condition_on_record`).
    """
    record_start = None if known is None else (known.year, float(np.log10(known.record.tokens)))
    grid, inputs = grid_and_inputs(scenario, posterior, stock_priors, seed, record_start)
    report = None
    if scenario.nowcast.condition_on_record:
        if known is None:
            raise ValueError(f"scenario '{scenario.name}' conditions on the record, but no record was given")
        inputs, report = condition_on_record(scenario, inputs, seed, known)
    result = project_inputs(scenario, inputs, grid, seed, cache)
    result.nowcast = report
    return result


def project_inputs(
    scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray, seed: int, cache: ProjectionCache | None = None
) -> ScenarioResult:
    """`project_scenario` from given inputs per draw (`scenario_inputs` and `switch_inputs`) on `grid`."""
    proj = projection(scenario, inputs, grid, seed, cache)
    crossing = proj.main_crossing()
    values = proj.values_at_main()
    result = ScenarioResult(
        name=scenario.name,
        horizon=float(scenario.horizon),
        crossing_year=crossing.year,
        censored=crossing.censored,
        tokens=values["tokens"],
        compute=values["compute"],
        stock_at_crossing=values["stock"],
        historical_arm=proj.demand.historical,
        band_years=proj.points.band_years,
        bands=proj.bands(),
        inputs=inputs,
        at_start=crossing.at_start,
        compute_ahead=compute_ahead_of(proj.demand, inputs, crossing, float(grid[0]), float(scenario.horizon)),
    )
    if any_enabled(scenario):
        baseline = proj.baseline_crossing()
        result.baseline_year = baseline.year
        result.switch_results = switch_results(scenario, proj, inputs, crossing, baseline)
    return result
