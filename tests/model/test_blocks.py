"""The fit's blocks: each holds only what it reads, its cache key follows exactly that, and the blocks' posteriors
assemble into the whole fit with per-block diagnostics."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from forecast import cache
from forecast.config import load_config
from forecast.data import find_data_dir, load_bundle
from forecast.model import fit
from forecast.model.blocks import BLOCK_FIELDS, BLOCK_NAMES, build_model, fingerprint, model_blocks
from forecast.model.sensitivity import stored_sensitivity


@pytest.fixture(scope="module")
def setup() -> tuple:
    config = load_config("default")
    bundle = load_bundle(find_data_dir(), cutoff=config.data.cutoff)
    return config, fit.fit_data_of(config, bundle)


def test_each_block_holds_only_the_fields_it_reads(setup) -> None:
    config, data = setup
    blocks = model_blocks(data, config.fit)
    assert [b.name for b in blocks] == list(BLOCK_NAMES)  # the default data measure the AI share
    for block in blocks:
        for f in dataclasses.fields(data):
            value = getattr(block.data, f.name)
            if f.name in BLOCK_FIELDS[block.name]:
                assert value is getattr(data, f.name)
            else:
                assert value is None or value.size == 0, (block.name, f.name)


def test_an_edit_to_one_blocks_data_changes_that_blocks_key_only(setup) -> None:
    config, data = setup
    keys = {b.name: fit.block_key(b, config) for b in model_blocks(data, config.fit)}
    edited = dataclasses.replace(data, adoption_share=data.adoption_share * 1.001)
    after = {b.name: fit.block_key(b, config) for b in model_blocks(edited, config.fit)}
    assert [name for name in keys if keys[name] != after[name]] == ["adoption"]
    assert fit.fit_hash_of(edited, config) != fit.fit_hash_of(data, config)


def test_a_blocks_target_accept_changes_its_key_only(setup) -> None:
    config, data = setup
    targets = {**config.sampler.block_target_accept, "adoption": 0.9}
    sampler = config.sampler.model_copy(update={"block_target_accept": targets})
    changed = config.model_copy(update={"sampler": sampler})
    keys = {b.name: (fit.block_key(b, config), fit.block_key(b, changed)) for b in model_blocks(data, config.fit)}
    assert [name for name, (a, b) in keys.items() if a != b] == ["adoption"]
    assert changed.sampler.target_accept_of("adoption") == 0.9
    unnamed = changed.sampler.model_copy(update={"block_target_accept": {}})
    assert unnamed.target_accept_of("dataset") == config.sampler.target_accept  # blocks not named: the global one


def test_fingerprint_follows_content_and_refuses_what_it_cannot_read() -> None:
    assert fingerprint({"a": np.arange(3.0)}) == fingerprint({"a": np.arange(3.0)})
    assert fingerprint(np.arange(3.0)) != fingerprint(np.arange(3))  # the dtype is content too
    assert fingerprint(np.array(["x", "y"])) != fingerprint(np.array(["x", "z"]))
    assert fingerprint((1, 2)) != fingerprint((2, 1))
    with pytest.raises(TypeError, match="cannot fingerprint a object"):
        fingerprint(object())


def test_block_seeds_come_from_the_seed_and_the_name() -> None:
    seeds = {name: fit.block_seed(7, name) for name in BLOCK_NAMES}
    assert len(set(seeds.values())) == len(BLOCK_NAMES)
    assert fit.block_seed(7, "dataset") == seeds["dataset"] != fit.block_seed(8, "dataset")


def test_the_joint_model_has_every_blocks_variables(setup) -> None:
    config, data = setup
    joint = {v.name for v in build_model(data, config.fit).free_RVs}
    separate = {v.name for b in model_blocks(data, config.fit) for v in b.model().free_RVs}
    assert joint == separate


def test_fit_assembles_the_blocks_and_reuses_the_unchanged_ones(setup, tmp_path: Path, monkeypatch) -> None:
    """A short real fit of every block; then an adoption edit re-samples the adoption block only."""
    config, data = setup
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    short = config.sampler.model_copy(update={"draws": 60, "tune": 60, "chains": 2, "cores": 1})
    config = config.model_copy(update={"sampler": short})
    sampled: list[list[str]] = []
    real = fit.sample_posterior

    def counting(model, sampler, seed):
        sampled.append([v.name for v in model.free_RVs])
        return real(model, sampler, seed)

    monkeypatch.setattr(fit, "sample_posterior", counting)
    idata, reused = fit.fit_blocks(data, config, fit.fit_hash_of(data, config))
    assert not reused and len(sampled) == len(BLOCK_NAMES)
    for block in model_blocks(data, config.fit):
        for variable in block.model().free_RVs:
            assert idata.posterior[variable.name].sizes == {"chain": 2, "draw": 60} or variable.ndim > 0
    assert list(idata["sample_stats"]["block"].values) == list(BLOCK_NAMES)
    diagnostics = fit.diagnostics_of(idata)
    assert list(diagnostics.blocks.index) == list(BLOCK_NAMES)
    assert diagnostics.divergences == int(diagnostics.blocks["divergences"].sum())
    assert diagnostics.blocks.loc["compute", "target_accept"] == config.sampler.target_accept_of("compute")
    edited = dataclasses.replace(data, adoption_share=data.adoption_share * 1.001)
    sampled.clear()
    after, reused = fit.fit_blocks(edited, config, fit.fit_hash_of(edited, config))
    assert not reused and len(sampled) == 1 and sampled[0][0].startswith("adoption_")
    for name in ("dataset_growth", "compute_growth"):  # the unchanged blocks' draws, as they were
        np.testing.assert_array_equal(after.posterior[name].values, idata.posterior[name].values)
    again, reused = fit.fit_blocks(edited, config, fit.fit_hash_of(edited, config))
    assert reused and len(sampled) == 1
    np.testing.assert_array_equal(again.posterior["adoption_rate"].values, after.posterior["adoption_rate"].values)
    assert not stored_sensitivity(again).empty  # the power-scaling table travels with the cached fit
