"""Concurrent real processes: two `forecast run` into the same --out (each succeeds or says in one line that the
folder is busy, exit 2; the folder ends holding one complete run, never a mix), a run that finds the folder's
lock held by a live process, and several processes filling the same posterior-cache entry at once (all succeed,
one complete entry)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import DATA_DIR, SMALL_CONFIG, Cli, Finished, fit_reused, snapshot

from forecast import cache
from forecast.run.folders import STAGING_PREFIX
from forecast.run.freshness import REQUIRED_OUTPUTS

BUSY = "busy, another forecast process (pid "
ROUNDS = 1


def _identity(path: Path) -> tuple[str, list[str]]:
    """(config hash, scenario names) of a scenario file: what run.json and summary.csv of its run hold."""
    from forecast.config import config_hash, load_config

    config = load_config(path)
    return config_hash(config), [scenario.name for scenario in config.scenarios]


def _assert_ran_or_busy(done: Finished, out: Path) -> bool:
    """Exit 0, or exit 2 with the one busy line; True if it ran."""
    if done.returncode == 0:
        return True
    assert done.returncode == 2, done.stderr
    line = done.error_line
    assert line.startswith(f"error: {out}: {BUSY}") and "try again when it is done" in line, line
    return False


def _assert_one_complete_run(out: Path, configs: dict[str, tuple[str, list[str]]]) -> str:
    """Every required output is there, and summary.csv and run.json are of the same run; which config it was."""
    assert all((out / name).is_file() for name in REQUIRED_OUTPUTS), sorted(p.name for p in out.iterdir())
    with (out / "summary.csv").open(encoding="utf-8") as file:
        table = [row["scenario"] for row in csv.DictReader(file)]
    recorded = json.loads((out / "run.json").read_text(encoding="utf-8"))["config_hash"]
    (which,) = [label for label, identity in configs.items() if identity == (recorded, table)]
    return which


def test_two_runs_into_the_same_folder(
    cli: Cli, cache_copy: Path, small_config: Path, other_config: Path, tmp_path: Path
) -> None:
    """Started together with different scenarios (so their outputs differ); ROUNDS times."""
    out = tmp_path / "reports"
    configs = {"small": small_config, "other": other_config}
    names = {label: _identity(path) for label, path in configs.items()}
    outcomes = []
    for _ in range(ROUNDS):
        runs = {
            label: cli.start(
                "run", "--scenarios", path, "--data", DATA_DIR, "--out", out, "--no-png", "--force", cache=cache_copy
            )
            for label, path in configs.items()
        }
        finished = {label: run.wait(120) for label, run in runs.items()}
        ran = {label: _assert_ran_or_busy(done, out) for label, done in finished.items()}
        assert any(ran.values()), {label: done.stderr for label, done in finished.items()}
        outcomes.append((ran, _assert_one_complete_run(out, names)))
        assert fit_reused(out)
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no staging, no lock
    for ran, holder in outcomes:
        assert ran[holder], (ran, holder)  # the folder holds a run that said it succeeded


def test_a_live_lock_holder_makes_the_run_say_busy_and_a_dead_one_does_not(
    cli: Cli, cache_copy: Path, small_config: Path, tmp_path: Path
) -> None:
    """The lock file beside the folder names a live process: one busy line, exit 2, the folder untouched, no
    staging left. Once that process has died, its lock is stale: the next run takes it over and succeeds."""
    out = tmp_path / "reports"
    out.mkdir()
    (out / "summary.csv").write_text("scenario,median\nprevious,2030.0\n", encoding="utf-8")
    args = ("run", "--scenarios", small_config, "--data", DATA_DIR, "--out", out, "--no-png")
    before = snapshot(out)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    lock = tmp_path / f".{out.name}.lock"
    try:
        lock.write_text(f"{holder.pid}\n", encoding="utf-8")
        done = cli.run(*args, cache=cache_copy)
        assert done.returncode == 2, done.stderr
        assert done.error_line == (
            f"error: {out}: busy, another forecast process (pid {holder.pid}) is writing it; try again when it is done"
        )
        assert snapshot(out) == before
        assert not list(tmp_path.glob(f"{STAGING_PREFIX}*"))
    finally:
        holder.kill()
        holder.wait()
    done = cli.run(*args, cache=cache_copy)
    assert done.returncode == 0, done.stderr
    assert not lock.exists()
    assert (out / "run.json").is_file() and "previous" not in (out / "summary.csv").read_text(encoding="utf-8")


STORE_SCRIPT = """\
import os, sys, time
from pathlib import Path
from forecast import cache
source, key, ready, go = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
idata = cache.load(source)
assert idata is not None, "no source entry"
ready.touch()
while not go.exists():
    time.sleep(0.002)
cache.store(key, idata)
"""
WRITERS = 3


def test_processes_filling_the_same_cache_entry_all_succeed_with_one_complete_file(
    cli: Cli, cache_copy: Path, filled_cache: Path, tmp_path: Path
) -> None:
    """Three processes write the same key at the same moment (released together once all have loaded)."""
    (source,) = (path.stem for path in (filled_cache / "posteriors").glob("*.nc"))
    key = "shared-entry"
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(WRITERS)]
    writers = [
        subprocess.Popen([sys.executable, "-c", STORE_SCRIPT, source, key, str(flag), str(go)], env=cli.env(cache_copy))
        for flag in ready
    ]
    deadline = time.monotonic() + 120
    while not all(flag.exists() for flag in ready):
        assert time.monotonic() < deadline and all(w.poll() is None for w in writers), "a writer did not start"
        time.sleep(0.01)
    go.touch()
    codes = [writer.wait(timeout=120) for writer in writers]
    assert codes == [0] * WRITERS
    folder = cache_copy / "posteriors"
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{source}.nc", f"{key}.nc"])  # no temporary file
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(cache.CACHE_ENV, str(cache_copy))
        stored, original = cache.load(key), cache.load(source)
    assert stored is not None and original is not None
    assert stored.attrs[cache.KEY_ATTR] == key
    for name in original.posterior.data_vars:
        assert (stored.posterior[name].values == original.posterior[name].values).all(), name


@pytest.mark.slow
def test_two_runs_fitting_the_same_entry_at_once(cli: Cli, tmp_path: Path) -> None:
    """Two real fits of the same config into one empty cache, at the same time: both succeed and the cache holds
    one complete entry, which a third run reuses."""
    config = tmp_path / "small.yml"
    config.write_text(SMALL_CONFIG, encoding="utf-8")
    root = tmp_path / "cache"
    args = ("run", "--scenarios", config, "--data", DATA_DIR, "--no-png")
    runs = [cli.start(*args, "--out", tmp_path / f"out-{i}", cache=root) for i in range(2)]
    finished = [run.wait(600) for run in runs]
    assert [done.returncode for done in finished] == [0, 0], [done.stderr for done in finished]
    entries = sorted(p.name for p in (root / "posteriors").iterdir())
    assert len(entries) == 1 and not entries[0].startswith(cache.TMP_PREFIX), entries
    third = tmp_path / "out-3"
    done = cli.run("run", "--scenarios", config, "--data", DATA_DIR, "--out", third, "--no-png", cache=root)
    assert done.returncode == 0, done.stderr
    assert fit_reused(third)
    tables = [(tmp_path / f"out-{i}" / "summary.csv").read_bytes() for i in range(2)]
    assert (third / "summary.csv").read_bytes() in tables  # the fit of whichever stored last
