"""Vintages: the forecast that the data known at earlier dates would have produced, beside today's.

Why: a reader should see whether new data pull the date earlier or later, and how fast the band narrows. Each
vintage is the whole forecast re-run with `data.cutoff` moved back (`forecast.config.with_cutoff`): the runs,
web-growth rows and stock estimates known then (`forecast.data.load_bundle`), a posterior fitted to them (cached
like any fit), and projections that start at that cut-off. `forecast run --as-of DATE` is one such vintage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast import cache
from forecast.config import Config, config_hash, with_cutoff

if TYPE_CHECKING:
    from forecast.run.result import RunResult

VINTAGE_COLUMNS = (
    "vintage",
    "scenario",
    "median",
    "q10",
    "q90",
    "q05",
    "q95",
    "p_not_by_horizon",
    "runs_with_tokens",
    "record_tokens",
    "record_model",
    "ess",
    "divergences",
    "converged",
)


def vintage_dates(config: Config) -> list[dt.date]:
    """The config's vintages and its own cut-off, oldest first."""
    return sorted({*config.vintages.dates, config.data.cutoff})


def vintage_scenarios(config: Config) -> list[str]:
    """The scenarios a vintage shows: those the config names, else its first."""
    return list(config.vintages.scenarios) or [config.scenarios[0].name]


def _rows(when: dt.date, result: RunResult, scenarios: list[str]) -> list[dict[str, object]]:
    summary = result.summary.set_index("scenario")
    nowcast = result.nowcast.set_index("scenario") if len(result.nowcast) else None
    rows = []
    for name in scenarios:
        row = summary.loc[name]
        weights = nowcast.loc[name] if nowcast is not None and name in nowcast.index else None
        rows.append(
            {
                "vintage": when.isoformat(),
                "scenario": name,
                **{key: float(row[key]) for key in ("median", "q10", "q90", "q05", "q95", "p_not_by_horizon")},
                "runs_with_tokens": int(result.bundle.runs["dataset_tokens"].notna().sum()),
                "record_tokens": np.nan if weights is None else float(weights["record_tokens"]),
                "record_model": "" if weights is None else str(weights["record_model"]),
                "ess": np.nan if weights is None else float(weights["ess"]),
                "divergences": int(result.diagnostics.divergences),
                "converged": bool(result.diagnostics.converged),
            }
        )
    return rows


def vintage_key(earlier: Config, data_fingerprint: str) -> str:
    """Cache key of one vintage's rows (`forecast.cache.store_rows`): everything they are computed from — the
    vintage's whole config (its cut-off, scenarios, fit and sampler settings, seed), the data files (the vintage
    cuts them itself), the package versions and the source of `forecast.run` with every module it imports. A warm
    run then reads a small file per vintage instead of loading its fit and projecting it again."""
    parts = {"config": earlier.model_dump(mode="json"), "data": data_fingerprint}
    return cache.rows_key("vintage", "forecast.run", parts)


#: Rows of earlier vintages already computed in this process, by (config hash, data fingerprint): a
#: `forecast watch` edit that leaves a vintage's config as it was does not load and project it again. Bounded.
_SEEN: dict[tuple[str, str], list[dict[str, object]]] = {}
_SEEN_LIMIT = 64


def vintage_table(
    config: Config,
    today: RunResult,
    compute: Callable[[Config], RunResult],
    progress: Callable[[str], None] | None,
    reuse: bool = True,
) -> pd.DataFrame:
    """Median and intervals of the vintage scenarios at every vintage; the config's own cut-off is `today`
    (already computed), the others come from `compute` on the config moved back to each date (or from this
    process's earlier answer for the same config and data; `reuse=False`, as `--no-cache` passes, neither reads
    nor keeps such answers)."""
    scenarios = vintage_scenarios(config)
    rows: list[dict[str, object]] = []
    for when in vintage_dates(config):
        if when == config.data.cutoff:
            rows += _rows(when, today, scenarios)
            continue
        earlier = with_cutoff(config, when, scenarios)
        key = (config_hash(earlier), today.bundle.fingerprint)
        if reuse and key in _SEEN:
            rows += _SEEN[key]
            continue
        stored = vintage_key(earlier, today.bundle.fingerprint)
        found = cache.load_rows(stored) if reuse else None
        if found is None:
            if progress:
                progress(f"vintage {when.isoformat()}")
            found = _rows(when, compute(earlier), scenarios)
            if reuse:
                cache.store_rows(stored, found)
        if reuse:
            if len(_SEEN) >= _SEEN_LIMIT:
                _SEEN.pop(next(iter(_SEEN)))
            _SEEN[key] = found
        rows += found
    return pd.DataFrame(rows, columns=list(VINTAGE_COLUMNS))
