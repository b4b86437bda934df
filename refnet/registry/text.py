"""Registry text as people write it: NPPES stores names and addresses in upper case."""

from __future__ import annotations

KEEP_UPPER = frozenset({
    "LLC", "PC", "PLLC", "PA", "PA-C", "MD", "DO", "DPT", "DC", "DPM", "DDS", "DMD", "NP",
    "FNP", "APRN", "PT", "OT", "ATC", "PHD", "LLP", "INC", "II", "III", "IV", "USA", "NE",
    "NW", "SE", "SW", "N", "S", "E", "W", "PO", "MPT", "OTR", "RN", "CRNA", "LCSW", "LPC",
})


def pretty_name(text: str) -> str:
    """'JOHN O'NEIL, MD' -> "John O'Neil, MD"; text already in mixed case is left alone."""
    if not text or text != text.upper():
        return text
    words = []
    for word in text.split(" "):
        bare = word.strip(",.")
        if bare in KEEP_UPPER or any(ch.isdigit() for ch in bare):
            words.append(word)
        else:
            words.append("-".join("'".join(p[:1].upper() + p[1:].lower() for p in w.split("'"))
                                  for w in word.split("-")))
    return " ".join(words)


def pretty_phone(digits: str) -> str:
    d = "".join(ch for ch in digits if ch.isdigit())
    if len(d) == 10:
        return f"({d[:3]}) {d[3:6]}-{d[6:]}"
    return digits[:30]
