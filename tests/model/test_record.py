"""The record-process frontier: which rows set the record, the record path, and its likelihood (numpy and the
PyMC model computing the same equations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.config.schema import FitSettings
from forecast.model import record
from forecast.model.trend import ANCHOR_YEAR
from forecast.units import decimal_year


def _runs(rows: list[tuple[str, str, float, str, str, str]]) -> pd.DataFrame:
    """Runs as the loader gives them: model, date, tokens, tokens_scope, tokens_bound, flags."""
    frame = pd.DataFrame(
        rows, columns=["model", "publication_date", "dataset_tokens", "tokens_scope", "tokens_bound", "flags"]
    )
    frame["publication_date"] = pd.to_datetime(frame["publication_date"])
    frame["tokens_basis"] = np.where(frame["flags"] == "leak", "leak", "reported")
    return frame


RUNS = _runs(
    [
        ("A", "2020-01-01", 1e11, "total", "point", ""),
        ("B", "2020-06-01", 5e10, "total", "point", ""),  # below the record: no event
        ("C", "2021-01-01", 4e11, "total", "point", ""),
        ("C-small", "2021-01-01", 2e11, "total", "point", ""),  # same date as C: counts once, as the larger
        ("D", "2021-06-01", 9e12, "increment", "point", ""),  # continued pretraining: never sets the record
        ("E", "2021-09-01", 8e12, "total", "upper", ""),  # "up to": never sets the record
        ("F", "2022-01-01", 5e12, "total", "point", "leak"),  # leaked: not unless asked
        ("G", "2022-06-01", 2e12, "total", "lower", ""),  # "over 2T": a record, as a lower bound
    ]
)


def test_record_setters_keep_whole_datasets_points_and_lower_bounds() -> None:
    assert list(RUNS.loc[record.record_setters(RUNS), "model"]) == ["A", "B", "C", "C-small", "G"]
    with_leaks = RUNS.loc[record.record_setters(RUNS, leaks=True), "model"]
    assert list(with_leaks) == ["A", "B", "C", "C-small", "F", "G"]


def test_empty_bound_cell_is_a_point() -> None:
    runs = RUNS.assign(tokens_bound=RUNS["tokens_bound"].replace("point", ""))
    assert record.record_setters(runs).sum() == record.record_setters(RUNS).sum()


def test_record_path_has_one_event_per_new_record() -> None:
    data = record.record_data(RUNS, end_year=2023.0)
    assert data.start_log10 == pytest.approx(11.0)
    assert list(data.event_model) == ["C", "G"]
    assert np.allclose(data.event_log10, np.log10([4e11, 2e12]))
    assert list(data.event_lower) == [False, True]
    assert data.segments == 3  # spell ending at C, spell ending at G, the final spell to the end
    # The grid runs from the first run to the end, no step longer than a month, through every record date.
    assert data.grid[0] == data.start_year and data.grid[-1] == 2023.0
    assert np.diff(data.grid).max() <= record.GRID_STEP_YEARS + 1e-9
    assert np.allclose(data.grid[data.event_node], data.event_year)
    # The record in force before C is A's, after G it is G's.
    before_c = data.grid[:-1] < data.event_year[0]
    assert np.allclose(data.grid_record[before_c], 11.0)
    assert np.allclose(data.grid_record[data.grid[:-1] >= data.event_year[1]], np.log10(2e12))


def test_runs_after_the_end_are_not_in_the_path() -> None:
    data = record.record_data(RUNS, end_year=float(decimal_year(pd.Series(pd.to_datetime(["2021-03-01"])))[0]))
    assert list(data.event_model) == ["C"]


def _linear_spell(level: float, growth: float, scale: float, r: float, t0: float, t1: float) -> float:
    """Closed form of ∫ exp((level + growth (t − ANCHOR) − r)/scale) dt over [t0, t1]."""
    at = lambda t: np.exp((level + growth * (t - ANCHOR_YEAR) - r) / scale)  # noqa: E731
    return scale / growth * (at(t1) - at(t0))


def test_log_likelihood_is_the_poisson_record_process_in_closed_form() -> None:
    # For a linear frontier each spell's expected count of releases above the record has a closed form, which
    # the grid's exact per-interval integrals add up to: equal to float64 rounding (1e-9 relative).
    data = record.record_data(RUNS, end_year=2023.0)
    level, growth, scale = 12.5, 0.5, 0.25
    frontier = (level + growth * (data.grid - ANCHOR_YEAR))[None, :]
    loglik = record.segment_log_likelihood(data, frontier, np.array([scale]))[0]
    bounds = [data.start_year, *data.event_year, data.end_year]
    records = [data.start_log10, *data.event_log10]
    spells = np.array(
        [_linear_spell(level, growth, scale, r, a, b) for r, a, b in zip(records, bounds[:-1], bounds[1:], strict=True)]
    )
    at_events = level + growth * (data.event_year - ANCHOR_YEAR)
    events = (at_events - data.event_log10) / scale - np.where(data.event_lower, 0.0, np.log(scale))
    expected = -spells + np.append(events, 0.0)
    assert np.allclose(loglik, expected, rtol=1e-9, atol=1e-12)


def test_pymc_model_computes_the_same_likelihood() -> None:
    # The Potential of the PyMC block and the numpy pointwise log-likelihood (used for LOO/LFO) are one equation.
    import pymc as pm

    data = record.record_data(RUNS, end_year=2023.0)
    with pm.Model() as model:
        record.add_record_block(data, "constant", FitSettings())
    # The block samples the frontier at the record's centre, above the record then, in units of the scale.
    centre = record.information_centre(data)
    above = (12.4 + 0.45 * (centre - ANCHOR_YEAR) - record.record_in_force(data, centre)) / 0.3
    point = {"dataset_frontier_above_record": above, "dataset_growth": 0.45, "dataset_record_scale_log__": np.log(0.3)}
    (potential_of_values,) = model.replace_rvs_by_values([model.potentials[0]])
    potential = model.compile_fn(potential_of_values, inputs=model.value_vars, on_unused_input="ignore")(point)
    frontier = (12.4 + 0.45 * (data.grid - ANCHOR_YEAR))[None, :]
    numpy_total = record.segment_log_likelihood(data, frontier, np.array([0.3])).sum()
    assert float(potential) == pytest.approx(numpy_total, rel=1e-9)


@pytest.mark.parametrize("form", ["hinge", "local_linear"])
def test_growth_forms_name_the_forward_line(form: str) -> None:
    import pymc as pm

    runs = _runs([(f"R{i}", f"{2016 + i}-03-01", 10 ** (10 + 0.4 * i), "total", "point", "") for i in range(9)])
    data = record.record_data(runs, end_year=2025.0)
    with pm.Model() as model:
        record.add_record_block(data, form, FitSettings())  # type: ignore[arg-type]
    names = set(model.named_vars)
    assert {"dataset_level", "dataset_growth", "dataset_record_scale"} <= names
    assert ("dataset_changepoint" in names) == (form == "hinge")
    assert ("dataset_slope_walk_sd" in names) == (form == "local_linear")


def test_hinge_has_its_two_slopes_away_from_the_changepoint() -> None:
    t = np.array([2010.0, 2011.0, 2030.0, 2031.0])
    values = record.hinge_frontier(t, 13.0, 0.2, 0.6, 2020.0, lambda x: np.logaddexp(0.0, x))
    assert np.diff(values)[0] == pytest.approx(0.6, abs=1e-6)
    assert np.diff(values)[2] == pytest.approx(0.2, abs=1e-6)
    # `level` is the log10 at 2024-01-01 of the line after the change; 2024 is 8 widths after it, where the
    # softplus differs from the hinge by width·log(1 + e⁻⁸)·(0.6 − 0.2) ≈ 7e-5.
    at_anchor = record.hinge_frontier(np.array(ANCHOR_YEAR), 13.0, 0.2, 0.6, 2020.0, lambda x: np.logaddexp(0, x))
    assert float(at_anchor) == pytest.approx(13.0, abs=1e-4)


def test_short_histories_fall_back_to_the_constant_slope() -> None:
    import pymc as pm

    runs = _runs([("A", "2024-01-01", 1e13, "total", "point", ""), ("B", "2024-06-01", 2e13, "total", "point", "")])
    data = record.record_data(runs, end_year=2025.0)
    for form in ("hinge", "local_linear"):
        with pm.Model() as model:
            record.add_record_block(data, form, FitSettings())  # type: ignore[arg-type]
        assert set(model.free_RVs) and {v.name for v in model.free_RVs} == {
            "dataset_frontier_above_record",
            "dataset_growth",
            "dataset_record_scale",
        }


# Spread of the simulated first record around the prior's frontier (OOM): about the record scale's prior median.
START_RECORD_SPREAD_OOM = 0.2


def _simulated_runs(level: float, growth: float, scale: float, rng: np.random.Generator) -> pd.DataFrame:
    """Record-setting releases 2018–2026 drawn exactly from the record process, as runs the loader would give,
    with rows the record rule must ignore.

    From a record R at t the next record comes after a time whose cumulative hazard
    H(T) = (s/g)·exp((F(t) − R)/s)·(exp(g(T − t)/s) − 1) is a unit exponential (inverted in closed form), and
    overshoots R by an exponential of scale s. Beside each record: a smaller run on the same date, and a larger
    continued-pretraining increment, upper bound and leak a month later.

    The likelihood conditions on the first run (the record's start), so for calibration its size must not carry
    information about the parameters: it is drawn around the prior's frontier in 2018, not the true one."""
    t, end = 2018.0, 2026.0
    priors = FitSettings()
    prior_frontier = priors.dataset_level_2024.mean + priors.dataset_growth.mean * (t - ANCHOR_YEAR)
    record_now = prior_frontier + START_RECORD_SPREAD_OOM * rng.gumbel()
    events = [(t, record_now)]
    while True:
        base = np.exp((level + growth * (t - ANCHOR_YEAR) - record_now) / scale)
        argument = 1.0 + rng.exponential() * growth / (scale * base)
        if argument <= 0:
            break  # a shrinking frontier: no further record
        t = t + scale / growth * np.log(argument)
        if t >= end:
            break
        record_now = record_now + rng.exponential(scale)
        events.append((t, record_now))
    rows = []
    for i, (year, size) in enumerate(events):
        date = pd.Timestamp("2018-01-01") + pd.Timedelta(days=round((year - 2018.0) * 365.25))
        rows.append((f"r{i}", date, 10**size, "total", "point", ""))
        rows.append((f"small{i}", date, 10 ** (size - 0.5), "total", "point", ""))
        later = date + pd.Timedelta(days=30)
        for label, scope, bound, flags in (("inc", "increment", "point", ""), ("up", "total", "upper", ""),
                                           ("leak", "total", "point", "leak")):  # fmt: skip
            rows.append((f"{label}{i}", later, 10 ** (size + 1), scope, bound, flags))
    return _runs([(m, d.strftime("%Y-%m-%d"), v, sc, b, f) for m, d, v, sc, b, f in rows])


def test_record_path_check_is_calibrated_at_the_truth() -> None:
    # With the posterior a point mass at the parameters that made the data, the observed path is one more draw
    # from the simulated paths' distribution: its p-values are uniform over replicates. 100 replicates:
    # Kolmogorov–Smirnov at the 0.1% level (discreteness of the statistics makes it conservative).
    from scipy import stats

    from forecast.model.record_paths import record_path_check

    rng = np.random.default_rng(11)
    p_longest, p_records = [], []
    for _ in range(100):
        runs = _simulated_runs(12.8, 0.4, 0.25, rng)
        data = record.record_data(runs, end_year=2026.0)
        point = {"dataset_level": np.full((1, 400), 12.8), "dataset_growth": np.full((1, 400), 0.4),
                 "dataset_record_scale": np.full((1, 400), 0.25)}  # fmt: skip
        check = record_path_check(point, data, rng, draws=400)
        # Randomised p-values (ties of discrete statistics split uniformly) are exactly uniform.
        ties_l = np.mean(check.simulated_longest == check.observed_longest)
        ties_r = np.mean(check.simulated_records == check.observed_records)
        p_longest.append(check.p_longest - rng.random() * ties_l)
        p_records.append(check.p_records - rng.random() * ties_r)
    assert stats.kstest(p_longest, "uniform").pvalue > 0.001
    assert stats.kstest(p_records, "uniform").pvalue > 0.001


@pytest.mark.slow
def test_simulation_based_calibration_of_the_record_process() -> None:
    """SBC (Talts et al. 2018) of every record-process parameter, through the same record rule as the data.

    200 data sets from the prior (level, growth, record scale: `FitSettings` and `RECORD_SCALE_PRIOR`), simulated
    as monthly releases with rows the rule must drop (`_simulated_runs`), fitted with the default sampler's
    target_accept 0.95 on 2 chains; ranks of the truth among 100 thinned draws. Per parameter, the rank ECDF must
    stay inside the simultaneous Dvoretzky–Kiefer–Wolfowitz band at 1% / 3 (Bonferroni over the three), and the
    rank histogram (10 bins) must pass chi-square at the 0.1% level.
    """
    import pymc as pm
    from scipy import stats

    from forecast.model.sample import sample_posterior

    class Sampler:
        backend, draws, tune, chains, target_accept, cores = "pymc", 500, 500, 2, 0.95, 2

    priors = FitSettings()
    rng = np.random.default_rng(2026)
    names = ("dataset_level", "dataset_growth", "dataset_record_scale")
    ranks: dict[str, list[int]] = {name: [] for name in names}
    for _ in range(200):
        truth = {
            "dataset_level": rng.normal(priors.dataset_level_2024.mean, priors.dataset_level_2024.sd),
            "dataset_growth": rng.normal(priors.dataset_growth.mean, priors.dataset_growth.sd),
            "dataset_record_scale": float(np.exp(rng.normal(*record.RECORD_SCALE_PRIOR))),
        }
        runs = _simulated_runs(*truth.values(), rng)
        data = record.record_data(runs, end_year=2026.0)
        with pm.Model() as model:
            record.add_record_block(data, "constant", priors)
        idata = sample_posterior(model, Sampler(), int(rng.integers(1_000_000)))
        for name in names:
            draws = idata.posterior[name].values.ravel()[::10]
            ranks[name].append(int((draws < truth[name]).sum()))
    epsilon = np.sqrt(np.log(2 / (0.01 / 3)) / (2 * 200))
    for name in names:
        normalised = (np.asarray(ranks[name]) + 0.5) / 101
        grid = np.linspace(0, 1, 101)
        ecdf = (normalised[:, None] <= grid[None, :]).mean(axis=0)
        assert np.max(np.abs(ecdf - grid)) <= epsilon, name
        counts = np.histogram(ranks[name], bins=10, range=(0, 101))[0]
        assert stats.chisquare(counts).pvalue > 0.001, name
