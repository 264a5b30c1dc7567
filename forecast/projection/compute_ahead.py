"""Compute ahead: the compute arm of a scenario year by year, what it costs, and which limit binds on each path.

Read by the report's "Compute ahead" section and written to `compute_ahead.csv`. Only the draws that follow the
compute arm count here (a mixture's historical-arm draws have no compute path of their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecast.projection.compute_limits import PRICE_INPUTS, log10_cost
from forecast.projection.crossing import Crossing, column_quantiles
from forecast.projection.demand import DemandPaths
from forecast.projection.memo import BAND_QUANTILES

#: Sevilla et al. 2024, "Can AI scaling continue through 2030?" (Epoch AI): training runs of 2e29 FLOP "will
#: likely be feasible by 2030" (METHOD_NOTES D.6; data/compute_supply.csv, series `limit`).
EPOCH_2030_FLOP = 2e29
EPOCH_2030_YEAR = 2031.0  # the end of 2030, as decimal year

#: What sets compute on a path: the trend, or one of the limits (`ComputeCaps.names`).
TREND = "trend"


@dataclass(frozen=True)
class ComputeAhead:
    """One scenario's compute arm: yearly bands of compute and cost, and what binds at each path's date."""

    years: np.ndarray  # decimal years of the bands
    compute_band: np.ndarray  # (year, quantile) FLOP, compute-arm draws
    cost_band: np.ndarray | None  # (year, quantile) constant USD (None: no fitted FLOP per dollar)
    binding: np.ndarray  # per compute-arm draw, the name of what sets compute at its date (horizon if censored)
    compute_at_anchor: np.ndarray  # log10 FLOP per compute-arm draw at the end of 2030
    limit_names: tuple[str, ...]  # the limits the scenario switches on
    limit_bands: dict[str, np.ndarray]  # name -> (year, quantile) FLOP of each limit (the lower line of two alike)


def compute_ahead_of(
    demand: DemandPaths, inputs: dict[str, np.ndarray], crossing: Crossing, start: float, horizon: float
) -> ComputeAhead | None:
    """The compute arm of a scenario's draws (None when no draw follows it)."""
    rows = np.flatnonzero(~demand.historical)
    if rows.size == 0:
        return None
    years = np.arange(np.ceil(start), horizon + 1.0)
    compute, _ = demand.compute_arm(years, rows)
    priced = "supply_price_level" in inputs
    price = {name: np.asarray(inputs[name])[rows] for name in PRICE_INPUTS} if priced else None
    cost = None if price is None else log10_cost(compute, years, price)
    at = np.where(crossing.censored[rows], horizon, crossing.year[rows])
    names = (TREND, *(demand.caps.names if demand.caps is not None else ()))
    _, index = demand.compute_arm(at[:, None], rows)
    binding = np.full(rows.size, TREND, dtype=object) if index is None else np.asarray(names, dtype=object)[index[:, 0]]
    anchor, _ = demand.compute_arm(np.array([EPOCH_2030_YEAR]), rows)
    limit_bands: dict[str, np.ndarray] = {}
    if demand.caps is not None:
        lines = demand.caps.lines(years[:, None], rows)  # (k, year, draw)
        for name in dict.fromkeys(demand.caps.names):
            lowest = lines[[i for i, n in enumerate(demand.caps.names) if n == name]].min(axis=0)
            limit_bands[name] = 10.0 ** column_quantiles(lowest.T, BAND_QUANTILES).T
    return ComputeAhead(
        years=years,
        compute_band=10.0 ** column_quantiles(compute, BAND_QUANTILES).T,
        cost_band=None if cost is None else 10.0 ** column_quantiles(cost, BAND_QUANTILES).T,
        binding=binding,
        compute_at_anchor=anchor[:, 0],
        limit_names=tuple(dict.fromkeys(names[1:])),
        limit_bands=limit_bands,
    )


#: Columns of `compute_ahead_table` (compute_ahead.csv).
COMPUTE_AHEAD_COLUMNS = (
    "scenario",
    "compute_draws",
    "limits",
    "share_trend",
    "share_spending",
    "share_power",
    "share_chips",
    "compute_2030_median",
    "compute_2030_q10",
    "compute_2030_q90",
    "p_compute_2030_at_least_epoch_anchor",
    "cost_2030_median_usd",
)


def compute_ahead_table(results: list[Any]) -> pd.DataFrame:
    """Per scenario with a compute arm: which limit binds at the exhaustion date (shares of compute-arm draws;
    the horizon for paths not exhausted), compute at the end of 2030 against Epoch AI's 2e29 FLOP anchor, and
    the cost of that run."""
    rows = []
    for r in results:
        ahead: ComputeAhead | None = getattr(r, "compute_ahead", None)
        if ahead is None:
            continue
        share = {name: float(np.mean(ahead.binding == name)) for name in (TREND, "spending", "power", "chips")}
        at_2030 = ahead.compute_at_anchor
        year = int(np.searchsorted(ahead.years, EPOCH_2030_YEAR))
        cost = np.nan
        if ahead.cost_band is not None and year < ahead.years.size:
            cost = float(ahead.cost_band[year, BAND_QUANTILES.index(0.5)])
        rows.append(
            {
                "scenario": r.name,
                "compute_draws": int(ahead.binding.size),
                "limits": ";".join(ahead.limit_names),
                **{f"share_{name}": value for name, value in share.items()},
                "compute_2030_median": float(10.0 ** np.median(at_2030)),
                "compute_2030_q10": float(10.0 ** np.quantile(at_2030, 0.1)),
                "compute_2030_q90": float(10.0 ** np.quantile(at_2030, 0.9)),
                "p_compute_2030_at_least_epoch_anchor": float(np.mean(at_2030 >= np.log10(EPOCH_2030_FLOP))),
                "cost_2030_median_usd": cost,
            }
        )
    return pd.DataFrame(rows, columns=list(COMPUTE_AHEAD_COLUMNS))
