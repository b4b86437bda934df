"""Writes of the registry app: imports (importer.py, nucc.py), the complementary table and
adding a prospect from the finder (prospects.py)."""
