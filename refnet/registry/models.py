"""Provider registry (NPPES, NUCC) and the complementary-practice finder."""

from django.db import models  # noqa: F401
