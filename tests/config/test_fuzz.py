"""Property-based fuzzing of the command line: random scenario documents and random damage to the data files.

Whatever the input, `forecast validate` either succeeds (exit 0, an `OK:` line) or rejects it with exit code 2 and
exactly one `error:` line on stderr: never a traceback, never exit code 1 (a bug). `validate` runs every check
`run` runs before sampling, so this covers `run`'s input handling without fitting anything.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from forecast.cli.app import app
from forecast.data import DATA_FILES
from forecast.data.provenance import update_hashes

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"
DEFAULT_PRESET = REPO / "forecast" / "config" / "presets" / "default.yml"
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible, CI is not flaky
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FILE_IN_MESSAGE = re.compile(
    r"^error: (?:\S+/)?(?:training_runs|stock_priors|stock_estimates|web_growth|compute_supply)\.csv: |"
    r"^error: sources\.yml: "
)


def _check_outcome(result: Any, what: str) -> str:
    """Exit 0 with an OK line, or exit 2 with one error line; return the line."""
    assert "Traceback" not in result.stderr, f"{what}\n{result.stderr}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (what, repr(result.exception))
    assert result.exit_code in (0, 2), f"exit {result.exit_code} for {what}: {result.stderr}"
    if result.exit_code == 0:
        assert result.stdout.startswith("OK: "), result.stdout
        assert result.stderr == ""
        return result.stdout.strip()
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{what}\n{result.stderr}"
    assert result.stdout == ""
    return lines[0]


# ------------------------------------------------------------------------------------------------
# Scenario documents
# ------------------------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.5, 1.5, 2024, 2060, 1e40, -0.1, "1e3", "", "none", "mixture", "2030-01-01"]),
    st.text(max_size=20),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=12), inner, max_size=3)
    ),
    max_leaves=6,
)
PRIOR_NAMES = ["quality_fraction", "indexed_pages", "dataset_growth_oom_per_year", "epochs", "bytes_per_token", "nope"]
INTERVAL = st.fixed_dictionaries(
    {"low": SCALARS, "high": SCALARS}, optional={"distribution": st.sampled_from(["normal", "lognormal", "x"])}
)
# Key paths a scenario file can set ("*" = a scenario of the list), and values that fit them more often than not.
PATHS: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("seed",): st.integers(min_value=-5, max_value=2**40),
    ("sampler", "draws"): st.integers(min_value=-2, max_value=5000),
    ("sampler", "tune"): st.integers(min_value=-2, max_value=5000),
    ("sampler", "chains"): st.integers(min_value=-1, max_value=8),
    ("sampler", "target_accept"): st.floats(min_value=-1, max_value=2),
    ("sampler", "backend"): st.sampled_from(["pymc", "nutpie", "stan"]),
    ("data", "cutoff"): st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
    ("fit", "leak_rows"): st.sampled_from(["exclude", "downweight", "drop"]),
    ("fit", "dataset_growth"): st.fixed_dictionaries({"mean": SCALARS, "sd": SCALARS}),
    ("defaults", "scaling"): st.sampled_from(["historical", "compute", "mixture", "linear"]),
    ("defaults", "horizon"): st.integers(min_value=1990, max_value=2300),
    ("defaults", "projection_start"): st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
    ("defaults", "overtraining"): st.fixed_dictionaries({"factor": SCALARS}),
    ("defaults", "priors"): st.dictionaries(st.sampled_from(PRIOR_NAMES), INTERVAL, max_size=2),
    ("*", "horizon"): st.integers(min_value=1990, max_value=2300),
    ("*", "scaling"): st.sampled_from(["historical", "compute", "mixture", "nope"]),
    ("*", "priors"): st.dictionaries(st.sampled_from(PRIOR_NAMES), INTERVAL, max_size=2),
    ("*", "overtraining"): st.fixed_dictionaries({"factor": SCALARS}, optional={"applies_to": SCALARS}),
    ("*", "name"): st.one_of(st.text(max_size=10), st.sampled_from(["base", "other", "a b", ""])),
}


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any, index: int) -> None:
    if path[0] == "*":
        scenarios = document["scenarios"]
        target = scenarios[index % len(scenarios)]
        target[path[1]] = value
        return
    node = document
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


@st.composite
def scenario_documents(draw: st.DrawFn) -> str:
    """A scenario file's text: a small valid document with random settings, unknown keys, wrong types, removed
    required keys, or the text itself damaged."""
    document: dict[str, Any] = {
        "schema_version": 1 if draw(st.integers(0, 9)) else draw(st.sampled_from([2, "1", None, 1.0])),
        "scenarios": [{"name": f"s{i}"} for i in range(draw(st.integers(min_value=1, max_value=3)))],
    }
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        path = draw(st.sampled_from(sorted(PATHS)))
        value = draw(st.one_of(PATHS[path], VALUES)) if draw(st.booleans()) else draw(PATHS[path])
        _set(document, path, value, draw(st.integers(min_value=0, max_value=5)))
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        document[draw(st.text(min_size=1, max_size=10))] = draw(VALUES)  # unknown (or duplicated) top-level key
    if draw(st.integers(min_value=0, max_value=7)) == 0:
        document.pop(draw(st.sampled_from(sorted(document))), None)
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    # Damage the text: syntax errors, tabs, stray characters, raw control characters (PyYAML rejects those
    # before parsing; config.py turns that into the one-line error too).
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(["\t", ":", "- ", "{", "'", "\n  x: 1\n", "\ufeff", "&a *b", "\x00", "\x1b"]))
            + text[at:]
        )
    return text


@FUZZ
@given(text=scenario_documents())
def test_random_scenario_documents(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scenarios.yml"
        path.write_text(text, encoding="utf-8")
        line = _check_outcome(
            CliRunner().invoke(app, ["validate", "--scenarios", str(path), "--data", str(DATA_DIR)]), text
        )
        if line.startswith("error: "):
            assert line.startswith(f"error: {path}: "), line  # names the file


@st.composite
def mutated_preset(draw: st.DrawFn) -> str:
    """The shipped default preset with a few lines deleted, duplicated, re-indented or with their value replaced:
    damage deep inside a realistic file (nested settings, comments, flow mappings)."""
    lines = DEFAULT_PRESET.read_text(encoding="utf-8").splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "value"]))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "indent":
            lines[i] = "  " + lines[i]
        elif kind == "dedent":
            lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
        elif ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            value = draw(st.sampled_from(["-1", "0", "1.5", "2e40", "nan", "x", "[]", "{low: 3, high: 1}", "", "~"]))
            lines[i] = f"{key}: {value}"
    return "\n".join(lines) + "\n"


@FUZZ
@given(text=mutated_preset())
def test_damaged_default_preset(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "preset.yml"
        path.write_text(text, encoding="utf-8")
        _check_outcome(CliRunner().invoke(app, ["validate", "--scenarios", str(path), "--data", str(DATA_DIR)]), text)


# ------------------------------------------------------------------------------------------------
# Data files
# ------------------------------------------------------------------------------------------------

JUNK_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "-1",
            "0",
            "nan",
            "inf",
            "-inf",
            "1e40",
            "1e400",
            "abc",
            '"',
            ",",
            "2024-02-30",
            "2999-01-01",
            "P;S",
            "leak;;",
            "\u00e9",
            "\x00",
            " 1e12 ",
            "1,000",
            "0x10",
            "NULL",
            "N/A",
            "TRUE",
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def data_damage(draw: st.DrawFn) -> list[tuple[str, str, Any]]:
    """One to three (file, operation, argument) edits to the data files."""
    ops = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        name = draw(st.sampled_from(sorted(DATA_FILES)))
        op = draw(
            st.sampled_from(
                [
                    "cell",
                    "cell",
                    "cell",
                    "drop_column",
                    "rename_column",
                    "truncate",
                    "insert_bytes",
                    "duplicate_row",
                    "delete_row",
                    "drop_header",
                    "crlf",
                    "bom",
                    "blank_lines",
                    "empty",
                    "delete",
                ]
            )
        )
        if op == "cell":
            arg: Any = (draw(st.integers(min_value=1, max_value=10**6)), draw(st.integers(0, 50)), draw(JUNK_CELLS))
        elif op == "insert_bytes":
            arg = (draw(st.floats(min_value=0, max_value=1)), draw(st.binary(min_size=1, max_size=6)))
        elif op == "truncate":
            arg = draw(st.floats(min_value=0, max_value=1))
        elif op == "rename_column":
            arg = (draw(st.integers(0, 50)), draw(st.text(max_size=10)))
        else:
            arg = draw(st.integers(min_value=0, max_value=10**6))
        ops.append((name, op, arg))
    return ops


def _apply(path: Path, op: str, arg: Any) -> None:
    if op == "delete":
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        return
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="surrogateescape")
    lines = text.splitlines(keepends=True)
    if op == "cell" and len(lines) > 1:
        row, column, value = arg
        index = 1 + row % (len(lines) - 1)
        cells = lines[index].rstrip("\r\n").split(",")
        cells[column % len(cells)] = value
        lines[index] = ",".join(cells) + "\n"
    elif op in ("drop_column", "rename_column") and lines:
        column = (arg[0] if op == "rename_column" else arg) % len(lines[0].split(","))
        for i, line in enumerate(lines if op == "drop_column" else lines[:1]):
            cells = line.rstrip("\r\n").split(",")
            if column < len(cells):
                if op == "drop_column":
                    del cells[column]
                else:
                    cells[column] = arg[1]
            lines[i] = ",".join(cells) + "\n"
    elif op == "duplicate_row" and len(lines) > 1:
        lines.append(lines[1 + arg % (len(lines) - 1)])
    elif op == "delete_row" and len(lines) > 1:
        del lines[1 + arg % (len(lines) - 1)]
    elif op == "drop_header" and lines:
        del lines[0]
    elif op == "blank_lines" and lines:
        lines.insert(arg % len(lines), "\n\n")
    elif op == "crlf":
        lines = [line.rstrip("\r\n") + "\r\n" for line in lines]
    text = "".join(lines)
    data = text.encode("utf-8", errors="surrogateescape")
    if op == "truncate":
        data = raw[: int(len(raw) * arg)]
    elif op == "insert_bytes":
        at = int(len(raw) * arg[0])
        data = raw[:at] + arg[1] + raw[at:]
    elif op == "bom":
        data = b"\xef\xbb\xbf" + raw
    elif op == "empty":
        data = b""
    path.write_bytes(data)


@FUZZ
@given(damage=data_damage(), recorded=st.booleans())
def test_random_data_damage(damage: list[tuple[str, str, Any]], recorded: bool) -> None:
    """Damaged copies of data/: with `recorded`, sources.yml is refreshed afterwards (as a maintainer would run
    `python -m forecast.data.provenance --update`), so the file loaders, not the hash check, have to catch it."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        shutil.copytree(DATA_DIR, data)
        for name, op, arg in damage:
            _apply(data / name, op, arg)
        if recorded:
            update_hashes(data)
        result = CliRunner().invoke(app, ["validate", "--data", str(data)])
        line = _check_outcome(result, repr(damage))
        if result.exit_code == 2:
            assert FILE_IN_MESSAGE.match(line), line  # names the file at fault
