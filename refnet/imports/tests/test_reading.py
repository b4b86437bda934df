"""Reading files: encodings, delimiters, blank lines, quoted newlines, XLSX cells, dates."""

import codecs
from datetime import date, datetime

import openpyxl
import pytest

from refnet.imports import dates
from refnet.imports.reading import ReadError, open_table


def rows(path, **kw):
    with open_table(path, **kw) as table:
        return table.header, list(table.rows())


def test_utf8_bom_is_not_part_of_the_first_header(write):
    path = write("bom.csv", codecs.BOM_UTF8 + "Name,City\nRenée Café,Denver\n".encode())
    header, body = rows(path)
    assert header == ["Name", "City"]
    assert body == [(2, ["Renée Café", "Denver"])]


def test_utf16_with_bom(write):
    path = write("u16.csv", "Name\tCity\nZoë,Boulder\n".replace(",", "\t").encode("utf-16"))
    header, body = rows(path)
    assert header == ["Name", "City"] and body == [(2, ["Zoë", "Boulder"])]


def test_windows_1252_is_detected_when_the_bytes_are_not_utf8(write):
    path = write("cp.csv", "Name;City\nJosé Núñez;Aurora\n", encoding="cp1252")
    with open_table(path) as table:
        assert table.encoding == "cp1252" and table.delimiter == ";"
        assert list(table.rows()) == [(2, ["José Núñez", "Aurora"])]


def test_blank_lines_are_skipped_and_quoted_newlines_keep_line_numbers(write):
    path = write("q.csv", 'Name,Notes\n\nAda,"two\nlines"\n\n\nBea,plain\n')
    header, body = rows(path)
    assert body == [(3, ["Ada", "two\nlines"]), (7, ["Bea", "plain"])]


def test_empty_and_binary_files_are_refused(write):
    with pytest.raises(ReadError, match="empty"):
        open_table(write("e.csv", b""))
    with pytest.raises(ReadError):
        open_table(write("b.csv", bytes(range(256)) * 4))


def test_xlsx_keeps_date_cells_and_skips_blank_rows(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Received", "Last name", "NPI"])
    sheet.append([datetime(2024, 3, 5, 9, 30), "Okafor", 1234567893])
    sheet.append([None, None, None])
    sheet.append([date(2024, 3, 6), "Lind", None])
    path = tmp_path / "r.xlsx"
    book.save(path)
    header, body = rows(path)
    assert header == ["Received", "Last name", "NPI"]
    assert body[0] == (2, [datetime(2024, 3, 5, 9, 30), "Okafor", 1234567893])
    assert body[1][0] == 4 and dates.parse_date(body[1][1][0]) == date(2024, 3, 6)


@pytest.mark.parametrize("value,order,expected", [
    ("2024-01-31", dates.MDY, date(2024, 1, 31)),
    ("2024/01/31", dates.MDY, date(2024, 1, 31)),
    ("1/31/2024", dates.MDY, date(2024, 1, 31)),
    ("31/1/2024", dates.DMY, date(2024, 1, 31)),
    ("31.01.2024", dates.MDY, date(2024, 1, 31)),
    ("45292", dates.MDY, date(2024, 1, 1)),
    (45292, dates.MDY, date(2024, 1, 1)),
    (45292.0, dates.MDY, date(2024, 1, 1)),
    ("59", dates.MDY, date(1900, 2, 28)),
    ("61", dates.MDY, date(1900, 3, 1)),
    ("Jan 5, 2024", dates.MDY, date(2024, 1, 5)),
    ("5 Jan 2024", dates.MDY, date(2024, 1, 5)),
    ("", dates.MDY, None),
])
def test_dates(value, order, expected):
    assert dates.parse_date(value, order) == expected


def test_excel_serial_with_a_time_of_day():
    assert dates.parse_moment(45292.5) == datetime(2024, 1, 1, 12, 0)


@pytest.mark.parametrize("value,message", [
    ("60", "did not exist"), ("2/30/2024", "not a real date"), ("13/13/2024", "month 13"),
    ("someday", "not a date"),
])
def test_bad_dates_say_why(value, message):
    with pytest.raises(ValueError, match=message):
        dates.parse_date(value, dates.MDY)


def test_the_column_decides_the_order_of_slashed_dates():
    assert dates.column_order(["01/02/2024", "03/04/2024"]) == dates.MDY
    assert dates.column_order(["01/02/2024", "25/04/2024"]) == dates.DMY
    assert dates.column_order(["01/25/2024", "25/04/2024"]) == dates.MDY  # conflict: US
