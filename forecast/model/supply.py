"""What compute costs: the fitted trends behind the compute arm's limits (`forecast.projection.compute_limits`).

Compute of the largest run = its spending × the FLOP a dollar buys. The compute frontier of recorded runs
(`forecast.model.frontier`) anchors the level and growth of compute; this block fits the factors the limits are
made of, each a log-linear trend with Student-t noise (a few rows are estimates far off the line):

- **realised FLOP per dollar** of recorded runs (their compute over their cost, `compute_supply.csv` series
  `realised_flop_per_usd`): what turns a spending limit into a compute limit;
- **hardware price-performance**, peak FLOP/s per dollar of ML accelerators (for comparison with the realised
  figure: the report shows both growths);
- **hardware energy efficiency**, peak FLOP per joule (what turns a power limit into a compute limit);
- **gross world product** in current dollars (what a spending share of the economy is a share of). The costs are
  in 2023 dollars and the world product in current ones (no deflator series is in the data): its growth
  includes inflation, ~0.01 OOM/yr, which makes a spending-share limit grow that much too fast.

Names are prefixed `supply_`; levels are log10 at 2024-01-01 (`forecast.model.trend.ANCHOR_YEAR`). No parameter is
shared with another block. The priors are wide relative to the data (scales stated below) so the rows decide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.model.trend import frontier_log10
from forecast.units import decimal_year

#: The trends of this block: name -> (series of compute_supply.csv, prior (mean, sd) of the level at 2024 in log10
#: units, prior (mean, sd) of the growth in OOM/yr, HalfNormal scale of the noise in OOM).
#: Centres: realised FLOP/$ ~5e17 (GPT-4's 2.1e25 FLOP at Cottier et al. 2024's ~$40M); price-performance and
#: efficiency growth ~0.12 OOM/yr (GPU FLOP/s per $ doubling every ~2.5 years, Hobbhahn & Besiroglu 2022); GWP
#: ~$1e14 growing ~3-5%/yr (0.013-0.02 OOM/yr, real and nominal). The sds are wide against what the rows pin
#: down (the report's prior-vs-posterior table shows both).
TRENDS: dict[str, tuple[str, tuple[float, float], tuple[float, float], float]] = {
    "price": ("realised_flop_per_usd", (17.5, 1.5), (0.12, 0.15), 0.5),
    "hardware": ("hardware_flop_per_second_per_usd", (10.0, 2.0), (0.12, 0.15), 0.5),
    "efficiency": ("hardware_flop_per_joule", (12.0, 1.5), (0.12, 0.15), 0.5),
    "gwp": ("gross_world_product_usd", (14.0, 0.5), (0.02, 0.03), 0.05),
}

#: Degrees of freedom of the Student-t noise: heavy enough tails that one estimate off by an order of magnitude
#: moves a line little (Gelman et al., BDA3 §17.2 use 4 as a robust default).
STUDENT_NU = 4.0

#: Rows from this date on enter the fit: deep-learning-era hardware and runs (before 2010 accelerators were not
#: used for training; the training-run rows start in 2016).
EARLIEST_YEAR = 2010.0


@dataclass(frozen=True)
class SupplyData:
    """The rows of each trend: decimal years and log10 values, by trend name."""

    year: dict[str, np.ndarray]
    log10: dict[str, np.ndarray]


def supply_data_from_frame(frame: pd.DataFrame | None, cutoff_year: float | None = None) -> SupplyData | None:
    """The rows each trend fits, dated up to `cutoff_year` (None: all); None without a frame or when a trend has
    fewer than three rows (nothing to fit a line and its noise to)."""
    if frame is None:
        return None
    years: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    for name, (series, *_rest) in TRENDS.items():
        rows = frame[(frame["series"] == series) & frame["value"].notna()]
        year = decimal_year(rows["date"])
        keep = (year >= EARLIEST_YEAR) & (year <= (np.inf if cutoff_year is None else cutoff_year))
        if keep.sum() < 3:
            return None
        years[name] = year[keep]
        values[name] = np.log10(rows["value"].to_numpy(dtype=float)[keep])
    return SupplyData(years, values)


def add_supply_block(data: SupplyData, prefix: str = "supply") -> None:
    """The four trends, in the model in context: `{prefix}_{trend}_level`, `_growth`, `_noise_sd`."""
    import pymc as pm

    model = pm.modelcontext(None)
    for name, (_series, level_prior, growth_prior, noise_scale) in TRENDS.items():
        stem = f"{prefix}_{name}"
        model.add_coords({f"{stem}_row": np.arange(data.year[name].size)})
        level = pm.Normal(f"{stem}_level", *level_prior)
        growth = pm.Normal(f"{stem}_growth", *growth_prior)
        noise = pm.HalfNormal(f"{stem}_noise_sd", noise_scale)
        pm.StudentT(
            f"{stem}_obs",
            nu=STUDENT_NU,
            mu=frontier_log10(data.year[name], level, growth),
            sigma=noise,
            observed=data.log10[name],
            dims=f"{stem}_row",
        )


def supply_parameters(prefix: str = "supply") -> tuple[str, ...]:
    """The scalar parameters of the block, for reports and the projection."""
    return tuple(f"{prefix}_{name}_{part}" for name in TRENDS for part in ("level", "growth", "noise_sd"))
