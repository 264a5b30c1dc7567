"""SIGKILL at any point of a real `forecast run`: the process gets no chance to clean up, yet the earlier outputs
in --out stay complete and byte for byte unchanged (or, killed after its swap, the folder holds the new run
whole), every posterior-cache entry is complete and loadable, and the next run succeeds and removes what the
killed one left (its staging folder, its lock, its temporary cache file)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from faultkit import DATA_DIR, SMALL_CONFIG, Cli, Started, fit_reused, snapshot

from forecast import cache
from forecast.run.folders import STAGING_PREFIX
from forecast.run.freshness import REQUIRED_OUTPUTS

POLL_S = 0.005
STAGE_TIMEOUT_S = 60
#: Compiling and sampling for real on two busy cores.
SAMPLING_TIMEOUT_S = 400
#: Real sampling (the slow test): long enough chains that a kill 1 s into sampling lands inside it.
SAMPLED_CONFIG = SMALL_CONFIG.replace("draws: 150, tune: 150", "draws: 3000, tune: 500")
SAMPLING_STARTED = "NUTS"


def _kill_when(run: Started, ready: Callable[[], bool], what: str, timeout: float = STAGE_TIMEOUT_S) -> str:
    """SIGKILL `run` as soon as `ready()` holds; the last progress line it printed before. Fails if the run
    ended first (the point was never reached while it was alive)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert run.poll() is None, f"the run ended before {what}: {run.stderr}"
        assert time.monotonic() < deadline, f"{what} not reached: {run.stderr}"
        time.sleep(POLL_S)
    assert run.poll() is None, f"the run ended before it could be killed at {what}: {run.stderr}"
    finished = run.kill()
    assert finished.returncode == -9, finished
    lines = [line for line in finished.stderr.splitlines() if line in ("validate", "fit", "scenarios", "write")]
    return lines[-1] if lines else "(start)"


def _printed(run: Started, line: str) -> Callable[[], bool]:
    return lambda: line in run.stderr.splitlines()


def _staging_exists(parent: Path) -> Callable[[], bool]:
    return lambda: any(parent.glob(f"{STAGING_PREFIX}*"))


def _assert_cache_entries_complete(root: Path) -> list[str]:
    """Every entry of the posterior cache loads under its own key; the keys."""
    folder = root / "posteriors"
    keys = sorted(path.stem for path in folder.glob("*.nc") if not path.name.startswith(cache.TMP_PREFIX))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(cache.CACHE_ENV, str(root))
        for key in keys:
            notes: list[str] = []
            loaded = cache.load(key, notes.append)
            assert loaded is not None and "posterior" in loaded.children, (key, notes)
    return keys


def _assert_previous_or_new_whole(out: Path, previous: dict[str, str], new_config_hash: str) -> str:
    """The folder is exactly the earlier run, or the new run complete (killed after its swap)."""
    now = snapshot(out)
    if now == previous:
        return "previous"
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["config_hash"] == new_config_hash, "neither the previous outputs nor the new run"
    assert all((out / name).is_file() for name in REQUIRED_OUTPUTS), sorted(now)
    return "new"


def _config_hash(path: Path) -> str:
    from forecast.config import config_hash, load_config

    return config_hash(load_config(path))


def test_sigkill_at_each_stage_keeps_earlier_outputs_and_the_cache(
    cli: Cli, cache_copy: Path, small_config: Path, other_config: Path, tmp_path: Path
) -> None:
    """Fit from the cache (no sampling): killed while loading the fit, while projecting, and while writing (its
    staging folder has appeared); then a run that completes. (Killed while validating it has written nothing.)"""
    out = tmp_path / "reports"
    first = cli.run("run", "--scenarios", small_config, "--data", DATA_DIR, "--out", out, "--no-png", cache=cache_copy)
    assert first.returncode == 0, first.stderr
    (out / "NOTES.md").write_text("mine\n", encoding="utf-8")
    previous = snapshot(out)
    keys = _assert_cache_entries_complete(cache_copy)
    new_hash = _config_hash(other_config)
    args = ("run", "--scenarios", other_config, "--data", DATA_DIR, "--out", out, "--no-png")

    seen = {}
    for point in ("fit", "scenarios", "staging"):
        run = cli.start(*args, cache=cache_copy)
        ready = _staging_exists(tmp_path) if point == "staging" else _printed(run, point)
        seen[point] = _kill_when(run, ready, point)
        state = _assert_previous_or_new_whole(out, previous, new_hash)
        if point != "staging":  # killed before writing: certainly the previous outputs
            assert state == "previous", (point, seen)
        assert _assert_cache_entries_complete(cache_copy) == keys
    assert seen["fit"] == "fit" and seen["scenarios"] == "scenarios" and seen["staging"] == "write", seen

    done = cli.run(*args, cache=cache_copy)
    assert done.returncode == 0, done.stderr
    assert fit_reused(out)
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["config_hash"] == new_hash
    assert (out / "NOTES.md").read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no staging, no lock


@pytest.mark.slow
def test_sigkill_while_sampling_and_after_the_fit_was_cached(cli: Cli, tmp_path: Path) -> None:
    """Real sampling, an empty cache: killed 1 s into sampling (no cache entry may appear, partial or whole);
    killed once the fit is cached (the entry must be complete and the next run must reuse it); then complete."""
    config = tmp_path / "sampled.yml"
    config.write_text(SAMPLED_CONFIG, encoding="utf-8")
    root = tmp_path / "cache"
    out = tmp_path / "reports"
    (out / "figures").mkdir(parents=True)
    (out / "summary.csv").write_text("scenario,median\nprevious,2030.0\n", encoding="utf-8")
    previous = snapshot(out)
    args = ("run", "--scenarios", config, "--data", DATA_DIR, "--out", out, "--no-png")

    run = cli.start(*args, cache=root)
    _kill_when(run, lambda: SAMPLING_STARTED in run.stderr, "sampling", SAMPLING_TIMEOUT_S)  # at its banner
    assert snapshot(out) == previous
    assert _assert_cache_entries_complete(root) == []

    run = cli.start(*args, cache=root)
    sampling = []

    def sampled_a_second() -> bool:
        if SAMPLING_STARTED in run.stderr and not sampling:
            sampling.append(time.monotonic())
        return bool(sampling) and time.monotonic() - sampling[0] > 1.0

    _kill_when(run, sampled_a_second, "1 s of sampling", SAMPLING_TIMEOUT_S)
    assert snapshot(out) == previous
    assert _assert_cache_entries_complete(root) == []

    run = cli.start(*args, cache=root)
    assert _kill_when(run, _printed(run, "scenarios"), "projection", SAMPLING_TIMEOUT_S) == "scenarios"
    assert snapshot(out) == previous
    (key,) = _assert_cache_entries_complete(root)

    done = cli.run(*args, cache=root, timeout=SAMPLING_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert fit_reused(out)
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["fit_hash"] == key
    assert not list((root / "posteriors").glob(f"{cache.TMP_PREFIX}*"))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
