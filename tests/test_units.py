"""Unit conversions: exact numbers for the cited constants, and refusal of negative sizes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecast import units


def test_constants_are_the_cited_values() -> None:
    assert units.BYTES_PER_TOKEN == 4.0
    assert units.WORDS_PER_TOKEN == 0.8
    assert units.EPOCH_DB_WORDS_PER_TOKEN == 0.75


def test_bytes_to_tokens_default_and_custom_factor() -> None:
    assert units.bytes_to_tokens(40e9) == 1e10  # GPT-2's 40 GB at 4 bytes/token
    assert units.bytes_to_tokens(800e9, bytes_per_token=800e9 / 180e9) == pytest.approx(180e9)  # OPT-175B
    assert isinstance(units.bytes_to_tokens(8), float)


def test_tokens_to_bytes_inverts_bytes_to_tokens() -> None:
    tokens = np.array([0.0, 1.0, 1.4e12])
    assert np.array_equal(units.tokens_to_bytes(tokens), np.array([0.0, 4.0, 5.6e12]))
    assert np.allclose(units.bytes_to_tokens(units.tokens_to_bytes(tokens)), tokens)


def test_words_tokens_round_trip() -> None:
    assert units.words_to_tokens(0.8) == 1.0
    assert units.tokens_to_words(1e12) == 8e11
    # Epoch's older field lists Chinchilla's 1.4T tokens as 1.05e12 words.
    assert units.words_to_tokens(1.05e12, units.EPOCH_DB_WORDS_PER_TOKEN) == pytest.approx(1.4e12, rel=1e-12)


def test_conversions_accept_arrays_and_series_and_keep_nan() -> None:
    result = units.bytes_to_tokens(pd.Series([4.0, np.nan, 8.0]))
    assert isinstance(result, np.ndarray)
    assert result[0] == 1.0 and np.isnan(result[1]) and result[2] == 2.0


@pytest.mark.parametrize(
    "func", [units.bytes_to_tokens, units.tokens_to_bytes, units.words_to_tokens, units.tokens_to_words]
)
def test_negative_inputs_are_rejected(func) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        func(-1.0)
    with pytest.raises(ValueError, match="non-negative"):
        func(np.array([1.0, -3e12]))


@pytest.mark.parametrize("factor", [0.0, -4.0, np.inf, np.nan])
def test_bad_conversion_factor_is_rejected(factor: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        units.bytes_to_tokens(1.0, bytes_per_token=factor)


def test_decimal_year_exact_values() -> None:
    assert units.decimal_year("2024-07-02").tolist() == [2024.5]  # day 184 of 366
    assert units.decimal_year("2023-01-01").tolist() == [2023.0]
    assert units.decimal_year("2023-12-31")[0] == 2023 + 364 / 365
    assert units.decimal_year("2024-01-01T12:00:00")[0] == 2024 + 0.5 / 366


def test_decimal_year_accepts_many_input_types() -> None:
    expected = np.array([2024.5, 2023.0])
    as_strings = ["2024-07-02", "2023-01-01"]
    inputs = [
        as_strings,
        pd.Series(pd.to_datetime(as_strings)),
        pd.DatetimeIndex(as_strings),
        [dt.date(2024, 7, 2), pd.Timestamp("2023-01-01")],
        np.array(as_strings, dtype="datetime64[D]"),
    ]
    for dates in inputs:
        result = units.decimal_year(dates)
        assert isinstance(result, np.ndarray)
        assert np.array_equal(result, expected)
    assert units.decimal_year(dt.date(2024, 7, 2)).tolist() == [2024.5]
    assert units.decimal_year(pd.Timestamp("2024-07-02")).tolist() == [2024.5]


def test_decimal_year_missing_date_is_nan() -> None:
    result = units.decimal_year(pd.Series(pd.to_datetime(["2024-07-02", None])))
    assert result[0] == 2024.5 and np.isnan(result[1])


def test_from_decimal_year_exact_and_round_trip() -> None:
    assert units.from_decimal_year(2024.5) == pd.Timestamp("2024-07-02")
    assert units.from_decimal_year(2023.0) == pd.Timestamp("2023-01-01")
    dates = pd.date_range("2010-01-01", "2030-12-31", freq="37D")
    back = [units.from_decimal_year(x) for x in units.decimal_year(dates)]
    assert list(back) == list(dates)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_from_decimal_year_rejects_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        units.from_decimal_year(bad)
