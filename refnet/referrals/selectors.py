"""Reads of patients and referrals that are more than a one-line filter."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Q, QuerySet

from refnet.partners.search import fold

from .models import Patient, Referral, SourceStatus


def _parse_date(text: str) -> date | None:
    for fmt in ("%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%m/%d/%y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def patients_find(query: str, *, limit: int = 8) -> list[Patient]:
    """Find a patient at the desk by name ("smith ada", "Ada Smith"), birth date, phone or MRN.

    Name words match the start of the last or first name in either order, using the
    (last_name_key, first_name_key) index.
    """
    text = query.strip()
    if not text:
        return []
    qs = Patient.objects.all()
    words = [w for w in fold(text).split() if w]
    born = _parse_date(text)
    digits = "".join(c for c in text if c.isdigit())
    if born:
        return list(qs.filter(birth_date=born)[:limit])
    if digits and len(digits) >= 7 and len(digits) == len(text.replace("-", "").replace(" ", "")
                                                          .replace("(", "").replace(")", "")):
        return list(qs.filter(phone_digits__endswith=digits[-10:])[:limit])
    by_mrn = list(qs.filter(mrn=text)[:limit]) if len(text) >= 3 else []
    if by_mrn:
        return by_mrn
    if not words:
        return []
    if len(words) == 1:
        w = words[0]
        cond = Q(last_name_key__startswith=w) | Q(first_name_key__startswith=w)
    else:
        a, b = words[0], words[-1]
        cond = (Q(last_name_key__startswith=a) & Q(first_name_key__startswith=b)) | (
            Q(last_name_key__startswith=b) & Q(first_name_key__startswith=a)
        )
    return list(qs.filter(cond).order_by("last_name_key", "first_name_key", "id")[:limit])


def referrals_unresolved_source() -> QuerySet[Referral]:
    """The ask-again list: referrals saved with "don't know" as their source, oldest first."""
    return (
        Referral.objects.filter(source_status=SourceStatus.UNRESOLVED)
        .select_related("patient", "location")
        .order_by("received_at")
    )
