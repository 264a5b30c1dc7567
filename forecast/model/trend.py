"""The frontier trend, the one equation that the fit, the projections, the backtest and the figures all evaluate.

Kept free of PyMC so the projections import it without the sampler; it works alike on numpy arrays and PyTensor
tensors (both broadcast `level + growth * (year - anchor)`).
"""

from __future__ import annotations

#: Where the frontier's level is stated: its value at 2024-01-01 (the paper's start of projection, [P2] §2.4).
ANCHOR_YEAR = 2024.0


def frontier_log10[T](year: T, level: T | float, growth: T | float, anchor: float = ANCHOR_YEAR) -> T:
    """log10 of the frontier at decimal `year`: `level` (log10 at `anchor`) plus `growth` OOM per year since then
    ([P2] Eq. 2, the log-linear trend of the largest training dataset or compute)."""
    return level + growth * (year - anchor)  # type: ignore[operator, return-value]
