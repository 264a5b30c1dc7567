"""Hostile inputs, beyond malformed ones, each given to the real command in its own process: YAML that expands
enormously through aliases, numbers that are not finite (or absurdly large) where a finite quantity is meant,
files with a byte-order mark or Windows line endings, and `--scenarios` / `--data` paths that are a folder, a
named pipe or missing. Each gets a correct run or one `error:` line with exit 2 — never a traceback, a hang,
unbounded memory or a NaN date — and the earlier outputs stay as they were."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from faultkit import DATA_DIR, SMALL_CONFIG, Cli, Finished, fit_reused, prefill_cache, snapshot
from typer.testing import CliRunner

from forecast.cli.app import app
from forecast.config import load_config, loader
from forecast.errors import ConfigError, DataError

#: A process refused at parse time uses ~50 MB and well under a second; expanding an alias bomb would take GBs.
BOUNDED_RSS_KIB = 300_000
BOUNDED_SECONDS = 15
#: How long a process given a named pipe may take before it counts as hung (a refusal takes ~1 s).
FIFO_TIMEOUT_S = 8


def _previous_outputs(parent: Path) -> Path:
    """An output folder holding an earlier run's files (a report, a table, an image) and the user's own file."""
    out = parent / "reports"
    (out / "figures").mkdir(parents=True)
    (out / "summary.csv").write_text("scenario,median\nprevious,2030.0\n", encoding="utf-8")
    (out / "report.html").write_text("<p>previous report</p>\n", encoding="utf-8")
    (out / "figures" / "fan_chart.png").write_bytes(b"\x89PNG previous")
    (out / "NOTES.md").write_text("mine\n", encoding="utf-8")
    return out


def _assert_refused(done: Finished, out: Path, before: dict[str, str], prefix: str) -> str:
    """Exit 2, one line starting with `prefix`, nothing on stdout, the earlier outputs unchanged, nothing beside."""
    assert done.returncode == 2, done.stderr
    line = done.error_line
    assert line.startswith(prefix), line
    assert done.stdout == ""
    assert snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []  # no staging, no lock
    return line


# ------------------------------------------------------------------------------------------------
# YAML aliases: "billion laughs"
# ------------------------------------------------------------------------------------------------


def _laughs(levels: int = 9) -> str:
    """Nine lists of nine aliases of the level below: 9**9 (387 million) values from a dozen lines, placed
    where the config expects its scenarios."""
    lines = ["schema_version: 1", 'x0: &x0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"x{n}: &x{n} [{', '.join([f'*x{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "\n".join([*lines, f"scenarios: *x{levels - 1}", ""])


def _merge_laughs(levels: int = 9) -> str:
    """The same growth through merge keys (`<<: [*a, *a, ...]`) inside the scenario list."""
    lines = ["schema_version: 1", "scenarios:", "  - name: base", "    x0: &x0 {a: 1, b: 2, c: 3, d: 4, e: 5}"]
    lines += [f"    x{n}: &x{n} [{', '.join([f'*x{n - 1}'] * 9)}]" for n in range(1, levels)]
    lines += [f"    extra: {{<<: *x0, deep: *x{levels - 1}}}"]
    return "\n".join([*lines, ""])


ALIAS_BOMBS = {
    "nested_lists": (_laughs(), "YAML aliases (*name) expand this value to more than 100,000 values"),
    "inside_a_scenario": (_merge_laughs(), "YAML aliases (*name) expand this value to more than 100,000 values"),
    "recursive_anchor": (
        "schema_version: 1\nscenarios: &s\n  - name: base\n  - *s\n",
        "a YAML alias refers to the value that contains it",
    ),
}


@pytest.mark.parametrize("case", sorted(ALIAS_BOMBS))
def test_alias_bomb_is_one_line_in_bounded_memory_and_time(case: str, cli: Cli, tmp_path: Path) -> None:
    text, fragment = ALIAS_BOMBS[case]
    assert len(text) < 2_000  # a dozen lines
    path = tmp_path / "bomb.yml"
    path.write_text(text, encoding="utf-8")
    out = _previous_outputs(tmp_path)
    before = snapshot(out)
    done = cli.run("run", "--scenarios", path, "--data", DATA_DIR, "--out", out, cache=tmp_path / "cache")
    line = _assert_refused(done, out, before, f"error: {path}: line ")
    assert fragment in line, line
    assert done.max_rss_kib < BOUNDED_RSS_KIB, done.max_rss_kib
    assert done.seconds < BOUNDED_SECONDS, done.seconds
    assert not (tmp_path / "cache").exists()


def test_the_presets_are_far_below_the_alias_limit() -> None:
    """The limit refuses nothing real: the shipped presets expand to a few hundred values."""
    for name in loader.preset_names():
        node = loader._Loader(loader._read(name)[0]).get_single_node()
        count, stack = 0, [node]
        while stack:
            count += 1
            stack += loader._children(stack.pop())
        assert 50 < count < loader.MAX_EXPANDED_VALUES / 100, (name, count)


def test_an_oversized_scenario_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    with path.open("w", encoding="utf-8") as file:
        file.write(SMALL_CONFIG)
        file.write(("# padding\n" * 1000) * (loader.MAX_FILE_BYTES // 10_000 + 1))
    result = CliRunner().invoke(app, ["validate", "--scenarios", str(path), "--data", str(DATA_DIR)])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.strip() == (
        f"error: {path}: file is larger than {loader.MAX_FILE_BYTES:,} bytes; expected a scenario file "
        "(the presets are ~6 kB)"
    )


# ------------------------------------------------------------------------------------------------
# Numbers that are not finite where a finite quantity is meant
# ------------------------------------------------------------------------------------------------

# (YAML line to add under the base scenario, key path the message must name); numbers spelled as YAML spells them.
NON_FINITE = [".inf", "-.inf", ".nan", ".NaN", "1e400", "-1e400"]
FINITE_KEYS = {
    "horizon": ("horizon: {v}", "scenarios[0].horizon"),
    "overtraining_factor": ("overtraining: {{factor: {v}}}", "scenarios[0].overtraining.factor"),
    "slowdown_growth": (
        "compute_slowdown: {{growth_after_oom_per_year: {v}}}",
        "scenarios[0].compute_slowdown.growth_after_oom_per_year",
    ),
    "slowdown_start": ("compute_slowdown: {{start_year: {{low: {v}, high: 2040}}}}", "start_year"),
}


def _with_base_override(line: str) -> str:
    return SMALL_CONFIG.replace("  - name: base\n", f"  - name: base\n    {line}\n", 1)


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize("key", sorted(FINITE_KEYS))
def test_non_finite_yaml_numbers_are_one_line(key: str, value: str, tmp_path: Path) -> None:
    """In process (fast): every key and spelling; the line and key path are named."""
    line, path_text = FINITE_KEYS[key]
    path = tmp_path / "scenarios.yml"
    path.write_text(_with_base_override(line.format(v=value)), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: line 6: "), message
    assert path_text in message, message
    assert "expected" in message and ("finite" in message or "integer" in message), message


def test_non_finite_yaml_number_real_process(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "scenarios.yml"
    path.write_text(_with_base_override("overtraining: {factor: .nan}"), encoding="utf-8")
    out = _previous_outputs(tmp_path)
    before = snapshot(out)
    done = cli.run("run", "--scenarios", path, "--data", DATA_DIR, "--out", out, cache=tmp_path / "cache")
    line = _assert_refused(done, out, before, f"error: {path}: line 6: scenarios[0].overtraining.factor: ")
    assert "expected a finite number (got nan)" in line, line


def test_an_impossible_number_of_draws_is_refused_before_sampling(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.yml"
    path.write_text(SMALL_CONFIG.replace("draws: 150", "draws: 100000000000"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 3: sampler\.draws: "):
        load_config(path)


EXTREME_SCENARIOS = """\
  - name: tiny-factor
    scaling: compute
    overtraining: {factor: 1.0e-300}
  - name: huge-factor
    scaling: compute
    overtraining: {factor: 1.0e+300}
  - name: far-horizon
    horizon: 2200
