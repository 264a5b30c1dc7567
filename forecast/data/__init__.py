"""Typed, checked loaders for the CSV files in `data/`.

Every problem in a data file becomes one `DataError` line naming the file, the line (1-based, header =
line 1), the column and what was expected. Structural problems (missing file, encoding, header, ragged
rows, duplicates) are caught in plain code; column values and cross-column rules are checked with pandera
and its first failure is translated into the same one-line form. No traceback reaches the user.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecast.errors import DataError
from forecast.hashing import fingerprint as files_fingerprint
from forecast.hashing import sha256_bytes
from forecast.units import decimal_year

if TYPE_CHECKING:
    import pandera.pandas as pa

RUNS_FILE = "training_runs.csv"
PRIORS_FILE = "stock_priors.csv"
ESTIMATES_FILE = "stock_estimates.csv"
WEB_GROWTH_FILE = "web_growth.csv"
# The files `load_bundle` reads; `data_fingerprint` hashes exactly these (docs and sources.yml excluded,
# so editing prose never invalidates a saved posterior).
DATA_FILES: tuple[str, ...] = (RUNS_FILE, PRIORS_FILE, ESTIMATES_FILE, WEB_GROWTH_FILE)

RUN_COLUMNS: tuple[str, ...] = (
    "model",
    "organization",
    "publication_date",
    "dataset_tokens",
    "dataset_size_as_reported",
    "unit_reported",
    "training_compute_flop",
    "parameters",
    "tokens_basis",
    "flags",
    "reliability",
    "source",
    "notes",
)
PRIOR_COLUMNS: tuple[str, ...] = (
    "parameter",
    "distribution",
    "low",
    "high",
    "mass",
    "ceiling",
    "median",
    "unit",
    "source",
    "reliability",
    "notes",
)
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "category",
    "item",
    "scope",
    "year_of_estimate",
    "publication_date",
    "tokens_low",
    "tokens_central",
    "tokens_high",
    "interval",
    "quantity_as_reported",
    "unit_reported",
    "stock_or_flow",
    "source",
    "reliability",
    "notes",
)
WEB_GROWTH_COLUMNS: tuple[str, ...] = (
    "series",
    "date",
    "year",
    "value",
    "value_low",
    "value_high",
    "unit",
    "metric",
    "source",
    "reliability",
    "notes",
)

# Closed vocabularies (documented in data/README.md).
TOKENS_BASIS: tuple[str, ...] = ("processed", "unique", "leak", "none")
RUN_FLAGS: tuple[str, ...] = (
    "leak",
    "repeated_passes",
    "bytes_only",
    "words_only",
    "encoder_model",
    "encoder_decoder",
    "dialogue_model",
    "filtered_size_reported",
    "compute_only",
    "moe",
    "synthetic_data",
)
FLAG_SEPARATOR = ";"
RUN_RELIABILITY: tuple[str, ...] = ("P", "S")
PRIOR_RELIABILITY: tuple[str, ...] = ("P", "S", "D")
SOURCE_RELIABILITY: tuple[str, ...] = ("P", "A", "S")
DISTRIBUTIONS: tuple[str, ...] = ("lognormal", "normal", "reflected_lognormal")
PRIOR_PARAMETERS: tuple[str, ...] = (
    "indexed_pages",
    "bytes_per_page",
    "bytes_per_token",
    "page_size_growth",
    "page_count_growth",
    "quality_fraction",
    "repetition_multiplier",
    "epochs",
    "dataset_start_tokens_2024",
    "dataset_growth_oom_per_year",
    "compute_start_flop_2024",
    "compute_growth_oom_per_year",
)
ESTIMATE_CATEGORIES: tuple[str, ...] = (
    "web",
    "datasets",
    "social media",
    "messages",
    "all text",
    "transcribed audio",
    "books",
    "scientific papers",
    "code",
    "images",
    "video",
    "deep web",
    "legal",
    "other",
)
ESTIMATE_SCOPES: tuple[str, ...] = ("public", "private", "public+private")
STOCK_OR_FLOW: tuple[str, ...] = ("stock", "dataset", "flow", "projection")

# Plausibility bounds. A value above them is a typo or a unit slip, not a measurement.
# 1e17 tokens is ~20x the whole-web upper bound (5.2e15, [P2] Table 1) and ~50x all private data
# (~2e15, Cummins 2024): no training run or public stock can be that large.
MAX_RUN_TOKENS = 1e17
# 1e32 FLOP is above the largest run the available text could feed (6e28-2e32 FLOP, Sevilla et al.
# 2024, METHOD_NOTES D.6) and ~6 orders above the largest 2024 runs (~5e25, Gemini 1.0 Ultra).
MAX_COMPUTE_FLOP = 1e32
# 1e15 parameters is ~500x the largest reported model (1.8e12, GPT-4 leak).
MAX_PARAMETERS = 1e15
# Stock estimates include token-equivalents of non-text data (astronomy + genomics ~1e18, [P2] App. D),
# so their bound is looser: 1e20 is still 100x above anything in the reference set.
MAX_STOCK_TOKENS = 1e20
# Runs before 2010 are outside the study period ([C2] fits rows with date > 2010-01-01, METHOD_NOTES A.7).
EARLIEST_RUN_DATE = dt.date(2010, 1, 1)
EARLIEST_ESTIMATE_YEAR = 1990
LATEST_ESTIMATE_YEAR = 2100
# A median written in the file must match the one implied by [low, high] to this relative tolerance
# (the file keeps 6 significant digits).
MEDIAN_RELATIVE_TOLERANCE = 1e-3

_DATE_FORMAT = "%Y-%m-%d"
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_SERIES_ID = re.compile(r"^[a-z0-9_]+$")
_MAX_SHOWN_VALUE = 60
_EMPTY = "an empty value"
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _sci(value: float) -> str:
    """1e+32 -> '1e32' for messages."""
    return f"{value:.0e}".replace("e+", "e")


_HEADER_LINE = 1


# --------------------------------------------------------------------------------------------------
# Reading: bytes -> text -> records with their line numbers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RawTable:
    """A CSV file read as strings, with the physical line of each record and the hash of its bytes."""

    name: str
    frame: pd.DataFrame
    lines: np.ndarray
    sha256: str

    def line_of(self, index: int | None) -> int | None:
        """File line (header = 1) of frame row `index`, or None if the row is unknown."""
        if index is None or not 0 <= index < len(self.lines):
            return None
        return int(self.lines[index])


def _read_bytes(path: Path, expected: Sequence[str] = ()) -> bytes:
    """Read a data file; a missing or empty file is a DataError naming it."""
    name = path.name
    if not path.is_file():
        raise DataError(f"{name}: file not found (looked for {path}); expected a CSV file with a header line")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{name}: cannot read file ({exc.strerror}); expected a readable CSV file") from None
    if not data.strip():
        columns = f" with columns {', '.join(expected)}" if expected else ""
        raise DataError(f"{name}: line 1: file is empty; expected a header line{columns}")
    return data


def _decode(name: str, data: bytes) -> str:
    """Decode UTF-8 (a leading BOM is accepted); report the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise DataError(
            f"{name}: line {line}: not valid UTF-8 (byte 0x{bad}); expected the file saved as UTF-8"
        ) from None


