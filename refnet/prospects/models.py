"""Prospects: the fit scorecard and the pipeline board."""

from django.db import models  # noqa: F401
