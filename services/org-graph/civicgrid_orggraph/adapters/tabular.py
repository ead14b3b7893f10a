"""CSV and Excel (XLSX) tables: read into numbered rows of text, write from dicts."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

from civicgrid_runtime.errors import InvalidInput

MAX_ROWS = 200_000
Table = tuple[list[str], list[tuple[int, dict[str, str]]]]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _table(lines: Sequence[Sequence[object]]) -> Table:
    if not lines:
        raise InvalidInput("the file is empty: expected a header row")
    header = [_cell(h).lower() for h in lines[0]]
    while header and not header[-1]:
        header.pop()
    rows: list[tuple[int, dict[str, str]]] = []
    for number, line in enumerate(lines[1:], start=2):
        values = [_cell(v) for v in line]
        if not any(values):
            continue
        rows.append((number, {h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h}))
        if len(rows) > MAX_ROWS:
            raise InvalidInput(f"at most {MAX_ROWS} rows per file; split it by street or community")
    return header, rows


def read_table(filename: str, content: bytes) -> Table:
    """Read a CSV (UTF-8, with or without BOM; or GB18030) or the first sheet of an XLSX workbook."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as error:
            raise InvalidInput(
                f"{filename} is not a readable XLSX workbook: {type(error).__name__}"
            ) from None
        sheet = book.worksheets[0]
        return _table([list(r) for r in sheet.iter_rows(values_only=True)])
    if name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidInput(f"{filename} is neither UTF-8 nor GB18030 text")
        return _table([[_from_csv(v) for v in line] for line in csv.reader(io.StringIO(text))])
    raise InvalidInput("upload a .csv or .xlsx file")


# Characters a file cannot carry: C0 controls other than tab and line breaks (XLSX refuses them), DEL and
# C1 controls, lone surrogates (not UTF-8). Input refuses them today; data stored before that, or written
# around the API, is exported with U+FFFD in their place instead of failing the export.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _writable(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str):
        return _UNWRITABLE.sub("\ufffd", value)
    if isinstance(value, bool | int | float):
        return value
    return _UNWRITABLE.sub("\ufffd", str(value))


# Text a spreadsheet would take for a formula (CSV injection, OWASP): a CSV cell starting with one of
# these gets a leading apostrophe, which spreadsheets show as text and the import takes off again; an
# XLSX cell is written with the string type, never as a formula, so it reads back unchanged.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _from_csv(value: str) -> str:
    if value.startswith("'") and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def write_csv(columns: Sequence[str], rows: Sequence[Mapping[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({c: _csv_cell(_writable(row.get(c, ""))) for c in columns} for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(columns: Sequence[str], rows: Sequence[Mapping[str, object]], title: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(_writable(title))[:31])
    sheet.append(list(columns))
    for row in rows:
        sheet.append([_xlsx_cell(sheet, _writable(row.get(c, ""))) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(sheet: Any, value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"  # openpyxl would store "=..." as a formula
        return cell
    return value
