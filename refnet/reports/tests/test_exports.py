"""Exports: CSV with a BOM and formula injection neutralized, XLSX with typed cells and a
Filters sheet, PDF through WeasyPrint with hostile names escaped."""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from refnet.reports.charts import ChartSpec, Series
from refnet.reports.exports import neutralize, table_csv, table_pdf, table_xlsx
from refnet.reports.selectors import Column, ReportFilter, ReportTable

HOSTILE = '=HYPERLINK("http://evil.example","x") <b>Dr. Evil</b>'


@pytest.fixture
def table() -> ReportTable:
    columns = [Column("source", "Source"), Column("received", "Received", "int"),
               Column("rate", "% won", "pct"), Column("days", "Median days", "days")]
    rows = [
        {"source": HOSTILE, "received": 12, "rate": 0.25, "days": 2.5, "_links": {}},
        {"source": "+1 555 0100", "received": 3, "rate": None, "days": None},
        {"source": "-minus", "received": 0, "rate": 0.0, "days": 0.0},
        {"source": "@home\tcare", "received": 1, "rate": 1.0, "days": 10.25},
        {"source": "Café Zoë", "received": 2, "rate": 0.5, "days": 1.0},
    ]
    return ReportTable(
        title="Conversion by source", columns=columns, rows=rows,
        chart=ChartSpec(kind="bar", title="Received", labels=[r["source"] for r in rows],
                        series=[Series("Received", [r["received"] for r in rows])]),
        totals={"source": "Total", "received": 18, "rate": 0.3333, "days": 2.0},
        note="Rates are shares of received.",
        filters=ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31)))


def test_neutralize():
    assert neutralize("=1+1") == "'=1+1"
    assert [neutralize(s)[0] for s in ("+a", "-a", "@a", "\ta", "\ra")] == ["'"] * 5
    assert neutralize("Dr. A") == "Dr. A"


def test_csv(table):
    body = table_csv(table)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["Source", "Received", "% won", "Median days"]
    assert rows[1][0].startswith("'=HYPERLINK")
    assert rows[1][1:] == ["12", "25.0%", "2.5"]
    assert rows[2] == ["'+1 555 0100", "3", "", ""]
    assert rows[3][0] == "'-minus" and rows[4][0] == "'@home\tcare"
    assert rows[5][0] == "Café Zoë"
    assert rows[-1] == ["Total", "18", "33.3%", "2.0"]


def test_csv_sections_get_their_own_column(table):
    table.rows[0]["_section"] = "Distance band"
    rows = list(csv.reader(io.StringIO(table_csv(table).decode("utf-8-sig"))))
    assert rows[0][0] == "Section" and rows[1][0] == "Distance band"


def test_xlsx(table):
    wb = load_workbook(io.BytesIO(table_xlsx(table, filters_text="March 2026; Location: Main")))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == ["Source", "Received", "% won", "Median days"]
    assert ws["A1"].font.bold
    assert ws["A2"].value == HOSTILE and ws["A2"].data_type == "s"  # text, never a formula
    assert ws["B2"].value == 12 and isinstance(ws["B2"].value, int)
    assert ws["C2"].value == 0.25 and ws["C2"].number_format == "0.0%"
    assert ws["D5"].value == 10.25
    assert ws["C3"].value is None
    assert ws["A7"].value == "Total" and ws["B7"].value == 18
    assert ws.column_dimensions["A"].width > len("Source") + 2
    filters = wb["Filters"]
    assert filters["B2"].value == "March 2026; Location: Main"
    assert filters["B3"].value == "Rates are shares of received."


def test_xlsx_filters_default_to_the_report_filter(table):
    wb = load_workbook(io.BytesIO(table_xlsx(table)))
    assert wb["Filters"]["B2"].value.startswith("2026-03-01 to 2026-03-31")


def test_pdf(table):
    from django.template.loader import render_to_string  # noqa: F401  (templates load)

    pdf = table_pdf(table, filters_text="March 2026 <i>all</i>")
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 2000


def test_pdf_escapes_hostile_names(table, monkeypatch):
    seen = {}
    import weasyprint

    real = weasyprint.HTML

    def spy(*args, **kwargs):
        seen["html"] = kwargs["string"]
        return real(*args, **kwargs)

    monkeypatch.setattr(weasyprint, "HTML", spy)
    table_pdf(table, filters_text="<script>x</script>")
    html = seen["html"]
    assert "<b>Dr. Evil</b>" not in html and "&lt;b&gt;Dr. Evil&lt;/b&gt;" in html
    assert "<script>x" not in html
    assert "<svg" in html  # the chart, drawn in the PDF


def test_empty_table_exports(table):
    table.rows, table.totals = [], None
    assert table_csv(table).decode("utf-8-sig").strip() == "Source,Received,% won,Median days"
    assert load_workbook(io.BytesIO(table_xlsx(table))).worksheets[0].max_row == 1
    assert table_pdf(table).startswith(b"%PDF")
