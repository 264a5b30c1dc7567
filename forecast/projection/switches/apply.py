"""The paper's open questions as scenario switches: AI-written web text, synthetic data, non-public stocks.

Each switch (`human_share`, `synthetic`, `extra_stocks` of a scenario) changes the supply side of a projection;
`forecast.projection.scenarios` computes the same scenario with all switches off as its baseline, so each effect on
the date is a paired difference over the same draws.

- Human share: stock increments after `from_year` count by (1 − discount·c(t)), c(t) the fitted AI share of new
  web text (`forecast.model.ai_share`, fitted in the main model with prefix `ai_`).
- Extra stocks: the accessible part (tokens × access fraction) of each non-public or multimodal stock is added to
  the effective stock, held constant in time (their growth is not modelled).
- Synthetic data: generated tokens count at value v each, up to the cap set by the minimum real share r*
  (`forecast.projection.switches.synthetic`); reported as two extra dates, not as the scenario's main date.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forecast.model.ai_share import ai_share
from forecast.priors import Prior
from forecast.projection import stock
from forecast.projection.switches.synthetic import real_share_needed, supply_with_synthetic, synthetic_available

AI_PARAMS = {"ai_c_max": "c_max", "ai_k": "k", "ai_t0": "t0"}


def draw_extension(interval: Prior, n: int, seed: int, name: str) -> np.ndarray:
    """Draws of an extension prior from a stream keyed by its name (common random numbers across scenarios)."""
    return interval.draw(n, seed, f"extension:{name}")


def extension_inputs(scenario: Any, posterior: dict[str, np.ndarray], n: int, seed: int) -> dict[str, np.ndarray]:
    """Per-draw inputs of the enabled extensions, named for the sensitivity table."""
    inputs: dict[str, np.ndarray] = {}
    if scenario.human_share.enabled:
        inputs.update({name: posterior[name] for name in AI_PARAMS})
    syn = scenario.synthetic
    if syn.enabled:
        for name in ("tokens_per_year", "growth_per_year", "value_per_token", "min_real_share"):
            inputs[f"synthetic_{name}"] = draw_extension(getattr(syn, name), n, seed, f"synthetic_{name}")
    if scenario.extra_stocks.enabled:
        for s in scenario.extra_stocks.stocks:
            tokens = draw_extension(s.tokens, n, seed, f"{s.name}_tokens")
            access = draw_extension(s.access_fraction, n, seed, f"{s.name}_access")
            inputs[f"extra_{s.name}"] = tokens * access
    return inputs


def human_share_grid(scenario: Any, grid: np.ndarray) -> np.ndarray:
    """The projection grid extended back (same step) to cover `human_share.from_year`."""
    step = grid[1] - grid[0]
    back = int(np.ceil((grid[0] - scenario.human_share.from_year) / step - 1e-9))
    return np.concatenate([grid[0] - step * np.arange(max(back, 0), 0, -1), grid])


def discount_ai_share(
    scenario: Any, inputs: dict[str, np.ndarray], extended: np.ndarray, stocks: dict[str, np.ndarray], size: int
) -> dict[str, np.ndarray]:
    """Stocks counting only human text added after `from_year`, trimmed to the last `size` grid points."""
    share = ai_share(extended, *(inputs[name] for name in AI_PARAMS))
    settings = scenario.human_share
    return {
        stage: stock.human_only_log10_stock(extended, path, share, settings.from_year, settings.discount)[:, -size:]
        for stage, path in stocks.items()
    }


def human_only_stock(
    scenario: Any, inputs: dict[str, np.ndarray], paths: stock.StockPaths, grid: np.ndarray, threads: int | None = None
) -> stock.HumanOnlyStock:
    """The human-only stock on `grid` (computed on the grid extended back to `human_share.from_year`, in row
    blocks on up to `threads` threads, default one per CPU)."""
    extended = human_share_grid(scenario, grid)
    settings = scenario.human_share

    def share(rows: slice) -> np.ndarray:
        return ai_share(extended, *(inputs[name][rows] for name in AI_PARAMS))

    return stock.HumanOnlyStock.from_paths(
        paths, extended, grid.size, share, settings.from_year, settings.discount, threads
    )


def extra_total(inputs: dict[str, np.ndarray], names: list[str], n: int) -> np.ndarray:
    """Per draw, the accessible tokens of the extra stocks named, summed in the order given."""
    return sum((inputs[f"extra_{name}"] for name in names), np.zeros(n))


def with_extra(log10_effective: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """log10 of the effective stock (n, k) plus a constant extra stock per draw (n,)."""
    return np.log10(10.0**log10_effective + extra[:, None])


def add_extra_stocks(log10_effective: np.ndarray, inputs: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """log10 of the effective stock plus the accessible extra stocks named."""
    return with_extra(log10_effective, extra_total(inputs, names, log10_effective.shape[0]))


def synthetic_supply(
    scenario: Any,
    inputs: dict[str, np.ndarray],
    grid: np.ndarray,
    log10_human: np.ndarray,
    log10_demand: np.ndarray,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaps (log10 demand − log10 supply with synthetic data) and (r* − real share needed), per draw and time.

    `grid` is the grid (T,) or times per draw (len(rows), k); `rows` selects the draws of `inputs` (None: all).
    """
    syn = scenario.synthetic

    def per_draw(name: str) -> np.ndarray:
        values = inputs[f"synthetic_{name}"]
        return values if rows is None else values[rows]

    available = synthetic_available(grid, syn.start_year, per_draw("tokens_per_year"), per_draw("growth_per_year"))
    human = 10.0**log10_human
    v, r_star = per_draw("value_per_token")[:, None], per_draw("min_real_share")[:, None]
    supply = supply_with_synthetic(human, available, v, r_star)
    real_share = real_share_needed(10.0**log10_demand, human, v)
    return log10_demand - np.log10(supply), r_star - real_share
