"""Stock formulas: Muennighoff multiplier, raw stock, growth models, human-only stock (hand-computed)."""

import numpy as np
import pytest

from forecast.projection import stock


@pytest.mark.parametrize(
    ("epochs", "multiplier"),
    # METHOD_NOTES A.3.1 multiplier table (2 decimals).
    [(1, 1.00), (2, 1.97), (4, 3.73), (5, 4.52), (10, 7.81), (16, 10.58), (40, 15.17)],
)
def test_muennighoff_table(epochs: float, multiplier: float) -> None:
    assert stock.repetition_multiplier(epochs) == pytest.approx(multiplier, abs=0.005)


def test_muennighoff_exact_and_inverse() -> None:
    r = stock.MUENNIGHOFF_R_STAR_D
    assert stock.repetition_multiplier(3.0) == pytest.approx(1 + r * (1 - np.exp(-2 / r)))
    assert stock.repetition_multiplier(1e6) == pytest.approx(1 + r)  # ceiling 16.39
    m = np.array([1.0, 2.0, 5.0, 10.0])
    np.testing.assert_allclose(stock.repetition_multiplier(stock.epochs_for_multiplier(m)), m)
    with pytest.raises(ValueError):
        stock.repetition_multiplier(0.5)


def test_raw_stock_reproduces_510T_median() -> None:
    # [P2] Table 1: 2.5e11 pages x 7000 bytes / 4 bytes per token ~ 4.4e14; with the code's 2.74e11 pages and
    # 7072 bytes: 4.84e14 (the 510T median is of the product distribution, which has a wider right tail).
    value = 10 ** stock.log10_raw_stock(np.array([2.74e11]), np.array([7072.0]), np.array([4.0]))
    assert value[0] == pytest.approx(2.74e11 * 7072 / 4)
    floor = stock.log10_raw_stock(np.array([1.0]), np.array([1.0]), np.array([-3.0]))
    assert floor[0] == pytest.approx(0.0)  # bytes per token floored at 1


def _one_draw(**growth) -> stock.StockPaths:
    """One draw of the stock with the given growth inputs (the level inputs do not enter its growth)."""
    one = np.array([1.0])
    return stock.StockPaths.from_inputs(one, one, one, one, one, anchor=2024.0, **growth)


def test_growth_prior_and_users_model() -> None:
    grid = np.array([2024.0, 2025.0, 2034.0])
    g = _one_draw(yearly_factor=np.array([1.08])).growth(grid)
    np.testing.assert_allclose(10 ** g[0], [1.0, 1.08, 1.08**10])
    # Users model: ratio of softplus(k (t - t0)); at t0 far in the past it tends to linear growth in t.
    k, t0 = np.array([0.17]), np.array([2014.9])
    users = _one_draw(adoption_midpoint=t0, adoption_rate=k, production_drift=np.array([0.0])).growth(grid)
    expected = np.log(np.logaddexp(0, k * (grid - t0))) - np.log(np.logaddexp(0, k * (2024 - t0)))
    np.testing.assert_allclose(users[0], expected / np.log(10))
    rate = stock.users_growth_rate(2024.0, t0, k)[0]
    assert np.log(10 ** users[0, 1]) == pytest.approx(rate, rel=0.05)  # one year ~ instantaneous rate


def test_human_only_stock_discounts_later_increments() -> None:
    grid = np.array([2022.0, 2023.0, 2024.0])
    log_stock = np.log10(np.array([[100.0, 110.0, 130.0]]))
    share = np.array([[0.0, 0.5, 0.5]])
    human = 10 ** stock.human_only_log10_stock(grid, log_stock, share, from_year=2022.5, discount=1.0)
    np.testing.assert_allclose(human[0], [100.0, 105.0, 115.0])
    none = 10 ** stock.human_only_log10_stock(grid, log_stock, share, from_year=2022.5, discount=0.0)
    np.testing.assert_allclose(none[0], [100.0, 110.0, 130.0])
    with pytest.raises(ValueError):
        stock.human_only_log10_stock(grid, log_stock, share, from_year=2021.0, discount=1.0)


# StockPaths, HumanOnlyStock and in_row_blocks: the same numbers wherever they are evaluated.

GRID = 2024.0 + np.arange(433) / 12.0


def _paths(rng: np.random.Generator, n: int = 300, prior: bool = False) -> stock.StockPaths:
    growth = (
        {"yearly_factor": rng.uniform(1.0, 1.15, n)}
        if prior
        else {
            "adoption_midpoint": rng.normal(2015.0, 3.0, n),
            "adoption_rate": np.exp(rng.normal(np.log(0.17), 0.5, n)),
            "production_drift": rng.normal(0.0, 0.2, n),
        }
    )
    return stock.StockPaths.from_inputs(
        rng.lognormal(np.log(3e11), 0.5, n),
        rng.normal(7000.0, 500.0, n),
        rng.normal(4.0, 0.5, n),
        rng.uniform(0.1, 0.4, n),
        rng.uniform(1.0, 6.0, n),
        anchor=2024.0,
        **growth,
    )


@pytest.mark.parametrize("prior", [False, True])
def test_stock_paths_equal_the_full_grid_anywhere(prior: bool) -> None:
    rng = np.random.default_rng(0)
    paths = _paths(rng, prior=prior)
    raw = paths.raw0[:, None] + paths.growth(GRID)
    effective = raw + paths.quality_offset[:, None] + paths.repetition_offset[:, None]
    np.testing.assert_array_equal(paths.stages(GRID)["raw"], raw)
    np.testing.assert_array_equal(paths.effective(GRID), effective)
    index = rng.integers(0, GRID.size, (300, 2))
    np.testing.assert_array_equal(paths.effective(GRID[index]), effective[np.arange(300)[:, None], index])
    # The growth bound holds at every step of the grid.
    steps = np.diff(effective, axis=1) / np.diff(GRID)
    assert np.all(steps <= paths.most_growth(GRID[0])[:, None] + 1e-9)


def test_human_only_stock_equals_the_dense_formula() -> None:
    rng = np.random.default_rng(2)
    paths = _paths(rng, n=1_300)  # several row blocks
    extended = np.concatenate([GRID[0] - np.arange(15, 0, -1) / 12.0, GRID])
    share = rng.uniform(0.0, 0.6, (1_300, extended.size))
    stages = paths.stages(extended)
    for threads in (1, 2):
        human = stock.HumanOnlyStock.from_paths(
            paths, extended, GRID.size, lambda rows: share[rows], 2022.9, 0.8, threads
        )
        for stage, path in stages.items():
            dense = stock.human_only_log10_stock(extended, path, share, 2022.9, 0.8)[:, -GRID.size :]
            tolerance = 0.0 if stage == "effective" else 1e-13  # the other stages are derived from it
            np.testing.assert_allclose(human.stages(np.arange(GRID.size))[stage], dense, rtol=0, atol=tolerance)
        rises = np.diff(np.log10(human.tokens), axis=1)
        np.testing.assert_allclose(human.most_step_growth(), rises.max(axis=1), atol=1e-12)


def test_in_row_blocks_stacks_blocks_in_order() -> None:
    def compute(rows: slice) -> tuple[np.ndarray, np.ndarray]:
        values = np.arange(rows.start, rows.stop, dtype=float)
        return np.stack([values, -values], axis=1), values

    for n, threads in ((7, 1), (2_345, 1), (2_345, 3)):
        pairs, single = stock.in_row_blocks(compute, n, (2, None), threads)
        np.testing.assert_array_equal(single, np.arange(n))
        np.testing.assert_array_equal(pairs[:, 1], -np.arange(n))
