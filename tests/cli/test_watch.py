"""forecast watch: which files it follows, when it runs again, how a failed run or Ctrl-C ends up, and one real
watch through a scenario edit (the fit reused, one Chromium for both runs, nothing left running)."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import forecast.cli.app as cli
import forecast.cli.watch as watch
from benchmarks import bench
from forecast.cli.watch import Watched, changed_files, wait_for_change
from forecast.errors import InputError
from forecast.report import images

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"


@pytest.fixture
def inputs(tmp_path: Path) -> Watched:
    """A scenario file and a data folder with two tables, the provenance record and a file that does not count."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.csv", "b.csv", "sources.yml", "notes.txt"):
        (data / name).write_text(name, encoding="utf-8")
    config = tmp_path / "scenarios.yml"
    config.write_text("seed: 1\n", encoding="utf-8")
    return Watched(config, data)


def test_the_scenario_file_and_the_data_files_that_count_are_watched(inputs: Watched) -> None:
    """The same data files as the up-to-date check hashes (`freshness.data_files`): an edit to anything else (an
    editor's notes) does not start a run."""
    names = [p.name for p in inputs.files()]
    assert names == ["scenarios.yml", "a.csv", "b.csv", "sources.yml"]
    assert [p.name for p in Watched(None, inputs.data_dir).files()] == ["a.csv", "b.csv", "sources.yml"]
    before = inputs.state()
    (inputs.data_dir / "notes.txt").write_text("edited", encoding="utf-8")
    assert changed_files(before, inputs.state()) == []


def test_added_removed_and_modified_files_are_changes(inputs: Watched) -> None:
    data = inputs.data_dir
    before = inputs.state()
    (data / "a.csv").write_text("a, edited", encoding="utf-8")
    (data / "b.csv").unlink()
    (data / "c.csv").write_text("new", encoding="utf-8")
    assert changed_files(before, inputs.state()) == [str(data / n) for n in ("a.csv", "b.csv", "c.csv")]


def test_a_file_replaced_by_a_save_is_a_change(inputs: Watched) -> None:
    """Editors often save by writing a new file and renaming it over the old one; the same size is no cover."""
    assert inputs.config_file is not None
    before = inputs.state()
    replacement = inputs.config_file.with_name("new.yml")
    replacement.write_text("seed: 2\n", encoding="utf-8")
    replacement.replace(inputs.config_file)
    assert changed_files(before, inputs.state()) == [str(inputs.config_file)]


class _Clock:
    """`sleep` stand-in: records the waits and, at chosen calls, edits the scenario file (as a user would)."""

    def __init__(self, path: Path, edit_at: set[int]) -> None:
        self.path, self.edit_at, self.waits = path, edit_at, []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if len(self.waits) in self.edit_at:
            self.path.write_text(f"seed: {len(self.waits) + 100}\n", encoding="utf-8")


def test_a_run_starts_only_once_the_files_have_settled(inputs: Watched) -> None:
    """Poll until something changes; then wait until a check finds nothing new (a save in two writes starts one
    run, after the second write)."""
    assert inputs.config_file is not None
    before = inputs.state()
    clock = _Clock(inputs.config_file, edit_at={3, 4})  # nothing for two polls; then two writes in a row
    assert wait_for_change(inputs, before, poll=0.5, settle=0.1, sleep=clock) == [str(inputs.config_file)]
    assert clock.waits == [0.5, 0.5, 0.5, 0.1, 0.1]
    assert inputs.config_file.read_text(encoding="utf-8") == "seed: 104\n"


def test_a_change_made_during_the_previous_run_counts_at_once(inputs: Watched) -> None:
    assert inputs.config_file is not None
    before = inputs.state()
    inputs.config_file.write_text("seed: 7\n", encoding="utf-8")
    clock = _Clock(inputs.config_file, edit_at=set())
    assert wait_for_change(inputs, before, poll=0.5, settle=0.1, sleep=clock) == [str(inputs.config_file)]
    assert clock.waits == [0.1]  # no poll: only the settle check