"""
DATE_COLUMNS = ("median", "q05", "q10", "q90", "q95")
#: The probability below which each column's quantile lies (a quantile is `inf` = after the horizon exactly when
#: at least this share of paths is censored).
QUANTILE_LEVEL = {"median": 0.5, "q05": 0.05, "q10": 0.1, "q90": 0.9, "q95": 0.95}


def test_extreme_finite_values_give_real_dates_or_censoring(cli: Cli, cache_copy: Path, tmp_path: Path) -> None:
    """Finite but absurd values the schema accepts (an overtraining factor of 1e-300 or 1e300, the latest
    horizon) run to the end with dates that are real years inside the projection, or `inf` for after the
    horizon exactly where that share of paths is censored: never NaN. The same fit, so the cached one is used."""
    import numpy as np
    import xarray as xr

    path = tmp_path / "extreme.yml"
    path.write_text(SMALL_CONFIG + EXTREME_SCENARIOS, encoding="utf-8")
    out = tmp_path / "out"
    done = cli.run("run", "--scenarios", path, "--data", DATA_DIR, "--out", out, "--no-png", cache=cache_copy)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
    assert fit_reused(out)
    rows = {row["scenario"]: row for row in csv.DictReader((out / "summary.csv").open(encoding="utf-8"))}
    assert set(rows) == {"base", "compute", "tiny-factor", "huge-factor", "far-horizon"}
    with xr.open_dataset(out / "posterior.nc", group="exhaustion") as draws:
        draws = draws.load()
    start = 2024.0  # the default projection start, 2024-01-01
    assert float(draws["horizon"].sel(scenario="far-horizon")) == 2200
    for name, row in rows.items():
        horizon = float(draws["horizon"].sel(scenario=name))
        censored = float(row["p_not_by_horizon"])
        assert 0.0 <= censored <= 1.0, (name, row)
        for column in DATE_COLUMNS:
            year = float(row[column])
            assert not math.isnan(year), (name, column, row)
            if math.isinf(year):
                assert year > 0 and censored >= 1 - QUANTILE_LEVEL[column] - 1e-9, (name, column, row)
            else:
                assert start <= year <= horizon, (name, column, row)
        years = draws["exhaustion_year"].sel(scenario=name).values
        flagged = draws["censored"].sel(scenario=name).values
        assert (np.isnan(years) == flagged).all(), name  # NaN only for a path censored at the horizon
        assert np.isclose(flagged.mean(), censored, atol=1e-6), name
        crossed = years[~flagged]
        assert ((crossed >= start) & (crossed <= horizon)).all(), name
    assert float(rows["tiny-factor"]["p_not_by_horizon"]) == 1.0  # almost no data demand: never exhausted
    assert float(rows["huge-factor"]["median"]) < float(rows["compute"]["median"])  # exhausted at once


def test_an_absurd_growth_rate_is_refused_or_runs_quietly(cli: Cli, cache_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "growth.yml"
    path.write_text(_with_base_override("compute_slowdown: {growth_after_oom_per_year: 1.0e+300}"), encoding="utf-8")
    done = cli.run(
        "run", "--scenarios", path, "--data", DATA_DIR, "--out", tmp_path / "out", "--no-png", cache=cache_copy
    )
    assert done.returncode in (0, 2), done.stderr
    assert "Warning" not in done.stderr, done.stderr
    if done.returncode == 2:
        assert "growth_after_oom_per_year" in done.error_line


# Data cells that are not finite numbers, in each kind of table: (file, column, value, message fragment).
NON_FINITE_CELLS = [
    ("training_runs.csv", "dataset_tokens", "inf", "expected a positive number of tokens, got 'inf'"),
    ("web_growth.csv", "value", "NaN", "expected a number, got 'NaN'"),
    ("stock_priors.csv", "low", "1e400", "expected a number, got '1e400'"),
    ("stock_estimates.csv", "tokens_central", "-Infinity", "expected a positive number of tokens, got '-Infinity'"),
    ("compute_supply.csv", "value", "inf", "expected a positive number, got 'inf'"),
]


def _set_first_cell(path: Path, column: str, value: str) -> int:
    """Set `column` of the first row that has a value there; the file line of that row."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    index = rows[0].index(column)
    row = next(i for i in range(1, len(rows)) if rows[i][index].strip())
    rows[row][index] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    text = buffer.getvalue()
    path.write_text(text, encoding="utf-8")
    return text[: text.index(",".join(rows[row][:2]))].count("\n") + 1