def _records(name: str, text: str) -> tuple[list[str], int, list[list[str]], list[int]]:
    """Split CSV text into header, its line, the records and the first physical line of each record."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = _HEADER_LINE
    records: list[list[str]] = []
    lines: list[int] = []
    previous_end = 0
    try:
        for row in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header, header_line = [cell.strip() for cell in row], start
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{name}: line {start}: expected {len(header)} fields (one per header column), "
                    f"found {len(row)}; check for a stray or missing comma or quote"
                )
            records.append(row)
            lines.append(start)
    except csv.Error as exc:
        raise DataError(f"{name}: line {reader.line_num}: unreadable CSV ({exc}); expected valid CSV") from None
    if header is None:  # only blank lines
        raise DataError(f"{name}: line 1: file is empty; expected a header line")
    return header, header_line, records, lines


def _check_header(name: str, header: list[str], expected: Sequence[str], line: int = _HEADER_LINE) -> None:
    """Reject duplicated, unknown or missing columns, naming the column and the expected set."""
    expected_text = ", ".join(expected)
    where = f"line {line} (header)"
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise DataError(f"{name}: {where}, column '{column}': column appears twice; expected each column once")
        seen.add(column)
        if column not in expected:
            raise DataError(f"{name}: {where}, column '{column}': unknown column; expected only: {expected_text}")
    for column in expected:
        if column not in seen:
            raise DataError(f"{name}: {where}, column '{column}': missing column; expected columns: {expected_text}")


def _read_table(path: Path, expected: Sequence[str]) -> _RawTable:
    """Read `path` into a frame of stripped strings (NaN for empty cells) in the expected column order."""
    name = path.name
    data = _read_bytes(path, expected)
    header, header_line, records, lines = _records(name, _decode(name, data))
    _check_header(name, header, expected, header_line)
    if not records:
        raise DataError(f"{name}: line {header_line + 1}: no data rows after the header; expected at least one row")
    frame = pd.DataFrame(records, columns=header, dtype=str)[list(expected)]
    frame = frame.apply(lambda column: column.str.strip())
    frame = frame.mask(frame == "")
    return _RawTable(name=name, frame=frame, lines=np.asarray(lines, dtype=int), sha256=sha256_bytes(data))


# --------------------------------------------------------------------------------------------------
# Plain-code checks that pandera cannot express with a line number
# --------------------------------------------------------------------------------------------------


def _check_unique(raw: _RawTable, column: str, what: str) -> None:
    """A key column must not repeat; name both lines."""
    values = raw.frame[column]
    duplicated = values.notna() & values.duplicated(keep="first")
    if not duplicated.any():
        return
    index = int(np.flatnonzero(duplicated.to_numpy())[0])
    value = values.iloc[index]
    first = int(np.flatnonzero((values == value).to_numpy())[0])
    raise DataError(
        f"{raw.name}: line {raw.lines[index]}, column '{column}': duplicate {what} {_shown(value)} "
        f"(first on line {raw.lines[first]}); expected each {what} once"
    )


# --------------------------------------------------------------------------------------------------
# Pandera checks on string columns (each parses what it needs; empty cells are skipped by pandera)
# --------------------------------------------------------------------------------------------------


def _as_numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype(float)


def _number_check(expected: str, *, above: float | None = None, below: float | None = None) -> pa.Check:
    """Values must parse as finite numbers, above `above` and below `below` when given (both strict)."""

    def check(values: pd.Series) -> pd.Series:
        numbers = _as_numbers(values)
        ok = numbers.notna() & np.isfinite(numbers)
        if above is not None:
            ok &= numbers > above
        if below is not None:
            ok &= numbers < below
        return ok

    return _pandera().Check(check, error=expected)


def _upper_bound_check(bound: float, expected: str) -> pa.Check:
    """Numbers must not exceed `bound`; unparsable values are left to the number check."""

    def check(values: pd.Series) -> pd.Series:
        numbers = _as_numbers(values)
        return numbers.isna() | (numbers <= bound)

    return _pandera().Check(check, error=expected)


def _integer_check(expected: str, lowest: int, highest: int) -> pa.Check:
    def check(values: pd.Series) -> pd.Series:
        numbers = _as_numbers(values)
        return numbers.notna() & (numbers == np.round(numbers)) & numbers.between(lowest, highest)

    return _pandera().Check(check, error=expected)


def _parse_dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format=_DATE_FORMAT, errors="coerce")


def _date_format_check() -> pa.Check:
    def check(values: pd.Series) -> pd.Series:
        return _parse_dates(values).notna()

    return _pandera().Check(check, error="expected a date as YYYY-MM-DD")


def _date_range_check(expected: str, earliest: dt.date | None, latest: Callable[[], dt.date] | None) -> pa.Check:
    """Parsed dates must lie in [earliest, latest()]; unparsable ones are left to the format check."""

    def check(values: pd.Series) -> pd.Series:
        dates = _parse_dates(values)
        ok = pd.Series(True, index=values.index)
        if earliest is not None:
            ok &= dates.isna() | (dates >= pd.Timestamp(earliest))
        if latest is not None:
            ok &= dates.isna() | (dates <= pd.Timestamp(latest()))
        return ok

    return _pandera().Check(check, error=expected)


def _partial_date_check() -> pa.Check:
    def check(values: pd.Series) -> pd.Series:
        padded = values.where(values.str.len() != 4, values + "-01-01")
        padded = padded.where(padded.str.len() != 7, padded + "-01")
        return values.str.match(_PARTIAL_DATE) & _parse_dates(padded).notna()

    return _pandera().Check(check, error="expected a date as YYYY, YYYY-MM or YYYY-MM-DD")


def _one_of(allowed: Sequence[str], what: str = "one of") -> pa.Check:
    return _pandera().Check.isin(list(allowed), error=f"expected {what}: {', '.join(allowed)}")


def _flags_check() -> pa.Check:
    allowed = set(RUN_FLAGS)

    def check(values: pd.Series) -> pd.Series:
        return values.map(lambda text: all(part.strip() in allowed for part in str(text).split(FLAG_SEPARATOR)))

    expected = f"expected '{FLAG_SEPARATOR}'-separated flags from: {', '.join(RUN_FLAGS)} (or empty)"
    return _pandera().Check(check, error=expected)


def _pattern_check(pattern: re.Pattern[str], expected: str) -> pa.Check:
    return _pandera().Check(lambda values: values.str.match(pattern), error=expected)


def _column(*checks: pa.Check, required: bool = False) -> pa.Column:
    return _pandera().Column(dtype=None, checks=list(checks), nullable=not required)


def _text(required: bool = False) -> pa.Column:
    return _column(required=required)


@dataclass(frozen=True)
class _RowRule:
    """A cross-column rule: `check(frame)` is True where a row is fine; failures are reported in `column`."""

    column: str
    expected: str
    check: Callable[[pd.DataFrame], pd.Series]
    shows: tuple[str, ...] = ()


@dataclass(frozen=True)
class _TableSpec:
    """Everything needed to validate one file: its columns, per-column checks and cross-column rules."""

    columns: tuple[str, ...]
    column_checks: Mapping[str, pa.Column]
    row_rules: tuple[_RowRule, ...] = ()
    required_messages: Mapping[str, str] = field(default_factory=dict)

    def schema(self) -> pa.DataFrameSchema:
        row_checks = [_pandera().Check(rule.check, error=rule.expected) for rule in self.row_rules]
        return _pandera().DataFrameSchema(dict(self.column_checks), checks=row_checks, strict=True, ordered=False)


_REQUIRED_DEFAULT = "expected a value (this column is required)"
_REQUIRED_SOURCE = "expected a citation (paper, URL or repository path); every row keeps its source"
_REQUIRED_RELIABILITY = "expected a reliability tag"


# --------------------------------------------------------------------------------------------------
# Table specifications
# --------------------------------------------------------------------------------------------------


def _today() -> dt.date:
    """Today's date (a function so that the check always uses the current day)."""
    return dt.date.today()


