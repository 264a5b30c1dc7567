"""What the report's "Compute ahead" section says: which limit binds on each scenario's compute paths, compute
at the end of 2030 against Epoch AI's anchor, and the fitted supply trends beside the published ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.formatting import DASH
from forecast.model.supply import TRENDS
from forecast.projection.compute_ahead import EPOCH_2030_FLOP

if TYPE_CHECKING:
    from forecast.run.result import RunResult

#: The published growth each fitted trend is shown beside: `compute_supply.csv` rows of series `growth_rate`, by
#: subject (the first listed that the data hold).
PUBLISHED_GROWTH: dict[str, tuple[str, ...]] = {
    "price": ("ML GPU FLOP/s per USD (n=26)",),
    "hardware": ("ML GPU FLOP/s per USD (n=26)", "GPU FLOP/s per USD (all GPUs, n=470)"),
    "efficiency": ("hardware energy efficiency (ten-year average)",),
    "gwp": ("gross world product real (2024, estimate)",),
    "cost": ("frontier training cost (amortized hardware+energy)",),
}

TREND_LABELS = {
    "price": "FLOP per dollar of recorded runs (compute / cost)",
    "hardware": "Peak FLOP/s per dollar of ML accelerators",
    "efficiency": "Peak FLOP per joule of ML accelerators",
    "gwp": "Gross world product (current dollars)",
    "cost": "Cost of the largest run (compute frontier growth − FLOP-per-dollar growth)",
}


def _factor(oom: np.ndarray | float) -> str:
    return f"{10.0 ** float(oom):.2f}×/yr"


def _interval(draws: np.ndarray) -> str:
    low, mid, high = np.quantile(draws, [0.05, 0.5, 0.95])
    return f"{_factor(mid)} [{_factor(low)}, {_factor(high)}]"


def _published(result: RunResult, name: str) -> str:
    supply = result.bundle.supply
    if supply is None:
        return DASH
    rows = supply[supply["series"] == "growth_rate"]
    for subject in PUBLISHED_GROWTH[name]:
        match = rows[rows["subject"] == subject]
        if len(match):
            row = match.iloc[0]
            low, high = row["value_low"], row["value_high"]
            spread = f" [{low:.2f}, {high:.2f}]" if np.isfinite(low) and np.isfinite(high) else ""
            return f"{row['value']:.2f}×/yr{spread} ({subject}; {row['source'].split(',')[0]})"
    return DASH


def supply_rows(result: RunResult) -> list[dict[str, str]]:
    """Each fitted supply trend's growth: prior, posterior (median and 90%), and the published figure."""
    posterior = result.idata.posterior
    rows = []
    for name, (_series, _level, (mean, sd), _noise) in TRENDS.items():
        variable = f"supply_{name}_growth"
        if variable not in posterior:
            continue
        prior = f"{_factor(mean)} (normal in OOM/yr, sd {sd:g})"
        draws = posterior[variable].values.ravel()
        rows.append(
            {
                "trend": TREND_LABELS[name],
                "prior": prior,
                "posterior": _interval(draws),
                "published": _published(result, name),
            }
        )
    if "supply_price_growth" in posterior and "compute_growth" in posterior:
        cost = posterior["compute_growth"].values.ravel() - posterior["supply_price_growth"].values.ravel()
        rows.append(
            {
                "trend": TREND_LABELS["cost"],
                "prior": "derived",
                "posterior": _interval(cost),
                "published": _published(result, "cost"),
            }
        )
    return rows


def _share(value: float) -> str:
    return f"{value:.0%}"


def limit_rows(result: RunResult) -> list[dict[str, str]]:
    """Per scenario with a compute arm: shares of its paths that each limit binds at their date, and compute at
    the end of 2030 (median, 80%) with the share at or above Epoch AI's 2e29 FLOP."""
    summary = result.summary.set_index("scenario") if len(result.summary) else None
    rows = []
    for row in result.compute_ahead.itertuples():
        median = (
            DASH
            if summary is None or row.scenario not in summary.index
            else f"{summary.loc[row.scenario, 'median']:.1f}"
        )
        rows.append(
            {
                "scenario": row.scenario,
                "limits": row.limits.replace(";", ", ") or "none",
                "trend": _share(row.share_trend),
                "spending": _share(row.share_spending),
                "power": _share(row.share_power),
                "chips": _share(row.share_chips),
                "compute_2030": (
                    f"{row.compute_2030_median:.2g} [{row.compute_2030_q10:.2g}, {row.compute_2030_q90:.2g}]"
                ),
                "p_anchor": _share(row.p_compute_2030_at_least_epoch_anchor),
                "cost_2030": DASH if not np.isfinite(row.cost_2030_median_usd) else f"${row.cost_2030_median_usd:.2g}",
                "median": median,
            }
        )
    return rows


def _year(value: float) -> str:
    return "after the horizon" if not np.isfinite(value) else f"{value:.1f}"


def selection_rows(result: RunResult) -> list[dict[str, str]]:
    """The compute frontier refitted per candidate window, with and without estimated closed-model compute."""
    rows = []
    for row in result.compute_sensitivity.itertuples():
        window = row.window_oom if row.window_oom == "all" else f"{float(row.window_oom):g} OOM"
        rows.append(
            {
                "window": window,
                "estimated": "with" if row.estimated_compute else "without",
                "runs": str(row.runs),
                "growth": f"{row.growth_median:.2f} [{row.growth_q05:.2f}, {row.growth_q95:.2f}]",
                "at_cutoff": f"{row.compute_at_cutoff_median:.2g}",
                "date": f"{_year(row.median)} [{_year(row.q10)}, {_year(row.q90)}]",
                "scenario": row.scenario,
                "fit": "converged" if row.converged else f"NOT converged ({row.divergences} divergences)",
            }
        )
    return rows


def compute_ahead_context(result: RunResult) -> dict[str, Any]:
    """The section's tables and the anchor it is read against."""
    return {
        "limits": limit_rows(result),
        "supply": supply_rows(result),
        "selection": selection_rows(result),
        "anchor": f"{EPOCH_2030_FLOP:.0e}",
    }