@pytest.mark.parametrize(("name", "column", "value", "fragment"), NON_FINITE_CELLS)
def test_non_finite_data_cells_are_one_line(name: str, column: str, value: str, fragment: str, tmp_path: Path) -> None:
    """In process, one table of each kind: the file, line and column are named."""
    from forecast.data import load_bundle

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    line = _set_first_cell(data / name, column, value)
    with pytest.raises(DataError) as caught:
        load_bundle(data, reuse_checks=False)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{name}: line {line}, column '{column}': "), message
    assert fragment in message, message


def test_non_finite_data_cell_real_process(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    name, column, value, fragment = NON_FINITE_CELLS[0]
    line = _set_first_cell(data / name, column, value)
    out = _previous_outputs(tmp_path)
    before = snapshot(out)
    done = cli.run("run", "--data", data, "--out", out, "--no-png", cache=tmp_path / "cache")
    message = _assert_refused(done, out, before, f"error: {name}: line {line}, column '{column}': ")
    assert fragment in message, message


# ------------------------------------------------------------------------------------------------
# Byte-order marks and Windows line endings
# ------------------------------------------------------------------------------------------------


def _windows(data: bytes) -> bytes:
    """The bytes as a Windows editor saves them: a UTF-8 byte-order mark and CRLF line endings."""
    return b"\xef\xbb\xbf" + data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture(scope="module")
def plain_run(filled_cache: Path, small_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small config run once on the shipped data (the reference the Windows-saved files must reproduce)."""
    scratch = tmp_path_factory.mktemp("plain-run")
    out = scratch / "out"
    args = ("run", "--scenarios", small_config, "--data", DATA_DIR, "--out", out, "--no-png")
    done = Cli(scratch).run(*args, cache=filled_cache)
    assert done.returncode == 0, done.stderr
    assert fit_reused(out)
    return out


def test_yaml_with_bom_and_crlf_runs_as_the_plain_file(
    cli: Cli, cache_copy: Path, small_config: Path, plain_run: Path, tmp_path: Path
) -> None:
    """Same config, same cached fit, byte-identical tables."""
    windows = tmp_path / "windows.yml"
    windows.write_bytes(_windows(small_config.read_bytes()))
    out = tmp_path / "out"
    done = cli.run("run", "--scenarios", windows, "--data", DATA_DIR, "--out", out, "--no-png", cache=cache_copy)
    assert done.returncode == 0, done.stderr
    assert fit_reused(out)
    for name in ("summary.csv", "p_exhausted_by_year.csv"):
        assert (out / name).read_bytes() == (plain_run / name).read_bytes(), name


def test_yaml_errors_in_a_bom_crlf_file_name_the_right_line(tmp_path: Path) -> None:
    path = tmp_path / "windows.yml"
    path.write_bytes(_windows(_with_base_override("horizon: 2010").encode()))
    result = CliRunner().invoke(app, ["validate", "--scenarios", str(path), "--data", str(DATA_DIR)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: line 6: scenarios[0].horizon: "), result.stderr


def test_csv_with_bom_and_crlf_reads_the_same_records(tmp_path: Path) -> None:
    """Every data file saved the Windows way parses to exactly the same frames (only the bytes' hashes differ)."""
    import pandas as pd

    from forecast.data import DATA_FILES, load_bundle

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    for name in DATA_FILES:
        (data / name).write_bytes(_windows((data / name).read_bytes()))
    plain, windows = load_bundle(DATA_DIR, reuse_checks=False), load_bundle(data, reuse_checks=False)
    for name in ("runs", "web_growth", "stock_priors", "stock_estimates"):
        pd.testing.assert_frame_equal(getattr(plain, name), getattr(windows, name), obj=name)


def test_csv_with_bom_and_crlf_is_a_provenance_line_then_runs_the_same(
    cli: Cli, cache_copy: Path, small_config: Path, plain_run: Path, tmp_path: Path
) -> None:
    """A data file saved the Windows way: its bytes no longer match sources.yml, so the run stops with the one
    provenance line (exit 2, earlier outputs intact); once the maintainer records the new bytes, the run gives the
    same tables as the original file."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    (data / "training_runs.csv").write_bytes(_windows((data / "training_runs.csv").read_bytes()))
    out = _previous_outputs(tmp_path)
    before = snapshot(out)
    args = ("run", "--scenarios", small_config, "--data", data, "--out", out, "--no-png")
    done = cli.run(*args, cache=cache_copy)
    _assert_refused(done, out, before, "error: training_runs.csv: sha256 does not match sources.yml")

    update = subprocess.run(
        [sys.executable, "-m", "forecast.data.provenance", "--update", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert update.returncode == 0, update.stderr
    prefill_cache(cache_copy, small_config, data)  # the fit key follows the bytes: its (synthetic) fit
    done = cli.run(*args, cache=cache_copy)
    assert done.returncode == 0, done.stderr
    assert fit_reused(out)
    for name in ("summary.csv", "p_exhausted_by_year.csv"):
        assert (out / name).read_bytes() == (plain_run / name).read_bytes(), name
    assert (out / "NOTES.md").read_text(encoding="utf-8") == "mine\n"


# ------------------------------------------------------------------------------------------------
# Paths that are a folder, a named pipe, or missing
# ------------------------------------------------------------------------------------------------

fifo_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")


def _scenarios_path(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / "scenarios.yml"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    return path


SCENARIO_PATHS = {
    "folder": "is a directory; expected a YAML file",
    "fifo": "is a named pipe (FIFO), not a regular file; expected a YAML file",
    "missing": "file not found",
}


@fifo_only
@pytest.mark.parametrize("kind", sorted(SCENARIO_PATHS))
def test_scenarios_path_that_is_not_a_file(kind: str, cli: Cli, tmp_path: Path) -> None:
    path = _scenarios_path(kind, tmp_path)
    out = _previous_outputs(tmp_path)
    before = snapshot(out)
    done = cli.start("run", "--scenarios", path, "--data", DATA_DIR, "--out", out, cache=tmp_path / "cache")
    done = done.wait(FIFO_TIMEOUT_S)
    assert done.returncode == 2, done.stderr
    assert done.error_line == f"error: {path}: {SCENARIO_PATHS[kind]}"
    assert snapshot(out) == before


def _data_path(kind: str, tmp_path: Path) -> tuple[Path, str]:
    """A `--data` argument broken in one way; the start of the message it must give."""
    data = tmp_path / "data"
    if kind in ("folder_is_a_file", "folder_is_a_fifo", "folder_missing"):
        if kind == "folder_is_a_file":
            data.write_text("not a folder\n", encoding="utf-8")
            return data, f"error: {data}: data folder is a file, not a folder; expected a folder holding "
        if kind == "folder_is_a_fifo":
            os.mkfifo(data)
            return data, f"error: {data}: data folder is a named pipe (FIFO), not a folder; expected "
        return data, f"error: {data}: data folder not found; expected a folder holding "
    shutil.copytree(DATA_DIR, data)
    target = data / "training_runs.csv"
    target.unlink()
    if kind == "file_is_a_fifo":
        os.mkfifo(target)
        return data, f"error: training_runs.csv: {target} is a named pipe (FIFO), not a regular file; expected "
    target.mkdir()
    return data, f"error: training_runs.csv: {target} is a directory, not a regular file; expected a CSV file"


DATA_PATHS = ["folder_is_a_file", "folder_is_a_fifo", "folder_missing", "file_is_a_fifo", "file_is_a_folder"]


@fifo_only
@pytest.mark.parametrize("kind", DATA_PATHS)
def test_data_path_that_is_not_a_folder_of_files(kind: str, cli: Cli, tmp_path: Path) -> None:
    """`--no-cache`: the up-to-date check (which reads the data folder first) is the next test's business.
    `validate` reads the folder through the same loader."""
    data, prefix = _data_path(kind, tmp_path)
    out = _previous_outputs(tmp_path)
    before = snapshot(out)
    done = cli.start("run", "--data", data, "--out", out, "--no-cache", cache=tmp_path / "cache")
    line = _assert_refused(done.wait(FIFO_TIMEOUT_S), out, before, prefix)
    assert "expected" in line, line


@fifo_only
def test_a_fifo_in_the_data_folder_does_not_hang_the_up_to_date_check(cli: Cli, tmp_path: Path) -> None:
    data, prefix = _data_path("file_is_a_fifo", tmp_path)
    out = _previous_outputs(tmp_path)
    before = snapshot(out)
    done = cli.start("run", "--data", data, "--out", out, cache=tmp_path / "cache").wait(FIFO_TIMEOUT_S)
    _assert_refused(done, out, before, prefix)


def test_the_data_error_names_the_folder_not_a_missing_file(tmp_path: Path) -> None:
    """In process, the same message the data layer gives any caller (notebooks, `forecast backtest`)."""
    from forecast.data import load_bundle

    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'nowhere'}: data folder not found; expected")):
        load_bundle(tmp_path / "nowhere")
