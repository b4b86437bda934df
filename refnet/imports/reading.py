"""Reading a CSV or XLSX file row by row, never the whole file at once.

CSV: the encoding is a UTF-8 or UTF-16 byte-order mark if there is one, else UTF-8 if
every byte of the file decodes as UTF-8 (checked in 1 MB chunks), else Windows-1252. The
delimiter is sniffed from the first 64 KB (comma, semicolon, tab or bar; comma if unsure).
Quoted cells may hold newlines. Blank lines are skipped, and every row carries the line of
the file it starts on, so problems are reported where a spreadsheet or editor shows them.

XLSX: openpyxl in read-only mode (streams the sheet); the first sheet unless one is named.
Cells keep their types (dates stay dates, numbers numbers); the "line" is the sheet's row.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SNIFF_BYTES = 64 * 1024
CHUNK = 1024 * 1024
csv.field_size_limit(1024 * 1024)


class ReadError(ValueError):
    """The file cannot be read at all (not a CSV/XLSX, empty, no header)."""


def detect_encoding(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def is_xlsx(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def cell_text(value: Any) -> str:
    """A cell as text (for headers, names, codes): 1234567893.0 -> "1234567893"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value).strip()


@dataclass
class Table:
    """An open file: `header`, then `rows()` yields (line, cells) once."""

    path: Path
    sheet: str = ""
    header: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    size: int = 0
    _fh: Any = None
    _book: Any = None
    _rows: Iterator | None = None
    _position: Any = None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self._book is not None:
            self._book.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def bytes_done(self) -> int:
        try:
            return self._position() if self._position else 0
        except ValueError:  # closed: all of it was read
            return self.size

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        assert self._rows is not None
        return self._rows


def sheet_names(path: Path) -> list[str]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def open_table(path: str | Path, *, sheet: str = "") -> Table:
    path = Path(path)
    if not path.is_file():
        raise ReadError("The file is gone; upload it again.")
    size = path.stat().st_size
    if size == 0:
        raise ReadError("The file is empty.")
    table = Table(path=path, sheet=sheet, size=size)
    if is_xlsx(path):
        _open_xlsx(table)
    else:
        _open_csv(table)
    return table


def _open_csv(table: Table) -> None:
    encoding = detect_encoding(table.path)
    raw = table.path.open("rb")
    text = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="replace")
    try:
        sample = text.read(SNIFF_BYTES)
    except UnicodeDecodeError as exc:
        raw.close()
        raise ReadError("The file is not text (CSV) nor an Excel workbook (XLSX).") from exc
    if "\x00" in sample:
        raw.close()
        raise ReadError("The file is not text (CSV) nor an Excel workbook (XLSX).")
    delimiter = ","
    try:
        # Sniff on whole lines only; a cut-off last line confuses the sniffer.
        cut = sample.rfind("\n")
        dialect = csv.Sniffer().sniff(sample[:cut] if cut > 0 else sample,
                                      delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        pass
    text.seek(0)
    reader = csv.reader(text, delimiter=delimiter, quotechar='"', doublequote=True,
                        skipinitialspace=False, strict=False)
    header: list[str] | None = None
    try:
        while header is None:
            cells = next(reader)
            if any(c.strip() for c in cells):
                header = [c.strip() for c in cells]
    except StopIteration:
        raw.close()
        raise ReadError("The file has no header row.") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raw.close()
        raise ReadError(f"The header row cannot be read: {exc}") from exc
    table.encoding, table.delimiter, table.header, table._fh = encoding, delimiter, header, raw
    table._position = raw.tell

    def rows() -> Iterator[tuple[int, list[Any]]]:
        line = reader.line_num
        while True:
            start = line + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line = reader.line_num
                yield start, exc  # a malformed row: the caller reports it
                continue
            line = reader.line_num
            if not "".join(cells).strip():  # blank: no cell holds more than spaces
                continue
            yield start, cells

    table._rows = rows()


def _open_xlsx(table: Table) -> None:
    import openpyxl

    fh = table.path.open("rb")  # a file object: openpyxl then ignores the file's name
    try:
        book = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zip, XML, openpyxl: all mean "not readable"
        fh.close()
        raise ReadError("The file is not a readable Excel workbook (XLSX).") from exc
    table._fh = fh
    try:
        sheet = book[table.sheet] if table.sheet else book.worksheets[0]
    except KeyError:
        book.close()
        raise ReadError(f"The workbook has no sheet named {table.sheet!r}.") from None
    table._book, table.encoding = book, "xlsx"
    line = 0
    header = None
    try:
        total = sheet.max_row or 0
        it = sheet.iter_rows(values_only=True)
        for values in it:
            line += 1
            if values and any(cell_text(v) for v in values):
                header = [cell_text(v) for v in values]
                break
    except Exception as exc:  # noqa: BLE001 - a damaged sheet
        table.close()
        raise ReadError("The workbook's sheet cannot be read.") from exc
    if header is None:
        table.close()
        raise ReadError("The sheet has no header row.")
    while header and not header[-1]:
        header.pop()
    table.header = header
    state = {"line": line}
    table._position = lambda: int(table.size * state["line"] / total) if total else 0

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for values in it:
                state["line"] += 1
                cells = ["" if v is None else v for v in values]
                if not any(cell_text(v) for v in cells):
                    continue
                yield state["line"], cells
        except Exception as exc:  # noqa: BLE001 - a damaged sheet: reported on its row
            yield state["line"] + 1, ValueError(f"the sheet cannot be read from here on "
                                                f"({type(exc).__name__})")

    table._rows = rows()
