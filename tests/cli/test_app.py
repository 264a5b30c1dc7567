"""CLI: commands and help, exit codes (0 ok, 2 bad input, 1 bug, 130 interrupted), one-line errors."""

import importlib.util
import inspect
import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import forecast.cli.app as cli
from forecast.cli.app import app
from forecast.config import load_config

REPO = Path(__file__).parents[2]
BAD_YAML = REPO / "tests" / "fixtures" / "bad_yaml"
DATA_DIR = REPO / "data"


def _importable(*modules: str) -> bool:
    try:
        return all(importlib.util.find_spec(name) is not None for name in modules)
    except ImportError:
        return False


needs_data = pytest.mark.skipif(
    not _importable("forecast.data", "forecast.data.provenance"), reason="forecast.data/provenance not written yet"
)
needs_pipeline = pytest.mark.skipif(
    not _importable("forecast.run.pipeline"), reason="forecast.run.pipeline not written yet"
)


def _invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_help_lists_commands() -> None:
    result = _invoke("--help")
    assert result.exit_code == 0
    for command in ("run", "validate", "scenarios", "schema"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["run", "validate", "scenarios", "schema"])
def test_every_command_has_help(command: str) -> None:
    result = _invoke(command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_scenarios_lists_presets() -> None:
    result = _invoke("scenarios")
    assert result.exit_code == 0
    assert "default" in result.stdout and "villalobos2024" in result.stdout
    assert "Villalobos" in result.stdout


def test_schema_is_json() -> None:
    result = _invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["additionalProperties"] is False
    assert "ScenarioOverride" in schema["$defs"]


@pytest.mark.parametrize("path", sorted(BAD_YAML.glob("*.yml")), ids=lambda p: p.name)
def test_bad_yaml_exits_2_with_one_line(path: Path) -> None:
    result = _invoke("validate", "--scenarios", str(path), "--data", str(DATA_DIR))
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert line.startswith(f"error: {path}: ")


def test_unknown_preset_exits_2() -> None:
    result = _invoke("validate", "--scenarios", "nope")
    assert result.exit_code == 2
    assert "presets: default, villalobos2024" in _one_error_line(result.stderr)


def test_usage_error_exits_2() -> None:
    assert _invoke("run", "--seed", "minus-one").exit_code == 2
    assert _invoke("no-such-command").exit_code == 2


def _boom(*_: Any, **__: Any) -> Any:
    raise RuntimeError("boom\nsecond line")


def test_unexpected_error_exits_1_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "list_presets", _boom)
    result = _invoke("scenarios", env={"FORECAST_DEBUG": "0"})
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert line.startswith("internal error: RuntimeError: boom second line")
    assert "please report" in line


def test_debug_shows_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "list_presets", _boom)
    result = _invoke("scenarios", env={"FORECAST_DEBUG": "1"})
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted() -> dict[str, str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "list_presets", interrupted)
    result = _invoke("scenarios")
    assert result.exit_code == 130
    assert _one_error_line(result.stderr) == "interrupted"


