"""`python benchmarks/bench.py`: how fast is a run on this machine, and where does the time go?

A benchmark, not a test: it prints what it measures and writes it as JSON (default `reports/bench.json`); nothing
here fails because a number is slow. What it measures:

- **Runs** of `forecast run` as subprocesses of the same interpreter, each with `--out` to a temporary folder:
  *cold* (empty posterior cache *and* empty PyTensor/Numba compile caches: `FORECAST_CACHE_DIR`,
  `PYTENSOR_FLAGS=base_compiledir=...` and `NUMBA_CACHE_DIR` pointed at empty temporary folders), *warm* (the same
  inputs again, caches now filled) and *scenario-only* (a copy of the preset with the default horizon moved to
  2070: the fit is reused, every scenario is recomputed). For each: wall and CPU time, peak memory (largest single
  process from `wait4`'s `ru_maxrss`, and the sampled PSS sum over the process tree when psutil is importable),
  whether the fit came from the cache, the stage times the run recorded in `run.json`, and the ratio of the wall
  time to `python -c "import pymc"` timed the same way on the same machine.
- **A watch**: `forecast watch` of the scenario-only copy, then three scenario edits saved one after another
  (`WATCH_EDITS`): for each, the time from saving the file until the watch's run of it printed `done`, and what
  that run recorded in `run.json`. The same work as a scenario-only run, without the process start-up: the
  imports and Chromium's start are paid once, before the first run.
- **Samplers**: the fit of the preset with nutpie (the default `sampler.backend`, skipped if not installed) and
  with PyMC's NUTS (`sampler.backend: pymc`):
  wall time of the whole fit (model build, graph compilation, sampling), the sampler's own sampling time, and the
  smallest bulk ESS over the sampled variables per second.
- **Exhaustion throughput**: exhaustion dates of the default preset's mixture scenario on realistic inputs
  (posterior-like fitted inputs, priors from data/stock_priors.csv), in chunks: `scenarios.exhaustion_crossing`,
  which goes from the inputs to the dates and builds the demand and stock paths only where the crossing can be
  (the headline figure, path construction included), against the dense reference — all 433 monthly points of
  2024–2060 built, then `exhaustion.first_crossing` (1,000,000 paths × 433 float64 would be 3.5 GB at once) —
  path by path, to the bit. When the warm run left a posterior, also `scenarios.project_scenario` itself (inputs,
  paths, all crossings, bands) on resampled draws.

Targets (issue "speed"): cold run ≤ 60 s, warm and scenario-only re-runs ≤ 2× the pymc import, peak memory of a
default run ≤ 1.5 GB, ≥ 1,000,000 exhaustion draw-paths per second. `targets()` evaluates them from the results,
the scenario edit both as a new `forecast run` process and inside `forecast watch`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
import yaml

from forecast.projection.crossing import first_crossing

Progress = Callable[[str], None]
CommandRunner = Callable[..., dict[str, Any]]
WatchTimer = Callable[[str, Path, Path, dict[str, str] | None], dict[str, Any]]
FORECAST_COMMAND = (sys.executable, "-m", "forecast.cli.app")

BENCH_SCHEMA_VERSION = 2  # 2: `watch`
#: Top-level keys of the results (and of bench.json); locked by tests/bench/test_bench.py.
BENCH_KEYS = (
    "schema_version",
    "created",
    "quick",
    "scenarios",
    "machine",
    "load_before",
    "load_after",
    "import_pymc",
    "imports",
    "runs",
    "watch",
    "samplers",
    "exhaustion",
    "scenario_throughput",
    "targets",
    "notes",
)
#: cold: empty caches; warm: cached posterior, new --out (projections, report and images recomputed or reused);
#: up_to_date: warm again into the same --out (nothing to recompute, `forecast.run.freshness`); scenario_only: horizon
#: moved (changed figures rendered); scenario_only_no_png: the same with --no-png (the edit-and-look loop).
RUN_LABELS = ("cold", "warm", "up_to_date", "scenario_only", "scenario_only_no_png")
TARGETS = {
    "cold_run_seconds": 60.0,
    "warm_ratio_to_import_pymc": 2.0,
    "scenario_only_ratio_to_import_pymc": 2.0,
    "peak_memory_gb": 1.5,
    "exhaustion_paths_per_second": 1_000_000.0,
}
GRID_START, GRID_END = 2024.0, 2060.0
SCENARIO_ONLY_HORIZON = 2070
#: Width of the compute limits' bend (OOM; the default preset's 0.3) in the successive edits of the watch
#: measurement: each a value no earlier run of the bench used, so each edit's changed figures are rendered, not copied.
WATCH_EDITS = (0.29, 0.28, 0.27)
IMPORT_BREAKDOWN = ("arviz", "forecast.run.pipeline", "forecast.report.page")
MB = 1024.0 * 1024.0


def _noop(_: str) -> None:
    pass


# ----------------------------------------------------------------------------------------------------------------
# Machine and subprocess measurements
# ----------------------------------------------------------------------------------------------------------------


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (the machine may be shared: report them with every figure)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux/macOS
        return []


def machine_info() -> dict[str, Any]:
    """CPU count, Python, platform and where the compile caches live."""
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "psutil": importlib.util.find_spec("psutil") is not None,
        "nutpie": importlib.util.find_spec("nutpie") is not None,
        # Set, Python compiles forecast's own modules (an editable install has no bytecode) at every run, ~0.15 s
        # that `import pymc` (compiled when installed) does not pay: the ratios are then slightly pessimistic.
        "bytecode_writing_disabled": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
    }
    try:
        import pytensor

        info["pytensor_base_compiledir"] = str(pytensor.config.base_compiledir)
        info["pytensor_compiledir"] = str(pytensor.config.compiledir)
        info["pytensor_linker"] = str(pytensor.config.linker)
    except Exception as error:  # pragma: no cover - pytensor is a dependency
        info["pytensor_error"] = f"{type(error).__name__}: {error}"
    try:
        from forecast import cache

        info["posterior_cache_dir"] = str(cache.cache_folder("posteriors"))
    except Exception as error:  # pragma: no cover
        info["posterior_cache_error"] = f"{type(error).__name__}: {error}"
    return info


def _tree_memory(pid: int) -> tuple[int, int] | None:
    """(RSS, PSS) summed over `pid` and its descendants, in bytes; None without psutil or once it exited.

    RSS counts a shared page once per process that maps it (Chromium's and PyMC's worker processes share a lot),
    PSS splits it between them, so the PSS sum is the tree's actual footprint. PSS falls back to RSS where the
    kernel does not report it.
    """
    try:
        import psutil
    except ImportError:
        return None
    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return None
    rss = pss = 0
    for process in processes:
        try:
            full = process.memory_full_info()
        except psutil.Error:
            continue
        rss += full.rss
        pss += getattr(full, "pss", full.rss)
    return rss, pss


def measure_command(
    argv: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800.0,
    sample_interval: float = 0.1,
) -> dict[str, Any]:
    """Run `argv` to completion and measure it: wall and CPU seconds, peak memory, exit code, output tails.

    Peak memory: `max_rss_mb` is `ru_maxrss` from `wait4` (the largest single process of the child's tree that
    was waited for); `peak_tree_pss_mb` and `peak_tree_rss_mb` the largest sums of proportional and resident
    memory over the child and its descendants, sampled every `sample_interval` seconds (need psutil; see
    `_tree_memory`).
    """
    with tempfile.TemporaryDirectory(prefix="forecast-bench-cmd-") as tmp:
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(
                list(argv), env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
            )
            peak_rss = peak_pss = 0
            timed_out = False
            try:
                while True:
                    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                    if pid:
                        break
                    memory = _tree_memory(proc.pid)
                    if memory is not None:
                        peak_rss, peak_pss = max(peak_rss, memory[0]), max(peak_pss, memory[1])
                    if time.perf_counter() - start > timeout:
                        timed_out = True
                        os.killpg(proc.pid, signal.SIGKILL)  # the child's own session: only what this call started
                        pid, status, usage = os.wait4(proc.pid, 0)
                        break
                    time.sleep(sample_interval)
            except BaseException:  # interrupted: the child runs in its own session, so stop it here
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
                raise
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        stdout = out_path.read_text(errors="replace")
        stderr = err_path.read_text(errors="replace")
    return {
        "argv": [str(a) for a in argv],
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "max_rss_mb": round(usage.ru_maxrss / 1024.0, 1),  # Linux: kilobytes
        "peak_tree_rss_mb": round(peak_rss / MB, 1) if peak_rss else None,
        "peak_tree_pss_mb": round(peak_pss / MB, 1) if peak_pss else None,
        "stdout_tail": stdout.strip().splitlines()[-5:],
        "stderr_tail": stderr.strip().splitlines()[-8:],
    }


def import_time(module: str = "pymc", repeats: int = 3, runner: CommandRunner = measure_command) -> dict[str, Any]:
    """Wall time of `python -c "import <module>"` in fresh interpreters: median and all repeats."""
    walls, cpus = [], []
    for _ in range(repeats):
        result = runner([sys.executable, "-c", f"import {module}"])
        walls.append(result["wall_seconds"])
        cpus.append(result["cpu_seconds"])
    return {
        "module": module,
        "median_seconds": round(statistics.median(walls), 3),
        "min_seconds": min(walls),
        "seconds": walls,
        "cpu_seconds": cpus,
    }


# ----------------------------------------------------------------------------------------------------------------
# `forecast run` as a subprocess
# ----------------------------------------------------------------------------------------------------------------


def preset_text(scenarios: str) -> str:
    """YAML text of a packaged preset name or a scenario file path."""
    preset = resources.files("forecast.config").joinpath("presets", f"{scenarios}.yml")
    if preset.is_file():
        return preset.read_text(encoding="utf-8")
    return Path(scenarios).read_text(encoding="utf-8")


def scenario_only_yaml(scenarios: str, path: Path, horizon: int = SCENARIO_ONLY_HORIZON) -> Path:
    """A copy of the preset that differs only in scenario settings (the default horizon), so the fit is reused;
    without the preset's vintages and compute-sensitivity refits, each a fit of its own (their cost is the
    `vintages` and `compute sensitivity` stages of a run)."""
    data = yaml.safe_load(preset_text(scenarios))
    data.pop("vintages", None)
    data.pop("compute_sensitivity", None)
    data.setdefault("defaults", {})["horizon"] = horizon
    return _write_preset_copy(data, f"bench: {scenarios} with the default horizon moved to {horizon}", path)


def _write_preset_copy(data: dict[str, Any], description: str, path: Path) -> Path:
    """Write an edited preset to `path` as an editor saves (a new file renamed over the old one): a watch of
    `path` never reads half a file."""
    data["description"] = description
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def cold_environment(root: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment with empty, private posterior and compile caches under `root`.

    PyTensor 3 compiles with Numba by default and keeps that cache in `<base_compiledir>/numba`, so moving
    `compiledir` alone would leave it warm: the cold run moves `base_compiledir` (which also holds `compiledir`)
    and Numba's own cache (`NUMBA_CACHE_DIR`, for library functions jitted with `cache=True`).
    """
    env = dict(os.environ if base is None else base)
    flags = [
        f
        for f in env.get("PYTENSOR_FLAGS", "").split(",")
        if f and not f.startswith(("base_compiledir=", "compiledir="))
    ]
    env["PYTENSOR_FLAGS"] = ",".join([*flags, f"base_compiledir={root / 'pytensor'}"])
    env["NUMBA_CACHE_DIR"] = str(root / "numba")
    env["FORECAST_CACHE_DIR"] = str(root / "posteriors")
    return env


