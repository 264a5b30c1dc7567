"""The benchmark (`benchmarks/bench.py`) on tiny inputs (no timing asserted), and the posterior cache's corrupt-entry
and --no-cache paths.

The full benchmark is never run here: `run_bench` gets a fake command runner, the exhaustion throughput runs on a
few thousand paths, and the pipeline tests replace NUTS by prior draws of the same model (a few seconds).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from benchmarks import bench
from forecast.projection.crossing import first_crossing

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"


# ---------------------------------------------------------------------------------------------------------------
# Exhaustion throughput: the package's dates from inputs, checked against the dense reference
# ---------------------------------------------------------------------------------------------------------------


def test_exhaustion_throughput_on_10k_paths() -> None:
    result = bench.exhaustion_throughput(n_paths=10_000, chunk=4_000, small_chunk=1_000, data_dir=DATA_DIR)
    assert result["paths"] == 10_000 and result["grid_points"] == 433
    assert result["scenario"] == bench.THROUGHPUT_SCENARIO
    for name, rate in result["paths_per_second"].items():
        assert rate > 0, name
    assert result["mismatches_vs_dense"] == {"year": 0, "censored": 0}
    assert 2025 < result["median_year"] < 2040


def test_realistic_inputs_look_like_a_run() -> None:
    from forecast.config import load_config, resolve
    from forecast.data import load_stock_priors

    scenario = next(s for s in resolve(load_config("default")) if s.name == bench.THROUGHPUT_SCENARIO)
    inputs = bench.realistic_inputs(scenario, load_stock_priors(DATA_DIR), 500, np.random.default_rng(0), 1)
    for name in ("dataset_level", "compute_level", "adoption_rate", "indexed_pages", "epochs"):
        assert inputs[name].shape == (500,) and np.all(np.isfinite(inputs[name])), name
    gap, seconds = bench.dense_crossing(scenario, inputs, bench.monthly_grid(), 1)
    assert gap.shape == (500, 433) and seconds >= 0
    years = first_crossing(bench.monthly_grid(), gap).year
    assert 2025 < np.nanmedian(years) < 2040


# ---------------------------------------------------------------------------------------------------------------
# Measurement helpers
# ---------------------------------------------------------------------------------------------------------------


def test_measure_command_reports_time_memory_and_exit_code() -> None:
    result = bench.measure_command(
        [sys.executable, "-c", "x = bytearray(60_000_000); x[::4096] = b'1' * len(x[::4096])"]
    )
    assert result["returncode"] == 0 and not result["timed_out"]
    assert result["wall_seconds"] > 0 and result["cpu_seconds"] >= 0
    assert result["max_rss_mb"] >= 55
    failed = bench.measure_command([sys.executable, "-c", "import sys; print('oops', file=sys.stderr); sys.exit(3)"])
    assert failed["returncode"] == 3 and failed["stderr_tail"] == ["oops"]


def test_scenario_only_copy_keeps_the_fit_key(tmp_path: Path) -> None:
    from forecast.config import fit_key, load_config

    path = bench.scenario_only_yaml("default", tmp_path / "changed.yml")
    changed, default = load_config(str(path)), load_config("default")
    assert changed.defaults.horizon == bench.SCENARIO_ONLY_HORIZON != default.defaults.horizon
    assert fit_key(changed) == fit_key(default)


def test_cold_environment_moves_every_cache() -> None:
    env = bench.cold_environment(Path("/tmp/cold"), {"PYTENSOR_FLAGS": "floatX=float64,compiledir=/x", "A": "1"})
    assert env["PYTENSOR_FLAGS"] == "floatX=float64,base_compiledir=/tmp/cold/pytensor"
    assert env["NUMBA_CACHE_DIR"] == "/tmp/cold/numba"
    assert env["FORECAST_CACHE_DIR"] == "/tmp/cold/posteriors"
    assert env["A"] == "1"


# ---------------------------------------------------------------------------------------------------------------
# The whole benchmark with a fake runner: the JSON has every key
# ---------------------------------------------------------------------------------------------------------------


class FakeRunner:
    """Stands in for `measure_command`: records the calls and writes a run.json for `forecast run`."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, str] | None]] = []

    def __call__(self, argv: list[str], env: dict[str, str] | None = None, **_: Any) -> dict[str, Any]:
        self.calls.append((list(argv), env))
        if "--out" in argv:
            out = Path(argv[argv.index("--out") + 1])
            out.mkdir(parents=True, exist_ok=True)
            run = {"fit_reused_from_cache": True, "wall_time_seconds": {"validate": 0.1, "fit": 0.2, "total": 0.5}}
            if "--no-png" not in argv:
                run["figures"] = {"png": "written", "png_seconds": PNG_SECONDS}
            (out / "run.json").write_text(json.dumps(run))
        return {
            "argv": list(argv),
            "returncode": 0,
            "timed_out": False,
            "wall_seconds": 2.0 if "--out" in argv else 1.0,
            "cpu_seconds": 1.0,
            "max_rss_mb": 300.0,
            "peak_tree_rss_mb": 500.0,
            "peak_tree_pss_mb": 400.0,
            "stdout_tail": [],
            "stderr_tail": [],
        }


