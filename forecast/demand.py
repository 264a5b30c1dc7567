"""Demand: the largest training dataset (tokens) over time, as log10 paths over a time grid.

Two arms, as in Villalobos et al. 2024 ([P2] §2.4, Eqs. 2–4):
- historical: the frontier dataset grows log-linearly (fitted here; the paper bootstraps it);
- compute: the frontier training compute C(t) grows log-linearly with an optional slowdown, and the dataset is the
  Chinchilla-optimal one for that compute, D = sqrt(20·k·C / 6) for an overtraining factor k ([P2] Eq. 3, fn. 23).

All functions take per-draw parameter arrays (shape (n,)) and a grid of decimal years (shape (T,)) and return
(n, T) arrays; nothing loops over draws.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

# C = 6·N·D: training FLOP per parameter per token (Kaplan et al. 2020; [P2] Eq. 3).
FLOP_PER_PARAMETER_TOKEN = 6.0
# Compute-optimal tokens per parameter (Hoffmann et al. 2022, "Chinchilla"; [P2] Eq. 3).
CHINCHILLA_TOKENS_PER_PARAMETER = 20.0

ProfitPolicy = Literal["near_optimal", "5x", "100x"]

# Data multiple of the profit-maximising policy vs compute-optimal at two compute levels, from running the
# [C2] profit model (METHOD_NOTES A.10 table, reproduction [R]). As in [C2] `numerical_optscal_data`, the
# policy is a straight line in log-log space through the first and last converged grid points.
#   near_optimal = (V0 1e13, r 7, h 1.1): D/N 16 at 1e24 FLOP, 10.9 at 1e28 -> data multiple sqrt((D/N)/20)
#   5x           = (V0 1e15, r 7, h 2):   data multiple 2.26 at 1e24, 2.06 at 1e28
#   100x         = (V0 1e16, r 10, h 2.4): data multiple 9.8 at 1e24, 15.3 at 1e28
PROFIT_POLICY_POINTS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "near_optimal": ((24.0, float(np.sqrt(16 / 20))), (28.0, float(np.sqrt(10.9 / 20)))),
    "5x": ((24.0, 2.26), (28.0, 2.06)),
    "100x": ((24.0, 9.8), (28.0, 15.3)),
}


def log10_chinchilla_tokens(log10_compute: np.ndarray, overtraining: float = 1.0) -> np.ndarray:
    """log10 of D = sqrt(20·k·C/6): the dataset of a run using compute C at k× Chinchilla tokens/parameter."""
    factor = CHINCHILLA_TOKENS_PER_PARAMETER * overtraining / FLOP_PER_PARAMETER_TOKEN
    return 0.5 * (np.log10(factor) + log10_compute)


def log10_compute_for_tokens(log10_tokens: np.ndarray, overtraining: float = 1.0) -> np.ndarray:
    """Inverse of `log10_chinchilla_tokens`: C = 6·D² / (20·k)."""
    factor = CHINCHILLA_TOKENS_PER_PARAMETER * overtraining / FLOP_PER_PARAMETER_TOKEN
    return 2.0 * log10_tokens - np.log10(factor)


def log10_profit_multiple(log10_compute: np.ndarray, policy: ProfitPolicy) -> np.ndarray:
    """log10 of the data multiple over compute-optimal chosen by a [P2] App. F profit-model policy."""
    (c1, m1), (c2, m2) = PROFIT_POLICY_POINTS[policy]
    slope = (np.log10(m2) - np.log10(m1)) / (c2 - c1)
    return np.log10(m1) + slope * (log10_compute - c1)


def overtrained_log10_tokens(
    log10_optimal_tokens: np.ndarray,
    log10_compute: np.ndarray,
    factor: float = 1.0,
    profit_policy: ProfitPolicy | None = None,
) -> np.ndarray:
    """Dataset of an overtrained run at the same compute as a compute-optimal run with `log10_optimal_tokens`."""
    if profit_policy is not None:
        return log10_optimal_tokens + log10_profit_multiple(log10_compute, profit_policy)
    return log10_optimal_tokens + 0.5 * np.log10(factor)


def log_linear_path(grid: np.ndarray, level: np.ndarray, growth: np.ndarray, anchor: float) -> np.ndarray:
    """log10 y(t) = level + growth·(t − anchor), per draw: the historical-trend arm ([P2] Eq. 2)."""
    return np.asarray(level)[:, None] + np.asarray(growth)[:, None] * (grid[None, :] - anchor)


def log10_compute_path(
    grid: np.ndarray,
    level: np.ndarray,
    growth: np.ndarray,
    anchor: float,
    slowdown_year: np.ndarray | None = None,
    growth_after: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Frontier compute: log-linear growth until `slowdown_year` (per draw), then `growth_after` OOM/yr."""
    if slowdown_year is None:
        return log_linear_path(grid, level, growth, anchor)
    elapsed = grid[None, :] - anchor
    before = np.asarray(slowdown_year)[:, None] - anchor
    fast = np.minimum(elapsed, before)
    slow = np.maximum(elapsed - before, 0.0)
    return (
        np.asarray(level)[:, None]
        + np.asarray(growth)[:, None] * fast
        + np.broadcast_to(np.asarray(growth_after, dtype=float), np.shape(level))[:, None] * slow
    )
