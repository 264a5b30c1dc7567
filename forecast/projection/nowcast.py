"""Now-cast: projections that start from what is known at the data cut-off.

A projection that starts at the cut-off must agree with the record observed there. Three pieces do that:

- `record_at`: the largest disclosed training dataset published on or before the cut-off (the record the
  exhaustion date is about), leaks and continued-pretraining increments excluded;
- `record_log_density`: how likely that record is under a draw's frontier at the cut-off, with the draw's own
  stochastic-frontier scales (the record is a run, so it sits below the frontier by a half-normal shortfall, plus
  measurement noise: the skew-normal of Aigner, Lovell & Schmidt 1977 that the fit itself uses);
- `importance`: Pareto-smoothed importance weights from those densities (Vehtari et al. 2024, through ArviZ's
  public `azstats.psislw`), with k̂ and the effective sample size, so a scenario the data contradict shows a
  collapsed ESS instead of a confident early date. Draws whose stock is already below the record at the cut-off
  get weight 0 (the stock was not used up before the cut-off: we saw runs train on less than it).

Weighted summaries (`weighted_quantiles`, `weighted_probability_by_year`) treat NaN dates as "after the horizon",
like their unweighted twins in `forecast.projection.crossing`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.data import is_leak, is_whole_dataset

#: Token bounds that can set the record: a point, or a lower bound ("over 20T": the record is at least that).
RECORD_BOUNDS = ("point", "lower")
#: Pareto k̂ above which importance weights are unreliable (Vehtari et al. 2024, "Pareto smoothed importance
#: sampling", JMLR 25(72), §3: k̂ > 0.7 means the estimate's error does not fall with more draws).
PARETO_K_LIMIT = 0.7


@dataclass(frozen=True)
class Record:
    """The largest disclosed training dataset at a date."""

    tokens: float
    model: str
    date: dt.date


def record_at(runs: pd.DataFrame, date: dt.date) -> Record:
    """The record at `date`: the largest non-leak whole-dataset token count published on or before it."""
    known = runs[pd.to_datetime(runs["publication_date"]).dt.date <= date]
    usable = known["dataset_tokens"].notna() & ~is_leak(known) & is_whole_dataset(known)
    if "tokens_bound" in known:
        usable &= known["tokens_bound"].isin(RECORD_BOUNDS)
    candidates = known[usable]
    if candidates.empty:
        raise ValueError(f"no disclosed training dataset on or before {date}")
    best = candidates.loc[candidates["dataset_tokens"].idxmax()]
    return Record(float(best["dataset_tokens"]), str(best["model"]), pd.Timestamp(best["publication_date"]).date())


def record_log_density(
    record_log10: float, frontier_log10: np.ndarray, noise_sd: np.ndarray, shortfall_sd: np.ndarray
) -> np.ndarray:
    """log density of the observed record under each draw's frontier at the cut-off (stochastic frontier:
    record = frontier − shortfall + noise, shortfall ~ HalfNormal(shortfall_sd), noise ~ Normal(0, noise_sd))."""
    from scipy import stats

    scale = np.sqrt(np.square(shortfall_sd) + np.square(noise_sd))
    return stats.skewnorm.logpdf(record_log10, -shortfall_sd / noise_sd, loc=frontier_log10, scale=scale)


@dataclass(frozen=True)
class Importance:
    """Normalised importance weights of the draws, with their diagnostics."""

    weights: np.ndarray
    pareto_k: float
    ess: float
    #: Share of draws given weight 0 because their stock was already below the record at the cut-off.
    share_exhausted_before_cutoff: float

    @property
    def reliable(self) -> bool:
        return bool(self.pareto_k <= PARETO_K_LIMIT)


def importance(log_weights: np.ndarray, stock_below_record: np.ndarray) -> Importance:
    """Pareto-smoothed, normalised weights from unnormalised log weights; draws in `stock_below_record` get 0."""
    import arviz_stats  # noqa: F401  (registers the `azstats` accessor)
    import xarray as xr

    log_w = np.where(stock_below_record, -np.inf, np.asarray(log_weights, dtype=float))
    alive = np.isfinite(log_w)
    weights = np.zeros(log_w.size)
    pareto_k = np.inf
    if alive.sum() >= 2 and np.ptp(log_w[alive]) > 0:
        # psislw smooths the weights exp(-x) of its input x (built for LOO, where x is a log-likelihood), so
        # the log weights go in negated; it returns normalised log weights.
        smoothed, khat = xr.DataArray(-log_w[alive], dims=["sample"]).azstats.psislw(dim="sample")
        values = np.exp(smoothed.values - smoothed.values.max())
        weights[alive] = values / values.sum()
        pareto_k = float(khat)
    elif alive.any():  # equal weights: nothing to smooth
        weights[alive] = 1.0 / alive.sum()
        pareto_k = -np.inf
    ess = float(1.0 / np.sum(weights**2)) if weights.sum() > 0 else 0.0
    return Importance(weights, pareto_k, ess, float(np.mean(stock_below_record)))


def weighted_quantiles(years: np.ndarray, weights: np.ndarray, quantiles: dict[str, float]) -> dict[str, float]:
    """Weighted quantiles of dates (NaN = after the horizon, so a quantile in that tail is +inf); the inverse of the
    weighted empirical CDF with linear interpolation between the mid-points of the draws' weight masses."""
    values = np.where(np.isnan(years), np.inf, years).ravel()
    order = np.argsort(values, kind="stable")
    values, w = values[order], np.asarray(weights, dtype=float).ravel()[order]
    keep = w > 0
    values, w = values[keep], w[keep] / w[keep].sum()
    centres = np.cumsum(w) - w / 2
    result = {}
    for name, q in quantiles.items():
        upper = int(np.searchsorted(centres, q))
        if upper == 0 or upper >= values.size:  # below the first or above the last mid-point: that draw's date
            result[name] = float(values[min(upper, values.size - 1)])
            continue
        low, high = values[upper - 1], values[upper]
        if np.isinf(high):  # interpolating into the censored tail
            result[name] = np.inf
            continue
        share = (q - centres[upper - 1]) / (centres[upper] - centres[upper - 1])
        result[name] = float(low + share * (high - low))
    return result


def weighted_probability_by_year(years: np.ndarray, weights: np.ndarray, by_years: np.ndarray) -> np.ndarray:
    """Weighted P(exhausted on or before each year in `by_years`); censored paths count as not exhausted."""
    values = np.where(np.isnan(years), np.inf, years).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    return ((values[None, :] <= np.asarray(by_years, dtype=float)[:, None]) * w[None, :]).sum(axis=1) / w.sum()
