"""/reports/r/<slug>/rows/: the patient-level referrals behind a report, as CSV (streamed)
or XLSX, for people with Cap.REPORTS_PATIENT_ROWS (coordinators, managers, admins; never
outreach). Same period and filters as the report; identity, route and stage dates only,
no clinical fields; at most REFNET_REPORTS_PATIENT_ROWS_MAX rows (the file says when it
was cut); every export audited as EXPORT, one AuditEvent per patient, before any row is
sent.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, requires

from ..forms import ReportFilterForm
from .reports import BY_LABELS, EXPORTS, ROW_REPORTS, _filter, filters_text, report_entries

ROW_FORMATS = ("csv", "xlsx")


@requires(Cap.REPORTS_PATIENT_ROWS)
@require_GET
def report_rows(request: HttpRequest, slug: str) -> HttpResponse:
    from ..exports import cut_note, patient_rows_csv, patient_rows_max, patient_rows_xlsx
    from ..selectors.base import referrals_in

    entry = report_entries().get(slug)
    if entry is None or slug not in ROW_REPORTS:
        raise Http404("This report has no patient rows behind it")
    fmt = request.GET.get("format", "csv")
    if fmt not in ROW_FORMATS:
        return HttpResponse("Choose format=csv or format=xlsx.", status=400,
                            content_type="text/plain; charset=utf-8")
    by_choices = [(b, BY_LABELS.get(b, b)) for b in entry.by]
    data = request.GET.copy()
    data.setdefault("granularity", "month")
    form = ReportFilterForm(data, by_choices=by_choices or None,
                            granularities=entry.granularities)
    if not form.is_valid():
        # A download must not quietly cover another period than the one asked for.
        errors = "; ".join(f"{name}: {errs[0]}" for name, errs in form.errors.items())
        return HttpResponse(f"Nothing exported. {errors}", status=400,
                            content_type="text/plain; charset=utf-8")
    f = _filter(form, entry)
    text = filters_text(form, f)
    limit = patient_rows_max()
    pairs = list(referrals_in(f).order_by("received_at", "id")
                 .values_list("id", "patient_id")[:limit + 1])
    cut = cut_note(limit) if len(pairs) > limit else ""
    pairs = pairs[:limit]
    ids = [pk for pk, _ in pairs]
    audit_patients(request=request, patient_ids=[pid for _, pid in pairs],
                   action=AuditAction.EXPORT, what=f"reports:rows:{slug}")
    filename = f"refnet-{slug}-rows-{f.start:%Y-%m-%d}-to-{f.end:%Y-%m-%d}.{fmt}"
    content_type = EXPORTS[fmt][0]
    if fmt == "csv":
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            patient_rows_csv(ids, cut=cut), content_type=content_type)
    else:
        response = HttpResponse(
            patient_rows_xlsx(ids, title=f"{entry.title}: referrals", filters_text=text,
                              cut=cut), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Refnet-Rows"] = str(len(ids))
    if cut:
        response["X-Refnet-Rows-Cut"] = str(limit)
    return response