def _run_json(out_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _run_json_stamp(out_dir: Path) -> int | None:
    """Modification time (ns) of `out_dir/run.json`, None if absent: tells whether a run wrote it anew."""
    try:
        return (out_dir / "run.json").stat().st_mtime_ns
    except OSError:
        return None


def time_forecast_run(
    scenarios: str,
    data_dir: Path,
    out_dir: Path,
    env: dict[str, str] | None,
    runner: CommandRunner = measure_command,
    extra_args: Sequence[str] = (),
) -> dict[str, Any]:
    """One `forecast run` in a subprocess: `measure_command` plus what the run recorded in `run.json` (nothing when
    the run found its outputs up to date and left an earlier run's `run.json` in place)."""
    argv = [*FORECAST_COMMAND, "run", "--scenarios", str(scenarios)]
    argv += ["--data", str(data_dir), "--out", str(out_dir), *extra_args]
    before = _run_json_stamp(out_dir)
    result = runner(argv, env=env)
    result["wrote_outputs"] = _run_json_stamp(out_dir) not in (None, before)
    run = _run_json(out_dir) if result["wrote_outputs"] else {}
    stages = {k: v for k, v in (run.get("wall_time_seconds") or {}).items() if isinstance(v, int | float)}
    result["fit_reused"] = run.get("fit_reused_from_cache")
    result["stage_seconds"] = stages
    png_seconds = (run.get("figures") or {}).get("png_seconds")
    if png_seconds:  # Chromium's start, each re-rendered image, and how long the run waited for them at the end
        result["png_seconds"] = png_seconds
    if "total" in stages:
        inner = sum(v for k, v in stages.items() if k != "total")
        # run.json is written inside the report/write stage, so its `total` stops there; the rest of the wall
        # time is interpreter start-up, imports, config loading and moving the outputs into place.
        result["report_and_write_seconds"] = round(stages["total"] - inner, 3)
        result["outside_pipeline_seconds"] = round(result["wall_seconds"] - stages["total"], 3)
    return result


class WatchProcess:
    """A `forecast watch` subprocess (in its own process group, as a terminal would run it) whose output lines,
    stdout and stderr together, are collected with their arrival times by a reader thread."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.lines: list[tuple[float, str]] = []
        self._next = 0  # lines before this index have been looked at by `wait_for`
        self.proc = subprocess.Popen(
            list(argv),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.perf_counter(), line.rstrip("\n")))

    def wait_for(self, *prefixes: str, timeout: float = 300.0) -> tuple[float, str]:
        """The next line, after those already looked at, that starts with one of `prefixes`, and when it came;
        TimeoutError (with the last lines) if none comes in time or the process ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while self._next < len(self.lines):
                arrived, line = self.lines[self._next]
                self._next += 1
                if line.startswith(prefixes):
                    return arrived, line
            if self.proc.poll() is not None and not self._reader.is_alive() and self._next >= len(self.lines):
                break
            time.sleep(0.005)
        tail = " / ".join(line for _, line in self.lines[-8:])
        raise TimeoutError(f"`forecast watch` printed no line starting with {prefixes}: {tail}")

    def interrupt(self, timeout: float = 60.0) -> int:
        """Ctrl-C as a terminal sends it (SIGINT to the process group); the exit code."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def close(self) -> None:
        """Kill the watch (and its Chromium) if it is still running."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def bend_width_yaml(scenarios: str, path: Path, width: float) -> Path:
    """A copy of the preset with another width of the compute limits' bend (a scenario setting: the fit is reused,
    and the fan chart, probability, compute and extension figures change); without the vintages and the compute
    sensitivity refits, as `scenario_only_yaml`."""
    data = yaml.safe_load(preset_text(scenarios))
    data.pop("vintages", None)
    data.pop("compute_sensitivity", None)
    limits = data.setdefault("defaults", {}).get("compute_limits")
    data["defaults"]["compute_limits"] = {**(limits or {}), "bend_width_oom": width}
    data["defaults"]["compute_slowdown"] = None
    description = f"bench: {scenarios} with the compute limits' bend {width} OOM wide"
    return _write_preset_copy(data, description, path)


def time_watch_edits(
    scenarios: str,
    data_dir: Path,
    root: Path,
    env: dict[str, str] | None,
    widths: Sequence[float] = WATCH_EDITS,
    command: Sequence[str] = FORECAST_COMMAND,
) -> dict[str, Any]:
    """A `forecast watch` of the scenario-only YAML: its start until the first run is done, then, for each of
    `widths`, the time from saving the edited YAML until the watch's run of it is done, with what that run
    recorded (fit reused, image times); then Ctrl-C and its exit code."""
    config = scenario_only_yaml(scenarios, root / "watched.yml")
    out = root / "out-watch"
    argv = [*command, "watch", "--scenarios", str(config)]
    started = time.perf_counter()
    watch = WatchProcess([*argv, "--data", str(data_dir), "--out", str(out)], env=env)
    result: dict[str, Any] = {"edits": []}
    try:
        arrived, _ = watch.wait_for("watching")
        result["first_run_seconds"] = round(arrived - started, 3)
        for width in widths:
            # Timed from the start of the save: a watch may answer before a clock read after the rename would
            # run (a loaded machine can pause this thread there), which gave negative times.
            saved = time.perf_counter()
            bend_width_yaml(scenarios, config, width)
            arrived, line = watch.wait_for("done:", "up to date", "error:", "internal error:")
            edit: dict[str, Any] = {"bend_width_oom": width, "seconds": round(arrived - saved, 3)}
            if line.startswith("done:"):
                run = _run_json(out)
                edit["fit_reused"] = run.get("fit_reused_from_cache")
                edit["png_seconds"] = (run.get("figures") or {}).get("png_seconds")
            else:
                edit["outcome"] = line
            result["edits"].append(edit)
            watch.wait_for("watching")
        result["exit_code"] = watch.interrupt()
    except (TimeoutError, subprocess.TimeoutExpired) as error:
        result["error"] = str(error)
    finally:
        watch.close()
    times = [e["seconds"] for e in result["edits"] if "outcome" not in e]
    result["median_edit_seconds"] = round(statistics.median(times), 3) if times else None
    return result


# ----------------------------------------------------------------------------------------------------------------
# Samplers
# ----------------------------------------------------------------------------------------------------------------


def sampler_benchmark(scenarios: str, data_dir: Path, backend: str) -> dict[str, Any]:
    """Fit the preset's model once with `backend` (no cache): fit wall time, sampling time, min bulk ESS/s."""
    if backend == "nutpie" and importlib.util.find_spec("nutpie") is None:
        return {"backend": backend, "installed": False, "note": "pip install nutpie to measure it"}
    from forecast.config import load_config
    from forecast.data import load_bundle
    from forecast.model.fit import fit_posterior
    from forecast.model.sample import diagnose

    config = load_config(scenarios)
    config = config.model_copy(update={"sampler": config.sampler.model_copy(update={"backend": backend})})
    bundle = load_bundle(Path(data_dir), cutoff=config.data.cutoff)
    start = time.perf_counter()
    idata, _ = fit_posterior(config, bundle, use_cache=False)
    wall = time.perf_counter() - start
    sampling = float(idata.posterior.attrs.get("sampling_time", np.nan))
    diagnostics = diagnose(idata)
    ess = diagnostics.min_ess_bulk
    return {
        "backend": backend,
        "installed": True,
        "chains": config.sampler.chains,
        "draws": config.sampler.draws,
        "tune": config.sampler.tune,
        "fit_wall_seconds": round(wall, 3),
        "sampling_seconds": round(sampling, 3) if np.isfinite(sampling) else None,
        "build_and_compile_seconds": round(wall - sampling, 3) if np.isfinite(sampling) else None,
        "min_ess_bulk": round(ess, 1),
        "min_ess_tail": round(diagnostics.min_ess_tail, 1),
        "ess_bulk_per_second_sampling": round(ess / sampling, 2) if np.isfinite(sampling) and sampling > 0 else None,
        "ess_bulk_per_second_wall": round(ess / wall, 2),
        "divergences": diagnostics.divergences,
        "max_r_hat": round(diagnostics.max_r_hat, 4),
    }


# ----------------------------------------------------------------------------------------------------------------
# Exhaustion throughput
# ----------------------------------------------------------------------------------------------------------------


# Normal approximations (mean, sd) of the default preset's posterior of the fitted inputs the projection uses
# (adoption_rate: of its log). Only their scale matters here: realistic paths, crossings and censoring.
POSTERIOR_APPROXIMATION = {
    "dataset_level": (12.81, 0.12),
    "dataset_growth": (0.40, 0.042),
    "compute_level": (25.18, 0.23),
    "compute_growth": (0.54, 0.067),
    "adoption_midpoint": (2014.9, 0.57),
    # The frontier's scales, which the now-cast weighs the record with (drawn as |normal|: only their scale matters).
    "dataset_noise_sd": (0.25, 0.06),
    "dataset_shortfall_sd": (0.28, 0.15),
    # What compute costs (the supply block), which the compute arm's limits read.
    "supply_price_level": (17.96, 0.038),
    "supply_price_growth": (0.130, 0.013),
    "supply_efficiency_level": (12.14, 0.032),
    "supply_efficiency_growth": (0.098, 0.0125),
    "supply_gwp_level": (14.027, 0.003),
    "supply_gwp_growth": (0.0194, 0.0008),
}
LOG_ADOPTION_RATE = (float(np.log(0.17)), 0.043)
THROUGHPUT_SCENARIO = "mixture-optimal"


def monthly_grid(start: float = GRID_START, end: float = GRID_END) -> np.ndarray:
    """The scenarios' monthly grid (2024–2060: 433 points), as `scenarios.time_grid` builds it."""
    from forecast.projection.scenario_model import time_grid

    return time_grid(start, end)


def realistic_inputs(
    scenario: Any, stock_priors: Any, n: int, rng: np.random.Generator, seed: int
) -> dict[str, np.ndarray]:
    """Per-draw inputs of `scenario` as a run draws them, for n draws.

    The fitted inputs come from normal approximations of the default preset's posterior (`POSTERIOR_APPROXIMATION`),
    the prior-only ones from data/stock_priors.csv through `scenarios.scenario_inputs` (a fresh `seed` per chunk
    gives fresh draws).
    """
    from forecast.projection.scenario_model import scenario_inputs

    posterior = {name: rng.normal(mean, sd, n) for name, (mean, sd) in POSTERIOR_APPROXIMATION.items()}
    posterior["adoption_rate"] = np.exp(rng.normal(*LOG_ADOPTION_RATE, n))
    for scale in ("dataset_noise_sd", "dataset_shortfall_sd"):
        posterior[scale] = np.abs(posterior[scale])
    return scenario_inputs(scenario, posterior, stock_priors, seed)


def dense_crossing(scenario: Any, inputs: dict[str, np.ndarray], grid: np.ndarray, seed: int) -> tuple[Any, float]:
    """The reference: demand and stock built on every grid point, then `first_crossing`; and the build time."""
    from forecast.projection.scenario_model import demand_paths, stock_paths

    start = time.perf_counter()
    tokens, _, _ = demand_paths(scenario, inputs, grid, seed)
    gap = tokens - stock_paths(scenario, inputs, grid)["effective"]
    return gap, time.perf_counter() - start


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (np.isnan(a) & np.isnan(b)) | (a == b)


def exhaustion_throughput(
    n_paths: int = 1_000_000,
    chunk: int = 20_000,
    seed: int = 0,
    small_chunk: int = 5_000,
    progress: Progress = _noop,
    scenarios: str = "default",
    data_dir: Path | None = None,
) -> dict[str, Any]:
    """Exhaustion draw-paths per second of the default preset's mixture scenario, measured in chunks.

    Per chunk, on realistic inputs (`realistic_inputs`, not timed): `scenarios.exhaustion_crossing` — the date of
    every draw from its inputs, building the demand and stock paths where it needs them (the headline figure);
    and the dense reference — building the paths on all 433 monthly points, then `first_crossing` (also on
    `small_chunk`-row slices, to show the cache effect). Every date is checked against the reference, to the bit.
    Chunks of 20,000 by default: one (n, 433) float64 array is then 69 MB; at 50,000 (173 MB per array, several
    temporaries per path build) building the dense paths ran ~3× slower per path on the 2-core machine.
    """
    from forecast.config import load_config, resolve
    from forecast.data import find_data_dir, load_stock_priors
    from forecast.projection.project import exhaustion_crossing
    from forecast.projection.scenario_model import demand_model, steadily_rising_draws, stock_model

    resolved = {s.name: s for s in resolve(load_config(scenarios))}
    scenario = resolved.get(THROUGHPUT_SCENARIO) or next(iter(resolved.values()))
    stock_priors = load_stock_priors(Path(data_dir) if data_dir is not None else find_data_dir())
    grid = monthly_grid(GRID_START, float(scenario.horizon))
    rng = np.random.default_rng(seed)
    seconds = dict.fromkeys(("dates", "build", "first_crossing", "first_crossing_small_chunks"), 0.0)
    mismatches = {"year": 0, "censored": 0}
    whole_grid_rows = censored = done = 0
    medians = []
    while done < n_paths:
        n = min(chunk, n_paths - done)
        chunk_seed = seed + 1 + done // chunk
        inputs = realistic_inputs(scenario, stock_priors, n, rng, chunk_seed)
        start = time.perf_counter()
        fast = exhaustion_crossing(scenario, inputs, grid, chunk_seed)
        seconds["dates"] += time.perf_counter() - start
        gap, build = dense_crossing(scenario, inputs, grid, chunk_seed)
        seconds["build"] += build
        start = time.perf_counter()
        exact = first_crossing(grid, gap)
        seconds["first_crossing"] += time.perf_counter() - start
        start = time.perf_counter()
        for i in range(0, n, small_chunk):
            first_crossing(grid, gap[i : i + small_chunk])
        seconds["first_crossing_small_chunks"] += time.perf_counter() - start
        del gap
        mismatches["year"] += int((~_same(fast.year, exact.year)).sum())
        mismatches["censored"] += int((fast.censored != exact.censored).sum())
        model, paths = demand_model(scenario, inputs, chunk_seed), stock_model(scenario, inputs)
        whole_grid_rows += int((~steadily_rising_draws(model, paths, grid)).sum())
        censored += int(exact.censored.sum())
        medians.append(float(np.nanmedian(exact.year)) if not exact.censored.all() else np.nan)
        done += n
        progress(f"exhaustion: {done:,}/{n_paths:,} paths")

    def rate(total: float) -> float:
        return round(n_paths / total, 1) if total > 0 else float("inf")

    return {
        "scenario": scenario.name,
        "paths": n_paths,
        "grid_points": int(grid.size),
        "chunk": chunk,
        "small_chunk": small_chunk,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "paths_per_second": {
            "exhaustion_dates": rate(seconds["dates"]),
            "dense_build_paths": rate(seconds["build"]),
            "dense_first_crossing": rate(seconds["first_crossing"]),
            "dense_first_crossing_small_chunks": rate(seconds["first_crossing_small_chunks"]),
            "dense_build_and_first_crossing": rate(seconds["build"] + seconds["first_crossing"]),
        },
        "mismatches_vs_dense": mismatches,
        "whole_grid_rows": whole_grid_rows,
        "censored_share": round(censored / n_paths, 6),
        "median_year": round(float(np.nanmedian(medians)), 3) if medians else None,
    }


def scenario_throughput(
    posterior_file: Path,
    scenarios: str,
    data_dir: Path,
    n_paths: int = 200_000,
    chunk: int = 50_000,
    seed: int = 0,
    scenario_name: str | None = None,
) -> dict[str, Any]:
    """Draw-paths per second of `scenarios.project_scenario` itself (one mixture scenario of the preset) on the
    run's posterior draws resampled to `n_paths`: scenario inputs, demand and stock paths, crossings, bands (each
    chunk with a fresh `ProjectionCache`: its draws share nothing with the previous chunk's)."""
    import arviz as az

    from forecast.config import load_config, resolve
    from forecast.data import load_bundle
    from forecast.projection.memo import ProjectionCache
    from forecast.projection.project import project_scenario
    from forecast.run.pipeline import known_at_cutoff

    config = load_config(scenarios)
    resolved = resolve(config)
    mixtures = [s for s in resolved if getattr(s, "scaling", None) == "mixture"]
    if scenario_name is not None:
        scenario = next(s for s in resolved if s.name == scenario_name)
    else:
        scenario = (mixtures or resolved)[0]
    bundle = load_bundle(Path(data_dir), cutoff=config.data.cutoff)
    known = known_at_cutoff(config, bundle, [scenario])  # the record at the cut-off, when the scenario ties to it
    posterior = az.from_netcdf(posterior_file).posterior
    flat = {
        name: np.asarray(posterior[name].values).reshape(-1)
        for name in posterior.data_vars
        if tuple(posterior[name].dims) == ("chain", "draw")
    }
    size = next(iter(flat.values())).size
    rng = np.random.default_rng(seed)
    total = 0.0
    done = 0
    while done < n_paths:
        n = min(chunk, n_paths - done)
        rows = rng.integers(0, size, n)
        draws = {name: values[rows] for name, values in flat.items()}
        start = time.perf_counter()
        # New draws each chunk: a fresh cache, nothing reused.
        project_scenario(scenario, draws, bundle.stock_priors, config.seed, ProjectionCache(), known=known)
        total += time.perf_counter() - start
        done += n
    return {
        "scenario": scenario.name,
        "paths": n_paths,
        "chunk": chunk,
        "seconds": round(total, 3),
        "paths_per_second": round(n_paths / total, 1) if total > 0 else None,
    }


# ----------------------------------------------------------------------------------------------------------------
# The whole benchmark
# ----------------------------------------------------------------------------------------------------------------


def _ratio(run: dict[str, Any] | None, reference: float) -> float | None:
    if not run or "wall_seconds" not in run or not reference:
        return None
    return round(run["wall_seconds"] / reference, 2)


def _peak_gb(run: dict[str, Any] | None) -> float | None:
    """Peak footprint of a run: the process tree's PSS when sampled, else its largest single process."""
    if not run or "max_rss_mb" not in run:
        return None
    values = [v for v in (run.get("peak_tree_pss_mb"), run.get("max_rss_mb")) if v is not None]
    return round(max(values) / 1024.0, 3) if values else None


def targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of the issue: its limit, the measured value and whether it is met (None = not measured)."""
    runs = results.get("runs", {})
    exhaustion = results.get("exhaustion") or {}
    rates = exhaustion.get("paths_per_second", {})
    peaks = [p for p in (_peak_gb(r) for r in runs.values()) if p is not None]

    def entry(limit: float, measured: float | None, what: str, below: bool = True) -> dict[str, Any]:
        met = None if measured is None else (measured <= limit if below else measured >= limit)
        return {"limit": limit, "measured": measured, "met": met, "what": what}

    cold = runs.get("cold", {}).get("wall_seconds")
    return {
        "cold_run_seconds": entry(TARGETS["cold_run_seconds"], cold, "cold `forecast run`, empty caches (s)"),
        "warm_ratio_to_import_pymc": entry(
            TARGETS["warm_ratio_to_import_pymc"], runs.get("warm", {}).get("ratio_to_import_pymc"), "warm / import"
        ),
        "up_to_date_ratio_to_import_pymc": entry(
            TARGETS["warm_ratio_to_import_pymc"],
            runs.get("up_to_date", {}).get("ratio_to_import_pymc"),
            "warm, same --out (up to date) / import",
        ),
        "scenario_only_ratio_to_import_pymc": entry(
            TARGETS["scenario_only_ratio_to_import_pymc"],
            runs.get("scenario_only", {}).get("ratio_to_import_pymc"),
            "scenario-only / import",
        ),
        "scenario_only_no_png_ratio_to_import_pymc": entry(
            TARGETS["scenario_only_ratio_to_import_pymc"],
            runs.get("scenario_only_no_png", {}).get("ratio_to_import_pymc"),
            "scenario-only, --no-png / import",
        ),
        "watch_edit_ratio_to_import_pymc": entry(
            TARGETS["scenario_only_ratio_to_import_pymc"],
            (results.get("watch") or {}).get("ratio_to_import_pymc"),
            "scenario edit in `forecast watch` / import",
        ),
        "peak_memory_gb": entry(
            TARGETS["peak_memory_gb"], max(peaks) if peaks else None, "peak memory of a run (GB, process tree PSS)"
        ),
        "exhaustion_paths_per_second": entry(
            TARGETS["exhaustion_paths_per_second"],
            rates.get("exhaustion_dates"),
            "exhaustion dates incl. building paths (paths/s)",
            below=False,
        ),
    }


def run_bench(
    scenarios: str = "default",
    data_dir: Path = Path("data"),
    quick: bool = False,
    samplers: Sequence[str] = ("pymc", "nutpie"),
    exhaustion_paths: int = 1_000_000,
    exhaustion_chunk: int = 20_000,
    scenario_paths: int = 200_000,
    import_repeats: int = 3,
    runner: CommandRunner = measure_command,
    progress: Progress = _noop,
    watch_timer: WatchTimer = time_watch_edits,
) -> dict[str, Any]:
    """Measure everything (see module docstring); returns the results with keys `BENCH_KEYS`.

    `quick` skips the cold run: a first *prime* run then uses the user's own caches (it samples only if they do
    not hold this fit), and the warm and scenario-only runs follow it. Without `quick`, all three runs share one
    private set of caches that starts empty.
    """
    data_dir = Path(data_dir).resolve()
    results: dict[str, Any] = {
        "schema_version": BENCH_SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": quick,
        "scenarios": scenarios,
        "machine": machine_info(),
        "load_before": load_average(),
        "notes": [],
    }
    progress("bench: import pymc")
    results["import_pymc"] = import_time("pymc", import_repeats, runner)
    reference = results["import_pymc"]["median_seconds"]
    results["imports"] = {m: import_time(m, 1, runner)["median_seconds"] for m in IMPORT_BREAKDOWN}
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="forecast-bench-") as tmp:
        root = Path(tmp)
        changed = scenario_only_yaml(scenarios, root / "scenario-only.yml")
        if quick:
            env = dict(os.environ)
            progress("bench: prime run (your own caches)")
            runs["prime"] = time_forecast_run(scenarios, data_dir, root / "out-prime", env, runner)
            runs["cold"] = {"skipped": "--quick"}
        else:
            env = cold_environment(root)
            progress("bench: cold run (empty posterior and compile caches)")
            runs["cold"] = time_forecast_run(scenarios, data_dir, root / "out-cold", env, runner)
        progress("bench: warm run")
        runs["warm"] = time_forecast_run(scenarios, data_dir, root / "out-warm", env, runner)
        progress("bench: warm run into the same folder (up to date)")
        runs["up_to_date"] = time_forecast_run(scenarios, data_dir, root / "out-warm", env, runner)
        progress("bench: scenario-only change")
        runs["scenario_only"] = time_forecast_run(str(changed), data_dir, root / "out-scenario", env, runner)
        progress("bench: scenario-only change, --no-png")
        runs["scenario_only_no_png"] = time_forecast_run(
            str(changed), data_dir, root / "out-scenario-no-png", env, runner, extra_args=("--no-png",)
        )
        progress("bench: forecast watch, scenario edits")
        results["watch"] = watch_timer(scenarios, data_dir, root, env)
        median = results["watch"]["median_edit_seconds"]
        results["watch"]["ratio_to_import_pymc"] = round(median / reference, 2) if median and reference else None
        for run in runs.values():
            if "wall_seconds" in run:
                run["ratio_to_import_pymc"] = _ratio(run, reference)
                if run.get("returncode"):
                    results["notes"].append(f"a run exited {run['returncode']}: {' / '.join(run['stderr_tail'])}")
        results["runs"] = runs
        results["samplers"] = {}
        for backend in samplers:
            progress(f"bench: sampler {backend}")
            try:
                results["samplers"][backend] = sampler_benchmark(scenarios, data_dir, backend)
            except Exception as error:
                results["samplers"][backend] = {"backend": backend, "error": f"{type(error).__name__}: {error}"}
        progress("bench: exhaustion throughput")
        results["exhaustion"] = (
            exhaustion_throughput(
                exhaustion_paths, exhaustion_chunk, progress=progress, scenarios=scenarios, data_dir=data_dir
            )
            if exhaustion_paths
            else None
        )
        posterior_file = root / "out-warm" / "posterior.nc"
        results["scenario_throughput"] = None
        if scenario_paths and posterior_file.is_file():
            progress("bench: project_scenario throughput")
            try:
                results["scenario_throughput"] = scenario_throughput(
                    posterior_file, scenarios, data_dir, scenario_paths, exhaustion_chunk
                )
            except Exception as error:
                results["scenario_throughput"] = {"error": f"{type(error).__name__}: {error}"}
    results["load_after"] = load_average()
    results["targets"] = targets(results)
    return results


def write_results(path: Path, results: dict[str, Any]) -> None:
    """bench.json, written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _fmt(value: Any, spec: str = ".2f") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return format(value, spec)


