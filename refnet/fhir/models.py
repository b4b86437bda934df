"""FHIR R4: ServiceRequest and Task are views of referrals; the one table here is the log
of the requests FHIR clients made (Integrations > Message log)."""

from django.db import models


class FhirRequest(models.Model):
    """One request to /fhir/: who (API key), what, the HTTP status and the
    OperationOutcome codes of a refusal. `body` is what a POST sent (a ServiceRequest
    names a patient: PHI, shown only to roles that may see patients, each view audited)."""

    received_at = models.DateTimeField(db_index=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    actor = models.CharField(max_length=150, blank=True, help_text="The API key.")
    address = models.GenericIPAddressField(null=True, blank=True)
    status = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=200, blank=True,
                               help_text="The OperationOutcome's issue codes, if any.")
    message = models.CharField(max_length=500, blank=True,
                               help_text="The first issue's diagnostics.")
    referral = models.ForeignKey("referrals.Referral", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="fhir_requests")
    body = models.TextField(blank=True, help_text="What a POST sent (PHI).")

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"

    @property
    def ok(self) -> bool:
        return self.status < 400
