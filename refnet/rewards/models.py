"""Appreciation and rewards within legal caps."""

from django.db import models  # noqa: F401
