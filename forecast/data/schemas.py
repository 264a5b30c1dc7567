"""The contract of the data files (`compute_supply.csv`: `forecast.data.supply_schema`): names, columns, closed
vocabularies, plausibility bounds and the pandera schema of each file (column checks and cross-column rules).

Everything a check's outcome depends on, besides the file's bytes, is written here or in `forecast.data.checks`;
the record of passed checks (`forecast.data.validation`) hashes the source of the whole `forecast.data` package,
so editing a rule checks every file again. The vocabularies are documented in data/README.md.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast.data.checks import (
    REQUIRED_RELIABILITY,
    REQUIRED_SOURCE,
    VALUE_RANGE_RULES,
    RowRule,
    TableSpec,
    as_numbers,
    column,
    date_format_check,
    date_range_check,
    integer_check,
    load_pandera,
    number_check,
    one_of,
    parse_dates,
    partial_date_check,
    pattern_check,
    scientific,
    text,
    upper_bound_check,
)
from forecast.data.supply_schema import SUPPLY_FILE

if TYPE_CHECKING:
    import pandera.pandas as pa

RUNS_FILE = "training_runs.csv"
PRIORS_FILE = "stock_priors.csv"
ESTIMATES_FILE = "stock_estimates.csv"
WEB_GROWTH_FILE = "web_growth.csv"
# The files `load_bundle` reads; `data_fingerprint` hashes exactly these (docs and sources.yml excluded,
# so editing prose never invalidates a saved posterior).
DATA_FILES: tuple[str, ...] = (RUNS_FILE, PRIORS_FILE, ESTIMATES_FILE, WEB_GROWTH_FILE, SUPPLY_FILE)

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
    "tokens_scope",
    "tokens_bound",
    "synthetic_share",
    "base_model",
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
    "reasoning_model",
)
# What a token count covers: the whole pre-training run, continued pre-training on top of `base_model`, or such an
# increment reported together with the base's tokens as one cumulative total.
TOKENS_SCOPE: tuple[str, ...] = ("total", "increment", "cumulative")
# How a count was stated: a point ("14.8T"), a lower bound ("over 20T", "15T+"), an upper bound ("up to 18T"), or
# no count at all (`none`, exactly when `dataset_tokens` is empty).
TOKENS_BOUND: tuple[str, ...] = ("point", "lower", "upper", "none")
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

# web_growth.csv writes years with four digits.
FIRST_FOUR_DIGIT_YEAR, LAST_FOUR_DIGIT_YEAR = 1000, 9999
# A web_growth.csv series id, e.g. commoncrawl_pages_per_crawl.
SERIES_ID = re.compile(r"^[a-z0-9_]+$")


def _share_check() -> pa.Check:
    """A share: a number from 0 to 1 (empty allowed)."""

    def check(values: pd.Series) -> pd.Series:
        numbers = as_numbers(values)
        return values.fillna("").astype(str).str.strip().eq("") | numbers.between(0.0, 1.0)

    return load_pandera().Check(check, error="expected a share from 0 to 1 (or empty)")


def has_flag_text(flags: pd.Series, flag: str) -> pd.Series:
    """Where the `FLAG_SEPARATOR`-separated text of `flags` names `flag` (empty cells name none)."""
    return flags.fillna("").map(lambda cell: flag in {p.strip() for p in str(cell).split(FLAG_SEPARATOR)})


def flags_check() -> pa.Check:
    allowed = set(RUN_FLAGS)

    def check(values: pd.Series) -> pd.Series:
        return values.map(lambda cell: all(part.strip() in allowed for part in str(cell).split(FLAG_SEPARATOR)))

    expected = f"expected '{FLAG_SEPARATOR}'-separated flags from: {', '.join(RUN_FLAGS)} (or empty)"
    return load_pandera().Check(check, error=expected)


# --------------------------------------------------------------------------------------------------
# Table specifications
# --------------------------------------------------------------------------------------------------


def _today() -> dt.date:
    """Today's date (a function so that the check always uses the current day)."""
    return dt.date.today()


