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

`condition_on_record` draws from the weights (systematic resampling), so every table and figure downstream
reads the weighted draws with the unweighted summaries of `forecast.projection.crossing`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.errors import InputError
from forecast.model.loo import PARETO_K_LIMIT
from forecast.model.record import record_setters
from forecast.model.trend import frontier_log10
from forecast.projection.scenario_model import demand_model, stock_model
from forecast.units import decimal_year


@dataclass(frozen=True)
class Record:
    """The largest disclosed training dataset at a date."""

    tokens: float
    model: str
    date: dt.date


@dataclass(frozen=True)
class KnownAtCutoff:
    """What the projection is tied to: the record as known at the data cut-off."""

    cutoff: dt.date
    record: Record

    @property
    def year(self) -> float:
        """The cut-off as a decimal year (where the paths are weighed against the record)."""
        return float(decimal_year(pd.Series([self.cutoff]))[0])


def record_at(runs: pd.DataFrame, date: dt.date) -> Record:
    """The record at `date`: the largest token count published on or before it among the runs that can set the
    record (`forecast.model.record.record_setters`: whole datasets, no leaks, points or lower bounds)."""
    known = runs[pd.to_datetime(runs["publication_date"]).dt.date <= date]
    candidates = known[record_setters(known)]
    if candidates.empty:
        raise ValueError(f"no disclosed training dataset on or before {date}")
    best = candidates.loc[candidates["dataset_tokens"].idxmax()]
    return Record(float(best["dataset_tokens"]), str(best["model"]), pd.Timestamp(best["publication_date"]).date())


def record_log_density(record_log10: float, frontier_log10: np.ndarray, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """log density of the observed record under each draw's frontier at the cut-off, with the fit's own scales.

    Stochastic frontier: record = frontier − shortfall + noise, shortfall ~ HalfNormal(shortfall_sd), noise ~
    Normal(0, noise_sd) (a skew-normal). Record process (`forecast.model.record`): the largest release of the
    year around the cut-off is a Gumbel of location F and scale 1/θ; the record is taken as that release (its
    overshoot of older records is the exponential tail the fit estimated). The Gumbel density is written out
    (as scipy's `gumbel_r.logpdf` computes it) so that a run need not import scipy.stats (~1 s)."""
    if "fitted_dataset_record_scale" in inputs:
        scale = inputs["fitted_dataset_record_scale"]
        z = (record_log10 - frontier_log10) / scale
        return -z - np.exp(-z) - np.log(scale)
    from scipy import stats

    noise_sd, shortfall_sd = inputs["fitted_dataset_noise_sd"], inputs["fitted_dataset_shortfall_sd"]
    scale = np.sqrt(np.square(shortfall_sd) + np.square(noise_sd))
    return stats.skewnorm.logpdf(record_log10, -shortfall_sd / noise_sd, loc=frontier_log10, scale=scale)


@dataclass(frozen=True)
class Importance:
    """Normalised importance weights of the draws, with their diagnostics."""

    weights: np.ndarray
    pareto_k: float
    ess: float
    #: Share of draws given weight 0 (`importance`'s `removed`).
    share_removed: float

    @property
    def reliable(self) -> bool:
        return bool(self.pareto_k <= PARETO_K_LIMIT)


#: Relative spread below which the largest weights count as equal (rounding of log weights of order 1–100).
TIED_TAIL = 1e-9


def _has_tail(log_weights: np.ndarray) -> bool:
    """Whether the largest weights differ, so there is a tail for Pareto smoothing: PSIS fits the largest
    min(n/5, 3·sqrt(n)) weights (Vehtari et al. 2024, §3), which cannot be fitted when they are all equal."""
    size = int(min(0.2 * log_weights.size, 3.0 * np.sqrt(log_weights.size)))
    top = np.sort(log_weights)[-max(size, 2) - 1 :]
    return bool(np.ptp(top) > TIED_TAIL)


def importance(log_weights: np.ndarray, removed: np.ndarray) -> Importance:
    """Pareto-smoothed, normalised weights from unnormalised log weights; draws in `removed` get 0."""
    import arviz_stats  # noqa: F401  (registers the `azstats` accessor)
    import xarray as xr

    log_w = np.where(removed, -np.inf, np.asarray(log_weights, dtype=float))
    alive = np.isfinite(log_w)
    weights = np.zeros(log_w.size)
    pareto_k = np.inf
    if alive.sum() >= 2 and _has_tail(log_w[alive]):
        # psislw smooths the weights exp(-x) of its input x (built for LOO, where x is a log-likelihood), so
        # the log weights go in negated; it returns normalised log weights.
        smoothed, khat = xr.DataArray(-log_w[alive], dims=["sample"]).azstats.psislw(dim="sample")
        values = np.exp(smoothed.values - smoothed.values.max())
        weights[alive] = values / values.sum()
        pareto_k = float(khat)
    elif alive.any():  # no tail to smooth: the largest weights are equal, so the raw weights are bounded
        values = np.exp(log_w[alive] - log_w[alive].max())
        weights[alive] = values / values.sum()
        pareto_k = -np.inf
    ess = float(1.0 / np.sum(weights**2)) if weights.sum() > 0 else 0.0
    return Importance(weights, pareto_k, ess, float(np.mean(removed)))


@dataclass(frozen=True)
class NowcastReport:
    """How a scenario's draws were tied to the record at the cut-off, for the report."""

    known: KnownAtCutoff
    draws: int
    ess: float  # effective sample size of the smoothed weights (1 / sum w²)
    pareto_k: float
    share_stock_below_record: float  # draws given weight 0: a run had already trained on more than their stock
    share_exhausted_at_cutoff: float  # further draws given weight 0: their demand was above their stock then
    #: log10 of the mean likelihood ratio: how much more likely the record is under the scenario's paths than
    #: under the fitted frontier (0: they agree there; −2: the record is 100x less likely under the scenario).
    record_evidence_log10: float

    @property
    def reliable(self) -> bool:
        return bool(self.pareto_k <= PARETO_K_LIMIT)


def systematic_resample(weights: np.ndarray, seed: int) -> np.ndarray:
    """Indices of n draws taken in proportion to `weights` by systematic resampling (Kitagawa 1996): one uniform
    offset, n evenly spaced positions on the weights' CDF. Equal weights give back every draw once, in order, and
    the offset depends on the seed only, so scenarios with the same weights keep common random numbers."""
    n = weights.size
    offset = np.random.default_rng(np.random.SeedSequence([seed, 0x4E4F57])).random()  # "NOW"
    cumulative = np.cumsum(weights)
    cumulative /= cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, (offset + np.arange(n)) / n, side="right"), n - 1)


