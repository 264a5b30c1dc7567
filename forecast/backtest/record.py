"""The observed record a backtest is scored against: cut-off dates, runs with a token count, and the record.

The quantity forecast and scored is the *record*, the largest dataset recorded so far: R(t) = max{tokens of runs
published on or before t}. An observed point is R(t) at each distinct publication date t in (c, c + 3 years] of
the runs with a token count, for a cut-off c. Those runs come from `data/` or from an `--observed` file; the record
at the cut-off always comes from `data/` (what was known then), and `--observed` rows on or before the cut-off are
ignored.

**Leaks.** Leaked figures (GPT-4 13T, PaLM 2 3.6T) never set the record, by default: the model treats them as
unreliable (large extra noise; never record-setters in `frontier_candidates`, as in the reference table's
`is_frontier` rule), and the scored record follows the same rule. `leaks_set_record=True` counts them (the
sensitivity written beside the scores). An `--observed` file may carry `flags` or `tokens_basis` columns; a row
whose flags include `leak` or whose basis is `leak` is a leak (`forecast.data.is_leak`), all other extra columns
are ignored.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.data import (
    EARLIEST_RUN_DATE,
    MAX_RUN_TOKENS,
    is_leak,
    load_training_runs,
    read_csv_records,
    show_value,
)
from forecast.errors import DataError, InputError
from forecast.model.record import record_setters
from forecast.units import decimal_year

#: Forecast horizon after each cut-off (the issue: monthly from the cut-off to three years after it).
HORIZON_MONTHS = 36

#: Characters of a date written as YYYY-MM-DD (`date.fromisoformat` also takes shorter forms such as 20210101).
ISO_DATE_LENGTH = len("YYYY-MM-DD")

#: Columns an --observed CSV must have (others are ignored, apart from leak markers; see module docstring).
OBSERVED_COLUMNS: tuple[str, ...] = ("model", "publication_date", "dataset_tokens")
#: Optional --observed columns that can mark a row as a leak.
LEAK_MARKER_COLUMNS: tuple[str, ...] = ("flags", "tokens_basis")
#: Columns of an observed file that say whether a row can set the record (`record_setters`), read when present.
RECORD_RULE_COLUMNS: tuple[str, ...] = (*LEAK_MARKER_COLUMNS, "tokens_scope", "tokens_bound")


# ----------------------------------------------------------------------------------------------------
# Cut-offs and the horizon
# ----------------------------------------------------------------------------------------------------


def parse_cutoffs(values: Iterable[str | dt.date], today: dt.date | None = None) -> list[dt.date]:
    """Cut-off dates from repeated and/or comma-separated YYYY-MM-DD values; sorted, duplicates removed."""
    today = today or dt.date.today()
    out: set[dt.date] = set()
    for value in values:
        parts = [value] if isinstance(value, dt.date) else [p.strip() for p in str(value).split(",") if p.strip()]
        for part in parts:
            if isinstance(part, dt.date):
                date = part
            else:
                try:
                    date = dt.date.fromisoformat(part)
                except ValueError:
                    raise InputError(f"--cutoff: expected a date as YYYY-MM-DD, got {show_value(part)}") from None
                if len(part) != ISO_DATE_LENGTH:
                    raise InputError(f"--cutoff: expected a date as YYYY-MM-DD, got {show_value(part)}")
            if date > today:
                raise InputError(f"--cutoff: expected a date not after today ({today.isoformat()}), got {date}")
            if date < EARLIEST_RUN_DATE:
                raise InputError(
                    f"--cutoff: expected a date on or after {EARLIEST_RUN_DATE.isoformat()} (the study period), "
                    f"got {date}"
                )
            out.add(date)
    if not out:
        raise InputError("--cutoff: expected at least one date as YYYY-MM-DD")
    return sorted(out)


def horizon_end(cutoff: dt.date) -> pd.Timestamp:
    return pd.Timestamp(cutoff) + pd.DateOffset(months=HORIZON_MONTHS)


def monthly_dates(cutoff: dt.date) -> pd.DatetimeIndex:
    """The cut-off and every month after it, to three years after it (37 dates)."""
    start = pd.Timestamp(cutoff)
    return pd.DatetimeIndex([start + pd.DateOffset(months=k) for k in range(HORIZON_MONTHS + 1)])


# ----------------------------------------------------------------------------------------------------
# Observed runs
# ----------------------------------------------------------------------------------------------------


def runs_with_tokens(runs: pd.DataFrame) -> pd.DataFrame:
    """Training runs (a frame of `forecast.data.load_training_runs`) that can set the record, as observations:
    model, date, tokens, leak."""
    # The rows that can set the record (`forecast.model.record.record_setters`), leaks kept and marked so that
    # the sensitivity "leaks set the record" can count them: continued-pretraining increments and upper bounds
    # ("up to 18T") never set it.
    leak = is_leak(runs)
    has_tokens = record_setters(runs, leaks=True)
    kept = runs.loc[has_tokens]
    return pd.DataFrame(
        {
            "model": kept["model"].astype(str).to_numpy(),
            "publication_date": pd.to_datetime(kept["publication_date"]).to_numpy(),
            "dataset_tokens": kept["dataset_tokens"].to_numpy(dtype=float),
            "leak": leak.loc[has_tokens].to_numpy(dtype=bool),
        }
    )


def load_observed(path: Path, today: dt.date | None = None) -> pd.DataFrame:
    """Runs to score against from a CSV with at least model, publication_date, dataset_tokens.

    Extra columns are ignored (except leak markers, `tokens_scope` and `tokens_bound`, which apply the
    record rule of `forecast.model.record.record_setters`), rows without tokens are skipped, and the first bad cell is
    a one-line `DataError` naming file, line, column and what was expected, as for the files in `data/`.
    """
    path = Path(path)
    name = path.name
    today = today or dt.date.today()
    header, header_line, records, lines = read_csv_records(path, OBSERVED_COLUMNS)
    where_header = f"line {header_line} (header)"
    for column in OBSERVED_COLUMNS:
        count = header.count(column)
        if count == 0:
            raise DataError(
                f"{name}: {where_header}, column '{column}': missing column; expected at least the columns "
                f"{', '.join(OBSERVED_COLUMNS)} (others are ignored)"
            )
        if count > 1:
            raise DataError(f"{name}: {where_header}, column '{column}': column appears twice; expected it once")
    position = {column: header.index(column) for column in OBSERVED_COLUMNS}
    extra = {c: header.index(c) for c in RECORD_RULE_COLUMNS if header.count(c) == 1}
    rows: list[dict[str, Any]] = []
    for record, line in zip(records, lines, strict=True):
        cells = {column: record[index].strip() for column, index in position.items()}

        def fail(column: str, expected: str, cells: dict[str, str] = cells, line: int = line) -> DataError:
            value = cells[column] or None
            return DataError(f"{name}: line {line}, column '{column}': {expected}, got {show_value(value)}")

        if not cells["model"]:
            raise fail("model", "expected a model name (this column is required)")
        try:
            date = dt.date.fromisoformat(cells["publication_date"])
            if len(cells["publication_date"]) != ISO_DATE_LENGTH:
                raise ValueError
        except ValueError:
            raise fail("publication_date", "expected a date as YYYY-MM-DD") from None
        if date < EARLIEST_RUN_DATE:
            raise fail("publication_date", f"expected a date on or after {EARLIEST_RUN_DATE.isoformat()}")
        if date > today:
            raise fail("publication_date", f"expected a date not after today ({today.isoformat()})")
        if not cells["dataset_tokens"]:
            continue  # no token count: nothing to score
        try:
            tokens = float(cells["dataset_tokens"])
        except ValueError:
            tokens = math.nan
        if not (math.isfinite(tokens) and tokens > 0):
            raise fail("dataset_tokens", "expected a positive number of tokens (or an empty cell)")
        if tokens > MAX_RUN_TOKENS:
            raise fail("dataset_tokens", f"expected at most {MAX_RUN_TOKENS:.0e} tokens".replace("e+", "e"))
        row = {"model": cells["model"], "publication_date": pd.Timestamp(date), "dataset_tokens": tokens}
        row.update({column: record[index].strip() for column, index in extra.items()})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*OBSERVED_COLUMNS, *extra])
    frame["publication_date"] = pd.to_datetime(frame["publication_date"])
    frame["dataset_tokens"] = frame["dataset_tokens"].astype(float)
    frame["leak"] = is_leak(frame)
    # The same rule as the data's runs: increments and upper bounds never set the record.
    frame = frame[record_setters(frame, leaks=True)]
    return frame[["model", "publication_date", "dataset_tokens", "leak"]].reset_index(drop=True)


def observed_runs(data_dir: Path, observed: Path | None) -> tuple[pd.DataFrame, str]:
    """The runs to score against: from `observed` when given, else every run in `data_dir` (and a label)."""
    if observed is not None:
        return load_observed(Path(observed)), str(observed)
    return runs_with_tokens(load_training_runs(Path(data_dir))), f"{Path(data_dir) / 'training_runs.csv'}"


# ----------------------------------------------------------------------------------------------------
# The record
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """The record known at a cut-off and the observed record after it."""

    log10_at_cutoff: float
    holder: str  # model that set the record at the cut-off
    holder_date: pd.Timestamp
    points: pd.DataFrame  # date, models, log10_run_max, log10_record, new_record, lead_years


def observed_record(
    history: pd.DataFrame, later: pd.DataFrame, cutoff: dt.date, leaks_set_record: bool = False
) -> Record:
    """The record at the cut-off (from `history`, runs known then) and at each later publication date.

    `history` and `later` are frames of `runs_with_tokens` / `load_observed`. Rows of `history` after the cut-off
    and rows of `later` on or before it are ignored; so are `later` rows after the three-year horizon.
    """
    cut = pd.Timestamp(cutoff)
    setters = history[(history["publication_date"] <= cut) & (leaks_set_record | ~history["leak"])]
    if setters.empty:
        raise InputError(
            f"--cutoff {cutoff.isoformat()}: no run with a dataset token count published on or before it"
            + ("" if leaks_set_record else " (leaked figures do not set the record)")
            + "; expected a later cut-off"
        )
    best = setters.loc[setters["dataset_tokens"].idxmax()]
    record_c = float(np.log10(best["dataset_tokens"]))
    after = later[
        (later["publication_date"] > cut)
        & (later["publication_date"] <= horizon_end(cutoff))
        & (leaks_set_record | ~later["leak"])
    ]
    rows = []
    record = record_c
    for date, group in after.sort_values("publication_date", kind="stable").groupby("publication_date", sort=True):
        run_max = float(np.log10(group["dataset_tokens"].max()))
        new = run_max > record
        record = max(record, run_max)
        rows.append(
            {
                "date": pd.Timestamp(date),
                "models": "; ".join(group["model"].astype(str)),
                "log10_run_max": run_max,
                "log10_record": record,
                "new_record": bool(new),
            }
        )
    points = pd.DataFrame(rows, columns=["date", "models", "log10_run_max", "log10_record", "new_record"])
    points["lead_years"] = decimal_year(points["date"]) - decimal_year(cut)[0] if len(points) else []
    return Record(record_c, str(best["model"]), pd.Timestamp(best["publication_date"]), points)
