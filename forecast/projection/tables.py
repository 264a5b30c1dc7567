"""The exhaustion draws and bands of all scenarios as datasets, and the tables read from them.

The exhaustion draws follow a test-locked schema (`EXHAUSTION_SCHEMA`, tests/projection/test_project.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from forecast.projection.crossing import INTERVAL_QUANTILES, censored_quantiles, probability_by_year, share_censored
from forecast.projection.memo import BAND_QUANTILES
from forecast.projection.switches import DRAW_VARIABLES, SCENARIO_VARIABLES, SWITCHES, exhaustion_values

if TYPE_CHECKING:
    from forecast.projection.project import ScenarioResult

# Names, dims and units of the exhaustion draws: the output schema, locked by tests/projection/test_project.py.
# The switches add their own variables (`forecast.projection.switches.DRAW_VARIABLES`, `SCENARIO_VARIABLES`).
_DRAW_DIMS = ("scenario", "chain", "draw")
_SCENARIO_DIMS = ("scenario",)


def _listed(names: list[str]) -> str:
    """Names as prose: 'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


EXHAUSTION_SCHEMA: dict[str, tuple[tuple[str, ...], str, str]] = {
    "exhaustion_year": (
        _DRAW_DIMS,
        "decimal year",
        "first date the frontier dataset reaches the effective stock; NaN if censored",
    ),
    "censored": (_DRAW_DIMS, "bool", "no crossing before the horizon"),
    "tokens_at_crossing": (_DRAW_DIMS, "tokens", "frontier dataset size at the crossing"),
    "compute_at_crossing": (
        _DRAW_DIMS,
        "FLOP",
        "training compute at the crossing (Chinchilla-equivalent on the historical arm)",
    ),
    "stock_at_crossing": (_DRAW_DIMS, "tokens", "effective stock at the crossing"),
    "historical_arm": (_DRAW_DIMS, "bool", "the draw follows the historical-trend arm (else the compute arm)"),
    "baseline_exhaustion_year": (
        _DRAW_DIMS,
        "decimal year",
        f"the same scenario with {_listed(list(SWITCHES))} switched off; NaN if censored",
    ),
    **{name: (_DRAW_DIMS, units, description) for name, (units, description) in DRAW_VARIABLES.items()},
    "horizon": (_SCENARIO_DIMS, "decimal year", "end of the projection; later dates are censored"),
    **{name: (_SCENARIO_DIMS, units, description) for name, (units, description) in SCENARIO_VARIABLES.items()},
}


def exhaustion_dataset(results: list[ScenarioResult], chains: int, draws: int) -> xr.Dataset:
    """Gather scenario results into the exhaustion-draws dataset (schema: `EXHAUSTION_SCHEMA`)."""

    def by_draw(rows: list[np.ndarray]) -> np.ndarray:
        return np.stack([row.reshape(chains, draws) for row in rows])

    def stack(attr: str) -> np.ndarray:
        return by_draw([getattr(r, attr) for r in results])

    switch_values = [exhaustion_values(r) for r in results]
    baseline = [r.crossing_year if r.baseline_year is None else r.baseline_year for r in results]
    values = {
        "exhaustion_year": stack("crossing_year"),
        "baseline_exhaustion_year": by_draw(baseline),
        **{name: by_draw([v[name] for v in switch_values]) for name in DRAW_VARIABLES},
        "censored": stack("censored"),
        "tokens_at_crossing": stack("tokens"),
        "compute_at_crossing": stack("compute"),
        "stock_at_crossing": stack("stock_at_crossing"),
        "historical_arm": stack("historical_arm"),
    }
    per_scenario = {
        "horizon": np.array([r.horizon for r in results]),
        **{name: np.array([v[name] for v in switch_values]) for name in SCENARIO_VARIABLES},
    }
    ds = xr.Dataset(
        {name: (_DRAW_DIMS, array) for name, array in values.items()}
        | {name: (_SCENARIO_DIMS, array) for name, array in per_scenario.items()},
        coords={"scenario": [r.name for r in results], "chain": np.arange(chains), "draw": np.arange(draws)},
    )
    for name, (_, unit, description) in EXHAUSTION_SCHEMA.items():
        ds[name].attrs.update(units=unit, description=description)
    return ds


