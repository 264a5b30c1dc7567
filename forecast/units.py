"""Named unit conversions (bytes, words, tokens, decimal years), each with the assumption it rests on.

Every conversion factor is a cited constant, so a number converted here can always be traced back to
its source. Conversions refuse negative inputs: a negative size is a data error, never a value.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

# Villalobos et al. 2024 ([P2]) App. E: ~4 bytes of plain text per cl100k_base token, 95% [2, 5].
BYTES_PER_TOKEN = 4.0
# [P2] App. E: 1 token ~ 0.8 words (RefinedWeb: 4.4 characters per token, 5.5 bytes per word).
WORDS_PER_TOKEN = 0.8
# Epoch AI database convention for its older words-based dataset field: 1 token ~ 0.75 words
# (Chinchilla's 1.4T tokens appear as 1.05e12 words; reference README, METHOD_NOTES A.5).
EPOCH_DB_WORDS_PER_TOKEN = 0.75

_SECONDS_PER_DAY = 86_400.0
# Float64 resolution near year 2000 is ~1e-13 yr (a few microseconds): round back to whole seconds.
_DECIMAL_YEAR_RESOLUTION = "s"

type ArrayLike = float | int | np.ndarray | pd.Series | Iterable[float]
type DatesLike = str | dt.date | pd.Timestamp | np.datetime64 | Iterable[object] | pd.Series | pd.Index


def _non_negative(values: ArrayLike, what: str) -> np.ndarray | float:
    """Return `values` as float (scalar or array); raise ValueError if any is negative (NaN passes)."""
    arr = np.asarray(values, dtype=float)
    if np.any(arr < 0):
        raise ValueError(f"{what} must be non-negative, got {arr[arr < 0].flat[0]!r}")
    return float(arr) if arr.ndim == 0 else arr


def _positive_factor(factor: float, what: str) -> float:
    """A conversion factor must be a finite positive number."""
    value = float(factor)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number, got {factor!r}")
    return value


def bytes_to_tokens(n_bytes: ArrayLike, bytes_per_token: float = BYTES_PER_TOKEN) -> np.ndarray | float:
    """Tokens in `n_bytes` of plain text, assuming `bytes_per_token` (default 4, [P2] App. E, cl100k_base)."""
    return _non_negative(n_bytes, "n_bytes") / _positive_factor(bytes_per_token, "bytes_per_token")


def tokens_to_bytes(tokens: ArrayLike, bytes_per_token: float = BYTES_PER_TOKEN) -> np.ndarray | float:
    """Plain-text bytes holding `tokens` tokens, assuming `bytes_per_token` (default 4, [P2] App. E)."""
    return _non_negative(tokens, "tokens") * _positive_factor(bytes_per_token, "bytes_per_token")


def words_to_tokens(words: ArrayLike, words_per_token: float = WORDS_PER_TOKEN) -> np.ndarray | float:
    """Tokens for `words` words, assuming `words_per_token` (default 0.8, [P2] App. E).

    Pass `EPOCH_DB_WORDS_PER_TOKEN` (0.75) to undo the Epoch database's words-based field.
    """
    return _non_negative(words, "words") / _positive_factor(words_per_token, "words_per_token")


def tokens_to_words(tokens: ArrayLike, words_per_token: float = WORDS_PER_TOKEN) -> np.ndarray | float:
    """Words in `tokens` tokens, assuming `words_per_token` (default 0.8, [P2] App. E)."""
    return _non_negative(tokens, "tokens") * _positive_factor(words_per_token, "words_per_token")


def _as_datetime_index(dates: DatesLike) -> pd.DatetimeIndex:
    """Accept one date or many (str, date, Timestamp, datetime64, Series, Index) as a DatetimeIndex."""
    if isinstance(dates, str | dt.date | pd.Timestamp | np.datetime64):
        dates = [dates]
    return pd.DatetimeIndex(pd.to_datetime(pd.Series(list(dates), dtype=object)))


def decimal_year(dates: DatesLike) -> np.ndarray:
    """Dates as decimal years: year + (day of year - 1 + time of day) / days in that year.

    Each year maps to [year, year + 1), so 2024-07-02 (day 184 of 366) is exactly 2024.5. NaT -> NaN.
    Always returns a float array, even for a single date.
    """
    idx = _as_datetime_index(dates)
    seconds_into_day = (idx - idx.normalize()).total_seconds().to_numpy()
    day_fraction = (idx.day_of_year.to_numpy(dtype=float) - 1.0) + seconds_into_day / _SECONDS_PER_DAY
    days_in_year = np.where(idx.is_leap_year, 366.0, 365.0)
    return idx.year.to_numpy(dtype=float) + day_fraction / days_in_year


@functools.lru_cache(maxsize=256)
def date_year(date: Any) -> float:
    """`decimal_year` of one date, cached: projections ask for the same few dates (projection start, limit
    dates) once per scenario, and each answer goes through pandas."""
    return float(decimal_year(pd.Series([date]))[0])


def from_decimal_year(x: float) -> pd.Timestamp:
    """Inverse of `decimal_year` for one value, rounded to the second (float precision limit)."""
    value = float(x)
    if not np.isfinite(value):
        raise ValueError(f"decimal year must be a finite number, got {x!r}")
    year = int(np.floor(value))
    start = pd.Timestamp(year=year, month=1, day=1)
    days_in_year = 366.0 if start.is_leap_year else 365.0
    offset = pd.Timedelta(days=(value - year) * days_in_year)
    return (start + offset).round(_DECIMAL_YEAR_RESOLUTION)
