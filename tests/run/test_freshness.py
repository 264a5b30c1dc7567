"""An output folder that already holds the outputs of exactly these inputs is not regenerated; any change to
the config, the data, the code or the PNG setting, or a missing output, makes the run happen."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from forecast.cli.app import app
from forecast.config import load_config
from forecast.run import freshness

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


def _complete_outputs(out: Path, key: str, converged: bool = True, files: tuple[str, ...] = ()) -> Path:
    """An output folder as a finished run leaves it."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("report.html", "summary.csv", "posterior.nc", *files):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("x", encoding="utf-8")
    run = {freshness.INPUTS_KEY: key, "converged": converged, "figures": {"files": list(files)}}
    (out / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return out


def test_inputs_hash_follows_every_input(data: Path) -> None:
    config = load_config("default")
    base = freshness.inputs_hash(config, data, png=False)
    assert freshness.inputs_hash(load_config("default"), data, png=False) == base  # deterministic
    assert freshness.inputs_hash(config.model_copy(update={"seed": 1}), data, png=False) != base
    assert freshness.inputs_hash(load_config("villalobos2024"), data, png=False) != base
    runs = data / "training_runs.csv"
    runs.write_bytes(runs.read_bytes() + b"\n")
    assert freshness.inputs_hash(config, data, png=False) != base


def test_inputs_hash_counts_every_table_and_the_sources_record_not_prose(data: Path) -> None:
    config = load_config("default")
    base = freshness.inputs_hash(config, data, png=False)
    (data / "README.md").write_text("prose does not count\n", encoding="utf-8")
    assert freshness.inputs_hash(config, data, png=False) == base
    with (data / "sources.yml").open("a", encoding="utf-8") as handle:
        handle.write("\n# a note\n")
    with_note = freshness.inputs_hash(config, data, png=False)
    assert with_note != base
    (data / "extra_table.csv").write_text("a,b\n1,2\n", encoding="utf-8")  # not read by a run: counted anyway
    assert freshness.inputs_hash(config, data, png=False) != with_note


def test_up_to_date_check_needs_no_heavy_imports() -> None:
    """`forecast run` hashes its inputs (which asks `images.png_unavailable_reason` whether PNGs can be made) before
    pandas, xarray and plotly are loaded."""
    code = (
        "import sys; from pathlib import Path; from forecast.run import freshness; "
        "from forecast.config import load_config; "
        f"key = freshness.inputs_hash(load_config('default'), Path({str(DATA_DIR)!r}), png=True); "
        "print(sorted(m for m in ('pandas', 'xarray', 'plotly', 'pymc', 'kaleido') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_inputs_hash_follows_the_png_setting(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from forecast.report import images

    monkeypatch.setattr(images, "png_unavailable_reason", lambda: None)
    config = load_config("default")
    assert freshness.inputs_hash(config, data, png=True) != freshness.inputs_hash(config, data, png=False)


def test_inputs_hash_follows_the_code(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config("default")
    base = freshness.inputs_hash(config, data, png=False)
    monkeypatch.setattr(freshness, "code_hash", lambda: "edited")
    assert freshness.inputs_hash(config, data, png=False) != base


def test_up_to_date_needs_the_same_key_and_every_output(tmp_path: Path) -> None:
    out = _complete_outputs(tmp_path / "out", "k", files=("figures/fan_chart.png",))
    assert freshness.up_to_date(out, "k")
    assert not freshness.up_to_date(out, "other")
    assert not freshness.up_to_date(tmp_path / "missing", "k")
    (out / "figures" / "fan_chart.png").unlink()
    assert not freshness.up_to_date(out, "k")


def test_up_to_date_strict_needs_a_converged_fit(tmp_path: Path) -> None:
    out = _complete_outputs(tmp_path / "out", "k", converged=False)
    assert freshness.up_to_date(out, "k")
    assert not freshness.up_to_date(out, "k", strict=True)


def test_unreadable_run_json_means_not_up_to_date(tmp_path: Path) -> None:
    out = _complete_outputs(tmp_path / "out", "k")
    (out / "run.json").write_text("{truncated", encoding="utf-8")
    assert not freshness.up_to_date(out, "k")


@pytest.fixture
def pipeline_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """A stand-in pipeline that records calls (the real one is exercised by the end-to-end tests)."""
    calls: list[dict[str, Any]] = []
    fake = types.ModuleType("forecast.run.pipeline")
    fake.run_pipeline = lambda config, **kwargs: calls.append(kwargs)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "forecast.run.pipeline", fake)
    return calls


def test_cli_skips_a_current_folder_and_force_or_no_cache_runs(
    data: Path, tmp_path: Path, pipeline_calls: list[dict[str, Any]]
) -> None:
    key = freshness.inputs_hash(load_config("default"), data, png=False)
    out = _complete_outputs(tmp_path / "out", key)
    (out / "summary.csv").write_text(
        "scenario,median,q05,q10,q90,q95,p_not_by_horizon\nmixture-optimal,2029.5,2027,2027.7,2033.1,inf,0.0\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["run", "--data", str(data), "--out", str(out), "--no-png"]
    skipped = runner.invoke(app, args)
    assert skipped.exit_code == 0, skipped.stderr
    assert pipeline_calls == []
    assert "up to date" in skipped.stdout and "mixture-optimal  2029.5 [2027.7, 2033.1]" in skipped.stdout
    for extra in (["--force"], ["--no-cache"], ["--seed", "3"]):
        assert runner.invoke(app, [*args, *extra]).exit_code == 0
    assert len(pipeline_calls) == 3


def test_real_run_records_the_inputs_hash_and_a_rerun_skips(default_run, pipeline_calls) -> None:
    """The default acceptance run (library call, PNG setting on) is recognised by the CLI with the same inputs."""
    result, out = default_run  # the default preset without its vintages (tests/conftest.py)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run[freshness.INPUTS_KEY] == freshness.inputs_hash(result.config, DATA_DIR, png=True)
    preset = (REPO / "forecast" / "config" / "presets" / "default.yml").read_text(encoding="utf-8")
    # The fixture's config has no vintages and no compute-sensitivity refits: both blocks sit before `defaults:`.
    start, end = preset.index("vintages:"), preset.index("defaults:")
    assert preset.index("compute_sensitivity:") > start
    scenarios = out.parent / "default-without-vintages.yml"
    scenarios.write_text(preset[:start] + preset[end:], encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--scenarios", str(scenarios), "--data", str(DATA_DIR), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert pipeline_calls == [] and "up to date" in result.stdout


def test_a_hand_edited_summary_means_the_run_happens(
    data: Path, tmp_path: Path, pipeline_calls: list[dict[str, Any]]
) -> None:
    key = freshness.inputs_hash(load_config("default"), data, png=False)
    out = _complete_outputs(tmp_path / "out", key)
    (out / "summary.csv").write_text("not,the\nsummary\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--data", str(data), "--out", str(out), "--no-png"])
    assert result.exit_code == 0, result.stderr
    assert len(pipeline_calls) == 1 and "up to date" not in result.stdout
