"""Is an output folder already up to date? Then a run has nothing to recompute.

A run's outputs are a deterministic function of its inputs (the same seed gives byte-identical tables, tested in
tests/run/test_hardening.py). So `run.json` records one hash over every input (`inputs_hash`): the config, the data
files, the package's own code, the versions of the packages that shape the results, and whether PNGs were asked
for and possible. When a new run hashes to the same value and every output listed in `run.json` is still there,
`forecast run` says so and stops (`--force` regenerates anyway). Anything else — an edited YAML value, a data row,
a code change, a deleted figure — runs normally.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forecast.config import Config, config_hash
from forecast.hashing import (
    canonical_json,
    fingerprint,
    package_files_hash,
    package_versions,
    sha256_bytes,
    sha256_text,
)

#: Key of the inputs hash in run.json.
INPUTS_KEY = "inputs_hash"
RUN_FILE = "run.json"
#: Outputs every complete run has (figures/*.png are listed in run.json when written).
REQUIRED_OUTPUTS = ("report.html", "summary.csv", "posterior.nc", RUN_FILE)
#: Data-folder files that count: every table and the provenance record (a superset of what a run reads, so an
#: edit can only make a run happen, never be missed).
_DATA_PATTERNS = ("*.csv", "sources.yml")


def code_hash() -> str:
    """sha256 over every module, template and preset of the package, recursively (a development edit changes it).
    Read once a process (`hashing.package_files_hash` is cached): a process runs the code it loaded, so a
    `forecast watch` started before an edit records the old code until it is restarted."""
    return package_files_hash()


def data_files(data_dir: Path) -> list[Path]:
    """The files of `data_dir` that count (`_DATA_PATTERNS`), sorted within each pattern."""
    return [path for pattern in _DATA_PATTERNS for path in sorted(Path(data_dir).glob(pattern))]


def data_folder_hash(data_dir: Path) -> str:
    """sha256 over the name and bytes of each of `data_files`; read without pandas, so the check runs before the
    heavy imports. Bad files are not judged here: the run itself reports them."""
    hashes = {}
    for path in data_files(data_dir):
        if path.exists() and not path.is_file():  # a folder or a named pipe: reading it would fail or block
            hashes[path.name] = "not a regular file"
            continue
        try:
            hashes[path.name] = sha256_bytes(path.read_bytes())
        except OSError as exc:
            hashes[path.name] = f"unreadable: {exc.strerror}"
    return fingerprint(hashes)


def inputs_hash(config: Config, data_dir: Path, png: bool) -> str:
    """One hash over everything the outputs of `forecast run` depend on (see module docstring)."""
    from forecast.report.images import png_unavailable_reason

    key = {
        "config": config_hash(config),
        "data": data_folder_hash(Path(data_dir)),
        "code": code_hash(),
        "versions": package_versions(),
        "png": bool(png and png_unavailable_reason() is None),
    }
    return sha256_text(canonical_json(key))


def previous_run(out_dir: Path) -> dict[str, Any] | None:
    """The run.json of `out_dir`, or None when absent or unreadable."""
    try:
        value = json.loads((Path(out_dir) / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def up_to_date(out_dir: Path, key: str, strict: bool = False) -> bool:
    """True when `out_dir` holds the complete outputs of a run with inputs hash `key` (and, with `strict`, a
    converged fit, since a strict run must fail otherwise)."""
    run = previous_run(out_dir)
    if run is None or run.get(INPUTS_KEY) != key or (strict and not run.get("converged", False)):
        return False
    figures = run.get("figures", {})
    expected = [*REQUIRED_OUTPUTS, *(figures.get("files", []) if isinstance(figures, dict) else [])]
    return all((Path(out_dir) / name).is_file() for name in expected)
