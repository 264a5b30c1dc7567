"""Reading a CSV file: bytes -> UTF-8 text -> records, each with the physical line it starts on.

Structural problems (missing or empty file, encoding, header, ragged rows, duplicate keys) are caught here in
plain code, each as one `DataError` line naming the file, the line (1-based, header = line 1), the column and
what was expected. Other tables read the same way (`forecast backtest --observed`) reuse `read_csv_records`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.errors import DataError
from forecast.files import file_kind
from forecast.hashing import sha256_bytes

HEADER_LINE = 1
#: Longest cell text quoted in a message; longer text is cut and ends in "...".
MAX_SHOWN_VALUE = 60
ELLIPSIS = "..."
EMPTY = "an empty value"
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Largest data file read (the largest shipped file is ~0.25 MB): a bigger one is refused before it is read.
MAX_FILE_BYTES = 64_000_000


@dataclass(frozen=True)
class RawTable:
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


def read_bytes(path: Path, expected: Sequence[str] = ()) -> bytes:
    """Read a data file; a missing, empty, oversized or non-regular file (a folder, a named pipe) is a DataError
    naming it. The file is opened without blocking and checked on the open descriptor, so a named pipe is refused
    at once instead of blocking the run forever; at most MAX_FILE_BYTES + 1 bytes are read."""
    name = path.name
    folder = path.parent
    if not folder.is_dir():
        what = "not found" if not folder.exists() else f"is {file_kind(folder.stat().st_mode)}, not a folder"
        raise DataError(f"{folder}: data folder {what}; expected a folder holding {name} and the other data files")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DataError(f"{name}: file not found (looked for {path}); expected a CSV file with a header line") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read file ({exc.strerror}); expected a readable CSV file") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DataError(f"{name}: {path} is {file_kind(mode)}, not a regular file; expected a CSV file")
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DataError(f"{name}: cannot read file ({exc.strerror}); expected a readable CSV file") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise DataError(f"{name}: file is larger than {MAX_FILE_BYTES:,} bytes; expected a data table of ordinary size")
    if not data.strip():
        columns = f" with columns {', '.join(expected)}" if expected else ""
        raise DataError(f"{name}: line 1: file is empty; expected a header line{columns}")
    return data


def decode(name: str, data: bytes) -> str:
    """Decode UTF-8 (a leading BOM is accepted); report the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise DataError(
            f"{name}: line {line}: not valid UTF-8 (byte 0x{bad}); expected the file saved as UTF-8"
        ) from None


def split_records(name: str, text: str) -> tuple[list[str], int, list[list[str]], list[int]]:
    """Split CSV text into header, its line, the records and the first physical line of each record."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = HEADER_LINE
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


def check_header(name: str, header: list[str], expected: Sequence[str], line: int = HEADER_LINE) -> None:
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


def read_table(path: Path, expected: Sequence[str]) -> RawTable:
    """Read `path` into a frame of stripped strings (NaN for empty cells) in the expected column order."""
    name = path.name
    data = read_bytes(path, expected)
    header, header_line, records, lines = split_records(name, decode(name, data))
    check_header(name, header, expected, header_line)
    if not records:
        raise DataError(f"{name}: line {header_line + 1}: no data rows after the header; expected at least one row")
    frame = pd.DataFrame(records, columns=header, dtype=str)[list(expected)]
    frame = frame.apply(lambda column: column.str.strip())
    frame = frame.mask(frame == "")
    return RawTable(name=name, frame=frame, lines=np.asarray(lines, dtype=int), sha256=sha256_bytes(data))


def read_csv_records(path: Path, expected: Sequence[str] = ()) -> tuple[list[str], int, list[list[str]], list[int]]:
    """(header, header line, rows, line of each row) of a CSV, with the data files' one-line errors for a missing,
    empty or non-UTF-8 file; for other tables read the same way (e.g. `forecast backtest --observed`)."""
    name = Path(path).name
    return split_records(name, decode(name, read_bytes(Path(path), expected)))


def check_unique(raw: RawTable, column: str, what: str) -> None:
    """A key column must not repeat; name both lines (pandera cannot point at the first occurrence)."""
    values = raw.frame[column]
    duplicated = values.notna() & values.duplicated(keep="first")
    if not duplicated.any():
        return
    index = int(np.flatnonzero(duplicated.to_numpy())[0])
    value = values.iloc[index]
    first = int(np.flatnonzero((values == value).to_numpy())[0])
    raise DataError(
        f"{raw.name}: line {raw.lines[index]}, column '{column}': duplicate {what} {show_value(value)} "
        f"(first on line {raw.lines[first]}); expected each {what} once"
    )


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    return NAMED_ESCAPES.get(char, f"\\x{ord(char):02x}")


def show_value(value: object) -> str:
    """A cell value quoted for a one-line message (control characters escaped, long text cut)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return EMPTY
    text = CONTROL_CHARS.sub(_escape_control, str(value))
    if len(text) > MAX_SHOWN_VALUE:
        text = text[: MAX_SHOWN_VALUE - len(ELLIPSIS)] + ELLIPSIS
    return f"'{text}'"