def _images_line(png: dict[str, Any]) -> str:
    """Where a run's image time went, from its run.json (`images.export_pngs`)."""
    renders = ", ".join(f"{name} {_fmt(seconds, '.2f')}" for name, seconds in (png.get("render") or {}).items())
    opened = png.get("chromium_open")
    started = "Chromium open already" if opened == 0.0 else f"Chromium open {_fmt(opened, '.2f')} s after its start"
    return (
        f"images: {started}; rendered {renders or '—'} s;"
        f" the run waited {_fmt(png.get('waited_after_page'), '.2f')} s for them after its page"
    )


def _watch_lines(watch: dict[str, Any], reference: float) -> list[str]:
    """The watch measurement: each edit's time from save to done, and where its image time went."""
    if not watch:
        return []
    lines = [
        "",
        f"forecast watch: first run done {_fmt(watch.get('first_run_seconds'), '.1f')} s after start; scenario edits "
        f"(save → done), median {_fmt(watch.get('median_edit_seconds'), '.2f')} s = "
        f"{_fmt(watch.get('ratio_to_import_pymc'), '.1f')} × import pymc ({reference:.2f} s); exit on Ctrl-C "
        f"{watch.get('exit_code', '—')}",
    ]
    for edit in watch.get("edits", []):
        outcome = edit.get("outcome") or f"fit reused {edit.get('fit_reused')}"
        lines.append(f"  bend width {edit['bend_width_oom']}: {edit['seconds']:.2f} s, {outcome}")
        if edit.get("png_seconds"):
            lines.append(f"    {_images_line(edit['png_seconds'])}")
    if "error" in watch:
        lines.append(f"  error: {watch['error']}")
    return lines


