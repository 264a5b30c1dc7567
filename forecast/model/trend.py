"""The frontier trend, the one equation that the fit, the projections, the backtest and the figures all evaluate,
and the record of a record-process fit continued along it (what the projection's historical arm follows).

Kept free of PyMC and pandas so the projections import it without the sampler; `frontier_log10` works alike on
numpy arrays and PyTensor tensors (both broadcast `level + growth * (year - anchor)`).
"""

from __future__ import annotations

import numpy as np

#: Where the frontier's level is stated: its value at 2024-01-01 (the paper's start of projection, [P2] §2.4).
ANCHOR_YEAR = 2024.0


def frontier_log10[T](year: T, level: T | float, growth: T | float, anchor: float = ANCHOR_YEAR) -> T:
    """log10 of the frontier at decimal `year`: `level` (log10 at `anchor`) plus `growth` OOM per year since then
    ([P2] Eq. 2, the log-linear trend of the largest training dataset or compute)."""
    return level + growth * (year - anchor)  # type: ignore[operator, return-value]


def record_quantile_path(
    t: np.ndarray,
    frontier_at_start: np.ndarray,
    growth: np.ndarray,
    scale: np.ndarray,
    start_year: float,
    start_log10: float,
    quantile: np.ndarray,
) -> np.ndarray:
    """The record of a record-process frontier (`forecast.model.record`) at times `t` (log10), at one quantile
    of its distribution given the record `start_log10` at `start_year`, for a frontier linear after the start
    (F(c) = `frontier_at_start`, slope `growth`).

    Releases above r between c and t number N(r, t) = exp((F(c) − r)/s) · (t − c) · expm1(x)/x on average, with
    x = g(t − c)/s, and P(record_t ≤ r) = exp(−N) for r above the start; so the quantile u is
    r = F(c) + s·log((t − c)·expm1(x)/x) − s·log(−log u), and the record is the larger of that and the start.
    A draw that keeps one u has the exact distribution of the record at every t, and its path rises
    monotonically from the record known at the start: the demand of a projection starts at what was observed.
    """
    elapsed = np.maximum(np.asarray(t, dtype=float) - start_year, 0.0)
    x = growth * elapsed / scale
    small = np.abs(x) < 1e-8
    relative = np.where(small, 1.0 + 0.5 * x, np.expm1(x) / np.where(small, 1.0, x))
    with np.errstate(divide="ignore"):
        window = np.log(elapsed * relative)  # −inf at the start itself: the record is the start there
    return np.maximum(start_log10, frontier_at_start + scale * (window - np.log(-np.log(quantile))))
