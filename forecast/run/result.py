"""What a run produced, in memory: the one object figures, report and console read (they never re-resolve the
config: `scenarios` holds the resolved scenarios)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import xarray as xr

from forecast.config import Config, ResolvedScenario
from forecast.data import DataBundle
from forecast.model.record_paths import RecordPathCheck
from forecast.model.sample import Diagnostics
from forecast.projection.project import ScenarioResult


@dataclass
class RunResult:
    """What a run produced, in memory (the same as what it wrote)."""

    config: Config
    #: The config's scenarios with their defaults merged in, in order: figures and report read these.
    scenarios: list[ResolvedScenario]
    bundle: DataBundle
    idata: xr.DataTree
    diagnostics: Diagnostics
    results: list[ScenarioResult]
    exhaustion: xr.Dataset
    bands: xr.Dataset
    summary: pd.DataFrame
    probabilities: pd.DataFrame
    metadata: dict[str, Any]
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    believe: pd.DataFrame = field(default_factory=pd.DataFrame)
    nowcast: pd.DataFrame = field(default_factory=pd.DataFrame)  # how scenarios were tied to the record
    vintages: pd.DataFrame = field(default_factory=pd.DataFrame)  # the forecast at earlier data cut-offs
    compute_ahead: pd.DataFrame = field(default_factory=pd.DataFrame)  # what binds the compute arm, per scenario
    compute_sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)  # the compute frontier's selection
    frontier_models: pd.DataFrame = field(default_factory=pd.DataFrame)  # the frontier models at the cut-off
    #: Posterior predictive check of the record path (a record-process fit only; `forecast.model.record_paths`).
    record_check: RecordPathCheck | None = None
    timings: dict[str, float] = field(default_factory=dict)
    fit_reused: bool = False