def _runs_spec() -> _TableSpec:
    columns = {
        "model": _text(required=True),
        "organization": _text(required=True),
        "publication_date": _column(
            _date_format_check(),
            _date_range_check(f"expected a date on or after {EARLIEST_RUN_DATE.isoformat()}", EARLIEST_RUN_DATE, None),
            _date_range_check(f"expected a date not after today ({_today().isoformat()})", None, _today),
            required=True,
        ),
        "dataset_tokens": _column(
            _number_check("expected a positive number of tokens", above=0),
            _upper_bound_check(
                MAX_RUN_TOKENS, f"expected at most {_sci(MAX_RUN_TOKENS)} tokens (no run is that large)"
            ),
        ),
        "dataset_size_as_reported": _text(),
        "unit_reported": _text(),
        "training_compute_flop": _column(
            _number_check("expected a positive number of FLOP", above=0),
            _upper_bound_check(
                MAX_COMPUTE_FLOP, f"expected at most {_sci(MAX_COMPUTE_FLOP)} FLOP (no run is that large)"
            ),
        ),
        "parameters": _column(
            _number_check("expected a positive number of parameters", above=0),
            _upper_bound_check(MAX_PARAMETERS, f"expected at most {_sci(MAX_PARAMETERS)} parameters"),
        ),
        "tokens_basis": _column(_one_of(TOKENS_BASIS), required=True),
        "flags": _column(_flags_check()),
        "reliability": _column(_one_of(RUN_RELIABILITY), required=True),
        "source": _text(required=True),
        "notes": _text(),
    }
    rules = (
        _RowRule(
            "tokens_basis",
            "expected tokens_basis 'none' exactly when dataset_tokens is empty",
            lambda frame: frame["dataset_tokens"].isna() == (frame["tokens_basis"] == "none"),
            ("dataset_tokens", "tokens_basis"),
        ),
        _RowRule(
            "flags",
            "expected the 'leak' flag on rows whose tokens_basis is 'leak'",
            lambda frame: (frame["tokens_basis"] != "leak") | _has_flag_text(frame["flags"], "leak"),
            ("tokens_basis", "flags"),
        ),
    )
    return _TableSpec(
        RUN_COLUMNS,
        columns,
        rules,
        {
            "source": _REQUIRED_SOURCE,
            "reliability": f"{_REQUIRED_RELIABILITY}: {', '.join(RUN_RELIABILITY)}",
            "tokens_basis": f"expected one of: {', '.join(TOKENS_BASIS)}",
        },
    )


