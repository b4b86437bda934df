"""A separate, fresh database next to the one DATABASE_URL names, for the import benchmarks
(bench/registry.py, bench/imports.py), so they never touch the shared 2M-referral data."""

from __future__ import annotations

import os


def fresh_url(url: str, suffix: str) -> str:
    """sqlite:///x.sqlite3 -> sqlite:///x-<suffix>.sqlite3; postgres://.../db -> .../db_<suffix>."""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[1]
        base = path[:-len(".sqlite3")] if path.endswith(".sqlite3") else path
        return f"sqlite:///{base}-{suffix}.sqlite3"
    server, name = url.rsplit("/", 1)
    return f"{server}/{name.split('?')[0]}_{suffix}"


def use_fresh_database(suffix: str) -> tuple[str, str]:
    """Point this process at the fresh database and set Django up; (url, "sqlite" or
    "postgresql")."""
    url = fresh_url(os.environ["DATABASE_URL"], suffix)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refnet.settings")
    os.environ.setdefault("DEBUG", "false")
    import django

    django.setup()
    return url, "sqlite" if url.startswith("sqlite") else "postgresql"
