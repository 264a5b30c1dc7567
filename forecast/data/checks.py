"""Building blocks of the table schemas: pandera checks on string columns, cross-column rules, a table's spec.

Cells arrive as stripped strings (NaN when empty; pandera skips those), so each check parses what it needs and
leaves values it cannot parse to the check that reports them. pandera is imported on first use through
`load_pandera`, so a run whose data files passed their checks before never pays its import.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pandera.pandas as pa

DATE_FORMAT = "%Y-%m-%d"
PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
#: Characters of a year alone ("2024") and of a year and month ("2024-05"), padded to a full date before parsing.
YEAR_LENGTH = len("YYYY")
YEAR_MONTH_LENGTH = len("YYYY-MM")
#: What a required column's empty cell is told when its table gives no more specific message.
REQUIRED_DEFAULT = "expected a value (this column is required)"


def load_pandera() -> Any:
    """pandera, imported on first use: a run whose data files were checked before does not pay its import."""
    import pandera.pandas as pandera

    return pandera


def scientific(value: float) -> str:
    """1e+32 -> '1e32' for messages."""
    return f"{value:.0e}".replace("e+", "e")


def as_numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype(float)


def parse_dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format=DATE_FORMAT, errors="coerce")


def number_check(expected: str, *, above: float | None = None, below: float | None = None) -> pa.Check:
    """Values must parse as finite numbers, above `above` and below `below` when given (both strict)."""

    def check(values: pd.Series) -> pd.Series:
        numbers = as_numbers(values)
        ok = numbers.notna() & np.isfinite(numbers)
        if above is not None:
            ok &= numbers > above
        if below is not None:
            ok &= numbers < below
        return ok

    return load_pandera().Check(check, error=expected)


def upper_bound_check(bound: float, expected: str) -> pa.Check:
    """Numbers must not exceed `bound`; unparsable values are left to the number check."""

    def check(values: pd.Series) -> pd.Series:
        numbers = as_numbers(values)
        return numbers.isna() | (numbers <= bound)

    return load_pandera().Check(check, error=expected)


def integer_check(expected: str, lowest: int, highest: int) -> pa.Check:
    def check(values: pd.Series) -> pd.Series:
        numbers = as_numbers(values)
        return numbers.notna() & (numbers == np.round(numbers)) & numbers.between(lowest, highest)

    return load_pandera().Check(check, error=expected)


def date_format_check() -> pa.Check:
    def check(values: pd.Series) -> pd.Series:
        return parse_dates(values).notna()

    return load_pandera().Check(check, error="expected a date as YYYY-MM-DD")


def date_range_check(expected: str, earliest: dt.date | None, latest: Callable[[], dt.date] | None) -> pa.Check:
    """Parsed dates must lie in [earliest, latest()]; unparsable ones are left to the format check."""

    def check(values: pd.Series) -> pd.Series:
        dates = parse_dates(values)
        ok = pd.Series(True, index=values.index)
        if earliest is not None:
            ok &= dates.isna() | (dates >= pd.Timestamp(earliest))
        if latest is not None:
            ok &= dates.isna() | (dates <= pd.Timestamp(latest()))
        return ok

    return load_pandera().Check(check, error=expected)


def period_end(values: pd.Series) -> pd.Series:
    """The last day of each partial date's period ("2024" → 2024-12-31, "2024-06" → 2024-06-30; full dates as they
    are; NaT where none parses): an estimate dated only to a year was known for certain only once it ended."""
    text = values.astype("string").str.strip()
    year = text.str.len() == YEAR_LENGTH
    month = text.str.len() == YEAR_MONTH_LENGTH
    padded = text.where(~year, text + "-12-31").where(~month, text + "-01")
    dates = parse_dates(padded)
    return dates.where(~month, dates + pd.offsets.MonthEnd(0))


def partial_date_check() -> pa.Check:
    def check(values: pd.Series) -> pd.Series:
        padded = values.where(values.str.len() != YEAR_LENGTH, values + "-01-01")
        padded = padded.where(padded.str.len() != YEAR_MONTH_LENGTH, padded + "-01")
        return values.str.match(PARTIAL_DATE) & parse_dates(padded).notna()

    return load_pandera().Check(check, error="expected a date as YYYY, YYYY-MM or YYYY-MM-DD")


def one_of(allowed: Sequence[str], what: str = "one of") -> pa.Check:
    return load_pandera().Check.isin(list(allowed), error=f"expected {what}: {', '.join(allowed)}")


def pattern_check(pattern: re.Pattern[str], expected: str) -> pa.Check:
    return load_pandera().Check(lambda values: values.str.match(pattern), error=expected)


def column(*checks: pa.Check, required: bool = False) -> pa.Column:
    return load_pandera().Column(dtype=None, checks=list(checks), nullable=not required)


def text(required: bool = False) -> pa.Column:
    return column(required=required)


@dataclass(frozen=True)
class RowRule:
    """A cross-column rule: `check(frame)` is True where a row is fine; failures are reported in `column`."""

    column: str
    expected: str
    check: Callable[[pd.DataFrame], pd.Series]
    shows: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    """Everything needed to validate one file: its columns, per-column checks and cross-column rules."""

    columns: tuple[str, ...]
    column_checks: Mapping[str, pa.Column]
    row_rules: tuple[RowRule, ...] = ()
    required_messages: Mapping[str, str] = field(default_factory=dict)

    def schema(self) -> pa.DataFrameSchema:
        pandera = load_pandera()
        row_checks = [pandera.Check(rule.check, error=rule.expected) for rule in self.row_rules]
        return pandera.DataFrameSchema(dict(self.column_checks), checks=row_checks, strict=True, ordered=False)

    def required_message(self, column: str) -> str:
        """What an empty cell of required `column` is told."""
        return self.required_messages.get(column, REQUIRED_DEFAULT)


#: What an empty `source` or `reliability` cell of any data file is told (the tags are listed per file).
REQUIRED_SOURCE = "expected a citation (paper, URL or repository path); every row keeps its source"
REQUIRED_RELIABILITY = "expected a reliability tag"


def _has_value(frame: pd.DataFrame) -> pd.Series:
    return frame["value"].notna() | (frame["value_low"].notna() & frame["value_high"].notna())


def _low_below_high(frame: pd.DataFrame) -> pd.Series:
    low, high = as_numbers(frame["value_low"]), as_numbers(frame["value_high"])
    return low.isna() | high.isna() | (low <= high)


#: The row rules of a long-format file with `value, value_low, value_high` (web_growth.csv, compute_supply.csv):
#: a value or both ends of a range, and the range in order.
VALUE_RANGE_RULES = (
    RowRule(
        "value",
        "expected a value, or both value_low and value_high",
        _has_value,
        ("value", "value_low", "value_high"),
    ),
    RowRule("value_high", "expected value_low <= value_high", _low_below_high, ("value_low", "value_high")),
)
