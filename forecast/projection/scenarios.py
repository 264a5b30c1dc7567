"""Former home of the scenario projection, now split: `project` (one scenario), `parts` (its shared parts),
`scenario_model` (inputs and models) and `tables` (datasets and tables). Re-exports the names still imported
from here until their last callers are updated; then this module goes.
"""

from __future__ import annotations

from forecast.projection.memo import ProjectionCache
from forecast.projection.project import ScenarioResult, exhaustion_crossing, project_scenario
from forecast.projection.scenario_model import (
    demand_model,
    demand_paths,
    scenario_inputs,
    steadily_rising_draws,
    stock_model,
    stock_paths,
    time_grid,
)
from forecast.projection.tables import bands_dataset, exhaustion_dataset, probability_table, summary_table

__all__ = [
    "ProjectionCache",
    "ScenarioResult",
    "bands_dataset",
    "demand_model",
    "demand_paths",
    "exhaustion_crossing",
    "exhaustion_dataset",
    "probability_table",
    "project_scenario",
    "scenario_inputs",
    "steadily_rising_draws",
    "stock_model",
    "stock_paths",
    "summary_table",
    "time_grid",
]
