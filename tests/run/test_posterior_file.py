"""Saved posteriors: posterior.nc loads back and reproduces summary.csv; foreign or damaged files are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from forecast import __version__
from forecast.config import config_hash, load_config
from forecast.errors import InputError, PosteriorFileError
from forecast.projection.tables import summary_table
from forecast.run.outputs import POSTERIOR_FORMAT_VERSION, write_posterior, write_summary
from forecast.run.posterior_file import load_posterior, major_minor, summary_from_posterior


@pytest.fixture(scope="module")
def config():
    return load_config("default")


def _small_tree(seed: int = 0) -> tuple[xr.DataTree, xr.Dataset, xr.Dataset]:
    """A posterior, exhaustion draws and bands shaped like a real run's, small enough to write in milliseconds."""
    rng = np.random.default_rng(seed)
    chains, draws = 2, 50
    posterior = xr.Dataset(
        {"dataset_growth": (("chain", "draw"), rng.normal(0.4, 0.05, (chains, draws)))},
        coords={"chain": np.arange(chains), "draw": np.arange(draws)},
    )
    idata = xr.DataTree.from_dict({"posterior": posterior})
    shape = (3, chains, draws)
    years = rng.normal(2029, 1.5, shape)
    years[2, 0, :5] = np.nan  # a few censored draws
    exhaustion = xr.Dataset(
        {
            "exhaustion_year": (("scenario", "chain", "draw"), years),
            "censored": (("scenario", "chain", "draw"), np.isnan(years)),
            "tokens_at_crossing": (("scenario", "chain", "draw"), 10 ** rng.normal(14.6, 0.2, shape)),
            "compute_at_crossing": (("scenario", "chain", "draw"), 10 ** rng.normal(28, 0.5, shape)),
            "horizon": (("scenario",), np.full(3, 2060.0)),
        },
        coords={"scenario": ["a", "b", "c"], "chain": np.arange(chains), "draw": np.arange(draws)},
    )
    bands = xr.Dataset({"median": (("scenario", "year"), rng.normal(size=(3, 4)))}, coords={"year": np.arange(4)})
    return idata, exhaustion, bands


@pytest.fixture
def saved(tmp_path: Path, config) -> tuple[Path, xr.Dataset]:
    """A posterior.nc written by this version, for the default config."""
    idata, exhaustion, bands = _small_tree()
    path = tmp_path / "posterior.nc"
    write_posterior(
        path,
        idata,
        exhaustion,
        bands,
        {"config_hash": config_hash(config), "seed": str(config.seed), "versions_json": '{"forecast": "0.1.0"}'},
    )
    return path, exhaustion


def _set_attr(path: Path, name: str, value: str | None) -> None:
    """Edit (or delete, value None) a root attribute in place, as a user or another tool might."""
    with netCDF4.Dataset(path, "a") as ds:
        if value is None:
            ds.delncattr(name)
        else:
            ds.setncattr(name, value)


def _refused(path: Path, config=None) -> str:
    with pytest.raises(PosteriorFileError) as caught:
        load_posterior(path, config=config)
    message = str(caught.value)
    assert isinstance(caught.value, InputError)  # the CLI's one line and exit code 2
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    return message


# ------------------------------------------------------------------------------------------------
# Round trip
# ------------------------------------------------------------------------------------------------


