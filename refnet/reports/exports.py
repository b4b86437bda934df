"""Every report as CSV, XLSX and PDF, from the same ReportTable.

Exports are aggregates (the report tables never hold a patient); exporting patient-level
rows is the referral list's business and is audited there (docs/reports.md).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from refnet.reports.charts import chart_svg
from refnet.reports.selectors.base import Column, ReportTable

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(text: str) -> str:
    """Prefix a text cell that a spreadsheet would run as a formula with a quote."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _has_sections(table: ReportTable) -> bool:
    return any(row.get("_section") for row in table.rows)


def _columns(table: ReportTable) -> list[Column]:
    if _has_sections(table):
        return [Column("_section", "Section"), *table.columns]
    return list(table.columns)


def _rows(table: ReportTable) -> list[dict[str, Any]]:
    rows = list(table.rows)
    if table.totals:
        rows.append(table.totals)
    return rows


def _csv_value(column: Column, value: Any) -> Any:
    if value is None or value == "":
        return ""
    if column.kind == "int":
        return int(value)
    if column.kind in ("pct", "days"):
        return column.format(value)
    return neutralize(str(value))


def table_csv(table: ReportTable) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads accents right), the totals last."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = _columns(table)
    writer.writerow([neutralize(c.label) for c in columns])
    for row in _rows(table):
        writer.writerow([_csv_value(c, row.get(c.key)) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _filters_text(table: ReportTable, filters_text: str) -> str:
    if filters_text:
        return filters_text
    return table.filters.describe() if table.filters is not None else ""


def table_xlsx(table: ReportTable, *, filters_text: str = "") -> bytes:
    """Numbers as numbers (percentages and days with their number formats), a bold
    header, fitted column widths; a second sheet "Filters" says what the figures cover."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = table.title[:31]
    columns = _columns(table)
    bold = Font(bold=True)
    widths = [len(c.label) for c in columns]
    for j, c in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=j, value=c.label)
        cell.font = bold
        cell.data_type = "s"
    rows = _rows(table)
    for i, row in enumerate(rows, start=2):
        is_total = table.totals is not None and i == len(rows) + 1
        for j, c in enumerate(columns, start=1):
            value = row.get(c.key)
            if value is None or value == "":
                continue
            if c.kind == "int":
                cell = ws.cell(row=i, column=j, value=int(value))
            elif c.kind == "pct":
                cell = ws.cell(row=i, column=j, value=float(value))
                cell.number_format = "0.0%"
            elif c.kind == "days":
                cell = ws.cell(row=i, column=j, value=float(value))
                cell.number_format = "0.0"
            else:
                cell = ws.cell(row=i, column=j, value=str(value))
                cell.data_type = "s"  # never a formula, whatever the text starts with
            if is_total:
                cell.font = bold
            widths[j - 1] = max(widths[j - 1], len(c.format(value)))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), 60)
    ws.freeze_panes = "A2"

    info = wb.create_sheet("Filters")
    lines = [("Report", table.title), ("Filters", _filters_text(table, filters_text)),
             ("Note", table.note),
             ("Exported", f"{timezone.localtime():%Y-%m-%d %H:%M %Z}")]
    for i, (label, text) in enumerate(lines, start=1):
        info.cell(row=i, column=1, value=label).font = bold
        cell = info.cell(row=i, column=2, value=text)
        cell.data_type = "s"
    info.column_dimensions["A"].width = 12
    info.column_dimensions["B"].width = 100
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def table_pdf(table: ReportTable, *, filters_text: str = "",
              generated_at: datetime | None = None) -> bytes:
    """Title, filters, the chart (the same SVG as on screen) and the table, on landscape
    Letter pages. Every text goes through the template's autoescaping."""
    from weasyprint import HTML

    columns = _columns(table)
    html = render_to_string("reports/pdf_report.html", {
        "table": table,
        "filters_text": _filters_text(table, filters_text),
        "chart": chart_svg(table.chart, id_prefix="pdf-chart") if table.chart else "",
        "columns": columns,
        "rows": [[{"text": c.format(row.get(c.key)), "kind": c.kind} for c in columns]
                 for row in table.rows],
        "totals": ([{"text": c.format(table.totals.get(c.key)), "kind": c.kind}
                    for c in columns] if table.totals else None),
        "generated_at": timezone.localtime(generated_at or timezone.now()),
    })
    # No base_url: the document has nothing to fetch (no fonts, images or style sheets).
    return HTML(string=html).write_pdf()
