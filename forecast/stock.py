"""Supply: the effective stock of public human text (tokens) over time, as log10 paths.

S_eff(t) = N_IW · B_P / bytes_per_token · growth(t) · Q · M(epochs)          ([P2] §2.2–2.3, METHOD_NOTES A.0)

- N_IW unique indexed pages, B_P plain-text bytes per page, bytes per token: the raw indexed-web stock in 2024.
- growth(t): either the paper's prior (page-size × page-count growth per year), or the internet-users model:
  the stock grows with cumulative person-years online (the paper's own robustness model, [P2] §2.2.2 / A.6),
  with the adoption curve fitted to data in `forecast.model`.
- Q quality fraction; M(epochs) the Muennighoff et al. 2023 effective-data multiplier for repeated epochs.
"""

from __future__ import annotations

import numpy as np

# Fitted repetition constant R*_D of the effective-data formula D' = U + U·R*·(1 − exp(−R/R*)),
# Muennighoff et al. 2023, huggingface/datablations README "Parametric Fit" (METHOD_NOTES A.3.1).
MUENNIGHOFF_R_STAR_D = 15.387756


def repetition_multiplier(epochs: np.ndarray | float) -> np.ndarray:
    """Effective data D'/U after `epochs` passes over U unique tokens (R = epochs − 1 repetitions)."""
    repetitions = np.asarray(epochs, dtype=float) - 1.0
    if np.any(repetitions < 0):
        raise ValueError("epochs must be at least 1")
    return 1.0 + MUENNIGHOFF_R_STAR_D * (1.0 - np.exp(-repetitions / MUENNIGHOFF_R_STAR_D))


def epochs_for_multiplier(multiplier: np.ndarray | float) -> np.ndarray:
    """Inverse of `repetition_multiplier`; the multiplier must lie in [1, 1 + R*)."""
    m = np.asarray(multiplier, dtype=float)
    if np.any((m < 1) | (m >= 1 + MUENNIGHOFF_R_STAR_D)):
        raise ValueError(f"a repetition multiplier must lie in [1, {1 + MUENNIGHOFF_R_STAR_D:.3f})")
    return 1.0 - MUENNIGHOFF_R_STAR_D * np.log(1.0 - (m - 1.0) / MUENNIGHOFF_R_STAR_D)


# A byte-level BPE token covers at least one byte. The paper's reflected-lognormal prior for bytes per token
# (6 − LogNormal, [C2]) puts ~0.1% of its mass at or below zero; those draws are raised to this floor.
MIN_BYTES_PER_TOKEN = 1.0


def log10_raw_stock(indexed_pages: np.ndarray, bytes_per_page: np.ndarray, bytes_per_token: np.ndarray) -> np.ndarray:
    """log10 tokens of the raw indexed web at the anchor date ([P2] Eq. 1 without growth)."""
    per_token = np.maximum(bytes_per_token, MIN_BYTES_PER_TOKEN)
    return np.log10(indexed_pages) + np.log10(bytes_per_page) - np.log10(per_token)


def log10_growth_prior(grid: np.ndarray, yearly_factor: np.ndarray, anchor: float) -> np.ndarray:
    """Stock growth as a constant factor per year (the paper's page-size × page-count growth)."""
    return np.log10(np.asarray(yearly_factor))[:, None] * (grid[None, :] - anchor)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x), computed stably."""
    return np.logaddexp(0.0, x)


def log10_growth_users(
    grid: np.ndarray,
    adoption_midpoint: np.ndarray,
    adoption_rate: np.ndarray,
    production_drift: np.ndarray,
    anchor: float,
) -> np.ndarray:
    """Stock growth proportional to cumulative person-years online, times a per-user production drift.

    With penetration L·σ(k(t − t0)) the cumulative person-years since −∞ are L·softplus(k(t − t0))/k, so the
    ratio to the anchor year needs neither L nor the population level (population growth is not modelled).
    `production_drift` is the yearly log-change of text produced per user-year ([P2] assumes zero).
    """
    k = np.asarray(adoption_rate)[:, None]
    t0 = np.asarray(adoption_midpoint)[:, None]
    ratio = np.log(softplus(k * (grid[None, :] - t0))) - np.log(softplus(k * (anchor - t0)))
    drift = np.asarray(production_drift)[:, None] * (grid[None, :] - anchor)
    return (ratio + drift) / np.log(10.0)


def users_growth_rate(year: float, adoption_midpoint: np.ndarray, adoption_rate: np.ndarray) -> np.ndarray:
    """Yearly growth rate of cumulative person-years online at `year` (k·σ/softplus), for reporting."""
    x = np.asarray(adoption_rate) * (year - np.asarray(adoption_midpoint))
    return np.asarray(adoption_rate) / (1.0 + np.exp(-x)) / softplus(x)


def human_only_log10_stock(
    grid: np.ndarray, log10_stock: np.ndarray, ai_share: np.ndarray, from_year: float, discount: float
) -> np.ndarray:
    """Stock counting only the human part of content added after `from_year`.

    Increments of the stock after `from_year` are scaled by (1 − discount·ai_share(t)); `discount` in [0, 1] is
    the confidence in the AI-text detectors behind `ai_share` (0 ignores them). The grid must start at or
    before `from_year` so that every discounted increment is on it.
    """
    if grid[0] > from_year:
        raise ValueError(f"the grid starts at {grid[0]:.2f}, after {from_year:.2f}: extend it back")
    stock = 10.0**log10_stock
    increments = np.diff(stock, axis=1, prepend=stock[:, :1])
    weight = np.where(grid[None, :] > from_year, 1.0 - discount * ai_share, 1.0)
    return np.log10(stock[:, :1] + np.cumsum(increments * weight, axis=1))
