"""Scenario configuration: the YAML file's pydantic models, their defaults, merging, loading and one-line errors.

A config file holds global settings (seed, sampler, data, fit), a complete set of scenario `defaults`, and a list
of `scenarios` that each state only what differs from the defaults; `resolve` turns them into complete
`ResolvedScenario`s. The modules: `scenario` (per-scenario models and merging), `schema` (the file as a whole,
hashes, JSON Schema), `loader` (YAML, presets, `load_config`), `messages` (validation errors as one line).
"""

from __future__ import annotations

from forecast.config.loader import list_presets, load_config, parse_config, preset_names
from forecast.config.messages import format_path, one_line
from forecast.config.scenario import (
    DEFAULT_PER_USER_PRODUCTION_GROWTH,
    ComputeSlowdown,
    ComputeTrend,
    HistoricalTrend,
    Nowcast,
    Overtraining,
    PriorOverrides,
    ResolvedScenario,
    ScenarioOverride,
    ScenarioSettings,
    UniformRange,
)
from forecast.config.schema import (
    FRONTIER_MODELS,
    SCHEMA_VERSION,
    Config,
    DataSettings,
    FitSettings,
    SamplerSettings,
    config_hash,
    fit_hash,
    fit_key,
    json_schema,
    resolve,
    with_cutoff,
    with_frontier,
)
from forecast.priors import NormalPrior, Prior

__all__ = [
    "DEFAULT_PER_USER_PRODUCTION_GROWTH",
    "FRONTIER_MODELS",
    "SCHEMA_VERSION",
    "ComputeSlowdown",
    "ComputeTrend",
    "Config",
    "DataSettings",
    "FitSettings",
    "HistoricalTrend",
    "NormalPrior",
    "Nowcast",
    "Overtraining",
    "Prior",
    "PriorOverrides",
    "ResolvedScenario",
    "SamplerSettings",
    "ScenarioOverride",
    "ScenarioSettings",
    "UniformRange",
    "config_hash",
    "fit_hash",
    "fit_key",
    "format_path",
    "json_schema",
    "list_presets",
    "load_config",
    "one_line",
    "parse_config",
    "preset_names",
    "resolve",
    "with_cutoff",
    "with_frontier",
]