def runs_spec() -> TableSpec:
    """The checks of training_runs.csv (built on each call: the future-date rule reads today's date)."""
    columns = {
        "model": text(required=True),
        "organization": text(required=True),
        "publication_date": column(
            date_format_check(),
            date_range_check(f"expected a date on or after {EARLIEST_RUN_DATE.isoformat()}", EARLIEST_RUN_DATE, None),
            date_range_check(f"expected a date not after today ({_today().isoformat()})", None, _today),
            required=True,
        ),
        "dataset_tokens": column(
            number_check("expected a positive number of tokens", above=0),
            upper_bound_check(
                MAX_RUN_TOKENS, f"expected at most {scientific(MAX_RUN_TOKENS)} tokens (no run is that large)"
            ),
        ),
        "dataset_size_as_reported": text(),
        "unit_reported": text(),
        "training_compute_flop": column(
            number_check("expected a positive number of FLOP", above=0),
            upper_bound_check(
                MAX_COMPUTE_FLOP, f"expected at most {scientific(MAX_COMPUTE_FLOP)} FLOP (no run is that large)"
            ),
        ),
        "parameters": column(
            number_check("expected a positive number of parameters", above=0),
            upper_bound_check(MAX_PARAMETERS, f"expected at most {scientific(MAX_PARAMETERS)} parameters"),
        ),
        "tokens_basis": column(one_of(TOKENS_BASIS), required=True),
        "flags": column(flags_check()),
        "reliability": column(one_of(RUN_RELIABILITY), required=True),
        "source": text(required=True),
        "notes": text(),
        "tokens_scope": column(one_of(TOKENS_SCOPE), required=True),
        "tokens_bound": column(one_of(TOKENS_BOUND), required=True),
        "synthetic_share": column(_share_check()),
        "base_model": text(),
    }
    rules = (
        RowRule(
            "tokens_bound",
            "expected tokens_bound 'none' exactly when dataset_tokens is empty",
            lambda frame: frame["dataset_tokens"].isna() == (frame["tokens_bound"] == "none"),
            ("dataset_tokens", "tokens_bound"),
        ),
        RowRule(
            "base_model",
            "expected a base_model exactly on rows whose tokens_scope is 'increment' or 'cumulative'",
            lambda frame: (frame["tokens_scope"] != "total") == (frame["base_model"].fillna("").str.strip() != ""),
            ("tokens_scope", "base_model"),
        ),
        RowRule(
            "tokens_basis",
            "expected tokens_basis 'none' exactly when dataset_tokens is empty",
            lambda frame: frame["dataset_tokens"].isna() == (frame["tokens_basis"] == "none"),
            ("dataset_tokens", "tokens_basis"),
        ),
        RowRule(
            "flags",
            "expected the 'leak' flag on rows whose tokens_basis is 'leak'",
            lambda frame: (frame["tokens_basis"] != "leak") | has_flag_text(frame["flags"], "leak"),
            ("tokens_basis", "flags"),
        ),
    )
    return TableSpec(
        RUN_COLUMNS,
        columns,
        rules,
        {
            "source": REQUIRED_SOURCE,
            "reliability": f"{REQUIRED_RELIABILITY}: {', '.join(RUN_RELIABILITY)}",
            "tokens_basis": f"expected one of: {', '.join(TOKENS_BASIS)}",
            "tokens_scope": f"expected one of: {', '.join(TOKENS_SCOPE)}",
            "tokens_bound": f"expected one of: {', '.join(TOKENS_BOUND)}",
        },
    )


def _implied_median(frame: pd.DataFrame) -> pd.Series:
    """Median implied by [low, high]: geometric mean (lognormal), mean (normal), reflected geometric mean."""
    low, high, ceiling = (as_numbers(frame[c]) for c in ("low", "high", "ceiling"))
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
    written = as_numbers(frame["median"])
    close = np.isclose(written, implied, rtol=MEDIAN_RELATIVE_TOLERANCE, atol=0.0)
    return pd.Series(close | implied.isna().to_numpy() | written.isna().to_numpy(), index=frame.index)


def _ceiling_ok(frame: pd.DataFrame) -> pd.Series:
    reflected = frame["distribution"] == "reflected_lognormal"
    ceiling, high = as_numbers(frame["ceiling"]), as_numbers(frame["high"])
    return (reflected & (ceiling > high)) | (~reflected & frame["ceiling"].isna())


def _high_above_low(frame: pd.DataFrame) -> pd.Series:
    low, high = as_numbers(frame["low"]), as_numbers(frame["high"])
    return low.isna() | high.isna() | (high > low)


