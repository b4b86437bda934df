"""HL7 v2: REF^I12 over HTTP and MLLP."""

from django.db import models  # noqa: F401