def condition_on_record(
    scenario: object, inputs: dict[str, np.ndarray], seed: int, known: KnownAtCutoff
) -> tuple[dict[str, np.ndarray], NowcastReport]:
    """The scenario's inputs resampled so that its paths agree with the record known at the cut-off.

    The posterior has seen the record through the fitted dataset frontier; a scenario whose path says something
    else at the cut-off (overtraining applied from then on, a compute arm converted at Chinchilla's rate, a given
    trend) replaces that frontier in the record's likelihood. So each draw's log weight is the record's log
    density under the path at the cut-off minus that under the fitted frontier (0 for the fitted historical arm),
    and draws whose public effective stock at the cut-off is below the record get weight 0: a run has already
    trained on more than it. So do draws whose demand at the cut-off is already above their stock: the paths
    would have been exhausted before the cut-off, while frontier datasets were still growing then (the 2025–26
    runs of data/training_runs.csv). Weights are Pareto-smoothed (`importance`), then drawn from
    (`systematic_resample`), so every table and figure downstream reads them without knowing of them.
    """
    year = np.array([known.year])
    record = np.log10(known.record.tokens)
    path = demand_model(scenario, inputs, seed).tokens(year)[:, 0]
    if "record_scale" in inputs:
        # A record-process fit: the record path starts at the record, so the fitted arm agrees with it exactly.
        fitted = np.full(path.shape, record)
    else:
        fitted = frontier_log10(known.year, inputs["fitted_dataset_level"], inputs["fitted_dataset_growth"])
    log_weights = record_log_density(record, path, inputs) - record_log_density(record, fitted, inputs)
    stock = stock_model(scenario, inputs).effective(year)[:, 0]
    below_record = stock < record
    exhausted = ~below_record & (stock <= path)
    below = below_record | exhausted
    weights = importance(log_weights, below)
    if not np.any(weights.weights > 0):
        raise InputError(
            f"scenario '{getattr(scenario, 'name', '?')}': every draw's stock is below the record "
            f"{known.record.tokens:.3g} tokens ({known.record.model}) at the cut-off {known.cutoff.isoformat()}"
        )
    rows = systematic_resample(weights.weights, seed)
    n = rows.size
    resampled = {
        name: values[rows] if np.ndim(values) == 1 and len(values) == n else values for name, values in inputs.items()
    }
    # The record's likelihood ratio averaged over every draw (log-mean-exp): the stock conditions aside.
    top = float(np.max(log_weights))
    evidence = (top + float(np.log(np.mean(np.exp(log_weights - top))))) / np.log(10.0)
    report = NowcastReport(
        known, n, weights.ess, weights.pareto_k, float(below_record.mean()), float(exhausted.mean()), evidence
    )
    return resampled, report
