"""Synthetic NPPES files in the real 330-column layout, for the tests, the benchmark and
the demo. No real people: names come from the seed's name lists, NPIs are generated with
a valid check digit, addresses are made up."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from typing import TextIO

from refnet.practice import seed as names

from .nppes_layout import HEADER

COL = {name: i for i, name in enumerate(HEADER)}

# (taxonomy, credential, weight): what a practice's neighbourhood looks like.
SPECIALTIES = [
    ("207Q00000X", "MD", 14), ("207R00000X", "MD", 12), ("2080P0006X", "MD", 2),
    ("208000000X", "MD", 5), ("207X00000X", "MD", 5), ("207XS0114X", "MD", 1),
    ("207QS0010X", "DO", 2), ("225100000X", "PT", 9), ("2251S0007X", "DPT", 2),
    ("111N00000X", "DC", 6), ("208100000X", "MD", 2), ("2084N0400X", "MD", 3),
    ("213E00000X", "DPM", 2), ("363LF0000X", "FNP", 6), ("363LP2300X", "NP", 2),
    ("363A00000X", "PA-C", 5), ("225X00000X", "OT", 3), ("1223G0001X", "DDS", 6),
    ("207V00000X", "MD", 3), ("2255A2300X", "ATC", 1), ("208VP0014X", "MD", 1),
    ("207RC0000X", "MD", 2), ("2086S0122X", "MD", 1), ("103T00000X", "PHD", 3),
]
ORG_TAXONOMIES = ["261QP2000X", "261QM1300X", "193200000X", "207Q00000X", "225100000X",
                  "111N00000X", "207X00000X"]
ORG_WORDS = ["Family Medicine", "Physical Therapy", "Orthopaedic Associates", "Chiropractic",
             "Primary Care", "Health Partners", "Medical Group", "Sports Medicine",
             "Rehabilitation", "Neurology Clinic"]
SUFFIXES = ["PC", "LLC", "PLLC", "Group", "Associates"]


def npi(body: str) -> str:
    return body + names.npi_check_digit(body)


def _blank() -> list[str]:
    return [""] * len(HEADER)


def provider_row(*, npi_: str, entity: int, first: str = "", last: str = "",
                 credential: str = "", org: str = "", address: str, city: str, state: str,
                 zip_code: str, phone: str, taxonomies: Sequence[str],
                 parent: str = "", sex: str = "") -> list[str]:
    row = _blank()
    row[COL["NPI"]] = npi_
    row[COL["Entity Type Code"]] = str(entity)
    row[COL["Provider Organization Name (Legal Business Name)"]] = org
    row[COL["Provider Last Name (Legal Name)"]] = last
    row[COL["Provider First Name"]] = first
    row[COL["Provider Credential Text"]] = credential
    for prefix in ("Provider First Line Business Mailing Address",
                   "Provider First Line Business Practice Location Address"):
        row[COL[prefix]] = address
    for kind in ("Mailing", "Practice Location"):
        row[COL[f"Provider Business {kind} Address City Name"]] = city
        row[COL[f"Provider Business {kind} Address State Name"]] = state
        row[COL[f"Provider Business {kind} Address Postal Code"]] = zip_code
        row[COL[f"Provider Business {kind} Address Country Code (If outside U.S.)"]] = "US"
        row[COL[f"Provider Business {kind} Address Telephone Number"]] = phone
    row[COL["Provider Enumeration Date"]] = "05/23/2007"
    row[COL["Last Update Date"]] = "07/08/2021"
    if entity == 1:
        row[COL["Provider Sex Code"]] = sex
        row[COL["Is Sole Proprietor"]] = "N"
    else:
        row[COL["Authorized Official Last Name"]] = "SYNTHETIC"
        row[COL["Authorized Official First Name"]] = "PAT"
        row[COL["Authorized Official Title or Position"]] = "PRACTICE MANAGER"
        row[COL["Authorized Official Telephone Number"]] = phone
        row[COL["Is Organization Subpart"]] = "Y" if parent else "N"
        row[COL["Parent Organization LBN"]] = parent
    for n, code in enumerate(taxonomies, start=1):
        row[COL[f"Healthcare Provider Taxonomy Code_{n}"]] = code
        row[COL[f"Provider License Number_{n}"]] = f"{state}{npi_[-6:]}{n}"
        row[COL[f"Provider License Number State Code_{n}"]] = state
        row[COL[f"Healthcare Provider Primary Taxonomy Switch_{n}"]] = "Y" if n == 1 else "N"
    row[COL["Other Provider Identifier_1"]] = npi_[-7:]
    row[COL["Other Provider Identifier Type Code_1"]] = "05"
    row[COL["Other Provider Identifier State_1"]] = state
    row[COL["Certification Date"]] = "07/08/2021"
    return row


def deactivated_row(npi_: str) -> list[str]:
    row = _blank()
    row[COL["NPI"]] = npi_
    row[COL["NPI Deactivation Date"]] = "03/14/2019"
    return row


def nppes_rows(count: int, *, seed: int = 1, states: Sequence[str] = ("CO",),
               zips: Sequence[tuple[str, str, str]] = (("80206", "DENVER", "CO"),),
               first_body: int = 100_000_000, deactivated_share: float = 0.01
               ) -> Iterator[list[str]]:
    """`count` records: practice sites of 1-12 individuals plus their organization, in the
    given states (round robin by site) and ZIP codes ((zip, city, state) for the first
    state; other states get made-up ZIPs)."""
    rng = random.Random(seed)
    specialties = [s[:2] for s in SPECIALTIES]
    cum = list(_cum([s[2] for s in SPECIALTIES]))
    body = first_body
    made = 0
    site = 0
    while made < count:
        state = states[site % len(states)]
        if state == states[0]:
            zip5, city, _ = zips[rng.randrange(len(zips))]
        else:
            zip5, city = f"{rng.randrange(10000, 99999)}", "SPRINGFIELD"
        address = f"{rng.randrange(100, 9999)} {rng.choice(names.STREETS).upper()}"
        phone = f"{rng.choice(['303', '720'])}555{rng.randrange(10000):04d}"
        size = 1 if rng.random() < 0.45 else rng.randrange(2, 13)
        site += 1
        if size > 1 or rng.random() < 0.3:
            body += 1
            org = (f"{names.person_name(rng)[1]} {rng.choice(ORG_WORDS)} "
                   f"{rng.choice(SUFFIXES)}").upper()
            yield provider_row(npi_=npi(str(body)), entity=2, org=org, address=address,
                               city=city, state=state, zip_code=zip5 + "1234", phone=phone,
                               taxonomies=[rng.choice(ORG_TAXONOMIES)])
            made += 1
        for _ in range(size):
            if made >= count:
                break
            body += 1
            if rng.random() < deactivated_share:
                yield deactivated_row(npi(str(body)))
            else:
                code, credential = specialties[_pick(cum, rng.random())]
                codes = [code] if rng.random() < 0.8 else [
                    code, specialties[_pick(cum, rng.random())][0]]
                if len(set(codes)) < len(codes):
                    codes = codes[:1]
                first, last = names.person_name(rng)
                yield provider_row(
                    npi_=npi(str(body)), entity=1, first=first.upper(), last=last.upper(),
                    credential=credential, address=address, city=city, state=state,
                    zip_code=zip5, phone=phone, taxonomies=codes, sex=rng.choice("FM"))
            made += 1


def _cum(weights: Sequence[float]) -> Iterator[float]:
    total = 0.0
    whole = sum(weights)
    for w in weights:
        total += w / whole
        yield total


def _pick(cum: list[float], roll: float) -> int:
    for i, c in enumerate(cum):
        if roll < c:
            return i
    return len(cum) - 1


def write_nppes(out: TextIO, rows: Iterator[list[str]] | Sequence[list[str]],
                header: Sequence[str] = HEADER) -> None:
    """The NPPES way: every value quoted, CRLF line ends."""
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
