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

if TYPE_CHECKING:
    from forecast.projection.project import ScenarioResult

# Names, dims and units of the exhaustion draws: the output schema, locked by tests/projection/test_project.py.
_DRAW_DIMS = ("scenario", "chain", "draw")
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
        "the same scenario with human_share, synthetic and extra_stocks switched off; NaN if censored",
    ),
    "synthetic_exhaustion_year": (
        _DRAW_DIMS,
        "decimal year",
        "exhaustion with the synthetic-data supplement; NaN if censored or synthetic data are off",
    ),
    "collapse_guard_year": (
        _DRAW_DIMS,
        "decimal year",
        "first date a frontier dataset's real share falls below the guard r*; NaN if never or synthetic data are off",
    ),
    "horizon": (("scenario",), "decimal year", "end of the projection; later dates are censored"),
    "synthetic_enabled": (("scenario",), "bool", "the scenario turns synthetic data on"),
}


def exhaustion_dataset(results: list[ScenarioResult], chains: int, draws: int) -> xr.Dataset:
    """Gather scenario results into the exhaustion-draws dataset (schema: `EXHAUSTION_SCHEMA`)."""

    def stack(attr: str) -> np.ndarray:
        return np.stack([getattr(r, attr).reshape(chains, draws) for r in results])

    dims = ("scenario", "chain", "draw")

    def optional(attr: str, fallback: str | None) -> np.ndarray:
        rows = [
            getattr(r, attr)
            if getattr(r, attr) is not None
            else (getattr(r, fallback) if fallback else np.full(r.crossing_year.shape, np.nan))
            for r in results
        ]
        return np.stack([row.reshape(chains, draws) for row in rows])

    values = {
        "exhaustion_year": stack("crossing_year"),
        "baseline_exhaustion_year": optional("baseline_year", "crossing_year"),
        "synthetic_exhaustion_year": optional("synthetic_year", None),
        "collapse_guard_year": optional("guard_year", None),
        "censored": stack("censored"),
        "tokens_at_crossing": stack("tokens"),
        "compute_at_crossing": stack("compute"),
        "stock_at_crossing": stack("stock_at_crossing"),
        "historical_arm": stack("historical_arm"),
    }
    ds = xr.Dataset(
        {name: (dims, array) for name, array in values.items()}
        | {
            "horizon": (("scenario",), np.array([r.horizon for r in results])),
            "synthetic_enabled": (("scenario",), np.array([r.synthetic_year is not None for r in results])),
        },
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
