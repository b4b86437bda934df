"""/referrals/patients/<pk>/export/: a patient's whole record as a ZIP (right of access),
for coordinators, managers and admins; audited as EXPORT before the file is made."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, requires

from .. import selectors
from ..patient_export import patient_export_zip


@requires(Cap.PATIENT_EXPORT)
@require_POST
def patient_export(request: HttpRequest, pk: int) -> HttpResponse:
    patient = selectors.get_patient_for(request.user, pk)
    audit_patients(request=request, patient_ids=[patient.pk], action=AuditAction.EXPORT,
                   what=f"patient:{patient.pk} record export (right of access)")
    content = patient_export_zip(patient=patient, by=request.user.username)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="refnet-patient-{patient.pk}-record.zip"')
    return response
