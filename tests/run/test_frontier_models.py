"""The frontier models compared at the cut-off, end to end: real refits of the dataset block (small sampler
settings), scored by PSIS-LOO and projected with the run's other draws."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import DATA_DIR, synthetic_idata

import forecast.model.fit as fit_module
from forecast.config import load_config, resolve, with_frontier
from forecast.config.schema import ModelComparisonSettings
from forecast.data import load_bundle
from forecast.model.blocks import model_blocks
from forecast.model.fit import fit_data_of
from forecast.model.sample import posterior_arrays
from forecast.projection.inputs import flatten
from forecast.projection.project import project_scenario
from forecast.run.frontier_models import FRONTIER_MODEL_COLUMNS, frontier_models_table, models_compared
from forecast.run.pipeline import known_at_cutoff

#: One worker runs this module under `--dist loadgroup`, and the fixture's refits are done once per session.
pytestmark = pytest.mark.xdist_group("frontier_models")

#: Small enough for the default suite; too few draws for the run's ESS threshold, so `converged` is not asserted.
SMALL_SAMPLER = {"chains": 2, "draws": 200, "tune": 300, "thin": 1}
COMPARED = ["record-hinge", "stochastic-constant"]


def _dataset_draws(config, bundle):
    block = next(b for b in model_blocks(fit_data_of(config, bundle), config.fit) if b.name == "dataset")
    tree, _ = fit_module.fit_block(block, config, True, None)
    return tree, flatten(posterior_arrays(tree, tuple(tree.posterior.data_vars)))


@pytest.fixture(scope="session")
def setting():
    config = load_config("default")
    config = config.model_copy(
        update={
            "sampler": config.sampler.model_copy(update=SMALL_SAMPLER),
            "model_comparison": ModelComparisonSettings(models=COMPARED),
        }
    )
    bundle = load_bundle(DATA_DIR, cutoff=config.data.cutoff)
    scenarios = resolve(config)
    others = synthetic_idata(bundle, SMALL_SAMPLER["chains"], SMALL_SAMPLER["draws"])
    flat = flatten(posterior_arrays(others, tuple(others.posterior.data_vars)))
    own_tree, own = _dataset_draws(config, bundle)  # the run's own dataset block (record-constant)
    posterior = {k: v for k, v in flat.items() if not k.startswith("dataset_")} | own
    known = known_at_cutoff(config, bundle, scenarios)
    table = frontier_models_table(config, bundle, scenarios, own_tree, posterior, known)
    return config, bundle, scenarios, own_tree, posterior, known, table


def test_one_row_per_model_the_runs_own_first(setting) -> None:
    *_, table = setting
    assert list(table.columns) == list(FRONTIER_MODEL_COLUMNS)
    assert list(table["model"]) == ["record-constant", *COMPARED]
    assert list(table["default"]) == [True, False, False]
    assert set(table["scenario"]) == {"historical"}  # the default's first historical, fitted-trend scenario
    assert (table["divergences"] == 0).all()


def test_record_processes_are_ranked_on_the_same_spells_and_the_stochastic_frontier_is_not(setting) -> None:
    config, bundle, *_, table = setting
    data = fit_data_of(config, bundle)
    assert data.dataset_record is not None
    by_model = table.set_index("model")
    record = by_model.loc[["record-constant", "record-hinge"]]
    assert (record["likelihood"] == "record").all()
    assert (record["loo_observations"] == data.dataset_record.segments).all()
    assert sorted(record["loo_rank"]) == [0, 1]
    assert record["stacking_weight"].sum() == pytest.approx(1.0)
    assert record.loc[record["loo_rank"] == 0, "elpd_diff"].item() == 0.0
    stochastic = by_model.loc["stochastic-constant"]
    assert stochastic["likelihood"] == "stochastic" and stochastic["loo_observations"] == data.dataset_runs.size
    assert np.isnan(stochastic["loo_rank"]) and np.isnan(stochastic["stacking_weight"])
    assert (table["elpd_loo_se"] > 0).all() and np.isfinite(table["pareto_k_max"]).all()


def test_row_is_the_scenario_projected_with_that_models_draws(setting) -> None:
    """The hinge row's date is the historical scenario projected with the hinge's (cached) dataset block in place
    of the run's: to the bit."""
    config, bundle, scenarios, _, posterior, known, table = setting
    _, hinge = _dataset_draws(with_frontier(config, "record-hinge"), bundle)
    swapped = {k: v for k, v in posterior.items() if not k.startswith("dataset_")} | hinge
    scenario = next(s for s in scenarios if s.name == "historical")
    result = project_scenario(scenario, swapped, bundle.stock_priors, config.seed, known=known)
    years = np.where(result.censored, np.inf, result.crossing_year)
    row = table.set_index("model").loc["record-hinge"]
    assert row["median"] == float(np.quantile(years, 0.5))
    assert row["growth_median"] == float(np.median(hinge["dataset_growth"]))


def test_the_configs_own_model_is_listed_once_and_first() -> None:
    config = load_config("default").model_copy(
        update={"model_comparison": ModelComparisonSettings(models=["record-hinge", "record-constant", "record-hinge"])}
    )
    assert models_compared(config) == ["record-constant", "record-hinge"]


def test_no_models_means_no_refits_and_the_table_is_cached(setting, monkeypatch) -> None:
    config, bundle, scenarios, own_tree, posterior, known, table = setting
    first = frontier_models_table(config, bundle, scenarios, own_tree, posterior, known, fit_key="fit-a")
    assert first.equals(table)
    monkeypatch.setattr("forecast.run.frontier_models.fit_block", _refuse)
    again = frontier_models_table(config, bundle, scenarios, own_tree, posterior, known, fit_key="fit-a")
    assert again.equals(first)  # read back from the cache, values and types as computed
    with pytest.raises(AssertionError, match="fit_block called"):
        frontier_models_table(config, bundle, scenarios, own_tree, posterior, known, fit_key="fit-b")
    off = config.model_copy(update={"model_comparison": ModelComparisonSettings()})
    empty = frontier_models_table(off, bundle, scenarios, own_tree, posterior, known, fit_key="fit-c")
    assert empty.empty and list(empty.columns) == list(FRONTIER_MODEL_COLUMNS)


def _refuse(*_args, **_kwargs):
    raise AssertionError("fit_block called although the table should not refit")
