"""The loaders: each data file read, checked and typed once, and `DataBundle`, every input of one run together
with the hashes of the exact bytes it was parsed from.

Also the one leak test (`is_leak`) and `has_flag`, beside the run frame they read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from forecast.data.checks import as_numbers, parse_dates, period_end
from forecast.data.records import RawTable, check_unique, read_bytes, read_table
from forecast.data.schemas import (
    DATA_FILES,
    ESTIMATE_COLUMNS,
    ESTIMATES_FILE,
    PRIOR_COLUMNS,
    PRIOR_PARAMETERS,
    PRIORS_FILE,
    RUN_COLUMNS,
    RUN_FLAGS,
    RUNS_FILE,
    WEB_GROWTH_COLUMNS,
    WEB_GROWTH_FILE,
    estimates_spec,
    has_flag_text,
    priors_spec,
    runs_spec,
    web_growth_spec,
)
from forecast.data.supply_schema import SUPPLY_COLUMNS, SUPPLY_FILE, supply_spec
from forecast.data.validation import validate
from forecast.errors import DataError
from forecast.hashing import fingerprint as files_fingerprint
from forecast.hashing import sha256_bytes
from forecast.units import decimal_year

#: The file whose presence marks a `data/` folder for `find_data_dir`.
SOURCES_MARKER = Path("data") / "sources.yml"


def _typed(
    frame: pd.DataFrame, *, floats: Iterable[str] = (), ints: Iterable[str] = (), dates: Iterable[str] = ()
) -> pd.DataFrame:
    """Convert validated string columns; remaining text columns get '' for empty cells."""
    out = frame.copy()
    special = {*floats, *ints, *dates}
    for column in floats:
        out[column] = as_numbers(out[column]).astype("float64")
    for column in ints:
        out[column] = as_numbers(out[column]).astype("int64")
    for column in dates:
        out[column] = parse_dates(out[column]).astype("datetime64[ns]")
    for column in out.columns:
        if column not in special:
            out[column] = out[column].fillna("").astype(str)
    return out.reset_index(drop=True)


def is_leak(runs: pd.DataFrame) -> pd.Series:
    """The one test of "is this row a leak?": the `leak` flag or `tokens_basis == 'leak'` (the loader requires both
    together; a hand-made frame may carry either column, or neither)."""
    leak = pd.Series(False, index=runs.index)
    if "flags" in runs:
        leak |= has_flag_text(runs["flags"], "leak").astype(bool)
    if "tokens_basis" in runs:
        leak |= runs["tokens_basis"].fillna("").astype(str).str.strip() == "leak"
    return leak


def is_whole_dataset(runs: pd.DataFrame) -> pd.Series:
    """Rows whose token count measures a whole training dataset: not a continued-pretraining increment on top of
    a base model (`tokens_scope == 'increment'`); a frame without the column counts every row."""
    if "tokens_scope" not in runs:
        return pd.Series(True, index=runs.index)
    return runs["tokens_scope"].fillna("total").astype(str).str.strip() != "increment"


def has_flag(runs: pd.DataFrame, flag: str) -> pd.Series:
    """Boolean mask of runs carrying `flag` (one of RUN_FLAGS), e.g. to exclude leaks from a fit."""
    if flag not in RUN_FLAGS:
        raise ValueError(f"unknown flag {flag!r}; expected one of: {', '.join(RUN_FLAGS)}")
    return has_flag_text(runs["flags"], flag).astype(bool)


def _runs_frame(raw: RawTable, reuse_checks: bool = True) -> pd.DataFrame:
    check_unique(raw, "model", "model")
    validate(raw, runs_spec, reuse_checks)
    runs = _typed(
        raw.frame,
        floats=("dataset_tokens", "training_compute_flop", "parameters", "synthetic_share"),
        dates=("publication_date",),
    )
    runs["decimal_year"] = decimal_year(runs["publication_date"])
    return runs


def _priors_frame(raw: RawTable, reuse_checks: bool = True) -> pd.DataFrame:
    check_unique(raw, "parameter", "parameter")
    validate(raw, priors_spec, reuse_checks)
    missing = [p for p in PRIOR_PARAMETERS if p not in set(raw.frame["parameter"])]
    if missing:
        raise DataError(
            f"{raw.name}: column 'parameter': no row for parameter '{missing[0]}'; "
            f"expected one row for each of: {', '.join(PRIOR_PARAMETERS)}"
        )
    priors = _typed(raw.frame, floats=("low", "high", "mass", "ceiling", "median"))
    return priors.set_index("parameter")


def _estimates_frame(raw: RawTable, reuse_checks: bool = True) -> pd.DataFrame:
    validate(raw, estimates_spec, reuse_checks)
    return _typed(raw.frame, floats=("tokens_low", "tokens_central", "tokens_high"), ints=("year_of_estimate",))


def _web_growth_frame(raw: RawTable, reuse_checks: bool = True) -> pd.DataFrame:
    validate(raw, web_growth_spec, reuse_checks)
    web = _typed(raw.frame, floats=("value", "value_low", "value_high"), ints=("year",), dates=("date",))
    web["decimal_year"] = decimal_year(web["date"])
    return web


def _supply_frame(raw: RawTable, reuse_checks: bool = True) -> pd.DataFrame:
    validate(raw, supply_spec, reuse_checks)
    supply = _typed(raw.frame, floats=("value", "value_low", "value_high"), dates=("date",))
    supply["decimal_year"] = decimal_year(supply["date"])
    return supply


def _known_at(frame: pd.DataFrame, column: str, cutoff: dt.date | None) -> pd.DataFrame:
    """Rows dated (by `column`) on or before the cut-off: what was known then; a partial date ("2024", "2024-06")
    counts from the end of its period. Undated rows are kept."""
    if cutoff is None:
        return frame
    values = frame[column]
    dates = values if pd.api.types.is_datetime64_any_dtype(values) else period_end(values)
    keep = dates.isna() | (dates <= pd.Timestamp(cutoff))
    return frame.loc[keep].reset_index(drop=True)


def _cutoff_runs(runs: pd.DataFrame, cutoff: dt.date | None) -> pd.DataFrame:
    return _known_at(runs, "publication_date", cutoff)


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


def load_training_runs(data_dir: Path, cutoff: dt.date | None = None) -> pd.DataFrame:
    """Training runs (one row per model), checked; `cutoff` keeps runs published on or before it.

    Adds `decimal_year` (float) next to `publication_date` (datetime64[ns]).
    """
    runs = _runs_frame(read_table(Path(data_dir) / RUNS_FILE, RUN_COLUMNS))
    return _cutoff_runs(runs, cutoff)


def load_stock_priors(data_dir: Path) -> pd.DataFrame:
    """Priors of the indexed-web stock and its adjustments, indexed by `parameter`."""
    return _priors_frame(read_table(Path(data_dir) / PRIORS_FILE, PRIOR_COLUMNS))


def load_stock_estimates(data_dir: Path) -> pd.DataFrame:
    """Published estimates of text stocks (tokens where the source gives them, else empty)."""
    return _estimates_frame(read_table(Path(data_dir) / ESTIMATES_FILE, ESTIMATE_COLUMNS))


def load_compute_supply(data_dir: Path, cutoff: dt.date | None = None) -> pd.DataFrame:
    """Inputs of the compute arm's limits (training-run costs, hardware, world product, published limits), rows
    dated on or before `cutoff`; adds `decimal_year`."""
    supply = _supply_frame(read_table(Path(data_dir) / SUPPLY_FILE, SUPPLY_COLUMNS))
    return _known_at(supply, "date", cutoff)


def load_web_growth(data_dir: Path, series: str | list[str] | None = None) -> pd.DataFrame:
    """Supply-side time series in long format, optionally only the named `series`; adds `decimal_year`."""
    web = _web_growth_frame(read_table(Path(data_dir) / WEB_GROWTH_FILE, WEB_GROWTH_COLUMNS))
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
    supply: pd.DataFrame | None = None  # compute_supply.csv (the compute arm's limits)

    @property
    def fingerprint(self) -> str:
        """Same value as `data_fingerprint(data_dir)` for the bytes that were loaded."""
        return files_fingerprint(self.sha256)


def load_bundle(data_dir: Path, cutoff: dt.date | None = None, reuse_checks: bool = True) -> DataBundle:
    """Load and check every data file once; hashes come from the same bytes that were parsed. `cutoff` keeps what
    was known then: runs, web-growth rows and stock estimates dated on or before it (undated rows stay).
    `reuse_checks=False` runs every check even on bytes that passed before (`forecast validate`, `--no-cache`)."""
    data_dir = Path(data_dir)
    raws = {
        RUNS_FILE: read_table(data_dir / RUNS_FILE, RUN_COLUMNS),
        PRIORS_FILE: read_table(data_dir / PRIORS_FILE, PRIOR_COLUMNS),
        ESTIMATES_FILE: read_table(data_dir / ESTIMATES_FILE, ESTIMATE_COLUMNS),
        WEB_GROWTH_FILE: read_table(data_dir / WEB_GROWTH_FILE, WEB_GROWTH_COLUMNS),
        SUPPLY_FILE: read_table(data_dir / SUPPLY_FILE, SUPPLY_COLUMNS),
    }
    return DataBundle(
        runs=_cutoff_runs(_runs_frame(raws[RUNS_FILE], reuse_checks), cutoff),
        stock_priors=_priors_frame(raws[PRIORS_FILE], reuse_checks),
        stock_estimates=_known_at(_estimates_frame(raws[ESTIMATES_FILE], reuse_checks), "publication_date", cutoff),
        web_growth=_known_at(_web_growth_frame(raws[WEB_GROWTH_FILE], reuse_checks), "date", cutoff),
        data_dir=data_dir,
        sha256=MappingProxyType({name: raw.sha256 for name, raw in raws.items()}),
        cutoff=cutoff,
        supply=_known_at(_supply_frame(raws[SUPPLY_FILE], reuse_checks), "date", cutoff),
    )


def data_fingerprint(data_dir: Path) -> str:
    """sha256 over the sorted file hashes of the data files the model reads (DATA_FILES)."""
    data_dir = Path(data_dir)
    hashes = {name: sha256_bytes(read_bytes(data_dir / name)) for name in DATA_FILES}
    return files_fingerprint(hashes)


def find_data_dir(start: Path | None = None) -> Path:
    """The `data/` folder holding sources.yml, searched upwards from `start` (default: the working directory),
    then from the installed package (an editable install sits in the repository). For notebooks and scripts that
    may run from any subfolder."""
    here = Path(__file__).resolve().parent
    for origin in (Path(start or Path.cwd()).resolve(), here):
        for folder in (origin, *origin.parents):
            if (folder / SOURCES_MARKER).is_file():
                return folder / SOURCES_MARKER.parent
    raise DataError("data/sources.yml not found above the working directory or the forecast package")