# ----------------------------------------------------------------------------------------------------------------
# The command, with stand-ins for the pipeline and Chromium
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "scenarios.yml"
    path.write_text(bench.preset_text("default"), encoding="utf-8")
    return path


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """A pipeline that records each run (the first fails with an input error), PNG servers (the Chromium a watch
    keeps open) that record what happens to them, and a `wait_for_change` that reports one edit and then Ctrl-C."""
    log: dict[str, list[Any]] = {"runs": [], "servers": [], "waits": []}

    class Server(images.PngServer):
        def __init__(self, tabs: int = 1) -> None:
            super().__init__(tabs)
            self.events: list[str] = []
            log["servers"].append(self)

        def start(self) -> Server:
            self.events.append("start")
            self.error, self.rendered = None, 0
            return self

        def stop(self) -> None:
            self.events.append("stop")

    def run_pipeline(config: Any, **kwargs: Any) -> None:
        log["runs"].append(kwargs)
        if len(log["runs"]) == 1:
            raise InputError("training_runs.csv row 3, column 'date': expected a date")

    def fake_wait(watched: Watched, before: dict[str, Any], poll: float) -> list[str]:
        log["waits"].append(poll)
        if len(log["waits"]) == 1:
            return [str(watched.config_file)]
        raise cli.Interrupted(signal.SIGINT)

    fake = types.ModuleType("forecast.run.pipeline")
    fake.run_pipeline = run_pipeline  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "forecast.run.pipeline", fake)
    monkeypatch.setattr(images, "PngServer", Server)
    monkeypatch.setattr(images, "png_unavailable_reason", lambda: None)
    monkeypatch.setattr(watch, "wait_for_change", fake_wait)
    return log


