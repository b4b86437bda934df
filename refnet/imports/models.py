"""CSV and XLSX import."""

from django.db import models  # noqa: F401