def _implied_median(frame: pd.DataFrame) -> pd.Series:
    """Median implied by [low, high]: geometric mean (lognormal), mean (normal), reflected geometric mean."""
    low, high, ceiling = (_as_numbers(frame[c]) for c in ("low", "high", "ceiling"))
    kind = frame["distribution"]
    with np.errstate(invalid="ignore"):
        lognormal = np.sqrt(low * high)
        reflected = ceiling - np.sqrt((ceiling - high) * (ceiling - low))
    return pd.Series(
        np.select(
            [kind == "lognormal", kind == "normal", kind == "reflected_lognormal"],
            [lognormal, (low + high) / 2, reflected],
            np.nan,
        ),
        index=frame.index,
    )


def _median_matches(frame: pd.DataFrame) -> pd.Series:
    implied = _implied_median(frame)
    written = _as_numbers(frame["median"])
    close = np.isclose(written, implied, rtol=MEDIAN_RELATIVE_TOLERANCE, atol=0.0)
    return pd.Series(close | implied.isna().to_numpy() | written.isna().to_numpy(), index=frame.index)


def _ceiling_ok(frame: pd.DataFrame) -> pd.Series:
    reflected = frame["distribution"] == "reflected_lognormal"
    ceiling, high = _as_numbers(frame["ceiling"]), _as_numbers(frame["high"])
    return (reflected & (ceiling > high)) | (~reflected & frame["ceiling"].isna())


