"""The compute frontier under other defensible choices: how far below the running record a run may sit and still
count as a frontier candidate, and whether closed models' estimated compute (leaks, `compute_only` rows) enters.

Why: the compute arm's date rests on the fitted growth of frontier compute, and equally defensible selections move
it a lot. Each choice refits the compute block alone (cached like any block: `forecast.model.fit.fit_block`) and
projects one compute-only scenario with that block's draws in place of the default's, so a row says what the
choice does to the date. Written to `compute_sensitivity.csv` and shown in the report's "Compute ahead" section.

The table itself is cached (`forecast.cache.store_rows`) under a key of everything it is computed from — the run's
own fit key (the other blocks' draws), the config, the data files, the package versions and the source of this
module and every `forecast` module it imports — so a warm run reads one small file instead of loading eight
posteriors and projecting eight times.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecast import cache
from forecast.model.blocks import model_blocks
from forecast.model.fit import Progress, fit_block
from forecast.model.frontier import fit_data_from_frames
from forecast.model.sample import diagnostics_of, posterior_arrays
from forecast.model.trend import ANCHOR_YEAR
from forecast.projection.crossing import censored_quantiles
from forecast.projection.inputs import flatten
from forecast.projection.project import project_scenario
from forecast.units import decimal_year

if TYPE_CHECKING:
    from forecast.config import Config, ResolvedScenario
    from forecast.data import DataBundle
    from forecast.projection.nowcast import KnownAtCutoff

COMPUTE_SENSITIVITY_COLUMNS = (
    "window_oom",
    "estimated_compute",
    "runs",
    "growth_median",
    "growth_q05",
    "growth_q95",
    "compute_at_cutoff_median",
    "scenario",
    "median",
    "q10",
    "q90",
    "p_not_by_horizon",
    "divergences",
    "converged",
)


#: The date quantiles of a row: a quantile reaching into the paths not exhausted by the horizon is +inf.
DATE_QUANTILES = {"median": 0.5, "q10": 0.1, "q90": 0.9}


def _scenario(config: Config, scenarios: list[ResolvedScenario]) -> ResolvedScenario | None:
    named = config.compute_sensitivity.scenario
    if named is not None:
        return next(s for s in scenarios if s.name == named)
    return next((s for s in scenarios if s.scaling == "compute" and s.compute_trend.source == "fitted"), None)


#: Parts of the config the table does not read: the other scenarios (its one scenario enters resolved, whole)
#: and the vintages. Everything else, including any setting added later, enters the key.
UNREAD_CONFIG = frozenset({"description", "defaults", "scenarios", "vintages"})


def table_key(config: Config, bundle: DataBundle, scenario: ResolvedScenario, fit_key: str) -> str:
    """Cache key of the table: what it is computed from (`scenario_table_key`)."""
    return scenario_table_key("compute_sensitivity", __name__, config, bundle, scenario, fit_key)


def scenario_table_key(
    table: str, module: str, config: Config, bundle: DataBundle, scenario: ResolvedScenario, fit_key: str
) -> str:
    """Cache key of a table of refits projected with one scenario (this module's, the frontier models'): the run's
    fit key (the other blocks' draws), the config it reads, the scenario resolved and the data files; the refits'
    draws follow from those, the versions and the source of `module` with its imports. An edit to another scenario
    leaves the key as it was."""
    return cache.rows_key(
        table,
        module,
        {
            "fit": fit_key,
            "config": config.model_dump(mode="json", exclude=set(UNREAD_CONFIG)),
            "scenario": scenario.model_dump(mode="json"),
            "data": bundle.fingerprint,
        },
    )


def compute_sensitivity_table(
    config: Config,
    bundle: DataBundle,
    scenarios: list[ResolvedScenario],
    posterior: dict[str, np.ndarray],
    known: KnownAtCutoff | None,
    use_cache: bool = True,
    progress: Progress | None = None,
    fit_key: str | None = None,
) -> pd.DataFrame:
    """One row per candidate window × with/without estimated compute: the refitted growth, compute at the cut-off
    and the scenario's exhaustion date with those draws. Empty when the config asks for none (or has no compute-only
    scenario with a fitted trend). With `fit_key` (the key of the fit `posterior` came from) and `use_cache`, the
    table is read from and kept in the cache (`table_key`)."""
    scenario = _scenario(config, scenarios)
    windows = config.compute_sensitivity.windows_oom
    if not windows or scenario is None:
        return pd.DataFrame(columns=list(COMPUTE_SENSITIVITY_COLUMNS))
    key = None if fit_key is None or not use_cache else table_key(config, bundle, scenario, fit_key)
    cached = None if key is None else cache.load_rows(key)
    if cached is not None:
        return pd.DataFrame(cached, columns=list(COMPUTE_SENSITIVITY_COLUMNS))
    cutoff = float(decimal_year(pd.Series([config.data.cutoff]))[0])
    rows: list[dict[str, Any]] = []
    for window in windows:
        for estimated in (True, False):
            data = fit_data_from_frames(
                bundle.runs,
                bundle.web_growth,
                leak_rows=config.fit.leak_rows,
                cutoff=config.data.cutoff,
                candidate_window_oom=math.inf if window is None else window,
                include_estimated_compute=estimated,
            )
            block = next(b for b in model_blocks(data, config.fit) if b.name == "compute")
            if progress:
                progress(f"compute sensitivity: window {window}, estimated compute {'in' if estimated else 'out'}")
            tree, _ = fit_block(block, config, use_cache, progress)
            draws = flatten(posterior_arrays(tree, tuple(tree.posterior.data_vars)))
            swapped = {k: v for k, v in posterior.items() if not k.startswith("compute_")} | draws
            result = project_scenario(scenario, swapped, bundle.stock_priors, config.seed, known=known)
            dates = censored_quantiles(np.where(result.censored, np.nan, result.crossing_year), DATE_QUANTILES)
            growth = draws["compute_growth"]
            diagnostics = diagnostics_of(tree)
            rows.append(
                {
                    "window_oom": "all" if window is None else window,
                    "estimated_compute": estimated,
                    "runs": int(data.compute_runs.size),
                    "growth_median": float(np.median(growth)),
                    "growth_q05": float(np.quantile(growth, 0.05)),
                    "growth_q95": float(np.quantile(growth, 0.95)),
                    "compute_at_cutoff_median": float(
                        10 ** np.median(draws["compute_level"] + growth * (cutoff - ANCHOR_YEAR))
                    ),
                    "scenario": scenario.name,
                    **dates,
                    "p_not_by_horizon": float(np.mean(result.censored)),
                    "divergences": int(diagnostics.divergences),
                    "converged": bool(diagnostics.converged),
                }
            )
    if key is not None:
        cache.store_rows(key, rows)
    return pd.DataFrame(rows, columns=list(COMPUTE_SENSITIVITY_COLUMNS))
