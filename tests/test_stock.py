"""Stock formulas: Muennighoff multiplier, raw stock, growth models, human-only stock (hand-computed)."""

import numpy as np
import pytest

from forecast import stock


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


def test_growth_prior_and_users_model() -> None:
    grid = np.array([2024.0, 2025.0, 2034.0])
    g = stock.log10_growth_prior(grid, np.array([1.08]), 2024.0)
    np.testing.assert_allclose(10 ** g[0], [1.0, 1.08, 1.08**10])
    # Users model: ratio of softplus(k (t - t0)); at t0 far in the past it tends to linear growth in t.
    k, t0 = np.array([0.17]), np.array([2014.9])
    users = stock.log10_growth_users(grid, t0, k, np.array([0.0]), 2024.0)
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