def _high_above_low(frame: pd.DataFrame) -> pd.Series:
    low, high = _as_numbers(frame["low"]), _as_numbers(frame["high"])
    return low.isna() | high.isna() | (high > low)


def _priors_spec() -> _TableSpec:
    number = _number_check("expected a number")
    columns = {
        "parameter": _column(_one_of(PRIOR_PARAMETERS, "a known parameter"), required=True),
        "distribution": _column(_one_of(DISTRIBUTIONS), required=True),
        "low": _column(number, required=True),
        "high": _column(number, required=True),
        "mass": _column(
            _number_check("expected a central probability mass strictly between 0 and 1", above=0, below=1),
            required=True,
        ),
        "ceiling": _column(number),
        "median": _column(number, required=True),
        "unit": _text(required=True),
        "source": _text(required=True),
        "reliability": _column(_one_of(PRIOR_RELIABILITY), required=True),
        "notes": _text(),
    }
    rules = (
        _RowRule(
            "high",
            "expected high > low",
            _high_above_low,
            ("low", "high"),
        ),
        _RowRule(
            "low",
            "expected low > 0 for a lognormal",
            lambda f: (f["distribution"] != "lognormal") | (_as_numbers(f["low"]) > 0),
            ("distribution", "low"),
        ),
        _RowRule(
            "ceiling",
            "expected a ceiling above high for reflected_lognormal (and an empty ceiling otherwise)",
            _ceiling_ok,
            ("distribution", "high", "ceiling"),
        ),
        _RowRule(
            "median",
            "expected the median implied by [low, high] and the distribution",
            _median_matches,
            ("distribution", "low", "high", "median"),
        ),
    )
    return _TableSpec(
        PRIOR_COLUMNS,
        columns,
        rules,
        {
            "source": _REQUIRED_SOURCE,
            "reliability": f"{_REQUIRED_RELIABILITY}: {', '.join(PRIOR_RELIABILITY)}",
        },
    )


def _stock_tokens_column() -> pa.Column:
    return _column(
        _number_check("expected a positive number of tokens", above=0),
        _upper_bound_check(MAX_STOCK_TOKENS, f"expected at most {_sci(MAX_STOCK_TOKENS)} tokens"),
    )


def _ordered_interval(frame: pd.DataFrame) -> pd.Series:
    low, central, high = (_as_numbers(frame[c]) for c in ("tokens_low", "tokens_central", "tokens_high"))
    ok = pd.Series(True, index=frame.index)
    for a, b in ((low, central), (central, high), (low, high)):
        ok &= a.isna() | b.isna() | (a <= b)
    return ok


def _estimates_spec() -> _TableSpec:
    columns = {
        "category": _column(_one_of(ESTIMATE_CATEGORIES), required=True),
        "item": _text(required=True),
        "scope": _column(_one_of(ESTIMATE_SCOPES), required=True),
        "year_of_estimate": _column(
            _integer_check(
                f"expected a year between {EARLIEST_ESTIMATE_YEAR} and {LATEST_ESTIMATE_YEAR}",
                EARLIEST_ESTIMATE_YEAR,
                LATEST_ESTIMATE_YEAR,
            ),
            required=True,
        ),
        "publication_date": _column(_partial_date_check(), required=True),
        "tokens_low": _stock_tokens_column(),
        "tokens_central": _stock_tokens_column(),
        "tokens_high": _stock_tokens_column(),
        "interval": _text(required=True),
        "quantity_as_reported": _text(required=True),
        "unit_reported": _text(required=True),
        "stock_or_flow": _column(_one_of(STOCK_OR_FLOW), required=True),
        "source": _text(required=True),
        "reliability": _column(_one_of(SOURCE_RELIABILITY), required=True),
        "notes": _text(),
    }
    rules = (
        _RowRule(
            "tokens_high",
            "expected tokens_low <= tokens_central <= tokens_high",
            _ordered_interval,
            ("tokens_low", "tokens_central", "tokens_high"),
        ),
    )
    return _TableSpec(
        ESTIMATE_COLUMNS,
        columns,
        rules,
        {
            "source": _REQUIRED_SOURCE,
            "reliability": f"{_REQUIRED_RELIABILITY}: {', '.join(SOURCE_RELIABILITY)}",
        },
    )


def _year_matches_date(frame: pd.DataFrame) -> pd.Series:
    dates, years = _parse_dates(frame["date"]), _as_numbers(frame["year"])
    return dates.isna() | years.isna() | (dates.dt.year == years)


def _has_value(frame: pd.DataFrame) -> pd.Series:
    return frame["value"].notna() | (frame["value_low"].notna() & frame["value_high"].notna())


