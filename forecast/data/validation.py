"""Running a table's pandera schema and turning its first failure into one `DataError` line; recording passes.

A check is a pure function of the file's bytes and the rules, so a pass is recorded in the forecast cache under
the hash of both, and bytes that passed before are not checked again. The rules are the source of the whole
`forecast.data` package (and what it imports), hashed by `forecast.hashing.source_hash`: no list of rule modules
to keep up to date.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from forecast.cache import cache_folder
from forecast.data.checks import TableSpec
from forecast.data.records import EMPTY, RawTable, show_value
from forecast.errors import DataError
from forecast.hashing import sha256_text, source_hash

#: The package whose source defines the rules (checks, schemas, how failures are reported).
RULES_PACKAGE = "forecast.data"


def _got(raw: RawTable, index: int | None, columns: Sequence[str]) -> str:
    """The offending value, or 'a=..., b=...' when a cross-column rule involves several columns."""
    values = [raw.frame.at[index, c] if index is not None and c in raw.frame else None for c in columns]
    if len(columns) == 1:
        return show_value(values[0])
    shown = (("(empty)" if show_value(v) == EMPTY else show_value(v)) for v in values)
    return ", ".join(f"{c}={v}" for c, v in zip(columns, shown, strict=True))


def first_failure(raw: RawTable, spec: TableSpec, failures: pd.DataFrame) -> DataError:
    """Translate pandera's failure cases into the message for the earliest line, leftmost column."""
    rule_columns = {rule.expected: rule.column for rule in spec.row_rules}
    rule_shows = {rule.expected: rule.shows for rule in spec.row_rules if rule.shows}
    order = {column: position for position, column in enumerate(spec.columns)}
    candidates: list[tuple[int, int, int, str, str, int]] = []
    for case in failures.itertuples(index=False):
        check = str(case.check)
        is_rule = int(check in rule_columns)  # at the same cell, a column check explains more than a rule
        column = str(rule_columns.get(check, case.column))
        index = -1 if pd.isna(case.index) else int(case.index)
        line = raw.line_of(index) or 0
        candidates.append((line, order.get(column, len(order)), is_rule, column, check, index))
    line, _, _, column, check, first = min(candidates)
    index = None if first < 0 else first
    expected = spec.required_message(column) if check == "not_nullable" else check
    if not expected.startswith("expected"):
        expected = f"expected to pass check {expected}"
    where = f"line {line}, column '{column}'" if line else f"column '{column}'"
    return DataError(f"{raw.name}: {where}: {expected}, got {_got(raw, index, rule_shows.get(check, (column,)))}")


@functools.cache
def validation_code_hash() -> str:
    """What a check's outcome depends on besides the bytes: the rules' source and the pandera version."""
    return sha256_text(f"{source_hash(RULES_PACKAGE)}\npandera {version('pandera')}")


def passed_marker(raw: RawTable) -> Path:
    """Where a passed check of exactly these bytes under these rules is recorded (in the forecast cache)."""
    key = sha256_text(f"{raw.name}\n{raw.sha256}\n{validation_code_hash()}")
    return cache_folder("validated") / key


def validate(raw: RawTable, spec: Callable[[], TableSpec], reuse: bool = True) -> None:
    """Run the pandera schema lazily and raise the first failure as one DataError line.

    A check is a pure function of the file's bytes and these rules (the only date rule, "not in the future", can
    only turn a failure into a pass as time goes on), so bytes that passed before are not checked again: a marker
    keyed by their hash and `validation_code_hash` records the pass. Any edit to the file or the rules checks again.
    `reuse=False` checks regardless (and still records a pass).
    """
    marker = passed_marker(raw)
    if reuse and marker.is_file():
        return
    from pandera.errors import SchemaErrors

    table = spec()
    try:
        table.schema().validate(raw.frame, lazy=True)
    except SchemaErrors as exc:
        raise first_failure(raw, table, exc.failure_cases) from None
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass  # an unwritable cache only means the check runs again next time
