"""The compute-selection sensitivity table end to end: real refits of the compute block (small sampler settings),
projected with the run's other draws."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import DATA_DIR, synthetic_idata

import forecast.model.fit as fit_module
from forecast.config import load_config, resolve
from forecast.config.schema import ComputeSensitivitySettings
from forecast.data import load_bundle
from forecast.model.blocks import model_blocks
from forecast.model.frontier import estimated_compute, fit_data_from_frames
from forecast.model.sample import posterior_arrays
from forecast.projection.inputs import flatten
from forecast.projection.project import project_scenario
from forecast.run.compute_sensitivity import COMPUTE_SENSITIVITY_COLUMNS, compute_sensitivity_table, table_key
from forecast.run.pipeline import known_at_cutoff

#: One worker runs this module when pytest-xdist distributes with `--dist loadgroup` (the Quickstart's test command),
#: and the fixture is kept for the worker's session (other modules' tests may run between this module's): its refits
#: are done once, not once per worker or per interleaving (each worker has its own posterior cache).
pytestmark = pytest.mark.xdist_group("compute_sensitivity")

#: Small enough for the default suite; too few draws for the run's ESS threshold, so `converged` is not asserted
#: (the default's own refits are judged in its report), only that the compute block samples without divergences.
SMALL_SAMPLER = {"chains": 2, "draws": 200, "tune": 300, "thin": 1}


@pytest.fixture(scope="session")
def setting():
    config = load_config("default")
    config = config.model_copy(
        update={
            "sampler": config.sampler.model_copy(update=SMALL_SAMPLER),
            "compute_sensitivity": ComputeSensitivitySettings(windows_oom=[1.0, None]),
        }
    )
    bundle = load_bundle(DATA_DIR, cutoff=config.data.cutoff)
    scenarios = resolve(config)
    others = synthetic_idata(bundle, SMALL_SAMPLER["chains"], SMALL_SAMPLER["draws"])  # the other blocks' draws
    posterior = flatten(posterior_arrays(others, tuple(others.posterior.data_vars)))
    known = known_at_cutoff(config, bundle, scenarios)
    table = compute_sensitivity_table(config, bundle, scenarios, posterior, known)
    return config, bundle, scenarios, posterior, known, table


def test_one_row_per_window_and_choice_of_estimated_compute(setting) -> None:
    *_, table = setting
    assert list(table.columns) == list(COMPUTE_SENSITIVITY_COLUMNS)
    assert list(zip(table["window_oom"], table["estimated_compute"], strict=True)) == [
        (1.0, True),
        (1.0, False),
        ("all", True),
        ("all", False),
    ]
    assert set(table["scenario"]) == {"compute-observed"}  # the default's first compute-only, fitted-trend scenario
    assert (table["divergences"] == 0).all()


def test_run_counts_follow_the_selection(setting) -> None:
    config, bundle, *_, table = setting
    runs = table.set_index(["window_oom", "estimated_compute"])["runs"]
    # Every run is a candidate with no window; leaving estimated compute out drops exactly the estimated rows.
    assert runs[("all", True)] > runs[(1.0, True)]
    data = fit_data_from_frames(
        bundle.runs,
        bundle.web_growth,
        leak_rows=config.fit.leak_rows,
        cutoff=config.data.cutoff,
        candidate_window_oom=np.inf,
    )
    assert runs[("all", True)] == data.compute_runs.size
    estimated = int(np.sum(data.compute_estimated))
    assert estimated > 0 and runs[("all", True)] - runs[("all", False)] == estimated
    assert estimated_compute(bundle.runs).sum() >= estimated  # before the cut at the fitting window


def test_row_is_the_scenario_projected_with_that_refit(setting) -> None:
    """The (1 OOM, estimated in) row is the default's own compute block: projecting the scenario with that block's
    draws in place of the others' gives the row's date to the bit."""
    config, bundle, scenarios, posterior, known, table = setting
    data = fit_data_from_frames(
        bundle.runs, bundle.web_growth, leak_rows=config.fit.leak_rows, cutoff=config.data.cutoff
    )
    block = next(b for b in model_blocks(data, config.fit) if b.name == "compute")
    tree, reused = fit_module.fit_block(block, config, True, None)
    assert reused  # the table's refit is the cached block, keyed by what the block receives
    draws = flatten(posterior_arrays(tree, tuple(tree.posterior.data_vars)))
    swapped = {k: v for k, v in posterior.items() if not k.startswith("compute_")} | draws
    scenario = next(s for s in scenarios if s.name == "compute-observed")
    result = project_scenario(scenario, swapped, bundle.stock_priors, config.seed, known=known)
    years = np.where(result.censored, np.inf, result.crossing_year)
    row = table.iloc[0]
    assert row["median"] == float(np.quantile(years, 0.5))
    assert row["growth_median"] == float(np.median(draws["compute_growth"]))


def test_fewer_candidates_change_the_fitted_growth(setting) -> None:
    *_, table = setting
    # Runs far below the record pull the fitted slope: the reason the table exists (issue: 0.54 vs 0.31 OOM/yr).
    growth = table.set_index(["window_oom", "estimated_compute"])["growth_median"]
    assert growth[(1.0, True)] - growth[("all", True)] > 0.1


def test_no_windows_means_no_refits(setting, monkeypatch) -> None:
    config, bundle, scenarios, posterior, known, _ = setting
    monkeypatch.setattr("forecast.run.compute_sensitivity.fit_block", _refuse)
    off = config.model_copy(update={"compute_sensitivity": ComputeSensitivitySettings()})
    table = compute_sensitivity_table(off, bundle, scenarios, posterior, known)
    assert table.empty and list(table.columns) == list(COMPUTE_SENSITIVITY_COLUMNS)


def _refuse(*_args, **_kwargs):
    raise AssertionError("fit_block called although no window was asked for")


def test_table_is_cached_under_what_it_is_computed_from(setting, monkeypatch) -> None:
    config, bundle, scenarios, posterior, known, table = setting
    first = compute_sensitivity_table(config, bundle, scenarios, posterior, known, fit_key="fit-a")
    assert first.equals(table)
    monkeypatch.setattr("forecast.run.compute_sensitivity.fit_block", _refuse)
    again = compute_sensitivity_table(config, bundle, scenarios, posterior, known, fit_key="fit-a")
    assert again.equals(first)  # read back from the cache, values and types as computed
    # Without the cache, or for another fit, it is computed again (and here refuses to).
    with pytest.raises(AssertionError, match="fit_block called"):
        compute_sensitivity_table(config, bundle, scenarios, posterior, known, use_cache=False, fit_key="fit-a")
    with pytest.raises(AssertionError, match="fit_block called"):
        compute_sensitivity_table(config, bundle, scenarios, posterior, known, fit_key="fit-b")


def test_table_key_follows_its_scenario_not_the_others(setting) -> None:
    config, bundle, scenarios, *_ = setting
    chosen = next(s for s in scenarios if s.name == "compute-observed")
    key = table_key(config, bundle, chosen, "fit")
    other = next(s for s in config.scenarios if s.name == "historical")
    edited = config.model_copy(
        update={
            "scenarios": [s if s is not other else s.model_copy(update={"horizon": 2070}) for s in config.scenarios]
        }
    )
    assert table_key(edited, bundle, chosen, "fit") == key
    assert table_key(config, bundle, chosen.model_copy(update={"horizon": 2070}), "fit") != key
    seeded = config.model_copy(update={"seed": config.seed + 1})
    assert table_key(seeded, bundle, chosen, "fit") != key
