"""The frontier models compared at the data cut-off: each model of the frontier dataset (`fit.frontier`) fitted to
the same data, scored by PSIS-LOO, and projected with one scenario, so the report shows what the choice of model
does to the exhaustion date beside how well each explains the record it saw.

Why here and not only in `forecast compare`: the rolling backtest (11 refits per model) is what the default model
was chosen by, and is too slow for every run; the comparison at the cut-off is one dataset-block refit per model
(cached like any block: `forecast.model.fit.fit_block`). Its LOO ranks the record processes on the same spells
(`forecast.model.loo.compare_loo`); the stochastic frontier is scored on runs, so its ELPD stands alone.

The table is cached (`forecast.cache.store_rows`) under a key of what it is computed from, like the compute
sensitivity table (`forecast.run.compute_sensitivity`): a warm run reads one small file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecast import cache
from forecast.config import with_frontier
from forecast.config.schema import frontier_model_name
from forecast.model.blocks import model_blocks
from forecast.model.fit import Progress, fit_block, fit_data_of
from forecast.model.loo import compare_loo, dataset_loo_tree, loo_summary
from forecast.model.sample import block_passes, diagnostics_of, posterior_arrays
from forecast.projection.crossing import censored_quantiles
from forecast.projection.inputs import flatten
from forecast.projection.project import project_scenario
from forecast.run.compute_sensitivity import DATE_QUANTILES, scenario_table_key

if TYPE_CHECKING:
    import xarray as xr

    from forecast.config import Config, ResolvedScenario
    from forecast.data import DataBundle
    from forecast.projection.nowcast import KnownAtCutoff

FRONTIER_MODEL_COLUMNS = (
    "model",
    "default",
    "likelihood",
    "loo_observations",
    "elpd_loo",
    "elpd_loo_se",
    "p_loo",
    "pareto_k_max",
    "n_pareto_k_high",
    "loo_rank",
    "elpd_diff",
    "elpd_diff_se",
    "stacking_weight",
    "growth_median",
    "scenario",
    "median",
    "q10",
    "q90",
    "p_not_by_horizon",
    "divergences",
    "converged",
)


def _scenario(config: Config, scenarios: list[ResolvedScenario]) -> ResolvedScenario | None:
    named = config.model_comparison.scenario
    if named is not None:
        return next(s for s in scenarios if s.name == named)
    return next((s for s in scenarios if s.scaling == "historical" and s.historical_trend.source == "fitted"), None)


def models_compared(config: Config) -> list[str]:
    """The config's own frontier model first, then the others it asks for (each once)."""
    own = frontier_model_name(config.fit.frontier)
    return [own, *(m for m in dict.fromkeys(config.model_comparison.models) if m != own)]


def table_key(config: Config, bundle: DataBundle, scenario: ResolvedScenario, fit_key: str) -> str:
    """Cache key of the table: what it is computed from (`compute_sensitivity.scenario_table_key`)."""
    return scenario_table_key("frontier_models", __name__, config, bundle, scenario, fit_key)


def frontier_models_table(
    config: Config,
    bundle: DataBundle,
    scenarios: list[ResolvedScenario],
    idata: xr.DataTree,
    posterior: dict[str, np.ndarray],
    known: KnownAtCutoff | None,
    use_cache: bool = True,
    progress: Progress | None = None,
    fit_key: str | None = None,
) -> pd.DataFrame:
    """One row per frontier model: its PSIS-LOO, its rank among the record processes, its fitted growth and the
    scenario's exhaustion date with its dataset draws in place of the run's. Empty when the config asks for no
    other model or has no historical scenario with a fitted trend. `idata`/`posterior` are the run's fit (its own
    model's row is read from them)."""
    scenario = _scenario(config, scenarios)
    if not config.model_comparison.models or scenario is None:
        return pd.DataFrame(columns=list(FRONTIER_MODEL_COLUMNS))
    key = None if fit_key is None or not use_cache else table_key(config, bundle, scenario, fit_key)
    cached = None if key is None else cache.load_rows(key)
    if cached is not None:
        return pd.DataFrame(cached, columns=list(FRONTIER_MODEL_COLUMNS))
    rows: list[dict[str, Any]] = []
    record_trees: dict[str, xr.DataTree] = {}
    data = fit_data_of(config, bundle)  # what the fit reads does not depend on the frontier model
    for index, name in enumerate(models_compared(config)):
        cfg = with_frontier(config, name)
        if index == 0:
            tree, swapped = idata, posterior
        else:
            if progress:
                progress(f"frontier models: fitting {name}")
            block = next(b for b in model_blocks(data, cfg.fit) if b.name == "dataset")
            tree, _ = fit_block(block, cfg, use_cache, progress)
            draws = flatten(posterior_arrays(tree, tuple(tree.posterior.data_vars)))
            swapped = {k: v for k, v in posterior.items() if not k.startswith("dataset_")} | draws
        loo_input = dataset_loo_tree(tree, data, cfg.fit)
        loo = loo_summary(loo_input)
        if loo.likelihood == "record":
            record_trees[name] = loo_input
        result = project_scenario(scenario, swapped, bundle.stock_priors, config.seed, known=known)
        dates = censored_quantiles(np.where(result.censored, np.nan, result.crossing_year), DATE_QUANTILES)
        divergences, converged = _dataset_diagnostics(tree)
        rows.append(
            {
                "model": name,
                "default": index == 0,
                **{k: v for k, v in loo.as_dict().items() if k != "n_observations"},
                "loo_observations": loo.n_observations,
                **dict.fromkeys(("loo_rank", "elpd_diff", "elpd_diff_se", "stacking_weight")),
                "growth_median": float(np.median(swapped["dataset_growth"])),
                "scenario": scenario.name,
                **dates,
                "p_not_by_horizon": float(np.mean(result.censored)),
                "divergences": divergences,
                "converged": converged,
            }
        )
    if len(record_trees) >= 2:
        ranks = compare_loo(record_trees)
        for row in rows:
            if row["model"] in ranks.index:
                row.update({k: _plain(v) for k, v in ranks.loc[row["model"]].items()})
    if key is not None:
        cache.store_rows(key, rows)
    return pd.DataFrame(rows, columns=list(FRONTIER_MODEL_COLUMNS))


def _dataset_diagnostics(tree: xr.DataTree) -> tuple[int, bool]:
    """Divergences and convergence of the dataset block: its row of a whole fit's table, or a block fit's own."""
    diagnostics = diagnostics_of(tree)
    if "dataset" in diagnostics.blocks.index:
        row = diagnostics.blocks.loc["dataset"]
        return int(row["divergences"]), block_passes(row)
    return int(diagnostics.divergences), bool(diagnostics.converged)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (the cached rows are JSON)."""
    return value.item() if isinstance(value, np.generic) else value
