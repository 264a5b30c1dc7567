"""Per-scenario input draws: posterior draws of the fitted parameters joined with forward draws of the rest.

The inputs without a likelihood (indexed pages, bytes per page, bytes per token, quality fraction, epochs, the
paper's stock-growth factors, a "given" dataset trend) have posterior = prior, independent of the fitted ones, so
drawing them forward next to the posterior draws is exact. Priors come from `data/stock_priors.csv` unless the
scenario overrides them; each prior is drawn from a stream keyed by its name, so scenarios that share a prior
share its draws (common random numbers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecast.config import DEFAULT_PER_USER_PRODUCTION_GROWTH
from forecast.priors import Prior

# Config override name -> row of data/stock_priors.csv that holds its default.
PRIOR_ROWS = {
    "indexed_pages": "indexed_pages",
    "bytes_per_page": "bytes_per_page",
    "bytes_per_token": "bytes_per_token",
    "page_size_growth": "page_size_growth",
    "page_count_growth": "page_count_growth",
    "quality_fraction": "quality_fraction",
    "epochs": "epochs",
    "dataset_start_tokens": "dataset_start_tokens_2024",
    "dataset_growth_oom_per_year": "dataset_growth_oom_per_year",
    "compute_start_flop": "compute_start_flop_2024",
    "compute_growth_oom_per_year": "compute_growth_oom_per_year",
}


def prior_from_row(row: pd.Series) -> Prior:
    """The prior stated by one row of data/stock_priors.csv."""
    ceiling = row.get("ceiling")
    return Prior(
        distribution=str(row["distribution"]),
        low=float(row["low"]),
        high=float(row["high"]),
        mass=float(row["mass"]),
        ceiling=None if ceiling is None or pd.isna(ceiling) else float(ceiling),
        source=str(row.get("source", "")),
    )


def resolve_prior(name: str, overrides: Any, stock_priors: pd.DataFrame) -> Prior:
    """The prior a scenario uses for `name`: its override if it gives one, else the data file's row."""
    override = getattr(overrides, name, None) if overrides is not None else None
    if override is not None:
        return override
    if name == "per_user_production_growth":
        return DEFAULT_PER_USER_PRODUCTION_GROWTH
    return prior_from_row(stock_priors.loc[PRIOR_ROWS[name]])


def draw_prior(name: str, prior: Prior, n: int, seed: int) -> np.ndarray:
    """`n` draws of the named prior from its own stream."""
    return prior.draw(n, seed, f"prior:{name}")


def balanced_arms(n: int, seed: int) -> np.ndarray:
    """Equal-weight mixture ([P2] Eq. 4): exactly half the draws follow the historical arm (True)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4D4958]))  # "MIX"
    return rng.permutation(n) < n // 2 + (n % 2) * int(rng.integers(0, 2))


def flatten(posterior: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(chain, draw) arrays -> 1-D arrays in chain-major order."""
    return {name: np.asarray(values).reshape(-1) for name, values in posterior.items()}
