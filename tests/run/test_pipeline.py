"""End to end: outputs, reproduction of Villalobos et al. 2024, fit reuse, atomic writes, saved posterior."""

from __future__ import annotations

import shutil
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from fakes import without_vintages

from forecast.config import load_config
from forecast.errors import DataError, InputError
from forecast.model import fit as model_fit
from forecast.projection.tables import summary_table
from forecast.run import pipeline

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


def test_outputs_written(default_run) -> None:
    _, out = default_run
    for name in ("report.html", "summary.csv", "posterior.nc", "run.json", "p_exhausted_by_year.csv"):
        assert (out / name).is_file(), name
    assert not list(out.parent.glob(".forecast-staging-*"))


def test_run_json_records_reproducibility(default_run) -> None:
    import json

    result, out = default_run
    run = json.loads((out / "run.json").read_text())
    for key in ("seed", "config_hash", "data_hash", "versions", "sampler", "wall_time_seconds"):
        assert key in run
    assert run["divergences"] == result.diagnostics.divergences
    assert run["max_r_hat"] <= 1.01 and run["min_ess_bulk"] >= 400
    assert run["versions"]["pymc"].startswith("6.")
    # The default sampler is nutpie (numba-compiled): its version and numba's shape the draws too.
    assert run["sampler"]["backend"] == "nutpie"
    assert run["versions"]["nutpie"] != "not installed" and run["versions"]["numba"] != "not installed"


def test_saved_posterior_reproduces_summary(default_run) -> None:
    result, out = default_run
    tree = az.from_netcdf(out / "posterior.nc")
    assert tree.attrs["seed"] == str(result.config.seed)
    assert tree.attrs["config_hash"] == result.metadata["config_hash"]
    summary = summary_table(tree["exhaustion"].to_dataset())
    pd.testing.assert_frame_equal(summary, pd.read_csv(out / "summary.csv"), check_exact=False, rtol=1e-6)


@pytest.fixture(scope="module")
def villalobos(default_run, tmp_path_factory):
    """The paper preset, projected from the default preset's posterior: its inputs are all given (trends, stock
    growth), so a posterior only sets the number of draws, and its own fit (at its 2023-12-31 cut-off) is not
    needed here."""
    return pipeline.compute_result(load_config("villalobos2024"), DATA_DIR, posterior=default_run[0].idata)


def test_villalobos_reproduces_paper_medians(villalobos) -> None:
    """[P2] §2.5 / [B2]: compute-optimal mixture median 2028; 5x about a year earlier; ~100x near 2025.

    Tolerances are the issue's (±1 year, ±1.5 for 100x); Monte Carlo error of a median over 4,000 draws is
    ~0.05 years, negligible against them.
    """
    m = villalobos.summary.set_index("scenario")["median"]
    assert abs(m["compute-optimal"] - 2028) <= 1.0
    assert 0.0 <= m["compute-optimal"] - m["overtrained-5x"] <= 2.0
    assert abs(m["overtrained-5x"] - 2027) <= 1.0
    assert abs(m["overtrained-100x"] - 2025) <= 1.5


@pytest.mark.xfail(
    strict=True,
    reason=(
        "Known gap: our 80% interval (~2027.3-2030.8) is narrower than the paper's 2026-2032, also with the "
        "compute arm bent by the paper's own limit (spending up to 1% of GWP, which binds on ~1% of paths by their "
        "date). The paper's code gives a similar width on its historical arm (METHOD_NOTES B.1 [R]: 2027.1-2027.4 "
        "to 2031.2); its compute sample paths are not public (A.8). Not fudged."
    ),
)
def test_villalobos_80_interval_matches_paper(villalobos) -> None:
    row = villalobos.summary.set_index("scenario").loc["compute-optimal"]
    assert abs(row["q10"] - 2026) <= 1.0 and abs(row["q90"] - 2032) <= 1.0