def bands_dataset(results: list[ScenarioResult]) -> xr.Dataset:
    """Yearly quantile bands (scenario, year, quantile) of demand, compute and the three stock stages."""
    years = np.unique(np.concatenate([r.band_years for r in results]))
    names = list(results[0].bands)
    data = {name: np.full((len(results), years.size, len(BAND_QUANTILES)), np.nan) for name in names}
    for i, r in enumerate(results):
        where = np.searchsorted(years, r.band_years)
        for name in names:
            data[name][i, where, :] = r.bands[name]
    return xr.Dataset(
        {name: (("scenario", "year", "quantile"), array) for name, array in data.items()},
        coords={"scenario": [r.name for r in results], "year": years, "quantile": list(BAND_QUANTILES)},
    )


SUMMARY_COLUMNS = (
    "scenario",
    "median",
    "q05",
    "q10",
    "q90",
    "q95",
    "p_not_by_horizon",
    "tokens_at_crossing_median",
    "compute_at_crossing_median",
)


def summary_table(exhaustion: xr.Dataset) -> pd.DataFrame:
    """One row per scenario: median, 80%/90% interval ends (decimal years; inf = after the horizon), share
    censored, and medians of the dataset size and compute at the crossing."""
    rows = []
    for name in exhaustion["scenario"].values:
        ds = exhaustion.sel(scenario=name)
        years = ds["exhaustion_year"].values
        q = censored_quantiles(years, INTERVAL_QUANTILES)
        rows.append(
            {
                "scenario": str(name),
                **{k: q[k] for k in ("median", "q05", "q10", "q90", "q95")},
                "p_not_by_horizon": share_censored(years),
                "tokens_at_crossing_median": float(np.nanmedian(ds["tokens_at_crossing"].values))
                if not np.all(np.isnan(years))
                else np.nan,
                "compute_at_crossing_median": float(np.nanmedian(ds["compute_at_crossing"].values))
                if not np.all(np.isnan(years))
                else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def probability_table(exhaustion: xr.Dataset, years: np.ndarray) -> pd.DataFrame:
    """P(exhausted by the end of year Y) per scenario (rows) and year (columns)."""
    return pd.DataFrame(
        {
            str(name): probability_by_year(exhaustion.sel(scenario=name)["exhaustion_year"].values, years + 1.0)
            for name in exhaustion["scenario"].values
        },
        index=pd.Index(years.astype(int), name="year"),
    ).T


NOWCAST_COLUMNS = (
    "scenario",
    "cutoff",
    "record_tokens",
    "record_model",
    "record_date",
    "draws",
    "ess",
    "pareto_k",
    "weights_reliable",
    "record_evidence_log10",
    "share_stock_below_record",
    "share_exhausted_at_cutoff",
    "share_removed",
    "share_above_stock_at_start",
    "p_exhausted_by_end_of_cutoff_year",
)


def nowcast_table(results: list[ScenarioResult]) -> pd.DataFrame:
    """How each scenario was tied to the record at the cut-off: the record, the weights' effective sample size
    and Pareto k̂, the shares of draws removed, the paths above the stock at the first grid point, and
    P(exhausted by the end of the cut-off's year). Scenarios without the conditioning are left out."""
    rows = []
    for r in results:
        report = r.nowcast
        if report is None:
            continue
        known = report.known
        year_end = known.cutoff.year + 1.0
        rows.append(
            {
                "scenario": r.name,
                "cutoff": known.cutoff.isoformat(),
                "record_tokens": known.record.tokens,
                "record_model": known.record.model,
                "record_date": known.record.date.isoformat(),
                "draws": report.draws,
                "ess": report.ess,
                "pareto_k": report.pareto_k,
                "weights_reliable": report.reliable,
                "record_evidence_log10": report.record_evidence_log10,
                "share_stock_below_record": report.share_stock_below_record,
                "share_exhausted_at_cutoff": report.share_exhausted_at_cutoff,
                "share_removed": report.share_stock_below_record + report.share_exhausted_at_cutoff,
                "share_above_stock_at_start": float(np.mean(r.at_start)) if r.at_start is not None else np.nan,
                "p_exhausted_by_end_of_cutoff_year": float(probability_by_year(r.crossing_year, [year_end])[0]),
            }
        )
    return pd.DataFrame(rows, columns=list(NOWCAST_COLUMNS))