def format_report(results: dict[str, Any]) -> str:
    """Plain-text summary of the results, as `python benchmarks/bench.py` prints it."""
    machine = results["machine"]
    imp = results["import_pymc"]
    lines = [
        f"forecast bench: {machine.get('cpus')} CPUs, Python {machine.get('python')}, "
        f"load average {results['load_before']} before, {results.get('load_after')} after",
        f"import pymc: {imp['median_seconds']:.2f} s (median of {imp['seconds']}); "
        + ", ".join(f"import {m}: {s:.2f} s" for m, s in results["imports"].items()),
        *(
            ["note: PYTHONDONTWRITEBYTECODE is set, so each run compiles forecast's modules again"]
            if machine.get("bytecode_writing_disabled")
            else []
        ),
        "",
        f"{'run':<15}{'wall s':>9}{'× import':>10}{'CPU s':>8}{'max proc MB':>13}{'tree PSS/RSS MB':>17}"
        "  fit reused  stages (s)",
    ]
    for label, run in results["runs"].items():
        if "wall_seconds" not in run:
            lines.append(f"{label:<15}  skipped ({run.get('skipped', '')})")
            continue
        stages = ", ".join(f"{k} {v:.1f}" for k, v in run.get("stage_seconds", {}).items())
        if "report_and_write_seconds" in run:
            stages += f"; report+write {run['report_and_write_seconds']:.1f}, start-up+imports "
            stages += f"{run['outside_pipeline_seconds']:.1f}"
        if run.get("wrote_outputs") is False:
            stages = "outputs up to date: nothing recomputed or written"
        status = "" if not run.get("returncode") else f"  EXIT {run['returncode']}"
        lines.append(
            f"{label:<15}{run['wall_seconds']:>9.1f}{_fmt(run.get('ratio_to_import_pymc'), '.1f'):>10}"
            f"{run['cpu_seconds']:>8.1f}{run['max_rss_mb']:>13.0f}"
            f"{_fmt(run.get('peak_tree_pss_mb'), '.0f') + ' / ' + _fmt(run.get('peak_tree_rss_mb'), '.0f'):>17}"
            f"  {run.get('fit_reused')!s:<10}  {stages}{status}"
        )
        if run.get("png_seconds"):
            lines.append(f"{'':<15}{_images_line(run['png_seconds'])}")
    lines += _watch_lines(results.get("watch") or {}, imp["median_seconds"])
    if results["samplers"]:
        lines += ["", "samplers (full preset settings, warm compile cache):"]
    for backend, s in results["samplers"].items():
        if "error" in s:
            lines.append(f"  {backend}: error: {s['error']}")
        elif not s.get("installed"):
            lines.append(f"  {backend}: not installed")
        else:
            lines.append(
                f"  {backend}: fit {s['fit_wall_seconds']:.1f} s (sampling {_fmt(s['sampling_seconds'], '.1f')} s, "
                f"build+compile {_fmt(s['build_and_compile_seconds'], '.1f')} s); min bulk ESS "
                f"{s['min_ess_bulk']:.0f} → {_fmt(s['ess_bulk_per_second_sampling'], '.1f')} ESS/s sampling, "
                f"{s['ess_bulk_per_second_wall']:.1f} ESS/s wall; divergences {s['divergences']}, "
                f"max R-hat {s['max_r_hat']:.3f}"
            )
    ex = results.get("exhaustion")
    if ex:
        r = ex["paths_per_second"]
        lines += [
            "",
            f"exhaustion ({ex['paths']:,} paths of {ex['scenario']}, {ex['grid_points']} monthly points, chunks of "
            f"{ex['chunk']:,}; median {ex['median_year']}, censored {ex['censored_share']:.1%}):",
            f"  dates from the inputs, paths built where needed {r['exhaustion_dates']:>14,.0f} paths/s "
            f"({ex['whole_grid_rows']:,} draws on the whole grid; mismatches vs dense: "
            f"{ex['mismatches_vs_dense']['year']} dates, {ex['mismatches_vs_dense']['censored']} censoring)",
            f"  dense: building the monthly paths              {r['dense_build_paths']:>14,.0f} paths/s",
            f"  dense: first_crossing on built paths           {r['dense_first_crossing']:>14,.0f} paths/s "
            f"({r['dense_first_crossing_small_chunks']:,.0f} in chunks of {ex['small_chunk']:,})",
            f"  dense: build + first_crossing                  {r['dense_build_and_first_crossing']:>14,.0f} paths/s",
        ]
    st = results.get("scenario_throughput")
    if st:
        if "error" in st:
            lines.append(f"  project_scenario: error: {st['error']}")
        else:
            lines.append(
                f"  project_scenario ({st['scenario']}, {st['paths']:,} resampled posterior draws) "
                f"{st['paths_per_second']:>8,.0f} paths/s"
            )
    lines += ["", "targets:"]
    for t in results["targets"].values():
        mark = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        measured = t["measured"]
        shown = f"{measured:,.2f}" if isinstance(measured, int | float) else "—"
        lines.append(f"  {t['what']:<46} {shown:>14}  limit {t['limit']:,}  {mark}")
    lines += [f"note: {n}" for n in results.get("notes", [])]
    return "\n".join(lines)