PNG_SECONDS = {"chromium_open": 0.85, "render": {"fan_chart": 0.37}, "waited_after_page": 0.3}
WATCH_PNG_SECONDS = {"chromium_open": 0.0, "render": {"fan_chart": 0.36}, "waited_after_page": 0.4}


def _canned_watch(scenarios: str, data_dir: Path, root: Path, env: dict[str, str] | None) -> dict[str, Any]:
    edit = {"bend_width_oom": 0.29, "seconds": 1.5, "fit_reused": True, "png_seconds": WATCH_PNG_SECONDS}
    return {"edits": [edit], "first_run_seconds": 4.0, "exit_code": 0, "median_edit_seconds": 1.5}


@pytest.mark.parametrize("quick", [False, True])
def test_bench_json_has_all_keys(tmp_path: Path, quick: bool) -> None:
    runner = FakeRunner()
    results = bench.run_bench(
        quick=quick,
        data_dir=DATA_DIR,
        samplers=(),
        exhaustion_paths=2_000,
        exhaustion_chunk=1_000,
        scenario_paths=0,
        import_repeats=1,
        runner=runner,
        watch_timer=_canned_watch,
    )
    assert set(results) == set(bench.BENCH_KEYS)
    runs = results["runs"]
    assert set(bench.RUN_LABELS) <= set(runs)
    assert runs["warm"]["ratio_to_import_pymc"] == 2.0 and runs["warm"]["fit_reused"] is True
    assert runs["warm"]["report_and_write_seconds"] == pytest.approx(0.2)
    assert set(results["targets"]) >= set(bench.TARGETS)
    if quick:
        assert runs["cold"] == {"skipped": "--quick"} and "prime" in runs
        assert results["targets"]["cold_run_seconds"]["met"] is None
    else:
        cold_env = next(env for argv, env in runner.calls if "--out" in argv)
        assert "base_compiledir=" in cold_env["PYTENSOR_FLAGS"] and cold_env["FORECAST_CACHE_DIR"].endswith(
            "posteriors"
        )
        assert results["targets"]["cold_run_seconds"]["met"] is True
    assert results["targets"]["peak_memory_gb"]["measured"] == pytest.approx(400 / 1024, abs=1e-3)
    run_argvs = [argv for argv, _ in runner.calls if "--out" in argv]
    warm, again = (argv for argv in run_argvs if argv[argv.index("--out") + 1].endswith("out-warm"))
    assert warm == again  # the up-to-date run repeats the warm run into the same folder
    scenario_argv, no_png_argv = run_argvs[-2:]
    assert scenario_argv[scenario_argv.index("--scenarios") + 1].endswith("scenario-only.yml")
    assert no_png_argv[-1] == "--no-png" and "--no-png" not in scenario_argv

    path = tmp_path / "reports" / "bench.json"
    bench.write_results(path, results)
    assert set(json.loads(path.read_text())) == set(bench.BENCH_KEYS)
    text = bench.format_report(results)
    assert "targets:" in text and "import pymc" in text
    assert runs["scenario_only"]["png_seconds"] == PNG_SECONDS and "png_seconds" not in runs["scenario_only_no_png"]
    # import pymc takes 1.0 s in the fake runner: the watch's median edit of 1.5 s is 1.5 times that
    assert results["watch"]["ratio_to_import_pymc"] == 1.5
    assert results["targets"]["watch_edit_ratio_to_import_pymc"]["met"] is True
    assert "forecast watch:" in text and "Chromium open already" in text
    assert "images: Chromium open 0.85 s after its start; rendered fan_chart 0.37 s" in text


