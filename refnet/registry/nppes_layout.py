"""The column layout of the NPPES Data Dissemination file (npidata_pfile_*.csv): 330
columns, every value double-quoted, one header row. The importer finds the columns it
needs by NAME (NPPES has reordered and renamed columns before, e.g. "Provider Gender Code"
became "Provider Sex Code"), so only the names in REQUIRED must be present."""

from __future__ import annotations


def _numbered(names: list[str], count: int) -> list[str]:
    return [f"{name}_{n}" for n in range(1, count + 1) for name in names]


HEADER: list[str] = [
    "NPI",
    "Entity Type Code",
    "Replacement NPI",
    "Employer Identification Number (EIN)",
    "Provider Organization Name (Legal Business Name)",
    "Provider Last Name (Legal Name)",
    "Provider First Name",
    "Provider Middle Name",
    "Provider Name Prefix Text",
    "Provider Name Suffix Text",
    "Provider Credential Text",
    "Provider Other Organization Name",
    "Provider Other Organization Name Type Code",
    "Provider Other Last Name",
    "Provider Other First Name",
    "Provider Other Middle Name",
    "Provider Other Name Prefix Text",
    "Provider Other Name Suffix Text",
    "Provider Other Credential Text",
    "Provider Other Last Name Type Code",
    "Provider First Line Business Mailing Address",
    "Provider Second Line Business Mailing Address",
    "Provider Business Mailing Address City Name",
    "Provider Business Mailing Address State Name",
    "Provider Business Mailing Address Postal Code",
    "Provider Business Mailing Address Country Code (If outside U.S.)",
    "Provider Business Mailing Address Telephone Number",
    "Provider Business Mailing Address Fax Number",
    "Provider First Line Business Practice Location Address",
    "Provider Second Line Business Practice Location Address",
    "Provider Business Practice Location Address City Name",
    "Provider Business Practice Location Address State Name",
    "Provider Business Practice Location Address Postal Code",
    "Provider Business Practice Location Address Country Code (If outside U.S.)",
    "Provider Business Practice Location Address Telephone Number",
    "Provider Business Practice Location Address Fax Number",
    "Provider Enumeration Date",
    "Last Update Date",
    "NPI Deactivation Reason Code",
    "NPI Deactivation Date",
    "NPI Reactivation Date",
    "Provider Sex Code",
    "Authorized Official Last Name",
    "Authorized Official First Name",
    "Authorized Official Middle Name",
    "Authorized Official Title or Position",
    "Authorized Official Telephone Number",
    *_numbered(["Healthcare Provider Taxonomy Code", "Provider License Number",
                "Provider License Number State Code",
                "Healthcare Provider Primary Taxonomy Switch"], 15),
    *_numbered(["Other Provider Identifier", "Other Provider Identifier Type Code",
                "Other Provider Identifier State", "Other Provider Identifier Issuer"], 50),
    "Is Sole Proprietor",
    "Is Organization Subpart",
    "Parent Organization LBN",
    "Parent Organization TIN",
    "Authorized Official Name Prefix Text",
    "Authorized Official Name Suffix Text",
    "Authorized Official Credential Text",
    *[f"Healthcare Provider Taxonomy Group_{n}" for n in range(1, 16)],
    "Certification Date",
]
assert len(HEADER) == 330, len(HEADER)

TAXONOMY_SLOTS = 15

# What refnet keeps: our name -> the NPPES column name.
FIELDS: dict[str, str] = {
    "npi": "NPI",
    "entity_type": "Entity Type Code",
    "organization_name": "Provider Organization Name (Legal Business Name)",
    "last_name": "Provider Last Name (Legal Name)",
    "first_name": "Provider First Name",
    "credential": "Provider Credential Text",
    "address_line": "Provider First Line Business Practice Location Address",
    "city": "Provider Business Practice Location Address City Name",
    "state": "Provider Business Practice Location Address State Name",
    "postal_code": "Provider Business Practice Location Address Postal Code",
    "phone": "Provider Business Practice Location Address Telephone Number",
    "deactivation_date": "NPI Deactivation Date",
    "reactivation_date": "NPI Reactivation Date",
    **{f"taxonomy_{n}": f"Healthcare Provider Taxonomy Code_{n}"
       for n in range(1, TAXONOMY_SLOTS + 1)},
    **{f"primary_{n}": f"Healthcare Provider Primary Taxonomy Switch_{n}"
       for n in range(1, TAXONOMY_SLOTS + 1)},
}
# Columns that may be absent (older or trimmed files); every other one in FIELDS is required.
OPTIONAL = frozenset({"reactivation_date"})
REQUIRED = [name for key, name in FIELDS.items() if key not in OPTIONAL]
