"""Loaders on the real data, and one asserted one-line message per deliberately broken file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast import data
from forecast.data import checks, validation
from forecast.data.checks import period_end
from forecast.errors import DataError

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"
BAD_DATA = Path(__file__).resolve().parents[1] / "fixtures" / "bad_data"
MIN_RUNS_WITH_TOKENS = 45  # the minimum
R_STAR_D = 15.387756  # [M] datablations README, used to check the derived epochs prior

LOADERS = {
    data.RUNS_FILE: data.load_training_runs,
    data.PRIORS_FILE: data.load_stock_priors,
    data.ESTIMATES_FILE: data.load_stock_estimates,
    data.WEB_GROWTH_FILE: data.load_web_growth,
}


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return data.load_training_runs(DATA_DIR)


@pytest.fixture(scope="module")
def priors() -> pd.DataFrame:
    return data.load_stock_priors(DATA_DIR)


def _run(runs: pd.DataFrame, model: str) -> pd.Series:
    match = runs.loc[runs["model"] == model]
    assert len(match) == 1, f"{model} missing or duplicated"
    return match.iloc[0]


# ------------------------------------------------------------------------------------------------
# Real data
# ------------------------------------------------------------------------------------------------


def test_training_runs_shape_and_dtypes(runs: pd.DataFrame) -> None:
    assert list(runs.columns) == [*data.RUN_COLUMNS, "decimal_year"]
    assert len(runs) >= 60
    assert int(runs["dataset_tokens"].notna().sum()) >= MIN_RUNS_WITH_TOKENS
    assert runs["publication_date"].dtype == "datetime64[ns]"
    for column in ("dataset_tokens", "training_compute_flop", "parameters", "decimal_year"):
        assert runs[column].dtype == "float64"
    assert runs["publication_date"].min() >= pd.Timestamp("2018-01-01")
    assert runs["publication_date"].max() <= pd.Timestamp.today()
    assert runs["model"].is_unique


def test_runs_published_2025_2026_with_token_counts(runs: pd.DataFrame) -> None:
    """The now-cast issue's floor: at least 30 runs with disclosed token counts published in 2025-2026, each
    with its source; their new columns say what each count is."""
    recent = runs[(runs["publication_date"] >= "2025-01-01") & runs["dataset_tokens"].notna()]
    assert len(recent) >= 30
    assert recent["source"].str.len().gt(0).all() and recent["reliability"].isin(["P", "S"]).all()
    assert set(runs["tokens_bound"]) <= {"point", "lower", "upper", "none"}
    increments = runs[runs["tokens_scope"] == "increment"]
    assert not increments.empty and increments["base_model"].str.len().gt(0).all()
    assert not data.is_whole_dataset(increments).any()


def test_every_run_keeps_source_and_reliability(runs: pd.DataFrame) -> None:
    assert (runs["source"].str.len() > 0).all()
    assert runs["reliability"].isin(data.RUN_RELIABILITY).all()
    assert runs["tokens_basis"].isin(data.TOKENS_BASIS).all()
    assert (runs["dataset_tokens"].isna() == (runs["tokens_basis"] == "none")).all()


def test_gpt2_gpt3_gpt4_present_and_flagged(runs: pd.DataFrame) -> None:
    gpt2 = _run(runs, "GPT-2 (1.5B)")
    assert np.isnan(gpt2["dataset_tokens"]) and gpt2["tokens_basis"] == "none"
    assert "bytes_only" in gpt2["flags"].split(";") and "40 GB" in gpt2["dataset_size_as_reported"]

    gpt3 = _run(runs, "GPT-3 175B (davinci)")
    assert gpt3["dataset_tokens"] == 3e11 and gpt3["tokens_basis"] == "processed"
    assert "filtered_size_reported" in gpt3["flags"].split(";")
    assert "570 GB" in gpt3["dataset_size_as_reported"] and "499B" in gpt3["dataset_size_as_reported"]

    gpt4 = _run(runs, "GPT-4")
    assert gpt4["dataset_tokens"] == 1.3e13 and gpt4["tokens_basis"] == "leak"
    assert {"leak", "repeated_passes"} <= set(gpt4["flags"].split(";"))


def test_has_flag_selects_the_leaks(runs: pd.DataFrame) -> None:
    leaks = runs.loc[data.has_flag(runs, "leak"), "model"].tolist()
    assert sorted(leaks) == ["GPT-4", "PaLM 2"]
    with pytest.raises(ValueError, match="unknown flag"):
        data.has_flag(runs, "leaked")


def test_decimal_year_matches_publication_date(runs: pd.DataFrame) -> None:
    chinchilla = _run(runs, "Chinchilla")  # 2022-03-29 is day 88 of 365
    assert chinchilla["decimal_year"] == pytest.approx(2022 + 87 / 365)


@pytest.mark.parametrize("cutoff", [dt.date(2022, 12, 31), dt.date(2020, 5, 28)])
def test_cutoff_keeps_runs_on_or_before(runs: pd.DataFrame, cutoff: dt.date) -> None:
    kept = data.load_training_runs(DATA_DIR, cutoff=cutoff)
    assert len(kept) == int((runs["publication_date"] <= pd.Timestamp(cutoff)).sum())
    assert kept["publication_date"].max() <= pd.Timestamp(cutoff)
    assert 0 < len(kept) < len(runs)
    assert kept.index.equals(pd.RangeIndex(len(kept)))


def test_cutoff_is_inclusive(runs: pd.DataFrame) -> None:
    kept = data.load_training_runs(DATA_DIR, cutoff=dt.date(2020, 5, 28))
    assert kept["model"].iloc[-1] == "GPT-3 175B (davinci)"


def test_stock_priors_rows_and_conventions(priors: pd.DataFrame) -> None:
    assert list(priors.index) == list(data.PRIOR_PARAMETERS)
    assert priors.loc["indexed_pages", ["low", "high", "mass"]].tolist() == [7.5e10, 1e12, 0.95]
    bpt = priors.loc["bytes_per_token"]
    assert (bpt["distribution"], bpt["low"], bpt["high"], bpt["ceiling"], bpt["median"]) == (
        "reflected_lognormal",
        2.0,
        5.0,
        6.0,
        4.0,
    )
    d0 = priors.loc["dataset_start_tokens_2024"]
    assert (d0["low"], d0["high"], d0["mass"]) == (3e12, 1.3e13, 0.9)
    growth = priors.loc["dataset_growth_oom_per_year"]
    assert (growth["distribution"], growth["median"]) == ("normal", 0.376)
    assert priors["source"].str.len().gt(0).all()
    assert priors.loc[priors["distribution"] != "reflected_lognormal", "ceiling"].isna().all()


def test_epochs_prior_inverts_the_muennighoff_multiplier(priors: pd.DataFrame) -> None:
    def multiplier(epochs: float) -> float:
        return 1 + R_STAR_D * (1 - math.exp(-(epochs - 1) / R_STAR_D))

    row = priors.loc["epochs"]
    assert row["reliability"] == "D"
    assert multiplier(row["low"]) == pytest.approx(2.0, rel=1e-5)
    assert multiplier(row["high"]) == pytest.approx(5.0, rel=1e-5)
    assert row["median"] == pytest.approx(math.sqrt(row["low"] * row["high"]), rel=1e-5)


def test_stock_estimates_and_web_growth_load(runs: pd.DataFrame) -> None:
    estimates = data.load_stock_estimates(DATA_DIR)
    assert len(estimates) == 64 and estimates["source"].str.len().gt(0).all()
    assert estimates["year_of_estimate"].dtype == "int64"
    assert estimates["tokens_central"].dtype == "float64"
    indexed_web = estimates.loc[estimates["item"] == "Indexed web (raw)"].iloc[0]
    assert indexed_web[["tokens_low", "tokens_central", "tokens_high"]].tolist() == [1.3e14, 5.1e14, 2.1e15]

    web = data.load_web_growth(DATA_DIR)
    assert len(web) == 826
    assert web["date"].dtype == "datetime64[ns]" and web["year"].dtype == "int64"
    assert (web["date"].dt.year == web["year"]).all()
    assert np.allclose(np.floor(web["decimal_year"]), web["year"])


def test_web_growth_series_filter() -> None:
    one = data.load_web_growth(DATA_DIR, series="avg_plaintext_bytes_per_page")
    assert one["value"].tolist() == [6100.0, 8200.0]
    two = data.load_web_growth(DATA_DIR, series=["internet_users_share_world", "internet_users_share_itu"])
    assert set(two["series"]) == {"internet_users_share_world", "internet_users_share_itu"}
    assert len(two) == 28 + 3
    with pytest.raises(DataError, match=r"web_growth\.csv: column 'series': no rows for series 'nope'"):
        data.load_web_growth(DATA_DIR, series="nope")


def test_bundle_is_frozen_and_hashes_match_fingerprint() -> None:
    bundle = data.load_bundle(DATA_DIR, cutoff=dt.date(2023, 12, 31))
    assert set(bundle.sha256) == set(data.DATA_FILES)
    assert bundle.fingerprint == data.data_fingerprint(DATA_DIR)
    assert bundle.runs["publication_date"].max() <= pd.Timestamp("2023-12-31")
    assert list(bundle.stock_priors.index) == list(data.PRIOR_PARAMETERS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundle.cutoff = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        bundle.sha256["training_runs.csv"] = "x"  # type: ignore[index]


def _copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_fingerprint_changes_when_a_file_changes(tmp_path: Path) -> None:
    copy = _copy_data(tmp_path)
    before = data.data_fingerprint(copy)
    assert before == data.data_fingerprint(DATA_DIR)
    (copy / "README.md").write_text("prose does not count\n", encoding="utf-8")
    assert data.data_fingerprint(copy) == before
    with (copy / data.WEB_GROWTH_FILE).open("a", encoding="utf-8") as handle:
        handle.write("\n")
    assert data.data_fingerprint(copy) != before


# ------------------------------------------------------------------------------------------------
# Deliberately broken files: (case folder, line, column or None, expected fragment)
# ------------------------------------------------------------------------------------------------

BAD_CASES = [
    ("empty_file", 1, None, "file is empty"),
    ("header_only", 2, None, "no data rows after the header"),
    ("not_utf8", 3, None, "not valid UTF-8"),
    ("missing_column", 1, "source", "missing column; expected columns: model, organization"),
    ("extra_column", 1, "is_frontier", "unknown column; expected only: model, organization"),
    ("ragged_row", 3, None, "expected 17 fields"),
    ("non_numeric_tokens", 3, "dataset_tokens", "expected a positive number of tokens, got 'about 1.4T'"),
    ("negative_tokens", 4, "dataset_tokens", "expected a positive number of tokens, got '-3e12'"),
    ("zero_compute", 3, "training_compute_flop", "expected a positive number of FLOP, got '0'"),
    ("absurd_tokens", 4, "dataset_tokens", "expected at most 1e17 tokens"),
    ("absurd_compute", 3, "training_compute_flop", "expected at most 1e32 FLOP"),
    ("unparsable_date", 3, "publication_date", "expected a date as YYYY-MM-DD, got '29/03/2022'"),
    ("future_date", 4, "publication_date", "expected a date not after today"),
    ("date_before_2010", 2, "publication_date", "expected a date on or after 2010-01-01"),
    ("duplicate_model", 4, "model", "duplicate model 'Chinchilla' (first on line 3)"),
    ("empty_source", 3, "source", "expected a citation"),
    ("missing_reliability", 4, "reliability", "expected a reliability tag: P, S, got an empty value"),
    ("bad_reliability", 3, "reliability", "expected one of: P, S, got 'X'"),
    ("bad_tokens_basis", 3, "tokens_basis", "expected one of: processed, unique, leak, none"),
    ("bad_flag", 2, "flags", "flags from: leak, repeated_passes"),
    ("basis_without_tokens", 4, "tokens_basis", "expected tokens_basis 'none' exactly when dataset_tokens"),
    ("priors_low_not_below_high", 4, "high", "expected high > low, got low='0.40', high='0.40'"),
    ("priors_mass_out_of_range", 2, "mass", "strictly between 0 and 1, got '1.5'"),
    ("priors_bad_distribution", 3, "distribution", "expected one of: lognormal, normal, reflected_lognormal"),
    ("priors_unknown_parameter", 4, "parameter", "expected a known parameter: indexed_pages"),
    ("priors_missing_ceiling", 3, "ceiling", "expected a ceiling above high for reflected_lognormal"),
    ("priors_wrong_median", 2, "median", "expected the median implied by [low, high]"),
    ("estimates_negative_tokens", 2, "tokens_central", "expected a positive number of tokens"),
    ("estimates_low_above_high", 2, "tokens_high", "expected tokens_low <= tokens_central <= tokens_high"),
    ("web_growth_bad_date", 3, "date", "expected a date as YYYY-MM-DD, got '2021-31-12'"),
    ("web_growth_year_mismatch", 2, "year", "expected year to equal the year of date"),
    ("web_growth_no_value", 4, "value", "expected a value, or both value_low and value_high"),
]


def test_every_fixture_folder_has_an_asserted_message() -> None:
    folders = {path.name for path in BAD_DATA.iterdir() if path.is_dir()}
    assert folders == {case for case, *_ in BAD_CASES}


def _assert_one_line(message: str, file_name: str, line: int | None, column: str | None, fragment: str) -> None:
    assert "\n" not in message
    assert message.startswith(f"{file_name}: ")
    if line is not None:
        assert f"line {line}" in message
    if column is not None:
        assert f"column '{column}'" in message
    assert fragment in message


@pytest.mark.parametrize(("case", "line", "column", "fragment"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_broken_file_gives_one_line_message(case: str, line: int, column: str | None, fragment: str) -> None:
    folder = BAD_DATA / case
    (broken,) = list(folder.iterdir())
    with pytest.raises(DataError) as caught:
        LOADERS[broken.name](folder)
    _assert_one_line(str(caught.value), broken.name, line, column, fragment)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        data.load_training_runs(tmp_path)
    _assert_one_line(str(caught.value), "training_runs.csv", None, None, "file not found")
    with pytest.raises(DataError, match=r"^stock_priors\.csv: file not found"):
        data.load_bundle(_only(tmp_path, data.RUNS_FILE))


def _only(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "partial"
    folder.mkdir()
    shutil.copy(DATA_DIR / name, folder / name)
    return folder


def test_missing_prior_parameter_is_named(tmp_path: Path) -> None:
    copy = _copy_data(tmp_path)
    path = copy / data.PRIORS_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("epochs,")), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        data.load_stock_priors(copy)
    message = str(caught.value)
    _assert_one_line(message, "stock_priors.csv", None, "parameter", "no row for parameter 'epochs'")


def test_line_numbers_follow_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    source = (BAD_DATA / "negative_tokens" / data.RUNS_FILE).read_text(encoding="utf-8").splitlines()
    header, first, second, broken = source
    first = first.replace(",fixture row", ',"fixture row\nwith a second line"')
    text = "\n".join([header, first, "", second, broken]) + "\n"
    (tmp_path / data.RUNS_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        data.load_training_runs(tmp_path)
    _assert_one_line(str(caught.value), "training_runs.csv", 6, "dataset_tokens", "got '-3e12'")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    raw = (DATA_DIR / data.PRIORS_FILE).read_bytes()
    (tmp_path / data.PRIORS_FILE).write_bytes(b"\xef\xbb\xbf" + raw)
    assert list(data.load_stock_priors(tmp_path).index) == list(data.PRIOR_PARAMETERS)


def test_random_damage_never_escapes_as_a_traceback(tmp_path: Path) -> None:
    """Corrupt random cells of the real runs file: the loader either succeeds or raises one DataError line."""
    rng = random.Random(20241231)
    original = (DATA_DIR / data.RUNS_FILE).read_text(encoding="utf-8").splitlines()
    junk = ["", "-1", "0", "nan", "inf", "1e400", "abc", '"', ",", "2024-02-30", "P;S", "leak;;", "\u00e9"]
    for _ in range(60):
        lines = list(original)
        row = rng.randrange(1, len(lines))
        cells = lines[row].split(",")
        cells[rng.randrange(len(cells))] = rng.choice(junk)
        lines[row] = ",".join(cells)
        (tmp_path / data.RUNS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            data.load_training_runs(tmp_path)
        except DataError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("training_runs.csv: ")


def test_control_characters_are_escaped_in_messages(tmp_path: Path) -> None:
    text = (BAD_DATA / "bad_tokens_basis" / data.RUNS_FILE).read_text(encoding="utf-8")
    (tmp_path / data.RUNS_FILE).write_text(text.replace("tokens processed", "proc\x00essed"), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        data.load_training_runs(str(tmp_path))  # a str path works too
    message = str(caught.value)
    assert "\x00" not in message and "got 'proc\\x00essed'" in message


def test_find_data_dir_walks_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from forecast.data import find_data_dir

    repo_data = Path(__file__).resolve().parents[2] / "data"
    nested = repo_data.parent / "notebooks"
    assert find_data_dir(nested) == repo_data
    # From an unrelated folder it falls back to the package's own checkout.
    assert find_data_dir(tmp_path) == repo_data


# ------------------------------------------------------------------------------------------------
# A passed check is recorded by content, so unchanged files are not checked again
# ------------------------------------------------------------------------------------------------


def test_passed_check_is_reused_only_for_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "data"
    shutil.copytree(DATA_DIR, folder)
    checked = data.load_bundle(folder)
    markers = sorted((tmp_path / "cache" / "validated").iterdir())
    assert len(markers) == len(data.DATA_FILES)

    def must_not_check() -> None:
        raise AssertionError("pandera ran although these bytes passed before")

    monkeypatch.setattr(checks, "load_pandera", must_not_check)
    again = data.load_bundle(folder)
    pd.testing.assert_frame_equal(again.runs, checked.runs)
    pd.testing.assert_frame_equal(again.stock_priors, checked.stock_priors)

    # The same file with one value broken is new content: it is checked, and fails with its one-line error.
    monkeypatch.undo()
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    runs = folder / data.RUNS_FILE
    lines = runs.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    row = lines[1].split(",")
    row[header.index("dataset_tokens")] = "-5"
    runs.write_text(lines[0] + ",".join(row) + "".join(lines[2:]), encoding="utf-8")
    with pytest.raises(DataError, match=r"training_runs.csv: line 2, column 'dataset_tokens'"):
        data.load_bundle(folder)
    assert len(list((tmp_path / "cache" / "validated").iterdir())) == len(data.DATA_FILES)  # no pass recorded


def test_rules_are_part_of_the_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    data.load_bundle(DATA_DIR)
    validation.validation_code_hash.cache_clear()
    monkeypatch.setattr(validation, "validation_code_hash", lambda: "other rules")
    calls = []
    real = checks.load_pandera
    monkeypatch.setattr(checks, "load_pandera", lambda: calls.append(1) or real())
    data.load_bundle(DATA_DIR)
    assert calls  # checked again under the other rules


def test_rules_hash_covers_every_module_that_defines_the_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit to any module of `forecast.data` (schemas, checks, records, how failures are reported) changes the
    rules' hash, so a pass recorded under the old rules is not reused: no list of rule modules to keep current."""
    from forecast import hashing
    from forecast.data import records, schemas

    copy = tmp_path / "forecast"
    shutil.copytree(hashing.PACKAGE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(hashing, "PACKAGE_ROOT", copy)
    rules_hash = hashing.source_hash.__wrapped__  # uncached: each call reads the copied files again
    before = rules_hash(validation.RULES_PACKAGE)
    for module in (schemas, checks, records, validation):
        path = copy / "data" / Path(str(module.__file__)).name
        original = path.read_text(encoding="utf-8")
        path.write_text(original + "\n# an edited rule\n", encoding="utf-8")
        assert rules_hash(validation.RULES_PACKAGE) != before, module.__name__
        path.write_text(original, encoding="utf-8")
    assert rules_hash(validation.RULES_PACKAGE) == before


def test_reuse_checks_false_checks_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`forecast validate` and `forecast run --no-cache` run every check even on bytes that passed before."""
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "cache"))
    data.load_bundle(DATA_DIR)
    calls = []
    real = checks.load_pandera
    monkeypatch.setattr(checks, "load_pandera", lambda: calls.append(1) or real())
    data.load_bundle(DATA_DIR)
    assert calls == []
    data.load_bundle(DATA_DIR, reuse_checks=False)
    assert calls


def test_every_dated_series_is_cut_at_the_cutoff() -> None:
    """What was known at the cut-off: runs, web-growth rows and stock estimates dated after it are left out."""
    cutoff = dt.date(2024, 1, 1)
    whole, cut = data.load_bundle(DATA_DIR), data.load_bundle(DATA_DIR, cutoff=cutoff)
    assert (cut.web_growth["date"] <= pd.Timestamp(cutoff)).all()
    assert len(cut.web_growth) == int((whole.web_growth["date"] <= pd.Timestamp(cutoff)).sum())
    published = period_end(cut.stock_estimates["publication_date"])  # "2024" counts from 2024-12-31
    assert (published.isna() | (published <= pd.Timestamp(cutoff))).all()
    assert len(cut.stock_estimates) < len(whole.stock_estimates)  # the 2024–2025 estimates are left out
    assert cut.sha256 == whole.sha256  # the hashes are of the files, which did not change


def test_partial_dates_count_from_the_end_of_their_period() -> None:
    ends = period_end(pd.Series(["2024", "2024-02", "2024-06-05", "", "bad"]))
    assert list(ends[:3]) == [pd.Timestamp("2024-12-31"), pd.Timestamp("2024-02-29"), pd.Timestamp("2024-06-05")]
    assert ends[3:].isna().all()