def test_a_failed_run_is_reported_and_the_next_edit_runs_again(
    stand_ins: dict[str, list[Any]], scenario_file: Path, tmp_path: Path
) -> None:
    """One line for the failed run, as `forecast run` would print it; the watch goes on, runs the edit with the
    same Chromium (kept open, started once, stopped once at the end), and Ctrl-C while waiting ends it with 0."""
    args = ["watch", "-s", str(scenario_file), "--data", str(DATA_DIR), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(cli.app, [*args, "--poll", "0.3"])
    assert result.exit_code == 0, result.output
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == ["error: training_runs.csv row 3, column 'date': expected a date"]
    assert f"changed: {scenario_file}" in result.stderr
    assert result.stderr.rstrip().endswith("stopped watching")
    assert result.stdout.count("done: results in") == 1
    assert len(stand_ins["runs"]) == 2 and stand_ins["waits"] == [0.3, 0.3]
    (server,) = stand_ins["servers"]
    assert server.tabs == watch.CHROMIUM_TABS
    assert server.events == ["start", "stop"]


@pytest.mark.parametrize("worn", ["died", "rendered enough"])
def test_a_chromium_that_died_or_rendered_enough_is_replaced_while_the_watch_waits(
    stand_ins: dict[str, list[Any]], scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worn: str
) -> None:
    """A Chromium that died, or has rendered `CHROMIUM_IMAGES_PER_START` images (its memory grows with them), is
    closed after the run and a new one started before the watch waits, not when the next edit comes."""

    def run_pipeline(config: Any, **kwargs: Any) -> None:
        stand_ins["runs"].append(kwargs)
        (server,) = stand_ins["servers"]
        if len(stand_ins["runs"]) == 1:
            if worn == "died":
                server.error = "RuntimeError: Chromium crashed"
            else:
                server.rendered = watch.CHROMIUM_IMAGES_PER_START

    monkeypatch.setattr(sys.modules["forecast.run.pipeline"], "run_pipeline", run_pipeline)
    args = ["watch", "-s", str(scenario_file), "--data", str(DATA_DIR), "--out", str(tmp_path / "out")]
    assert CliRunner().invoke(cli.app, args).exit_code == 0
    (server,) = stand_ins["servers"]
    assert server.events == ["start", "stop", "start", "stop"]


def test_without_png_no_chromium_is_started(
    stand_ins: dict[str, list[Any]], scenario_file: Path, tmp_path: Path
) -> None:
    args = ["watch", "-s", str(scenario_file), "--data", str(DATA_DIR), "--out", str(tmp_path / "out"), "--no-png"]
    assert CliRunner().invoke(cli.app, args).exit_code == 0
    assert stand_ins["servers"] == [] and len(stand_ins["runs"]) == 2


def test_an_interrupt_during_a_run_exits_130_and_closes_chromium(
    stand_ins: dict[str, list[Any]], scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(config: Any, **kwargs: Any) -> None:
        raise cli.Interrupted(signal.SIGINT)

    monkeypatch.setattr(sys.modules["forecast.run.pipeline"], "run_pipeline", interrupted)
    result = CliRunner().invoke(cli.app, ["watch", "-s", str(scenario_file), "--out", str(tmp_path / "out")])
    assert result.exit_code == cli.EXIT_INTERRUPTED
    assert result.stderr.strip().splitlines()[-1] == "interrupted"
    assert stand_ins["servers"][0].events[-1] == "stop"


def test_a_scenario_file_with_an_error_is_watched_until_it_is_fixed(
    stand_ins: dict[str, list[Any]], tmp_path: Path
) -> None:
    """An error in the file's content is the user's to fix while the watch waits: reported at each try (the
    stand-in reports one edit, then Ctrl-C), never fatal, and nothing is run with it."""
    config = tmp_path / "typo.yml"
    config.write_text("schema_version: 1\nsampler: {draws: 0}\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["watch", "-s", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and all("sampler.draws" in line for line in errors)
    assert stand_ins["runs"] == [] and result.stderr.rstrip().endswith("stopped watching")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-s", "no-such-preset"], "not a preset"),
        (["-s", "missing.yml"], "missing.yml: file not found"),
        (["--data", "no-such-folder"], "--data no-such-folder: not a folder"),
    ],
)
def test_nothing_to_watch_exits_2_with_one_line(
    stand_ins: dict[str, list[Any]], args: list[str], expected: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli.app, ["watch", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert expected in line and stand_ins["runs"] == [] and stand_ins["servers"] == []


# ----------------------------------------------------------------------------------------------------------------
# A real watch
# ----------------------------------------------------------------------------------------------------------------


def _run_record(out: Path) -> dict[str, Any]:
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


@pytest.mark.browser
def test_a_real_watch_reruns_a_scenario_edit_from_the_cached_fit_with_one_chromium(
    default_run: Any, tmp_path: Path
) -> None:
    """`forecast watch` in a process of its own: the first run and a scenario edit both reuse the session's fit
    (the sampler is not called), the edit's changed figures are rendered in the Chromium opened for the first run
    (no second start), and Ctrl-C to the process group exits 0 leaving no process behind."""
    psutil = pytest.importorskip("psutil")
    png = images.png_unavailable_reason() is None
    config = bench.scenario_only_yaml("default", tmp_path / "watched.yml")
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "forecast.cli.app", "watch", "-s", str(config), "--data", str(DATA_DIR)]
    process = bench.WatchProcess([*argv, "--out", str(out), *([] if png else ["--no-png"])])
    try:
        process.wait_for("watching")
        first = _run_record(out)
        bench.bend_width_yaml("default", config, 0.26)
        _, changed = process.wait_for("changed:")
        assert changed == f"changed: {config}"
        process.wait_for("done:")
        process.wait_for("watching")
        second = _run_record(out)
        descendants = psutil.Process(process.proc.pid).children(recursive=True)
        assert process.interrupt() == 0
    finally:
        process.close()
    assert process.lines[-1][1] == "stopped watching"
    assert first["fit_reused_from_cache"] and second["fit_reused_from_cache"]
    assert first["fit_hash"] == second["fit_hash"] and first["config_hash"] != second["config_hash"]
    if png:
        assert second["figures"]["png"] == "written"
        # The bend width changes the fan chart: rendered, in the Chromium that was already open.
        assert "fan_chart" in second["figures"]["png_rendered"]
        assert second["figures"]["png_seconds"]["chromium_open"] == 0.0
    time.sleep(0.5)
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"processes left after the watch stopped: {alive}"
    shutil.rmtree(out)