def _low_below_high(frame: pd.DataFrame) -> pd.Series:
    low, high = _as_numbers(frame["value_low"]), _as_numbers(frame["value_high"])
    return low.isna() | high.isna() | (low <= high)


def _web_growth_spec() -> _TableSpec:
    number = _number_check("expected a number")
    columns = {
        "series": _column(
            _pattern_check(_SERIES_ID, "expected a series id of lowercase letters, digits and underscores"),
            required=True,
        ),
        "date": _column(_date_format_check(), required=True),
        "year": _column(_integer_check("expected a four-digit year", 1000, 9999), required=True),
        "value": _column(number),
        "value_low": _column(number),
        "value_high": _column(number),
        "unit": _text(required=True),
        "metric": _text(required=True),
        "source": _text(required=True),
        "reliability": _column(_one_of(SOURCE_RELIABILITY), required=True),
        "notes": _text(),
    }
    rules = (
        _RowRule("year", "expected year to equal the year of date", _year_matches_date, ("date", "year")),
        _RowRule(
            "value",
            "expected a value, or both value_low and value_high",
            _has_value,
            ("value", "value_low", "value_high"),
        ),
        _RowRule("value_high", "expected value_low <= value_high", _low_below_high, ("value_low", "value_high")),
    )
    return _TableSpec(
        WEB_GROWTH_COLUMNS,
        columns,
        rules,
        {
            "source": _REQUIRED_SOURCE,
            "reliability": f"{_REQUIRED_RELIABILITY}: {', '.join(SOURCE_RELIABILITY)}",
        },
    )


# --------------------------------------------------------------------------------------------------
# Validation: pandera failure cases -> one line
# --------------------------------------------------------------------------------------------------


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED_ESCAPES.get(char, f"\\x{ord(char):02x}")


