"""Per-run tables: the sensitivity tables of several scenarios, built with shared bins, equal the tables built
scenario by scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.projection.effects import BELIEVE_TARGET_YEAR, extension_effects, sensitivity_tables
from forecast.projection.project import ScenarioResult
from forecast.projection.sensitivity import first_order_indices, what_you_would_have_to_believe


def _result(name: str, shared: dict[str, np.ndarray], rng: np.random.Generator, mixed: bool) -> ScenarioResult:
    n = shared["a"].size
    own = rng.normal(size=n)
    years = 2028.0 + 2.0 * shared["a"] + own + (0.5 * shared["b"] if mixed else 0.0)
    years[years > 2034.0] = np.nan  # censored at the horizon
    arm = rng.permutation(n) < n // 2 if mixed else np.ones(n, dtype=bool)
    return ScenarioResult(
        name=name,
        horizon=2034.0,
        crossing_year=years,
        censored=np.isnan(years),
        tokens=np.ones(n),
        compute=np.ones(n),
        stock_at_crossing=np.ones(n),
        historical_arm=arm,
        band_years=np.array([]),
        bands={},
        inputs=shared | {"own": own, "constant": np.full(n, 3.0)},
    )


def _one_by_one(results: list[ScenarioResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables as built before: each scenario alone, then concatenated."""
    indices, believe = [], []
    for r in results:
        years = np.where(np.isnan(r.crossing_year), r.horizon, r.crossing_year)
        inputs = {k: v for k, v in r.inputs.items() if np.ptp(v) > 0}
        mixed = 0 < r.historical_arm.mean() < 1
        arm = {"mixture_arm_historical": r.historical_arm.astype(float)} if mixed else {}
        indices.append(first_order_indices(inputs | arm, years).assign(scenario=r.name))
        table = what_you_would_have_to_believe(inputs, years, target=BELIEVE_TARGET_YEAR)
        believe.append(table.assign(scenario=r.name))
    first = pd.concat(indices, ignore_index=True)[["scenario", "input", "index", "rank"]]
    second = pd.concat(believe, ignore_index=True)
    return first, second[["scenario", *[c for c in second.columns if c != "scenario"]]]


def test_sensitivity_tables_equal_scenario_by_scenario() -> None:
    rng = np.random.default_rng(0)
    shared = {"a": rng.normal(size=2_000), "b": rng.uniform(size=2_000)}
    results = [_result(f"s{i}", shared, rng, mixed=i % 2 == 1) for i in range(4)]
    for got, want in zip(sensitivity_tables(results), _one_by_one(results), strict=True):
        pd.testing.assert_frame_equal(got, want)


def test_extension_effects_skip_scenarios_without_extensions() -> None:
    rng = np.random.default_rng(1)
    shared = {"a": rng.normal(size=100), "b": rng.uniform(size=100)}
    plain = _result("plain", shared, rng, mixed=False)
    extended = _result("extended", shared, rng, mixed=False)
    extended.baseline_year = extended.crossing_year  # the same draws: no shift
    table = extension_effects([plain, extended])
    assert list(table["scenario"]) == ["extended"] and table.loc[0, "shift_years"] == 0.0
