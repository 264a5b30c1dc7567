"""Provenance: the real data matches sources.yml; any edit is caught and names the file."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from forecast.data import DATA_FILES, PRIORS_FILE, RUNS_FILE, WEB_GROWTH_FILE, provenance
from forecast.errors import ProvenanceError

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"
REFERENCE_DIR = REPO.parent / "shared" / "reference"
SHA256_OF_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 test vector


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_real_data_matches_sources() -> None:
    provenance.verify(DATA_DIR)


def test_sources_have_the_required_fields() -> None:
    sources = provenance.load_sources(DATA_DIR)
    required = {"title", "producer", "citation", "url", "date_accessed", "licence", "derived_from", "rows"}
    for name in DATA_FILES:
        record = sources["files"][name]
        assert required <= set(record), name
        assert len(record["sha256"]) == 64
        assert record["columns"], name
    assert sources["reference_set"]["path"] == "../shared/reference/"


def test_recorded_columns_match_the_file_headers() -> None:
    sources = provenance.load_sources(DATA_DIR)
    for name in DATA_FILES:
        header = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()[0].split(",")
        assert list(sources["files"][name]["columns"]) == header, name


def test_file_sha256_and_row_count(tmp_path: Path) -> None:
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    assert provenance.file_sha256(path) == SHA256_OF_ABC
    csv_path = tmp_path / "t.csv"
    csv_path.write_text('a,b\n1,"two\nlines"\n\n3,4\n', encoding="utf-8")
    assert provenance.count_data_rows(csv_path) == 2


def test_reference_set_hashes_match_when_available() -> None:
    if not REFERENCE_DIR.is_dir():
        pytest.skip("reference folder not present on this machine")
    sources = provenance.load_sources(DATA_DIR)
    for name, record in sources["reference_set"]["files"].items():
        assert provenance.file_sha256(REFERENCE_DIR / name) == record["sha256"], name
    # Two data files extend the reference (2025-2026 update): every reference line is kept unchanged.
    for name in ("stock_estimates.csv", "web_growth.csv"):
        ours = set((DATA_DIR / name).read_text(encoding="utf-8").splitlines())
        missing = [line for line in (REFERENCE_DIR / name).read_text(encoding="utf-8").splitlines() if line not in ours]
        assert not missing, f"{name}: reference lines changed or dropped: {missing[:2]}"


def test_modified_file_fails_naming_it(data_copy: Path) -> None:
    path = data_copy / RUNS_FILE
    path.write_bytes(path.read_bytes().replace(b"3e+11", b"4e+11", 1))
    with pytest.raises(ProvenanceError) as caught:
        provenance.verify(data_copy)
    message = str(caught.value)
    assert message.startswith(f"{RUNS_FILE}: sha256 does not match sources.yml")
    assert provenance.UPDATE_COMMAND in message and "\n" not in message


def test_row_count_mismatch_fails_naming_the_file(data_copy: Path) -> None:
    sources_path = data_copy / provenance.SOURCES_FILE
    text = sources_path.read_text(encoding="utf-8")
    sources_path.write_text(text.replace("    rows: 826\n", "    rows: 825\n"), encoding="utf-8")
    expected = rf"^{WEB_GROWTH_FILE}: 826 data rows but sources\.yml records 825"
    with pytest.raises(ProvenanceError, match=expected):
        provenance.verify(data_copy)


def test_unlisted_and_missing_files_fail(data_copy: Path) -> None:
    (data_copy / "extra.csv").write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(ProvenanceError, match=r"^extra\.csv: data file not listed"):
        provenance.verify(data_copy)
    (data_copy / "extra.csv").unlink()
    (data_copy / PRIORS_FILE).unlink()
    with pytest.raises(ProvenanceError, match=rf"^{PRIORS_FILE}: listed in sources\.yml but not found"):
        provenance.verify(data_copy)


def test_missing_or_malformed_sources_file(data_copy: Path) -> None:
    sources_path = data_copy / provenance.SOURCES_FILE
    sources_path.write_text("files:\n  a: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProvenanceError, match=r"^sources\.yml: line \d+: .*expected valid YAML$"):
        provenance.load_sources(data_copy)
    sources_path.unlink()
    with pytest.raises(ProvenanceError, match=r"^sources\.yml: file not found"):
        provenance.verify(data_copy)


def test_update_hashes_rewrites_only_rows_and_sha(data_copy: Path) -> None:
    sources_path = data_copy / provenance.SOURCES_FILE
    before = sources_path.read_text(encoding="utf-8").splitlines()
    rows_before = provenance.count_data_rows(data_copy / PRIORS_FILE)
    with (data_copy / PRIORS_FILE).open("a", encoding="utf-8") as handle:
        handle.write("epochs_copy,lognormal,2,5,0.95,,3.16228,x,y,D,z\n")
    assert provenance.update_hashes(data_copy) == [PRIORS_FILE]
    provenance.verify(data_copy)
    after = sources_path.read_text(encoding="utf-8").splitlines()
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert [new.split(":")[0].strip() for _, new in changed] == ["rows", "sha256"]
    assert changed[0][1] == f"    rows: {rows_before + 1}"
    expected_sha = hashlib.sha256((data_copy / PRIORS_FILE).read_bytes()).hexdigest()
    assert changed[1][1] == f"    sha256: {expected_sha}"
    assert provenance.update_hashes(data_copy) == []


def test_command_line_verify_and_update(data_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert provenance.main(["--data-dir", str(data_copy)]) == 0
    with (data_copy / WEB_GROWTH_FILE).open("a", encoding="utf-8") as handle:
        handle.write("\n")
    assert provenance.main(["--data-dir", str(data_copy)]) == 2
    assert f"error: {WEB_GROWTH_FILE}: sha256 does not match" in capsys.readouterr().err
    assert provenance.main(["--data-dir", str(data_copy), "--update"]) == 0
    assert provenance.main(["--data-dir", str(data_copy)]) == 0
