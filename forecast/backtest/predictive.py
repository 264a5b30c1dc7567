"""Predictive paths of the record after a cut-off c: the model's (the fitted frontier mapped to the record) and
the baseline's (the paper's fixed growth), in log10 tokens, one path per posterior draw.

**Model.** The frontier f(t) (`forecast.model.trend.frontier_log10`) is an envelope line: the largest dataset
achievable at t, with runs below it by a shortfall. It is mapped to the record R(t) (`forecast.backtest.record`)
per draw s:

    R_s(t) = max( R(c),  max(f_s(c), f_s(t)) + ε_s ),   ε_s ~ Normal(0, σ_ε,s),   t ≥ c,

where R(c) is the record at the cut-off (observed and known at c) and f_s(t) + ε_s is the frontier line plus its
fitted noise σ_ε (`dataset_noise_sd`, the error of a figure above the frontier), drawn once per path so that paths
are coherent; max(f(c), f(t)) keeps a path flat if a draw's growth is negative. Every path is therefore monotone
non-decreasing and never below the known record, like the record itself; the predictive has an atom at R(c) (no
new record yet) where f + ε is below it. This simple mapping ("frontier + noise, maxed with the known record")
does not model how often frontier runs are published (the record lags the envelope between releases), which a
record-process model would.

**Baseline**, in the style of Villalobos et al. 2024 ([P2] §2.4): a fixed growth of 0.38 OOM/yr from a fixed
anchor, here the observed record at the cut-off, log10 R_b(t) = log10 R(c) + G·(t − c), with the paper's growth
uncertainty G ~ Normal(0.38, 0.055) OOM/yr (METHOD_NOTES A.12; clipped at 0, so never shrinking) for its bands.
A point forecast would have coverage 0 and a degenerate log score, so the probabilistic version is used. The
anchor is known, so the baseline's only uncertainty is the growth rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.backtest.scoring import QUANTILES
from forecast.model.record import GRID_STEP_YEARS
from forecast.model.record_paths import RecordFrontier, fine_grid, simulate_records
from forecast.model.trend import frontier_log10

#: Baseline growth, OOM/yr: [P2] §2.4, 0.38 OOM/yr, bootstrapped 95% CI 0.27–0.48; as a normal, sd 0.055
#: ([C2] bootstrap, METHOD_NOTES A.12).
BASELINE_GROWTH_OOM = 0.38
BASELINE_GROWTH_SD_OOM = 0.055

#: Slack when checking that forecast dates are not before the cut-off (rounding of decimal years).
YEAR_TOLERANCE = 1e-9

MAPPING = (
    "record R_s(t) = max(R(c), max(f_s(c), f_s(t)) + eps_s), eps_s ~ Normal(0, dataset_noise_sd_s) once per "
    "posterior draw; f_s = dataset frontier; R(c) = observed record at the cut-off (log10 tokens)"
)
BASELINE_TEXT = (
    f"Villalobos et al. 2024 style: log10 R(c) + G*(t - c), anchor R(c) = observed record at the cut-off, "
    f"G ~ Normal({BASELINE_GROWTH_OOM}, {BASELINE_GROWTH_SD_OOM}) OOM/yr clipped at 0"
)


def model_paths(
    level: np.ndarray,
    growth: np.ndarray,
    noise_sd: np.ndarray,
    cutoff_year: float,
    years: np.ndarray,
    record_log10: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Predictive paths of the record, log10 tokens, shape (draws, len(years)); see the module docstring."""
    level, growth, noise_sd = (np.asarray(a, dtype=float).ravel() for a in (level, growth, noise_sd))
    years = np.asarray(years, dtype=float)
    if np.any(years < cutoff_year - YEAR_TOLERANCE):
        raise ValueError("model_paths: forecast dates must be on or after the cut-off")
    eps = rng.standard_normal(level.size) * noise_sd
    at_cutoff = frontier_log10(cutoff_year, level, growth)
    line = frontier_log10(years[None, :], level[:, None], growth[:, None])
    return np.maximum(np.maximum(at_cutoff[:, None], line) + eps[:, None], record_log10)


RECORD_MAPPING = (
    "record process: from the observed record R(c) at the cut-off, the largest release of each month is a Gumbel "
    "draw around the fitted frontier F_s(t) continued by its growth form (scale dataset_record_scale_s), and the "
    "record is the running maximum"
)


def mapping_text(frontier_likelihood: str) -> str:
    """How the fitted model becomes predictive record paths, for scores.json and the page."""
    return RECORD_MAPPING if frontier_likelihood == "record" else MAPPING


def record_process_paths(
    frontier: RecordFrontier, cutoff_year: float, years: np.ndarray, record_log10: float, rng: np.random.Generator
) -> np.ndarray:
    """Predictive paths of the record under a record-process fit, log10 tokens, (draws, len(years)): simulated
    month by month from the record known at the cut-off (`forecast.model.record_paths.simulate_records`)."""
    years = np.asarray(years, dtype=float)
    if np.any(years < cutoff_year - YEAR_TOLERANCE):
        raise ValueError("record_process_paths: forecast dates must be on or after the cut-off")
    grid, where = fine_grid(np.concatenate([[cutoff_year], np.maximum(years, cutoff_year)]), GRID_STEP_YEARS)
    scale = frontier.draws["dataset_record_scale"]
    paths = simulate_records(frontier.at(grid, rng), grid, scale, record_log10, rng)
    return paths[:, where[1:]]


def baseline_paths(
    record_log10: float, cutoff_year: float, years: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Villalobos-style baseline paths, log10 tokens, shape (draws, len(years)); see the module docstring."""
    growth = np.clip(rng.normal(BASELINE_GROWTH_OOM, BASELINE_GROWTH_SD_OOM, draws), 0.0, None)
    # The same log-linear trend as the frontier, stated at the cut-off instead of at 2024.
    return frontier_log10(np.asarray(years, dtype=float)[None, :], record_log10, growth[:, None], anchor=cutoff_year)


def quantile_table(dates: pd.DatetimeIndex, paths: np.ndarray) -> pd.DataFrame:
    """Quantiles of the paths at each date, in tokens: date, q05, q10, q50, q90, q95."""
    q = np.quantile(paths, list(QUANTILES.values()), axis=0)
    table = pd.DataFrame({"date": pd.DatetimeIndex(dates).strftime("%Y-%m-%d")})
    for name, row in zip(QUANTILES, q, strict=True):
        table[name] = 10.0**row
    return table