def test_bench_is_one_command_outside_the_package() -> None:
    result = CliRunner().invoke(bench.app, ["--help"])
    assert result.exit_code == 0
    for option in ("--quick", "--out"):
        assert option in result.stdout


# ---------------------------------------------------------------------------------------------------------------
# Posterior cache: a corrupt entry is ignored with a note and re-sampled; --no-cache neither reads nor writes
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_config():
    from fakes import without_vintages

    from forecast.config import load_config

    config = without_vintages(load_config("default"))
    return config.model_copy(update={"sampler": config.sampler.model_copy(update={"chains": 2, "draws": 50})})


@pytest.fixture(scope="module")
def prior_draws_sampler():
    """A stand-in for NUTS: prior draws of the same model shaped like a posterior (computed once per module)."""
    made: dict[str, Any] = {}

    def sample(model, sampler, seed, progressbar=False):
        names = [rv.name for rv in model.free_RVs] + [d.name for d in model.deterministics]
        key = tuple(names)  # one tree per block's model
        if key not in made.setdefault("trees", {}):
            import pymc as pm
            import xarray as xr

            with model:
                prior = pm.sample_prior_predictive(draws=sampler.chains * sampler.draws, random_seed=1, var_names=names)
            shape = (sampler.chains, sampler.draws)
            posterior = xr.Dataset(
                {
                    name: (("chain", "draw", *da.dims[2:]), da.values.reshape(*shape, *da.shape[2:]))
                    for name, da in prior["prior"].data_vars.items()
                }
            )
            stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros(shape, dtype=bool))})
            made["trees"][key] = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
        made.setdefault("calls", []).append(seed)
        return made["trees"][key].copy()

    sample.made = made  # type: ignore[attr-defined]
    return sample


def test_corrupt_cache_entry_is_ignored_with_a_note_and_resampled(
    tmp_path, monkeypatch, small_config, prior_draws_sampler
) -> None:
    from forecast import cache
    from forecast.data import load_bundle
    from forecast.model import fit as model_fit
    from forecast.model.blocks import model_blocks
    from forecast.run import pipeline

    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(model_fit, "sample_posterior", prior_draws_sampler)
    bundle = load_bundle(DATA_DIR, cutoff=small_config.data.cutoff)
    key = model_fit.fit_hash(small_config, bundle)
    entry = cache.path_for(key)
    entry.parent.mkdir(parents=True, exist_ok=True)  # loading the data recorded its checks there already
    entry.write_bytes(b"this is not a netCDF file\n")
    notes: list[str] = []
    calls_before = len(prior_draws_sampler.made.get("calls", []))
    result = pipeline.run_pipeline(
        small_config, data_dir=DATA_DIR, out_dir=tmp_path / "out", progress=notes.append, write_report=False
    )
    blocks = len(model_blocks(model_fit.fit_data_of(small_config, bundle), small_config.fit))
    assert len(prior_draws_sampler.made["calls"]) == calls_before + blocks  # every block sampled again
    assert not result.fit_reused
    assert any(note.startswith(f"ignoring cache entry {entry.name}") for note in notes), notes
    assert cache.load(key) is not None  # the garbage was replaced by a valid entry
    again = pipeline.run_pipeline(small_config, data_dir=DATA_DIR, out_dir=tmp_path / "again", write_report=False)
    assert again.fit_reused and len(prior_draws_sampler.made["calls"]) == calls_before + blocks


