"""The compute arm's limits per draw: spending × FLOP per dollar, power × FLOP per joule, chips × FLOP/s.

Each limit of a scenario's `compute_limits` (`forecast.config.compute_limits`) becomes a line in log10 FLOP per
draw (`forecast.projection.demand.ComputeCaps`), from its cited prior and the fitted trends of what compute costs
(`forecast.model.supply`, posterior draws):

- spending share:  K = log10(share) + log10 GWP(t) + log10 FLOP-per-$(t)
- spending cap:    K = log10(cap $) + log10 FLOP-per-$(t)
- power:           K = log10(P(t) W) + log10 peak FLOP/J(t) + log10(utilisation / overhead) + log10(run seconds)
- chips:           K = log10(N(t) H100e) + log10(H100 peak FLOP/s) + log10(utilisation) + log10(run seconds)

The realised FLOP per dollar of recorded runs already contains their utilisation; peak FLOP per joule and per
chip do not, hence the utilisation factor there. Growth of each line is the sum of its factors' growths.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forecast.config.compute_limits import H100_FLOP_PER_SECOND
from forecast.errors import InputError
from forecast.model.trend import ANCHOR_YEAR
from forecast.projection.demand import ComputeCaps
from forecast.units import date_year

SECONDS_PER_DAY = 86_400.0

#: The fitted trends the limits read (posterior draws of `forecast.model.supply`).
SUPPLY_INPUTS = (
    "supply_price_level",
    "supply_price_growth",
    "supply_efficiency_level",
    "supply_efficiency_growth",
    "supply_gwp_level",
    "supply_gwp_growth",
)

#: The fitted FLOP per dollar a run's cost is computed with (`log10_cost`).
PRICE_INPUTS = ("supply_price_level", "supply_price_growth")

#: The priors of `ComputeLimits` drawn per draw, each under the input name `limit_<field>`.
PRIOR_FIELDS = (
    "spending_share_of_gwp",
    "spending_cap_usd",
    "power_gw",
    "power_growth_oom_per_year",
    "chips_h100e",
    "chips_growth_oom_per_year",
    "training_days",
    "utilisation",
    "power_overhead",
)


def limit_inputs(limits: Any, posterior: dict[str, np.ndarray], n: int, seed: int) -> dict[str, np.ndarray]:
    """Per-draw inputs of the limits: the fitted supply trends and a keyed draw of every prior switched on (the
    same prior in two scenarios gives the same draws)."""
    if limits is None:
        return {}
    missing = [name for name in SUPPLY_INPUTS if name not in posterior]
    if missing:
        raise InputError(
            f"compute_limits needs the fitted supply trends, but the posterior has no '{missing[0]}': "
            "data/compute_supply.csv needs three or more rows of every series forecast.model.supply fits, "
            "dated before the cut-off"
        )
    inputs = {name: np.asarray(posterior[name]) for name in SUPPLY_INPUTS}
    for field in PRIOR_FIELDS:
        prior = getattr(limits, field)
        if prior is not None:
            inputs[f"limit_{field}"] = prior.draw(n, seed, f"limit_{field}")
    return inputs


def _per_run_seconds(inputs: dict[str, np.ndarray]) -> np.ndarray:
    return np.log10(inputs["limit_training_days"] * SECONDS_PER_DAY)


def compute_caps(limits: Any, inputs: dict[str, np.ndarray]) -> ComputeCaps | None:
    """The limits of one scenario as lines in log10 FLOP per draw (None without limits)."""
    if limits is None or not limits.limits():
        return None
    price, price_growth = inputs["supply_price_level"], inputs["supply_price_growth"]
    names: list[str] = []
    levels: list[np.ndarray] = []
    slopes: list[np.ndarray] = []

    def add(name: str, level: np.ndarray, slope: np.ndarray) -> None:
        names.append(name)
        levels.append(np.asarray(level, dtype=float))
        slopes.append(np.broadcast_to(np.asarray(slope, dtype=float), np.shape(level)))

    if limits.spending_share_of_gwp is not None:
        share = np.log10(inputs["limit_spending_share_of_gwp"])
        add("spending", share + inputs["supply_gwp_level"] + price, inputs["supply_gwp_growth"] + price_growth)
    if limits.spending_cap_usd is not None:
        add("spending", np.log10(inputs["limit_spending_cap_usd"]) + price, price_growth)
    if limits.power_gw is not None:
        growth = inputs["limit_power_growth_oom_per_year"]
        watts_2024 = np.log10(inputs["limit_power_gw"] * 1e9) - growth * (date_year(limits.power_year) - ANCHOR_YEAR)
        realised = np.log10(inputs["limit_utilisation"] / inputs["limit_power_overhead"])
        level = watts_2024 + inputs["supply_efficiency_level"] + realised + _per_run_seconds(inputs)
        add("power", level, growth + inputs["supply_efficiency_growth"])
    if limits.chips_h100e is not None:
        growth = inputs["limit_chips_growth_oom_per_year"]
        chips_2024 = np.log10(inputs["limit_chips_h100e"]) - growth * (date_year(limits.chips_year) - ANCHOR_YEAR)
        peak = np.log10(H100_FLOP_PER_SECOND * inputs["limit_utilisation"])
        add("chips", chips_2024 + peak + _per_run_seconds(inputs), growth)
    return ComputeCaps(tuple(names), np.stack(levels), np.stack(slopes), ANCHOR_YEAR, float(limits.bend_width_oom))


def log10_cost(log10_compute: np.ndarray, t: np.ndarray, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """log10 constant dollars of a run with `log10_compute` FLOP at times `t`: compute over the fitted realised FLOP
    per dollar (draws along the first axis of `log10_compute`, times along the last)."""
    price = inputs["supply_price_level"][:, None] + inputs["supply_price_growth"][:, None] * (t[None] - ANCHOR_YEAR)
    return log10_compute - price
