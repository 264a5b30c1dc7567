"""Now-cast pieces: the record at a date, its density under a frontier, PSIS weights and weighted summaries."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecast.projection import nowcast


def _runs(rows: list[tuple[str, str, float | None, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["model", "publication_date", "dataset_tokens", "flags", "tokens_scope", "tokens_bound"]
    ).assign(tokens_basis=lambda f: np.where(f["flags"] == "leak", "leak", "processed"))


def test_record_skips_leaks_increments_upper_bounds_and_later_runs() -> None:
    runs = _runs(
        [
            ("A", "2024-01-01", 1e13, "", "total", "point"),
            ("leak", "2024-02-01", 9e13, "leak", "total", "point"),
            ("inc", "2024-03-01", 5e13, "", "increment", "point"),
            ("upper", "2024-03-02", 6e13, "", "total", "upper"),
            ("B", "2024-04-01", 2e13, "", "total", "lower"),
            ("later", "2025-01-01", 8e13, "", "total", "point"),
        ]
    )
    record = nowcast.record_at(runs, dt.date(2024, 12, 31))
    assert (record.model, record.tokens) == ("B", 2e13)
    with pytest.raises(ValueError, match="no disclosed"):
        nowcast.record_at(runs, dt.date(2023, 1, 1))


def test_record_density_is_the_stochastic_frontier_skew_normal() -> None:
    # Monte Carlo of frontier − HalfNormal(su) + Normal(0, sn) against the closed form (4e5 draws: the binned
    # density's relative standard error is ~1% where the density is largest).
    rng = np.random.default_rng(3)
    su, sn, frontier = 0.3, 0.1, 13.0
    sample = frontier - np.abs(rng.normal(0, su, 400_000)) + rng.normal(0, sn, 400_000)
    hist, edges = np.histogram(sample, bins=40, range=(12.2, 13.3), density=True)
    mids = (edges[:-1] + edges[1:]) / 2
    inputs = {"fitted_dataset_noise_sd": np.array(sn), "fitted_dataset_shortfall_sd": np.array(su)}
    closed = np.exp(nowcast.record_log_density(mids, np.full(mids.size, frontier), inputs))
    big = hist > 0.5
    assert np.allclose(hist[big], closed[big], rtol=0.05)


def test_record_density_of_a_record_process_is_the_year_maximum() -> None:
    # Releases above r arrive at exp((F − r)/s) a year: the largest of a year's twelve monthly maxima (each a
    # Gumbel at F + s·log(1/12)) is Gumbel(F, s). Monte Carlo of that maximum (4e5 years) against the closed form,
    # same binning error as above.
    rng = np.random.default_rng(4)
    scale, frontier = 0.25, 13.0
    months = rng.gumbel(frontier + scale * np.log(1 / 12), scale, size=(400_000, 12))
    hist, edges = np.histogram(months.max(axis=1), bins=40, range=(12.6, 14.0), density=True)
    mids = (edges[:-1] + edges[1:]) / 2
    inputs = {"fitted_dataset_record_scale": np.array(scale)}
    closed = np.exp(nowcast.record_log_density(mids, np.full(mids.size, frontier), inputs))
    big = hist > 0.3
    assert np.allclose(hist[big], closed[big], rtol=0.05)


def test_importance_weights_collapse_for_a_contradicted_scenario() -> None:
    rng = np.random.default_rng(0)
    frontier = rng.normal(13.0, 0.1, 4000)
    scales = {"fitted_dataset_noise_sd": np.array(0.1), "fitted_dataset_shortfall_sd": np.array(0.2)}
    consistent = nowcast.importance(nowcast.record_log_density(12.9, frontier, scales), np.zeros(4000, bool))
    contradicted = nowcast.importance(nowcast.record_log_density(12.9, frontier + 1.0, scales), np.zeros(4000, bool))
    assert np.isclose(consistent.weights.sum(), 1.0) and consistent.reliable
    assert consistent.ess > 1000  # the draws agree with the record: most of them count
    # one OOM off, with the draws spread 0.1 OOM: only the lowest tail of draws fits the record (ESS ~5%)
    assert contradicted.ess < 0.1 * consistent.ess and contradicted.pareto_k > consistent.pareto_k


def test_draws_with_a_stock_below_the_record_get_no_weight() -> None:
    below = np.arange(100) < 30
    result = nowcast.importance(np.zeros(100), below)
    assert np.all(result.weights[below] == 0) and np.isclose(result.weights[~below].sum(), 1.0)
    assert result.share_removed == pytest.approx(0.3)


def test_systematic_resampling_keeps_equal_weights_and_follows_unequal_ones() -> None:
    n = 1000
    np.testing.assert_array_equal(nowcast.systematic_resample(np.full(n, 1.0 / n), seed=3), np.arange(n))
    weights = np.zeros(n)
    weights[[10, 20]] = [0.75, 0.25]
    rows = nowcast.systematic_resample(weights, seed=3)
    # Systematic resampling takes each draw floor(n·w) or ceil(n·w) times.
    assert set(np.unique(rows)) == {10, 20} and abs(np.sum(rows == 10) - 750) <= 1


@pytest.fixture(scope="module")
def scenario_inputs():
    """The default preset's scenarios and their inputs from a synthetic posterior, with the record known at the
    cut-off (no sampling)."""
    from fakes import DATA_DIR, synthetic_idata

    from forecast.config import load_config, resolve
    from forecast.data import load_bundle
    from forecast.model.sample import posterior_arrays
    from forecast.projection.inputs import flatten
    from forecast.projection.scenario_model import grid_and_inputs
    from forecast.run.pipeline import known_at_cutoff

    config = load_config("default")
    bundle = load_bundle(DATA_DIR, cutoff=config.data.cutoff)
    posterior = flatten(posterior_arrays(synthetic_idata(bundle, 2, 500)))
    scenarios = {s.name: s for s in resolve(config)}

    def inputs(scenario):
        return grid_and_inputs(scenario, posterior, bundle.stock_priors, config.seed)[1]

    return scenarios, inputs, known_at_cutoff(config, bundle), config.seed


def test_paths_that_start_at_the_fitted_frontier_keep_every_draw_but_the_used_up_stocks(scenario_inputs) -> None:
    from forecast.projection.scenario_model import stock_model

    scenarios, inputs_of, known, seed = scenario_inputs
    scenario = scenarios["compute-observed"]
    inputs = inputs_of(scenario)
    resampled, report = nowcast.condition_on_record(scenario, inputs, seed, known)
    assert report.record_evidence_log10 == pytest.approx(0.0, abs=1e-9)  # the path is the fitted frontier then
    stock = stock_model(scenario, inputs).effective(np.array([known.year]))[:, 0]
    assert report.share_stock_below_record == pytest.approx(np.mean(stock < np.log10(known.record.tokens)))
    removed = report.share_stock_below_record + report.share_exhausted_at_cutoff
    assert report.ess == pytest.approx(report.draws * (1 - removed), rel=1e-9)  # equal weights on the others
    kept = stock_model(scenario, resampled).effective(np.array([known.year]))[:, 0]
    assert np.all(kept >= np.log10(known.record.tokens))  # no kept draw has a stock below the record


def test_a_jump_at_the_cutoff_is_contradicted_by_the_record(scenario_inputs) -> None:
    """100x today's tokens per parameter at once (no gradual change) puts the frontier run 1 OOM above the
    fitted frontier at the cut-off: the record is far less likely under it (evidence below −1), while a change
    that starts from today's practice agrees with it."""
    scenarios, inputs_of, known, seed = scenario_inputs
    gradual = scenarios["compute-100x"]
    at_once = gradual.model_copy(
        update={"overtraining": gradual.overtraining.model_copy(update={"change_oom_per_year": None})}
    )
    _, jump = nowcast.condition_on_record(at_once, inputs_of(at_once), seed, known)
    _, smooth = nowcast.condition_on_record(gradual, inputs_of(gradual), seed, known)
    assert jump.record_evidence_log10 < -1.0
    assert smooth.record_evidence_log10 == pytest.approx(0.0, abs=1e-9)
    assert jump.ess < smooth.ess


def test_record_density_of_a_record_fit_is_scipys_gumbel() -> None:
    """Written out to spare a run the scipy.stats import; the same arithmetic as scipy, so the same bits."""
    from scipy import stats

    from forecast.projection.nowcast import record_log_density

    rng = np.random.default_rng(0)
    location, scale = rng.normal(13.8, 0.3, 10_000), rng.uniform(0.1, 0.5, 10_000)
    got = record_log_density(13.6, location, {"fitted_dataset_record_scale": scale})
    np.testing.assert_array_equal(got, stats.gumbel_r.logpdf(13.6, loc=location, scale=scale))
