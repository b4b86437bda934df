"""FHIR R4: ServiceRequest and Task."""

from django.db import models  # noqa: F401