def test_real_process_exit_code_and_stderr() -> None:
    """The installed entry point (not only CliRunner) gives exit code 2 and one line."""
    bad = BAD_YAML / "typo_key.yml"
    proc = subprocess.run(
        [sys.executable, "-m", "forecast.cli.app", "validate", "--scenarios", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 2
    line = _one_error_line(proc.stderr)
    assert "did you mean 'factor'?" in line
    assert proc.stdout == ""


@needs_data
def test_validate_default_on_real_data() -> None:
    result = _invoke("validate", "--scenarios", "default", "--data", str(DATA_DIR))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("OK: default: 16 scenarios")
    assert "up to 2026-06-30" in result.stdout
    assert "with dataset tokens" in result.stdout


@needs_data
def test_validate_missing_data_dir_exits_2(tmp_path: Path) -> None:
    result = _invoke("validate", "--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    _one_error_line(result.stderr)


def test_run_bad_config_exits_2_before_fitting() -> None:
    result = _invoke("run", "--scenarios", str(BAD_YAML / "zero_draws.yml"))
    assert result.exit_code == 2
    assert "sampler.draws" in _one_error_line(result.stderr)


def test_run_passes_options_to_pipeline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`run` passes the seed-overridden config and options to run_pipeline (a stand-in records them)."""
    calls: list[dict[str, Any]] = []

    def fake_run_pipeline(config: Any, **kwargs: Any) -> None:
        calls.append({"config": config, **kwargs})

    fake = types.ModuleType("forecast.run.pipeline")
    fake.run_pipeline = fake_run_pipeline  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "forecast.run.pipeline", fake)
    result = _invoke("run", "--seed", "11", "--no-cache", "--strict", "--data", "d", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    (call,) = calls
    assert call["config"].seed == 11
    assert call["config"].sampler == load_config("default").sampler
    assert call["use_cache"] is False and call["strict"] is True
    assert call["data_dir"] == Path("d") and call["out_dir"] == tmp_path
    assert callable(call["progress"])


@needs_pipeline
def test_pipeline_accepts_the_cli_arguments() -> None:
    """Contract with forecast.run.pipeline: the keyword arguments `run` passes exist."""
    from forecast.run.pipeline import run_pipeline

    parameters = inspect.signature(run_pipeline).parameters
    for name in ("data_dir", "out_dir", "strict", "use_cache", "progress"):
        assert name in parameters


@pytest.mark.parametrize("debug", [False, True])
def test_log_records_one_line_ours_only_unless_debugging(debug: bool, tmp_path: Path) -> None:
    """In a real `forecast` process: a forecast warning is one `warning:` line; another library's logged traceback
    (choreographer logs one when Chromium closes mid-message) stays off the terminal unless FORECAST_DEBUG=1.
    A subprocess, because pytest's own log capture would take the records here."""
    script = tmp_path / "noisy_run.py"
    script.write_text(
        "import logging, sys, types\n"
        "def noisy_pipeline(config, **kwargs):\n"
        "    try:\n"
        "        raise ValueError('half a message')\n"
        "    except ValueError:\n"
        "        logging.getLogger('choreographer.channels.pipe').exception('JSONError decoding message. Ignoring')\n"
        "    logging.getLogger('forecast.report.images').warning('PNG export skipped: test')\n"
        "fake = types.ModuleType('forecast.run.pipeline')\n"
        "fake.run_pipeline = noisy_pipeline\n"
        "sys.modules['forecast.run.pipeline'] = fake\n"
        "from forecast.cli.app import app\n"
        "app(sys.argv[1:])\n",
        encoding="utf-8",
    )
    env = {**os.environ, "FORECAST_DEBUG": "1" if debug else "0", "FORECAST_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, str(script), "run", "--data", str(REPO / "data"), "--out", str(tmp_path / "out"), "--no-png"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    if debug:
        assert "Traceback" in done.stderr and "JSONError decoding message" in done.stderr
        assert "WARNING forecast.report.images: PNG export skipped: test" in done.stderr
    else:
        assert "warning: PNG export skipped: test" in done.stderr.splitlines()
        assert "Traceback" not in done.stderr and "JSONError" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2030-01-01"], "error: as of 2030-01-01: data.cutoff: data cut-off 2030-01-01 is after today"),
        (
            ["-s", "villalobos2024", "--as-of", "2025-01-01"],
            "error: as of 2025-01-01: defaults.projection_start: projection start 2024-01-01 is before the data",
        ),
    ],
)
def test_as_of_is_checked_before_any_work(args: list[str], message: str, tmp_path: Path) -> None:
    """`--as-of` re-validates the config at the new cut-off: one line, exit 2, nothing written."""
    out = tmp_path / "out"
    result = _invoke("run", *args, "--out", str(out))
    assert result.exit_code == 2, result.output
    assert _one_error_line(result.stderr).startswith(message)
    assert not out.exists()
