"""Tables that explain a run: what each extension does to the date, and which inputs move it.

- `extension_effects`: per scenario with an extension switched on, the median date with it, without it (the same
  draws, `baseline_exhaustion_year`) and the difference; for synthetic data also the collapse-guard date; for
  non-public stocks, the years each stock buys alone.
- `sensitivity_tables`: first-order variance-based indices of the exhaustion date on every uncertain input
  (`forecast.projection.sensitivity`), and the value of each input that would move the median past a target year.
  Censored dates (not exhausted by the horizon) enter as the horizon, which understates the variance they add.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.projection.crossing import censored_quantiles
from forecast.projection.project import ScenarioResult
from forecast.projection.sensitivity import BinningCache, sensitivity_report
from forecast.projection.switches import switch_effects

# "What you would have to believe" asks which single input could push the median past this year.
BELIEVE_TARGET_YEAR = 2035.0
EFFECT_COLUMNS = ("scenario", "effect", "median", "baseline_median", "shift_years", "p_not_by_horizon")


def _median(years: np.ndarray) -> float:
    return censored_quantiles(years, {"median": 0.5})["median"]


def extension_effects(results: list[ScenarioResult]) -> pd.DataFrame:
    """One row per (scenario, effect) for scenarios with an extension switched on."""
    rows = []
    for r in results:
        if r.baseline_year is None:
            continue
        base = _median(r.baseline_year)

        def row(effect: str, years: np.ndarray, name: str = r.name, base: float = base) -> dict:
            median = _median(years)
            return {
                "scenario": name,
                "effect": effect,
                "median": median,
                "baseline_median": base,
                "shift_years": median - base,
                "p_not_by_horizon": float(np.isnan(years).mean()),
            }

        rows.append(row("scenario as configured", r.crossing_year))
        rows += [row(effect, years) for effect, years in switch_effects(r)]  # each switch's own dates
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))


def _inputs_for(result: ScenarioResult) -> dict[str, np.ndarray]:
    """The inputs that can explain a date: not constants, not the arm (reported as `mixture_arm_historical`) and
    not the copies of fitted values the now-cast weighs the record against (`fitted_*`)."""
    inputs = {
        name: np.asarray(values, dtype=float)
        for name, values in result.inputs.items()
        if name != "historical_arm" and not name.startswith("fitted_")
    }
    return {name: x for name, x in inputs.items() if np.ptp(x) > 0}  # constants explain nothing


def sensitivity_tables(results: list[ScenarioResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(first-order indices, what-you-would-have-to-believe) for every scenario, long format."""
    indices, believe = [], []
    cache = BinningCache()  # scenarios share most inputs (same prior draws, same posterior)
    for r in results:
        years = np.where(np.isnan(r.crossing_year), r.horizon, r.crossing_year)
        inputs = _inputs_for(r)
        mixed = 0 < r.historical_arm.mean() < 1
        arm = {"mixture_arm_historical": r.historical_arm.astype(float)} if mixed else {}
        table, beliefs = sensitivity_report(
            inputs, years, target=BELIEVE_TARGET_YEAR, index_only=arm, cache=cache, columns={"scenario": r.name}
        )
        indices.append(table)
        believe.append(beliefs)
    first = pd.concat(indices, ignore_index=True)[["scenario", "input", "index", "rank"]]
    second = pd.concat(believe, ignore_index=True)
    return first, second[["scenario", *[c for c in second.columns if c != "scenario"]]]
