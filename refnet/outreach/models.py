"""Outreach: playbooks, events and updates to partners."""

from django.db import models  # noqa: F401