def test_historical_arm_reproduces_paper_code(villalobos, default_run) -> None:
    """The paper's code run by the method notes (B.1 [R], historical projection): 2028.8 [2027.1-2027.4, 2031.2],
    5x 2028.1 [2026.4, 2030.0], 100x 2025.7 [2024.5, 2027.4]. Tolerance 0.4 years: [R]'s Monte Carlo noise
    (±2% on quantiles, ~0.1-0.3 years here) plus its date read-off, biased early by up to one 0.24-year step."""
    from forecast.config import resolve
    from forecast.model.sample import posterior_arrays
    from forecast.projection.inputs import flatten
    from forecast.projection.project import project_scenario

    result, _ = default_run
    posterior = flatten(posterior_arrays(result.idata))
    expected = {
        "compute-optimal": (2028.8, 2027.25, 2031.2),
        "overtrained-5x": (2028.1, 2026.4, 2030.0),
        "overtrained-100x": (2025.7, 2024.5, 2027.4),
    }
    for scenario in resolve(load_config("villalobos2024")):
        hist = scenario.model_copy(update={"scaling": "historical"})
        years = project_scenario(hist, posterior, result.bundle.stock_priors, 1).crossing_year
        got = np.quantile(years, [0.5, 0.1, 0.9])
        np.testing.assert_allclose(got, expected[scenario.name], atol=0.4, err_msg=scenario.name)


def test_scenario_only_change_does_not_sample(default_run, tmp_path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the sampler was called for a scenario-only change")

    monkeypatch.setattr(model_fit, "sample_posterior", refuse)
    config = without_vintages(load_config("default"))  # the vintages' own fits are not in this session's cache
    changed = config.model_copy(update={"defaults": config.defaults.model_copy(update={"horizon": 2070})})
    result = pipeline.run_pipeline(changed, data_dir=DATA_DIR, out_dir=tmp_path / "out", write_report=False)
    assert result.fit_reused


def test_data_change_samples_again(default_run, tmp_path, monkeypatch) -> None:
    from forecast.data.provenance import update_hashes

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    runs = (data / "training_runs.csv").read_text().splitlines(keepends=True)
    (data / "training_runs.csv").write_text("".join(runs[:-1]))  # drop the last run
    update_hashes(data)
    calls = []
    fitted = default_run[0].idata

    def record(model, sampler, seed, progressbar=False):
        """The default fit's draws of this block's variables, shaped like one block's sampling."""
        calls.append(seed)
        names = [v.name for v in (*model.free_RVs, *model.deterministics)]
        stats = fitted["sample_stats"].to_dataset().isel(block=0).drop_vars("block")
        return xr.DataTree.from_dict({"posterior": fitted["posterior"].to_dataset()[names], "sample_stats": stats})

    monkeypatch.setattr(model_fit, "sample_posterior", record)
    config = without_vintages(load_config("default"))
    pipeline.run_pipeline(config, data_dir=data, out_dir=tmp_path / "out", write_report=False)
    # Only blocks that read the runs are sampled again; adoption and the AI share read web_growth.csv only.
    by_seed = {model_fit.block_seed(config.seed, name): name for name in ("dataset", "compute", "adoption", "ai_share")}
    sampled = [by_seed[seed] for seed in calls]
    assert sampled and set(sampled) <= {"dataset", "compute"} and len(set(sampled)) == len(sampled)


def test_failed_run_keeps_previous_outputs(default_run, tmp_path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "summary.csv").write_text("previous\n")
    bad = tmp_path / "data"
    shutil.copytree(DATA_DIR, bad)
    (bad / "training_runs.csv").write_text("model\n")
    with pytest.raises(InputError):
        pipeline.run_pipeline(load_config("default"), data_dir=bad, out_dir=out)
    assert (out / "summary.csv").read_text() == "previous\n"
    assert not list(tmp_path.glob(".forecast-staging-*"))


def test_same_seed_gives_identical_summary_bytes(default_run, tmp_path) -> None:
    result, out = default_run
    again = pipeline.run_pipeline(result.config, data_dir=DATA_DIR, out_dir=tmp_path / "again", write_report=False)
    assert (tmp_path / "again" / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()
    assert again.fit_reused


def test_missing_data_dir_is_input_error(tmp_path) -> None:
    with pytest.raises(DataError):
        pipeline.run_pipeline(load_config("default"), data_dir=Path(tmp_path / "nope"), out_dir=tmp_path / "o")


def test_run_without_report_removes_the_previous_report_and_images(default_run, tmp_path) -> None:
    """Outputs of an earlier run that this one does not write (--no-png, write_report=False) do not stay behind
    next to results they were not made from."""
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "fan_chart.png").write_bytes(b"from another run")
    (out / "report.html").write_text("from another run")
    pipeline.run_pipeline(default_run[0].config, data_dir=DATA_DIR, out_dir=out, write_report=False)
    assert (out / "summary.csv").is_file()
    assert not (out / "figures").exists() and not (out / "report.html").exists()
