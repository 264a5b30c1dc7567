"""What the fault tests share (their fixtures are in conftest.py). Fault tests run the real command
(`python -m forecast.cli.app`) in its own process. They need a run that is fast and real: a small scenario file
whose fit is found in a private posterior cache filled beforehand with a synthetic posterior (tests/fakes.py)
under the real fit key, so a run validates, projects and writes for real in about two seconds without sampling.
`Cli` starts such processes and reads what they did."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"
#: Progress lines `forecast run` prints on stderr, one per stage, before anything else.
PROGRESS_LINES = ("validate", "fit", "scenarios", "write")
#: A small config: two scenarios, a short sampler (what a kill test samples for real when no fit is cached).
SMALL_CONFIG = """\
schema_version: 1
seed: 11
sampler: {backend: nutpie, draws: 150, tune: 150, chains: 2, cores: 2}
scenarios:
  - name: base
  - name: compute
    scaling: compute
"""
#: The same fit (seed, sampler, data and fit settings) with other scenarios: other outputs, the same cached fit.
OTHER_SCENARIOS = SMALL_CONFIG.replace(
    "    scaling: compute\n", "    scaling: compute\n  - name: historical\n    scaling: historical\n"
)


@dataclass
class Finished:
    """What a finished process did: exit code, output, peak memory (KiB, its own VmHWM sampled every poll) and
    wall time."""

    returncode: int
    stdout: str
    stderr: str
    max_rss_kib: int
    seconds: float

    @property
    def error_line(self) -> str:
        """The one stderr line that is not a progress line, and the last line; no traceback."""
        assert "Traceback" not in self.stderr, self.stderr
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        others = [line for line in lines if line not in PROGRESS_LINES]
        assert len(others) == 1, self.stderr
        assert lines[-1] == others[0], self.stderr
        return others[0]


def _high_water_kib(pid: int) -> int:
    """Peak resident memory of a live process's own address space (VmHWM, KiB; 0 once it has exited).

    Not the reaped `ru_maxrss`: Linux carries that over fork and exec, so a child of a pytest worker that has
    run a fit would report the worker's peak, not its own."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class Started:
    """A `forecast` process still running; stdout and stderr go to files (no pipe to fill up)."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, logs: Path) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = logs / "stdout.txt", logs / "stderr.txt"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
        self.started = time.monotonic()
        self.result: Finished | None = None
        self.peak_kib = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def poll(self) -> Finished | None:
        """The result once the process has ended (reaped), else None."""
        if self.result is None:
            self.peak_kib = max(self.peak_kib, _high_water_kib(self.proc.pid))
            pid, status = os.waitpid(self.proc.pid, os.WNOHANG)
            if pid == 0:
                return None
            self.proc.returncode = os.waitstatus_to_exitcode(status)
            self.result = Finished(
                self.proc.returncode,
                self.stdout_path.read_text(encoding="utf-8", errors="replace"),
                self.stderr,
                self.peak_kib,
                time.monotonic() - self.started,
            )
        return self.result

    def wait(self, timeout: float) -> Finished:
        """Wait at most `timeout` seconds; a process still running then is killed and the test fails (a hang)."""
        deadline = time.monotonic() + timeout
        while (result := self.poll()) is None:
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"still running after {timeout} s (a hang): {self.stderr[-2000:]}")
            time.sleep(0.02)
        return result

    def kill(self) -> Finished:
        """SIGKILL to the process group this test started, then reap it."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            while self.poll() is None:
                time.sleep(0.01)
        assert self.result is not None
        return self.result


class Cli:
    """Starts `python -m forecast.cli.app ...` with a given posterior cache, in a scratch folder."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.count = 0

    def env(self, cache: Path) -> dict[str, str]:
        """This checkout first on the path, so the process runs the code whose fit key the test computed."""
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        return {**os.environ, "PYTHONPATH": path, "FORECAST_CACHE_DIR": str(cache), "FORECAST_DEBUG": "0"}

    def start(self, *args: str | Path, cache: Path) -> Started:
        self.count += 1
        argv = [sys.executable, "-m", "forecast.cli.app", *(str(a) for a in args)]
        return Started(argv, self.env(cache), self.scratch, self.scratch / f"process-{self.count}")

    def run(self, *args: str | Path, cache: Path, timeout: float = 60) -> Finished:
        return self.start(*args, cache=cache).wait(timeout)


def snapshot(folder: Path) -> dict[str, str]:
    """Every path below `folder` with the sha256 of its bytes (folders as a marker)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
        for path in sorted(folder.rglob("*"))
    }


def fit_reused(out: Path) -> bool:
    """Did the run that wrote `out` take its fit from the cache (as a test that filled the cache expects)?"""
    return json.loads((out / "run.json").read_text(encoding="utf-8"))["fit_reused_from_cache"] is True


def prefill_cache(cache_root: Path, config_path: Path, data_dir: Path = DATA_DIR) -> Path:
    """Store a synthetic posterior (with its diagnostics) under the real fit key of `config_path` and
    `data_dir` in the posterior cache at `cache_root`; the path of the entry."""
    from fakes import synthetic_idata

    from forecast import cache
    from forecast.config import load_config
    from forecast.data import load_bundle
    from forecast.model.fit import fit_hash
    from forecast.model.sample import attach_diagnostics, diagnose

    config = load_config(config_path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(cache.CACHE_ENV, str(cache_root))
        bundle = load_bundle(data_dir, cutoff=config.data.cutoff, reuse_checks=False)
        idata = synthetic_idata(bundle, config.sampler.chains, config.sampler.draws)
        attach_diagnostics(idata, diagnose(idata))
        key = fit_hash(config, bundle)
        cache.store(key, idata)
        return cache.path_for(key)
