"""Import the NUCC Health Care Provider Taxonomy CSV (nucc_taxonomy_*.csv): Code,
Grouping, Classification, Specialization, Definition, Notes, Display Name, Section.
Columns are found by name; Display Name is optional (older files lack it). The whole
file is one transaction: bad rows are listed by line and field and skipped."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from ..models import Taxonomy
from .importer import TAXONOMY_RE, ImportRefused

NUCC_COLUMNS = {"code": "code", "grouping": "grouping", "classification": "classification",
                "specialization": "specialization", "display_name": "display name"}
NUCC_REQUIRED = ("code", "grouping", "classification")


@dataclass
class NuccResult:
    imported: int = 0
    errors: list[list] = field(default_factory=list)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def nucc_import(*, path: Path | str | None = None, data: bytes | None = None) -> NuccResult:
    raw = Path(path).read_bytes() if data is None else data
    reader = csv.reader(io.StringIO(_text(raw), newline=""))
    header = next(reader, None)
    if not header:
        raise ImportRefused("The NUCC file is empty.")
    names = [h.strip().lower() for h in header]
    index = {key: names.index(col) for key, col in NUCC_COLUMNS.items() if col in names}
    missing = [NUCC_COLUMNS[k].title() for k in NUCC_REQUIRED if k not in index]
    if missing:
        raise ImportRefused(f"This is not a NUCC taxonomy file: the header has no "
                            f"{', '.join(missing)} column. Nothing was imported.")
    result = NuccResult()
    rows: dict[str, Taxonomy] = {}
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {k: (row[i].strip() if i < len(row) else "") for k, i in index.items()}
        code = values["code"].upper()
        if not TAXONOMY_RE.fullmatch(code):
            result.errors.append([number, "Code", f"{code[:20]!r} is not a code like "
                                                  "207X00000X"])
            continue
        classification = values["classification"][:200]
        specialization = values.get("specialization", "")[:200]
        display = values.get("display_name") or ", ".join(
            p for p in (classification, specialization) if p)
        rows[code] = Taxonomy(code=code, grouping=values["grouping"][:200],
                              classification=classification, specialization=specialization,
                              display_name=display[:300])
    with transaction.atomic():
        Taxonomy.objects.bulk_create(
            list(rows.values()), batch_size=500, update_conflicts=True, unique_fields=["code"],
            update_fields=["grouping", "classification", "specialization", "display_name"])
    result.imported = len(rows)
    return result
