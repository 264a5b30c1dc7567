"""Provenance of the data files: `data/sources.yml` records each file's origin, row count and sha256.

`verify` fails (one line, naming the file) when a data file no longer matches its record, so an edit to the
data is never silent. After an intended edit, maintainers run `python -m forecast.data.provenance --update`, which
rewrites only the `rows:` and `sha256:` lines of `sources.yml`, and review the diff.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from forecast.data.schemas import DATA_FILES
from forecast.errors import ProvenanceError
from forecast.hashing import sha256_bytes

SOURCES_FILE = "sources.yml"
UPDATE_COMMAND = "python -m forecast.data.provenance --update"
_SHORT_HASH = 12
# Lines of sources.yml that `update_hashes` rewrites: a file key at indent 2 under `files:`, and its
# `rows:` / `sha256:` entries at indent 4. Everything else (comments, descriptions) is left untouched.
_FILES_KEY = re.compile(r"^files:\s*$")
_FILE_ENTRY = re.compile(r"^  (?P<name>[^\s#][^:]*):\s*$")
_FIELD = re.compile(r"^(?P<indent>    )(?P<key>rows|sha256):(?P<value>.*)$")
_TOP_LEVEL = re.compile(r"^\S")


def file_sha256(path: Path) -> str:
    """Hex sha256 of the bytes of `path` (data files are small: read whole, as the loaders read them)."""
    return sha256_bytes(Path(path).read_bytes())


def count_data_rows(path: Path) -> int:
    """Number of CSV records after the header (quoted newlines and blank lines handled like the loaders)."""
    text = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
    rows = [row for row in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in row)]
    return max(len(rows) - 1, 0)


# PyYAML's safe loader on libyaml's C parser when built with it (the same result, ~10x faster: sources.yml is
# read twice per run, for the provenance check and the report's source table).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_sources(data_dir: Path) -> dict[str, Any]:
    """Parse `data_dir/sources.yml`; a missing or malformed file is a one-line ProvenanceError."""
    path = Path(data_dir) / SOURCES_FILE
    if not path.is_file():
        raise ProvenanceError(f"{SOURCES_FILE}: file not found (looked for {path}); expected provenance records")
    try:
        sources = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ProvenanceError(f"{SOURCES_FILE}: {where}{problem}; expected valid YAML") from None
    except UnicodeDecodeError:
        raise ProvenanceError(f"{SOURCES_FILE}: not valid UTF-8; expected the file saved as UTF-8") from None
    if not isinstance(sources, dict) or not isinstance(sources.get("files"), dict):
        raise ProvenanceError(f"{SOURCES_FILE}: expected a mapping with a 'files' section (one entry per data file)")
    return sources


def _record(sources: dict[str, Any], name: str) -> dict[str, Any]:
    record = sources["files"].get(name)
    if not isinstance(record, dict):
        raise ProvenanceError(f"{name}: no entry in {SOURCES_FILE}; expected one under 'files' with rows and sha256")
    return record


def _verify_file(data_dir: Path, name: str, record: dict[str, Any]) -> None:
    path = data_dir / name
    if not path.is_file():
        raise ProvenanceError(f"{name}: listed in {SOURCES_FILE} but not found (looked for {path})")
    actual = file_sha256(path)
    recorded = str(record.get("sha256", ""))
    if actual != recorded:
        raise ProvenanceError(
            f"{name}: sha256 does not match {SOURCES_FILE} (recorded {recorded[:_SHORT_HASH] or 'nothing'}, "
            f"file {actual[:_SHORT_HASH]}); if the edit is intended, run `{UPDATE_COMMAND}` "
            "and review the diff"
        )
    rows = count_data_rows(path)
    if rows != record.get("rows"):
        raise ProvenanceError(
            f"{name}: {rows} data rows but {SOURCES_FILE} records {record.get('rows')}; "
            f"if the edit is intended, run `{UPDATE_COMMAND}` and review the diff"
        )


def verify(data_dir: Path) -> None:
    """Check every data file against `sources.yml` (sha256, row count); raise ProvenanceError on the first."""
    data_dir = Path(data_dir)
    sources = load_sources(data_dir)
    for name in DATA_FILES:
        _verify_file(data_dir, name, _record(sources, name))
    for path in sorted(data_dir.glob("*.csv")):
        if path.name not in sources["files"]:
            raise ProvenanceError(f"{path.name}: data file not listed in {SOURCES_FILE}; add an entry with its source")


def _updated_lines(lines: list[str], data_dir: Path) -> tuple[list[str], list[str]]:
    """Rewrite the rows/sha256 lines of each file entry; return the new lines and the names that changed."""
    out: list[str] = []
    changed: list[str] = []
    in_files = False
    current: str | None = None
    for line in lines:
        if line.startswith("#") or not line.strip():
            out.append(line)
            continue
        if _TOP_LEVEL.match(line):
            in_files, current = bool(_FILES_KEY.match(line)), None
        elif in_files and (entry := _FILE_ENTRY.match(line)):
            current = entry["name"].strip().strip("'\"")
        elif in_files and current and (field := _FIELD.match(line)) and (data_dir / current).is_file():
            path = data_dir / current
            new_value = count_data_rows(path) if field["key"] == "rows" else file_sha256(path)
            new_line = f"{field['indent']}{field['key']}: {new_value}"
            if new_line.rstrip() != line.rstrip("\n").rstrip():
                changed.append(current)
            line = new_line + ("\n" if line.endswith("\n") else "")
        out.append(line)
    return out, list(dict.fromkeys(changed))


def update_hashes(data_dir: Path) -> list[str]:
    """Refresh `rows` and `sha256` of every file entry in sources.yml; return the names whose record changed.

    For maintainers after an intended data edit; review the resulting diff before committing.
    """
    data_dir = Path(data_dir)
    load_sources(data_dir)  # fail early on a malformed file
    path = data_dir / SOURCES_FILE
    lines, changed = _updated_lines(path.read_text(encoding="utf-8").splitlines(keepends=True), data_dir)
    if changed:
        path.write_text("".join(lines), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    """`python -m forecast.data.provenance [--update] [--data-dir DIR]`: verify, or refresh the records."""
    parser = argparse.ArgumentParser(prog="python -m forecast.data.provenance", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="folder with the data files")
    parser.add_argument("--update", action="store_true", help="rewrite rows/sha256 in sources.yml")
    args = parser.parse_args(argv)
    try:
        if args.update:
            changed = update_hashes(args.data_dir)
            print(f"updated: {', '.join(changed)}" if changed else "sources.yml already up to date")
        else:
            verify(args.data_dir)
            print(f"OK: {', '.join(DATA_FILES)} match {SOURCES_FILE}")
    except ProvenanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
