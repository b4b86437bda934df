"""Updates to partners about treatments, prices and products."""

from django.db import models  # noqa: F401