def test_real_run_round_trip_reproduces_summary_csv(default_run, tmp_path: Path) -> None:
    """posterior.nc of the session's default run, loaded with its config: summary.csv again, byte for byte."""
    result, out = default_run
    tree = load_posterior(out / "posterior.nc", config=result.config)
    assert tree.attrs["forecast_version"] == __version__
    assert tree.attrs["seed"] == str(result.config.seed)
    summary = summary_from_posterior(tree)
    pd.testing.assert_frame_equal(summary, result.summary, check_exact=True)
    write_summary(tmp_path / "summary.csv", summary)
    assert (tmp_path / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()
    xr.testing.assert_identical(tree["exhaustion"].to_dataset(), result.exhaustion)


def test_small_round_trip(saved, config) -> None:
    path, exhaustion = saved
    tree = load_posterior(path, config=config)
    pd.testing.assert_frame_equal(summary_from_posterior(tree), summary_table(exhaustion), check_exact=True)
    assert tree.attrs["posterior_format_version"] == str(POSTERIOR_FORMAT_VERSION)
    assert load_posterior(str(path)).attrs["config_hash"] == config_hash(config)  # config optional, str path ok


def test_loaded_tree_does_not_hold_the_file(saved, tmp_path: Path) -> None:
    """Everything is read into memory: the file can be replaced or removed after loading."""
    path, exhaustion = saved
    tree = load_posterior(path)
    path.unlink()
    np.testing.assert_array_equal(tree["exhaustion"]["exhaustion_year"].values, exhaustion["exhaustion_year"].values)


# ------------------------------------------------------------------------------------------------
# Refused: other version, other config
# ------------------------------------------------------------------------------------------------


def test_other_format_version_is_refused(saved) -> None:
    path, _ = saved
    _set_attr(path, "posterior_format_version", "2")
    message = _refused(path)
    assert f"attribute 'posterior_format_version': expected '{POSTERIOR_FORMAT_VERSION}', found '2'" in message


def test_missing_format_version_is_refused(saved) -> None:
    path, _ = saved
    _set_attr(path, "posterior_format_version", None)
    assert "attribute 'posterior_format_version': expected '1', found none" in _refused(path)


@pytest.mark.parametrize("other", ["1.0.0", "0.2.0", "0.0.9"])
def test_incompatible_forecast_version_is_refused(saved, other: str) -> None:
    path, _ = saved
    _set_attr(path, "forecast_version", other)
    message = _refused(path)
    assert f"attribute 'forecast_version': expected forecast {major_minor(__version__)}.x, found {other}" in message


def test_patch_release_is_accepted(saved) -> None:
    path, _ = saved
    _set_attr(path, "forecast_version", f"{major_minor(__version__)}.99")
    load_posterior(path)


def test_version_falls_back_to_versions_json(saved) -> None:
    """Files written before the `forecast_version` attribute: the version recorded in `versions_json` counts."""
    path, _ = saved
    _set_attr(path, "forecast_version", None)
    load_posterior(path)
    _set_attr(path, "versions_json", '{"forecast": "7.0.1"}')
    assert "expected forecast 0.1.x, found 7.0.1" in _refused(path)
    _set_attr(path, "versions_json", None)
    assert "attribute 'forecast_version': expected forecast 0.1.x, found none" in _refused(path)


def test_different_config_is_refused(saved, config) -> None:
    path, _ = saved
    for other in (config.model_copy(update={"seed": config.seed + 1}), load_config("villalobos2024")):
        message = _refused(path, config=other)
        assert f"attribute 'config_hash': expected {config_hash(other)[:12]} (the given config)" in message
        assert f"found {config_hash(config)[:12]}" in message
        assert "different config" in message


def test_tampered_config_hash_is_refused(saved, config) -> None:
    path, _ = saved
    _set_attr(path, "config_hash", "0" * 64)
    assert "found 000000000000" in _refused(path, config=config)
    load_posterior(path)  # without a config to compare with, the hash is not checked


# ------------------------------------------------------------------------------------------------
# Refused: not a posterior, damaged, incomplete
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"scenario,median\nhistorical,2028.6\n", bytes(range(256)) * 8, b"\x89HDF\r\n\x1a\n" + b"\0" * 64],
    ids=["empty", "csv", "binary", "hdf5-signature-only"],
)
def test_not_netcdf_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "posterior.nc"
    path.write_bytes(content)
    assert "not a readable netCDF posterior" in _refused(path)


def test_truncated_file_is_refused(saved) -> None:
    path, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "not a readable netCDF posterior" in _refused(path)


def test_missing_file_and_folder_are_refused(tmp_path: Path) -> None:
    assert "file not found" in _refused(tmp_path / "nope.nc")
    assert "file not found" in _refused(tmp_path)


def test_netcdf_without_metadata_is_refused(tmp_path: Path) -> None:
    """Some other netCDF file (e.g. an arviz InferenceData): never misread as a forecast posterior."""
    path = tmp_path / "other.nc"
    idata, _, _ = _small_tree()
    idata.to_netcdf(path, engine="netcdf4")
    assert "attribute 'posterior_format_version': expected '1', found none" in _refused(path)


def test_missing_group_is_refused(saved, tmp_path: Path) -> None:
    path, _ = saved
    tree = load_posterior(path)
    stripped = tmp_path / "stripped.nc"
    tree.drop_nodes("exhaustion").to_netcdf(stripped, engine="netcdf4")
    message = _refused(stripped)
    assert "group 'exhaustion': missing; expected groups posterior, exhaustion" in message


def test_missing_variable_or_wrong_dims_are_refused(saved, tmp_path: Path) -> None:
    path, _ = saved
    tree = load_posterior(path)
    exhaustion = tree["exhaustion"].to_dataset()

    no_years = tree.copy()
    no_years["exhaustion"] = xr.DataTree(exhaustion.drop_vars("exhaustion_year"))
    no_years.to_netcdf(tmp_path / "a.nc", engine="netcdf4")
    assert "group 'exhaustion': variable 'exhaustion_year' missing" in _refused(tmp_path / "a.nc")

    transposed = tree.copy()
    transposed["exhaustion"] = xr.DataTree(exhaustion.transpose("chain", "draw", "scenario"))
    transposed.to_netcdf(tmp_path / "b.nc", engine="netcdf4")
    message = _refused(tmp_path / "b.nc")
    assert "has dimensions (chain, draw, scenario), expected (scenario, chain, draw)" in message


def test_copy_elsewhere_still_loads(saved, tmp_path: Path, config) -> None:
    """Nothing depends on the file's name or folder."""
    path, _ = saved
    moved = tmp_path / "archive" / "run-2024.nc"
    moved.parent.mkdir()
    shutil.copy(path, moved)
    load_posterior(moved, config=config)