def _shown(value: object) -> str:
    """A cell value quoted for a one-line message (newlines escaped, long text cut)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return _EMPTY
    text = _CONTROL_CHARS.sub(_escape_control, str(value))
    if len(text) > _MAX_SHOWN_VALUE:
        text = text[: _MAX_SHOWN_VALUE - 3] + "..."
    return f"'{text}'"


def _got(raw: _RawTable, index: int | None, columns: Sequence[str]) -> str:
    """The offending value, or 'a=..., b=...' when a cross-column rule involves several columns."""
    values = [raw.frame.at[index, c] if index is not None and c in raw.frame else None for c in columns]
    if len(columns) == 1:
        return _shown(values[0])
    shown = (("(empty)" if _shown(v) == _EMPTY else _shown(v)) for v in values)
    return ", ".join(f"{c}={v}" for c, v in zip(columns, shown, strict=True))


def _first_failure(raw: _RawTable, spec: _TableSpec, failures: pd.DataFrame) -> DataError:
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
    expected = spec.required_messages.get(column, _REQUIRED_DEFAULT) if check == "not_nullable" else check
    if not expected.startswith("expected"):
        expected = f"expected to pass check {expected}"
    where = f"line {line}, column '{column}'" if line else f"column '{column}'"
    return DataError(f"{raw.name}: {where}: {expected}, got {_got(raw, index, rule_shows.get(check, (column,)))}")


def _pandera() -> Any:
    """pandera, imported on first use: a run whose data files were checked before does not pay its import."""
    import pandera.pandas as pandera

    return pandera


@functools.cache
def _validation_code_hash() -> str:
    """What a check's outcome depends on besides the bytes: this module's rules and the pandera version."""
    from importlib.metadata import version

    return sha256_bytes(Path(__file__).read_bytes() + f"pandera {version('pandera')}".encode())


def _passed_marker(raw: _RawTable) -> Path:
    """Where a passed check of exactly these bytes under these rules is recorded (in the forecast cache)."""
    from forecast.cache import cache_dir

    key = sha256_bytes(f"{raw.name}\n{raw.sha256}\n{_validation_code_hash()}".encode())
    return cache_dir() / "validated" / key


def _validate(raw: _RawTable, spec: Callable[[], _TableSpec], reuse: bool = True) -> None:
    """Run the pandera schema lazily and raise the first failure as one DataError line.

    A check is a pure function of the file's bytes and these rules (the only date rule, "not in the future", can
    only turn a failure into a pass as time goes on), so bytes that passed before are not checked again: a marker
    keyed by their hash and `_validation_code_hash` records the pass. Any edit to the file or the rules checks again.
    `reuse=False` checks regardless (and still records a pass).
    """
    marker = _passed_marker(raw)
    if reuse and marker.is_file():
        return
    from pandera.errors import SchemaErrors

    table = spec()
    try:
        table.schema().validate(raw.frame, lazy=True)
    except SchemaErrors as exc:
        raise _first_failure(raw, table, exc.failure_cases) from None
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass  # an unwritable cache only means the check runs again next time


# --------------------------------------------------------------------------------------------------
# Typed frames
# --------------------------------------------------------------------------------------------------


def _typed(
    frame: pd.DataFrame, *, floats: Iterable[str] = (), ints: Iterable[str] = (), dates: Iterable[str] = ()
) -> pd.DataFrame:
    """Convert validated string columns; remaining text columns get '' for empty cells."""
    out = frame.copy()
    special = {*floats, *ints, *dates}
    for column in floats:
        out[column] = _as_numbers(out[column]).astype("float64")
    for column in ints:
        out[column] = _as_numbers(out[column]).astype("int64")
    for column in dates:
        out[column] = _parse_dates(out[column]).astype("datetime64[ns]")
    for column in out.columns:
        if column not in special:
            out[column] = out[column].fillna("").astype(str)
    return out.reset_index(drop=True)


def _has_flag_text(flags: pd.Series, flag: str) -> pd.Series:
    return flags.fillna("").map(lambda text: flag in {p.strip() for p in str(text).split(FLAG_SEPARATOR)})


def is_leak(runs: pd.DataFrame) -> pd.Series:
    """The one test of "is this row a leak?": the `leak` flag or `tokens_basis == 'leak'` (the loader requires both
    together; a hand-made frame may carry either column, or neither)."""
    leak = pd.Series(False, index=runs.index)
    if "flags" in runs:
        leak |= _has_flag_text(runs["flags"], "leak").astype(bool)
    if "tokens_basis" in runs:
        leak |= runs["tokens_basis"].fillna("").astype(str).str.strip() == "leak"
    return leak


def has_flag(runs: pd.DataFrame, flag: str) -> pd.Series:
    """Boolean mask of runs carrying `flag` (one of RUN_FLAGS), e.g. to exclude leaks from a fit."""
    if flag not in RUN_FLAGS:
        raise ValueError(f"unknown flag {flag!r}; expected one of: {', '.join(RUN_FLAGS)}")
    return _has_flag_text(runs["flags"], flag).astype(bool)


def _runs_frame(raw: _RawTable, reuse_checks: bool = True) -> pd.DataFrame:
    _check_unique(raw, "model", "model")
    _validate(raw, _runs_spec, reuse_checks)
    runs = _typed(
        raw.frame,
        floats=("dataset_tokens", "training_compute_flop", "parameters"),
        dates=("publication_date",),
    )
    runs["decimal_year"] = decimal_year(runs["publication_date"])
    return runs


def _priors_frame(raw: _RawTable, reuse_checks: bool = True) -> pd.DataFrame:
    _check_unique(raw, "parameter", "parameter")
    _validate(raw, _priors_spec, reuse_checks)
    missing = [p for p in PRIOR_PARAMETERS if p not in set(raw.frame["parameter"])]
    if missing:
        raise DataError(
            f"{raw.name}: column 'parameter': no row for parameter '{missing[0]}'; "
            f"expected one row for each of: {', '.join(PRIOR_PARAMETERS)}"
        )
    priors = _typed(raw.frame, floats=("low", "high", "mass", "ceiling", "median"))
    return priors.set_index("parameter")


def _estimates_frame(raw: _RawTable, reuse_checks: bool = True) -> pd.DataFrame:
    _validate(raw, _estimates_spec, reuse_checks)
    return _typed(raw.frame, floats=("tokens_low", "tokens_central", "tokens_high"), ints=("year_of_estimate",))


def _web_growth_frame(raw: _RawTable, reuse_checks: bool = True) -> pd.DataFrame:
    _validate(raw, _web_growth_spec, reuse_checks)
    web = _typed(raw.frame, floats=("value", "value_low", "value_high"), ints=("year",), dates=("date",))
    web["decimal_year"] = decimal_year(web["date"])
    return web


def _cutoff_runs(runs: pd.DataFrame, cutoff: dt.date | None) -> pd.DataFrame:
    if cutoff is None:
        return runs
    keep = runs["publication_date"] <= pd.Timestamp(cutoff)
    return runs.loc[keep].reset_index(drop=True)


def _select_series(web: pd.DataFrame, series: str | list[str] | None, name: str) -> pd.DataFrame:
    if series is None:
        return web
    wanted = [series] if isinstance(series, str) else list(series)
    known = list(dict.fromkeys(web["series"]))
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise DataError(
            f"{name}: column 'series': no rows for series '{unknown[0]}'; expected one of: {', '.join(known)}"
        )
    return web.loc[web["series"].isin(wanted)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# Public loaders
# --------------------------------------------------------------------------------------------------


def load_training_runs(data_dir: Path, cutoff: dt.date | None = None) -> pd.DataFrame:
    """Training runs (one row per model), checked; `cutoff` keeps runs published on or before it.

    Adds `decimal_year` (float) next to `publication_date` (datetime64[ns]).
    """
    runs = _runs_frame(_read_table(Path(data_dir) / RUNS_FILE, RUN_COLUMNS))
    return _cutoff_runs(runs, cutoff)


def load_stock_priors(data_dir: Path) -> pd.DataFrame:
    """Priors of the indexed-web stock and its adjustments, indexed by `parameter`."""
    return _priors_frame(_read_table(Path(data_dir) / PRIORS_FILE, PRIOR_COLUMNS))


def load_stock_estimates(data_dir: Path) -> pd.DataFrame:
    """Published estimates of text stocks (tokens where the source gives them, else empty)."""
    return _estimates_frame(_read_table(Path(data_dir) / ESTIMATES_FILE, ESTIMATE_COLUMNS))


def load_web_growth(data_dir: Path, series: str | list[str] | None = None) -> pd.DataFrame:
    """Supply-side time series in long format, optionally only the named `series`; adds `decimal_year`."""
    web = _web_growth_frame(_read_table(Path(data_dir) / WEB_GROWTH_FILE, WEB_GROWTH_COLUMNS))
    return _select_series(web, series, WEB_GROWTH_FILE)


@dataclass(frozen=True)
class DataBundle:
    """All checked inputs of one run plus the hashes of the exact bytes they were read from.

    The dataclass is frozen; the frames themselves are ordinary (mutable) DataFrames, so copy before editing.
    """

    runs: pd.DataFrame
    stock_priors: pd.DataFrame
    stock_estimates: pd.DataFrame
    web_growth: pd.DataFrame
    data_dir: Path
    sha256: Mapping[str, str]
    cutoff: dt.date | None = None

    @property
    def fingerprint(self) -> str:
        """Same value as `data_fingerprint(data_dir)` for the bytes that were loaded."""
        return files_fingerprint(self.sha256)


def load_bundle(data_dir: Path, cutoff: dt.date | None = None, reuse_checks: bool = True) -> DataBundle:
    """Load and check every data file once; hashes come from the same bytes that were parsed. `reuse_checks=False`
    runs every check even on bytes that passed before (`forecast validate`, `forecast run --no-cache`)."""
    data_dir = Path(data_dir)
    raws = {
        RUNS_FILE: _read_table(data_dir / RUNS_FILE, RUN_COLUMNS),
        PRIORS_FILE: _read_table(data_dir / PRIORS_FILE, PRIOR_COLUMNS),
        ESTIMATES_FILE: _read_table(data_dir / ESTIMATES_FILE, ESTIMATE_COLUMNS),
        WEB_GROWTH_FILE: _read_table(data_dir / WEB_GROWTH_FILE, WEB_GROWTH_COLUMNS),
    }
    return DataBundle(
        runs=_cutoff_runs(_runs_frame(raws[RUNS_FILE], reuse_checks), cutoff),
        stock_priors=_priors_frame(raws[PRIORS_FILE], reuse_checks),
        stock_estimates=_estimates_frame(raws[ESTIMATES_FILE], reuse_checks),
        web_growth=_web_growth_frame(raws[WEB_GROWTH_FILE], reuse_checks),
        data_dir=data_dir,
        sha256=MappingProxyType({name: raw.sha256 for name, raw in raws.items()}),
        cutoff=cutoff,
    )


def data_fingerprint(data_dir: Path) -> str:
    """sha256 over the sorted file hashes of the data files the model reads (DATA_FILES)."""
    data_dir = Path(data_dir)
    hashes = {name: sha256_bytes(_read_bytes(data_dir / name)) for name in DATA_FILES}
    return files_fingerprint(hashes)


def find_data_dir(start: Path | None = None) -> Path:
    """The `data/` folder holding sources.yml, searched upwards from `start` (default: the working directory),
    then from the installed package (an editable install sits in the repository). For notebooks and scripts that
    may run from any subfolder."""
    here = Path(__file__).resolve().parent
    for origin in (Path(start or Path.cwd()).resolve(), here):
        for folder in (origin, *origin.parents):
            if (folder / "data" / "sources.yml").is_file():
                return folder / "data"
    raise DataError("data/sources.yml not found above the working directory or the forecast package")


def read_csv_records(path: Path, expected: Sequence[str] = ()) -> tuple[list[str], int, list[list[str]], list[int]]:
    """(header, header line, rows, line of each row) of a CSV, with this module's one-line errors for a missing,
    empty or non-UTF-8 file; for other tables read the same way (e.g. `forecast backtest --observed`)."""
    name = Path(path).name
    return _records(name, _decode(name, _read_bytes(Path(path), expected)))


def show_value(value: object) -> str:
    """A cell value as error messages quote it (shortened, control characters escaped)."""
    return _shown(value)
