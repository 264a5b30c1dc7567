"""Scenario switches inside a projection: the human-only stock, extra stocks and the synthetic-data gaps give
the same numbers whether built for all draws on the whole grid or for some draws at some points."""

from __future__ import annotations

import numpy as np

from forecast.config import load_config, resolve
from forecast.projection.scenario_model import stock_model, stock_paths, time_grid
from forecast.projection.switches import extra_stocks, human_share, switch_inputs, synthetic

GRID = time_grid(2024.0, 2060.0)
N = 1_100


def _scenario(name: str):
    return next(s for s in resolve(load_config("default")) if s.name == name)


def _inputs(rng: np.random.Generator, scenario) -> dict[str, np.ndarray]:
    inputs = {
        "indexed_pages": rng.lognormal(np.log(3e11), 0.5, N),
        "bytes_per_page": rng.normal(7000.0, 400.0, N),
        "bytes_per_token": rng.normal(4.0, 0.4, N),
        "quality_fraction": rng.uniform(0.1, 0.4, N),
        "epochs": rng.uniform(1.0, 5.0, N),
        "adoption_midpoint": rng.normal(2015.0, 1.0, N),
        "adoption_rate": rng.normal(0.17, 0.01, N),
        "per_user_production_growth": rng.normal(0.0, 0.01, N),
        "ai_c_max": rng.uniform(0.2, 0.8, N),
        "ai_k": rng.uniform(1.0, 8.0, N),
        "ai_t0": rng.normal(2024.0, 0.5, N),
    }
    posterior = {name: inputs[name] for name in human_share.AI_PARAMS}
    return inputs | switch_inputs(scenario, posterior, N, seed=3)


def test_human_only_stock_equals_the_dense_discount() -> None:
    scenario = _scenario("mixture-human-share")
    inputs = _inputs(np.random.default_rng(0), scenario)
    extended = human_share.human_share_grid(scenario.human_share, GRID)
    dense = human_share.discount_ai_share(
        scenario.human_share, inputs, extended, stock_paths(scenario, inputs, extended), GRID.size
    )
    human = human_share.human_only_stock(scenario.human_share, inputs, stock_model(scenario, inputs), GRID)
    np.testing.assert_array_equal(human.effective(np.arange(GRID.size)), dense["effective"])
    rows, index = np.array([5, 17, 900]), np.array([[0, 1], [100, 101], [431, 432]])
    np.testing.assert_array_equal(human.effective(index, rows), dense["effective"][rows[:, None], index])


def test_extra_stocks_and_synthetic_gaps_at_some_points() -> None:
    scenario = _scenario("mixture-synthetic")
    inputs = _inputs(np.random.default_rng(1), scenario) | switch_inputs(_scenario("mixture-nonpublic"), {}, N, seed=3)
    names = [s.name for s in _scenario("mixture-nonpublic").extra_stocks.stocks]
    effective = stock_paths(scenario, inputs, GRID)["effective"]
    total = extra_stocks.add_extra_stocks(effective, inputs, names)
    np.testing.assert_array_equal(extra_stocks.with_extra(effective, extra_stocks.extra_total(inputs, names, N)), total)
    tokens = effective + np.linspace(-1.0, 2.0, GRID.size)[None, :]
    supply_gap, guard_gap = synthetic.synthetic_supply(scenario.synthetic, inputs, GRID, total, tokens)
    rows, index = np.array([0, 3, 1_000]), np.array([[0, 5], [200, 201], [400, 432]])
    some = synthetic.synthetic_supply(
        scenario.synthetic, inputs, GRID[index], total[rows[:, None], index], tokens[rows[:, None], index], rows
    )
    np.testing.assert_array_equal(some[0], supply_gap[rows[:, None], index])
    np.testing.assert_array_equal(some[1], guard_gap[rows[:, None], index])