def main(
    scenarios: Annotated[str, typer.Option("--scenarios", help="Preset name or scenario YAML file.")] = "default",
    data: Annotated[Path, typer.Option("--data", help="Data folder.")] = Path("data"),
    out: Annotated[Path, typer.Option("--out", help="JSON file for the results.")] = Path("reports/bench.json"),
    quick: Annotated[bool, typer.Option("--quick", help="Skip the cold run (empty caches); for development.")] = False,
    samplers: Annotated[
        bool, typer.Option("--samplers/--no-samplers", help="Time NUTS with PyMC and, if installed, nutpie.")
    ] = True,
    paths: Annotated[int, typer.Option("--paths", min=0, help="Exhaustion draw-paths to time (0: skip).")] = 1_000_000,
    chunk: Annotated[int, typer.Option("--chunk", min=1, help="Paths per chunk for the exhaustion timing.")] = 20_000,
) -> None:
    """Time cold and warm runs, samplers and exhaustion throughput on this machine (a benchmark, not a test)."""
    from forecast.config import load_config
    from forecast.errors import InputError

    try:
        load_config(scenarios)  # config errors first, before heavy imports
    except InputError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    results = run_bench(
        scenarios=scenarios,
        data_dir=data,
        quick=quick,
        samplers=("pymc", "nutpie") if samplers else (),
        exhaustion_paths=paths,
        exhaustion_chunk=chunk,
        progress=lambda stage: typer.echo(f"  {stage}", err=True),
    )
    write_results(out, results)
    typer.echo(format_report(results))
    typer.echo(f"results written to {out}")


app = typer.Typer(add_completion=False, help="Time forecast runs on this machine (a benchmark, not a test).")
app.command()(main)

if __name__ == "__main__":
    app()