def priors_spec() -> TableSpec:
    """The checks of stock_priors.csv."""
    number = number_check("expected a number")
    columns = {
        "parameter": column(one_of(PRIOR_PARAMETERS, "a known parameter"), required=True),
        "distribution": column(one_of(DISTRIBUTIONS), required=True),
        "low": column(number, required=True),
        "high": column(number, required=True),
        "mass": column(
            number_check("expected a central probability mass strictly between 0 and 1", above=0, below=1),
            required=True,
        ),
        "ceiling": column(number),
        "median": column(number, required=True),
        "unit": text(required=True),
        "source": text(required=True),
        "reliability": column(one_of(PRIOR_RELIABILITY), required=True),
        "notes": text(),
    }
    rules = (
        RowRule(
            "high",
            "expected high > low",
            _high_above_low,
            ("low", "high"),
        ),
        RowRule(
            "low",
            "expected low > 0 for a lognormal",
            lambda f: (f["distribution"] != "lognormal") | (as_numbers(f["low"]) > 0),
            ("distribution", "low"),
        ),
        RowRule(
            "ceiling",
            "expected a ceiling above high for reflected_lognormal (and an empty ceiling otherwise)",
            _ceiling_ok,
            ("distribution", "high", "ceiling"),
        ),
        RowRule(
            "median",
            "expected the median implied by [low, high] and the distribution",
            _median_matches,
            ("distribution", "low", "high", "median"),
        ),
    )
    return TableSpec(
        PRIOR_COLUMNS,
        columns,
        rules,
        {
            "source": REQUIRED_SOURCE,
            "reliability": f"{REQUIRED_RELIABILITY}: {', '.join(PRIOR_RELIABILITY)}",
        },
    )


def _stock_tokens_column() -> pa.Column:
    return column(
        number_check("expected a positive number of tokens", above=0),
        upper_bound_check(MAX_STOCK_TOKENS, f"expected at most {scientific(MAX_STOCK_TOKENS)} tokens"),
    )


def _ordered_interval(frame: pd.DataFrame) -> pd.Series:
    low, central, high = (as_numbers(frame[c]) for c in ("tokens_low", "tokens_central", "tokens_high"))
    ok = pd.Series(True, index=frame.index)
    for a, b in ((low, central), (central, high), (low, high)):
        ok &= a.isna() | b.isna() | (a <= b)
    return ok


def estimates_spec() -> TableSpec:
    """The checks of stock_estimates.csv."""
    columns = {
        "category": column(one_of(ESTIMATE_CATEGORIES), required=True),
        "item": text(required=True),
        "scope": column(one_of(ESTIMATE_SCOPES), required=True),
        "year_of_estimate": column(
            integer_check(
                f"expected a year between {EARLIEST_ESTIMATE_YEAR} and {LATEST_ESTIMATE_YEAR}",
                EARLIEST_ESTIMATE_YEAR,
                LATEST_ESTIMATE_YEAR,
            ),
            required=True,
        ),
        "publication_date": column(partial_date_check(), required=True),
        "tokens_low": _stock_tokens_column(),
        "tokens_central": _stock_tokens_column(),
        "tokens_high": _stock_tokens_column(),
        "interval": text(required=True),
        "quantity_as_reported": text(required=True),
        "unit_reported": text(required=True),
        "stock_or_flow": column(one_of(STOCK_OR_FLOW), required=True),
        "source": text(required=True),
        "reliability": column(one_of(SOURCE_RELIABILITY), required=True),
        "notes": text(),
    }
    rules = (
        RowRule(
            "tokens_high",
            "expected tokens_low <= tokens_central <= tokens_high",
            _ordered_interval,
            ("tokens_low", "tokens_central", "tokens_high"),
        ),
    )
    return TableSpec(
        ESTIMATE_COLUMNS,
        columns,
        rules,
        {
            "source": REQUIRED_SOURCE,
            "reliability": f"{REQUIRED_RELIABILITY}: {', '.join(SOURCE_RELIABILITY)}",
        },
    )


def _year_matches_date(frame: pd.DataFrame) -> pd.Series:
    dates, years = parse_dates(frame["date"]), as_numbers(frame["year"])
    return dates.isna() | years.isna() | (dates.dt.year == years)


def web_growth_spec() -> TableSpec:
    """The checks of web_growth.csv."""
    number = number_check("expected a number")
    columns = {
        "series": column(
            pattern_check(SERIES_ID, "expected a series id of lowercase letters, digits and underscores"),
            required=True,
        ),
        "date": column(date_format_check(), required=True),
        "year": column(
            integer_check("expected a four-digit year", FIRST_FOUR_DIGIT_YEAR, LAST_FOUR_DIGIT_YEAR), required=True
        ),
        "value": column(number),
        "value_low": column(number),
        "value_high": column(number),
        "unit": text(required=True),
        "metric": text(required=True),
        "source": text(required=True),
        "reliability": column(one_of(SOURCE_RELIABILITY), required=True),
        "notes": text(),
    }
    rules = (
        RowRule("year", "expected year to equal the year of date", _year_matches_date, ("date", "year")),
        *VALUE_RANGE_RULES,
    )
    return TableSpec(
        WEB_GROWTH_COLUMNS,
        columns,
        rules,
        {
            "source": REQUIRED_SOURCE,
            "reliability": f"{REQUIRED_RELIABILITY}: {', '.join(SOURCE_RELIABILITY)}",
        },
    )
