"""/accounts/audit/: admins browse the audit log of patient data (filters, keyset paging)
and export it as a streamed CSV; the export is itself written to the log."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from refnet.reports.exports import neutralize

from .audit import audit_event
from .forms import AuditFilterForm
from .models import AuditAction
from .permissions import Cap, requires
from .selectors import AuditFilter, audit_page, audit_rows_iter

PAGE_SIZE = 50
CSV_HEADER = ["id", "at (UTC)", "user", "user id", "action", "patient id", "what", "address",
              "path", "hash"]


def _filter(form: AuditFilterForm) -> AuditFilter:
    data = form.cleaned_data
    return AuditFilter(username=data.get("username") or "", patient_id=data.get("patient"),
                       action=data.get("action") or "", since=data.get("since"),
                       until=data.get("until"))


def _query(form: AuditFilterForm) -> dict[str, str]:
    return {k: str(v) for k, v in form.cleaned_data.items() if v not in (None, "")}


@requires(Cap.AUDIT_VIEW)
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "accounts/audit_log.html",
                      {"form": form, "rows": [], "nav": "audit"}, status=400)
    if not form.is_bound:
        form = AuditFilterForm({})
        form.is_valid()
    before = request.GET.get("before", "")
    before_id = int(before) if before.isdigit() else None
    rows, next_before = audit_page(where=_filter(form), before=before_id, size=PAGE_SIZE)
    query = _query(form)
    return render(request, "accounts/audit_log.html", {
        "form": form, "rows": rows, "nav": "audit", "paged": before_id is not None,
        "first_url": "?" + urlencode(query),
        "next_url": "?" + urlencode({**query, "before": next_before}) if next_before else "",
        "export_url": "export.csv?" + urlencode(query),
    })


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Iterator[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    for pk, at, username, user_id, action, patient_id, what, address, path, digest in rows:
        yield writer.writerow([
            pk, at.astimezone(UTC).isoformat(), neutralize(username), user_id or "", action,
            patient_id or "", neutralize(what), address or "", neutralize(path), digest])


@requires(Cap.AUDIT_VIEW)
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {errs[0]}" for name, errs in form.errors.items())
        return HttpResponse(f"Nothing exported. {errors}", status=400,
                            content_type="text/plain; charset=utf-8")
    query = _query(form)
    # Written before the first row leaves, so an export cut short is on the record too.
    audit_event(request=request, action=AuditAction.EXPORT,
                what=("audit log export" + (f": {urlencode(query)}" if query else "")))
    response = StreamingHttpResponse(_csv_lines(audit_rows_iter(where=_filter(form))),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y-%m-%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="refnet-audit-{stamp}.csv"'
    return response
