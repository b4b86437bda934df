"""Every report as CSV, XLSX and PDF, from the same ReportTable.

Report exports are aggregates (the report tables never hold a patient). The patient-level
rows behind a report (patient_rows_csv / patient_rows_xlsx) are a separate export, for
Cap.REPORTS_PATIENT_ROWS only, audited by the view (views/rows.py, docs/reports.md).
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


# -- patient-level rows behind a report (Cap.REPORTS_PATIENT_ROWS, audited) ------------------

# Identity, route and stage dates only: no reason, diagnosis, notes or priority, whatever
# the role may see elsewhere (docs/reports.md).
PATIENT_ROW_COLUMNS = (
    "Referral ID", "Received", "Patient", "Birth date", "Source partner", "Location",
    "Service line", "Status", "Contacted", "Scheduled", "Seen", "Closed",
)
PATIENT_ROWS_CHUNK = 1000


def patient_rows_max() -> int:
    from django.conf import settings

    return int(getattr(settings, "REFNET_REPORTS_PATIENT_ROWS_MAX", 50000))


def _local(value: datetime | None, fmt: str = "%Y-%m-%d") -> str:
    return timezone.localtime(value).strftime(fmt) if value else ""


def patient_row_values(r: Any) -> list[Any]:
    """One referral as the export's cells (the CSV neutralizes texts: names come from intake
    forms and other systems; the XLSX stores them as text cells)."""
    p = r.patient
    return [
        r.pk,
        _local(r.received_at, "%Y-%m-%d %H:%M"),
        f"{p.last_name}, {p.first_name}",
        p.birth_date.isoformat() if p.birth_date else "",
        r.source_partner.name if r.source_partner_id else "",
        r.location.name if r.location_id else "",
        r.service_line.name if r.service_line_id else "",
        r.get_status_display(),
        _local(r.contacted_at), _local(r.scheduled_at), _local(r.seen_at), _local(r.closed_at),
    ]


def patient_rows(ids: list[int]):
    """The referrals of `ids`, in that order, fetched PATIENT_ROWS_CHUNK at a time so a
    50,000-row export never holds every row at once."""
    from refnet.referrals.models import Referral

    for i in range(0, len(ids), PATIENT_ROWS_CHUNK):
        chunk = ids[i:i + PATIENT_ROWS_CHUNK]
        found = Referral.objects.select_related(
            "patient", "source_partner", "location", "service_line").in_bulk(chunk)
        for pk in chunk:
            if pk in found:  # deleted since the ids were read: left out
                yield found[pk]


def cut_note(limit: int) -> str:
    return (f"Cut at {limit:,} rows: more referrals match. Narrow the period or the "
            "filters to export the rest.")


def patient_rows_csv(ids: list[int], *, cut: str = ""):
    """The CSV as a stream of encoded lines (for StreamingHttpResponse): a BOM and header,
    one line per referral, and when the export was cut a last line that says so."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def take() -> bytes:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text.encode("utf-8")

    writer.writerow(PATIENT_ROW_COLUMNS)
    yield "\ufeff".encode() + take()
    for n, r in enumerate(patient_rows(ids), start=1):
        writer.writerow([neutralize(v) if isinstance(v, str) else v
                         for v in patient_row_values(r)])
        if n % 200 == 0:
            yield take()
    if cut:
        writer.writerow([cut])
    yield take()


def patient_rows_xlsx(ids: list[int], *, title: str, filters_text: str, cut: str = "") -> bytes:
    """Write-only workbook (constant memory per row): the rows, then an "About" sheet with
    the report, its filters, the count and whether it was cut."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Referrals")
    bold = Font(bold=True)

    def text_cell(value: Any, **style: Any) -> Any:
        cell = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # never a formula
        for k, v in style.items():
            setattr(cell, k, v)
        return cell

    ws.append([text_cell(c, font=bold) for c in PATIENT_ROW_COLUMNS])
    count = 0
    for r in patient_rows(ids):
        ws.append([text_cell(v) for v in patient_row_values(r)])
        count += 1
    if cut:
        ws.append([text_cell(cut, font=bold)])
    about = wb.create_sheet("About")
    for label, text in (("Report", title), ("Filters", filters_text),
                        ("Rows", str(count)), ("Cut", cut or "No: every matching referral"),
                        ("Exported", f"{timezone.localtime():%Y-%m-%d %H:%M %Z}")):
        about.append([text_cell(label, font=bold), text_cell(text)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