def test_no_cache_neither_reads_nor_writes(tmp_path, monkeypatch, small_config, prior_draws_sampler) -> None:
    from forecast.data import load_bundle
    from forecast.model import fit as model_fit
    from forecast.model.blocks import model_blocks

    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(model_fit, "sample_posterior", prior_draws_sampler)
    bundle = load_bundle(DATA_DIR, cutoff=small_config.data.cutoff)
    _, reused = model_fit.fit_posterior(small_config, bundle, use_cache=True)  # fills the cache
    assert not reused
    calls_before = len(prior_draws_sampler.made["calls"])
    _, reused = model_fit.fit_posterior(small_config, bundle, use_cache=False)
    blocks = len(model_blocks(model_fit.fit_data_of(small_config, bundle), small_config.fit))
    assert not reused and len(prior_draws_sampler.made["calls"]) == calls_before + blocks
    other = tmp_path / "empty-cache"
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(other))
    model_fit.fit_posterior(small_config, bundle, use_cache=False)
    assert not other.exists()


def test_run_that_wrote_nothing_reports_no_stages(tmp_path: Path) -> None:
    """An up-to-date run leaves the earlier run.json in place: its stage times are not this run's."""
    first = FakeRunner()
    out = tmp_path / "out"
    bench.time_forecast_run("default", DATA_DIR, out, None, first)

    def untouched(argv: list[str], env: dict[str, str] | None = None, **_: Any) -> dict[str, Any]:
        return {"argv": argv, "returncode": 0, "wall_seconds": 1.0}

    again = bench.time_forecast_run("default", DATA_DIR, out, None, untouched)
    assert again["wrote_outputs"] is False and again["stage_seconds"] == {} and "report_and_write_seconds" not in again


FAKE_WATCH = """
import json, pathlib, sys, time
args = sys.argv[1:]
config = pathlib.Path(args[args.index("--scenarios") + 1])
out = pathlib.Path(args[args.index("--out") + 1])
out.mkdir(parents=True, exist_ok=True)
runs = 0

def run():
    global runs
    runs += 1
    png = {"chromium_open": 0.0 if runs > 1 else 0.9, "render": {"fan_chart": 0.3}, "waited_after_page": 0.1}
    record = {"fit_reused_from_cache": True, "figures": {"png": "written", "png_seconds": png}}
    (out / "run.json").write_text(json.dumps(record))
    print(f"done: results in {out}", flush=True)
    print("watching (Ctrl-C stops)", file=sys.stderr, flush=True)

try:
    stamp = config.stat().st_mtime_ns
    run()
    while True:
        time.sleep(0.01)
        if config.stat().st_mtime_ns != stamp:
            stamp = config.stat().st_mtime_ns
            print(f"changed: {config}", file=sys.stderr, flush=True)
            run()
except KeyboardInterrupt:
    print("stopped watching", file=sys.stderr, flush=True)
"""


def test_watch_edits_are_timed_from_save_to_done(tmp_path: Path) -> None:
    """The bench saves each edit and waits for the watch's `done` line; what the run recorded goes with it, and
    Ctrl-C ends the watch (a stand-in watch that answers each save at once, so only the plumbing is tested)."""
    script = tmp_path / "fake_watch.py"
    script.write_text(FAKE_WATCH)
    results = bench.time_watch_edits(
        "default", DATA_DIR, tmp_path, None, widths=(0.29, 0.28), command=(sys.executable, str(script))
    )
    assert "error" not in results, results
    assert [e["bend_width_oom"] for e in results["edits"]] == [0.29, 0.28]
    # An answer within 10 s of the save: the stand-in polls every 10 ms; the bound only catches a lost save.
    assert all(0 < e["seconds"] < 10 and e["fit_reused"] for e in results["edits"]), results["edits"]
    assert [e["png_seconds"]["chromium_open"] for e in results["edits"]] == [0.0, 0.0]
    assert results["median_edit_seconds"] == round(sum(e["seconds"] for e in results["edits"]) / 2, 3)
    assert results["exit_code"] == 0
    assert "bend_width_oom: 0.28" in (tmp_path / "watched.yml").read_text()
