"""Power-scaling prior sensitivity of the frontier blocks: it flags a prior that fights the data and passes a
weakly informative one, and the table travels with the fit."""

from __future__ import annotations

import dataclasses

import pytest
import xarray as xr

from forecast.config import NormalPrior, load_config
from forecast.data import find_data_dir, load_bundle
from forecast.model import fit
from forecast.model.blocks import model_blocks
from forecast.model.sample import sample_posterior
from forecast.model.sensitivity import THRESHOLD, attach_sensitivity, power_scaling, stored_sensitivity


@pytest.fixture(scope="module")
def dataset_block():
    config = load_config("default")
    bundle = load_bundle(find_data_dir(), cutoff=config.data.cutoff)
    block = next(b for b in model_blocks(fit.fit_data_of(config, bundle), config.fit) if b.name == "dataset")
    sampler = config.sampler.model_copy(update={"draws": 400, "tune": 400, "chains": 2, "thin": 1, "cores": 1})
    return block, sampler


def _table(block, sampler):
    idata = sample_posterior(block.model(), sampler, 5)
    return idata, power_scaling(idata, block)


def test_weakly_informative_priors_leave_the_slope_to_the_data(dataset_block) -> None:
    block, sampler = dataset_block
    _, table = _table(block, sampler)
    assert list(table.index) == ["dataset_level", "dataset_growth", "dataset_record_scale"]
    # The slope's prior (sd 0.3 OOM/yr) is wide next to its posterior (sd ~0.05): little prior sensitivity, and
    # the likelihood, which carries the information, moves it.
    assert table.loc["dataset_growth", "prior"] < THRESHOLD <= table.loc["dataset_growth", "likelihood"]


def test_a_prior_against_the_data_is_flagged(dataset_block) -> None:
    """A slope prior of 0.05 ± 0.03 OOM/yr, far below the records' ~0.4: prior and likelihood pull apart."""
    block, sampler = dataset_block
    conflicting = block.priors.model_copy(update={"dataset_growth": NormalPrior(mean=0.05, sd=0.03)})
    _, table = _table(dataclasses.replace(block, priors=conflicting), sampler)
    assert table.loc["dataset_growth", "prior"] >= THRESHOLD
    assert table.loc["dataset_growth", "diagnosis"] == "potential prior-data conflict"


def test_blocks_without_a_checked_prior_give_none_and_the_table_round_trips(dataset_block) -> None:
    block, sampler = dataset_block
    idata, table = _table(block, sampler)
    assert power_scaling(idata, dataclasses.replace(block, name="adoption")) is None
    tree = xr.DataTree.from_dict({"posterior": idata["posterior"].to_dataset()})
    assert stored_sensitivity(tree).empty
    attach_sensitivity(tree, table)
    back = stored_sensitivity(tree)
    assert list(back.index) == list(table.index)
    assert back["prior"].tolist() == pytest.approx(table["prior"].tolist())
