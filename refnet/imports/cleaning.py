"""Turning one cell into a value, or a message naming what is wrong with it."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from refnet.partners.models import validate_npi
from refnet.partners.search import fold

from .reading import cell_text

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR VI GU AS MP".split())
ZIP = re.compile(r"^(\d{5})(?:-?(\d{4}))?$")


class CellError(ValueError):
    pass


def text(value, *, max_length: int, what: str = "") -> str:
    out = cell_text(value)
    if len(out) > max_length:
        raise CellError(f"is {len(out)} characters long; at most {max_length} fit")
    return out


def npi(value) -> str:
    out = re.sub(r"[\s-]", "", cell_text(value))
    if not out:
        return ""
    try:
        validate_npi(out)
    except ValidationError as exc:
        raise CellError(f"{out!r}: {exc.messages[0]}") from None
    return out


def email(value) -> str:
    out = cell_text(value)
    if not out:
        return ""
    try:
        validate_email(out)
    except ValidationError:
        raise CellError(f"{out!r} is not an email address") from None
    if len(out) > 254:
        raise CellError("is too long for an email address")
    return out


def phone(value) -> str:
    out = cell_text(value)
    if not out:
        return ""
    digits = "".join(c for c in out if c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) < 10:
        raise CellError(f"{out!r} has {len(digits)} digits; a phone number needs 10")
    if len(out) > 30:
        raise CellError(f"{out!r} is longer than 30 characters")
    return out


def phone_digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())[-10:]


def state(value) -> str:
    out = cell_text(value).upper()
    if not out:
        return ""
    if out not in US_STATES:
        raise CellError(f"{out!r} is not a two-letter US state code (e.g. IL, NY, CO)")
    return out


def zip_code(value) -> str:
    out = cell_text(value)
    if not out:
        return ""
    if out.isdigit() and len(out) == 4:  # a spreadsheet dropped the leading zero
        out = "0" + out
    m = ZIP.match(out)
    if not m:
        raise CellError(f"{out!r} is not a ZIP code (12345 or 12345-6789)")
    return f"{m.group(1)}-{m.group(2)}" if m.group(2) else m.group(1)


class Choices:
    """A TextChoices' codes, looked up by code or label in any case (results cached: a
    column holds few distinct values)."""

    def __init__(self, choices, synonyms: dict[str, str] | None = None) -> None:
        self.codes = [code for code, _ in choices]
        self.keys: dict[str, str] = dict(synonyms or {})
        for code, label in choices:
            self.keys[_choice_key(code)] = code
            self.keys[_choice_key(label)] = code
        self.seen: dict[str, str] = {}

    def __call__(self, value, default: str = "") -> str:
        out = cell_text(value)
        if not out:
            return default
        found = self.seen.get(out)
        if found is None:
            found = self.keys.get(_choice_key(out))
            if found is None:
                raise CellError(f"unknown value {out!r}; allowed: {', '.join(self.codes)}")
            if len(self.seen) < 1000:
                self.seen[out] = found
        return found


def _choice_key(text: str) -> str:
    return " ".join(fold(text).replace("-", " ").split())


def choice(value, choices, *, default: str = "", synonyms: dict[str, str] | None = None) -> str:
    """A code from a TextChoices class, given as its code or its label, any case."""
    return Choices(choices, synonyms)(value, default)
