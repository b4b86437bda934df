"""Importing partners: cp1252 names, validation by field, duplicates merged or skipped."""

from pathlib import Path

import pytest

from refnet.imports.models import ImportMode, JobStatus
from refnet.imports.services import job_commit, job_dry_run, job_set_choices, job_start
from refnet.partners.models import Partner

FILES = Path(__file__).parent / "files"
HEADER = "Kind,Name,NPI,Phone,Email,City,Zip\n"


def start(path, by=None, mode=ImportMode.ALL_OR_NOTHING, decisions=None):
    job, _ = job_start(path=path, file_name=path.name, kind="partners", source="Old CRM",
                       by=by)
    return job_set_choices(job=job, mode=mode, decisions=decisions or {})


def test_a_windows_1252_semicolon_file_imports_with_accents(db, users):
    job = start(FILES / "partners-cp1252.csv", by=users["manager"])
    assert job.mapping == {"kind": "Type", "name": "Name", "npi": "NPI", "phone": "Phone",
                           "email": "E-mail", "address": "Street", "city": "City",
                           "state": "ST", "zip": "Zip", "owner": "Owner"}
    job = job_commit(job=job)
    assert job.status == JobStatus.DONE, job.report
    renee = Partner.objects.get(npi="1234567893")
    assert renee.name == "Renée Dupré, MD" and renee.owner == users["coordinator"]
    assert renee.history.first().history_user == users["manager"]
    gym = Partner.objects.get(name="Café Fit Gym")
    assert gym.kind == "local_business" and gym.category == "other" and gym.zip_code == "80203"


def test_bad_rows_are_named_by_line_and_field(db, write):
    path = write("p.csv", HEADER + "dentist,Dr A,,,,,\n"
                                   "clinician,Dr B,1234567890,555-01,not-mail,,1234567\n"
                                   "local_business,,,,,,\n")
    job = job_dry_run(job=start(path))
    found = {(p["line"], p["field"]): p["message"] for p in job.report["problems"]}
    assert set(found) == {(2, "Kind"), (3, "NPI"), (3, "Phone"), (3, "Email"), (3, "ZIP"),
                          (4, "Name")}
    assert "allowed: clinician, medical_practice, local_business" in found[(2, "Kind")]


@pytest.mark.parametrize("row,by", [
    ("clinician,Someone Else,1234567893,,,,\n", "NPI"),
    ("clinician,Someone Else,,,dana@clinic.example,,\n", "email"),
    ("clinician,Someone Else,,+1 (303) 555-0100,,,\n", "phone"),
    ("clinician,\"Whitfield, Dana MD\",,,,Denver,\n", "similar name"),
])
def test_duplicates_of_existing_partners_are_found(db, write, make_partner, row, by):
    make_partner(name="Dana Whitfield, MD", npi="1234567893", email="Dana@clinic.example",
                 phone="303-555-0100", city="Denver")
    job = job_dry_run(job=start(write("p.csv", HEADER + row)))
    (dup,) = job.report["duplicates"]
    assert dup["by"].startswith(by) and dup["match_name"] == "Dana Whitfield, MD"
    assert dup["proposed"] == ("skip" if by == "similar name" else "merge")


def test_merge_fills_only_empty_fields_and_skip_leaves_alone(db, write, make_partner):
    dana = make_partner(name="Dana Whitfield, MD", npi="1234567893", city="Denver")
    path = write("p.csv", HEADER + "clinician,D. Whitfield,1234567893,303-555-0100,,Boulder,"
                                   "80301\n")
    job_commit(job=start(path, decisions={"2": "skip"}))
    dana.refresh_from_db()
    assert dana.phone == "" and Partner.objects.count() == 1
    job_commit(job=start(path))
    dana.refresh_from_db()
    assert (dana.phone, dana.city, dana.zip_code) == ("303-555-0100", "Denver", "80301")
    assert Partner.objects.count() == 1


def test_duplicates_within_the_file_and_reimport(db, write):
    path = write("p.csv", HEADER + "clinician,Ann Lee MD,1234567893,,,,\n"
                                   "clinician,Ann Lee,1234567893,303-555-0101,,,\n")
    job = job_commit(job=start(path))
    assert (job.rows_ok, job.rows_duplicate) == (1, 1)
    assert Partner.objects.get().phone == "303-555-0101"  # merged into line 2's partner
    again = job_commit(job=start(path))
    assert (again.rows_ok, again.rows_duplicate) == (0, 2)
    assert Partner.objects.count() == 1


def test_all_or_nothing_and_good_rows_for_partners(db, write):
    path = write("p.csv", HEADER + "clinician,Ann Lee MD,,,,,\nnope,Bad Row,,,,,\n")
    assert job_commit(job=start(path)).status == JobStatus.FAILED
    assert not Partner.objects.exists()
    job = job_commit(job=start(path, mode=ImportMode.GOOD_ROWS))
    assert job.status == JobStatus.DONE and job.rows_error == 1
    assert list(Partner.objects.values_list("name", flat=True)) == ["Ann Lee MD"]


def test_organizations_resolve_to_partners_or_earlier_rows(db, write):
    path = write("p.csv", "Kind,Name,Practice\nmedical_practice,Lakeside Ortho,\n"
                          "clinician,Ann Lee MD,Lakeside Ortho\nclinician,Bo Ng,Nowhere\n")
    job = job_commit(job=start(path, mode=ImportMode.GOOD_ROWS))
    assert Partner.objects.get(name="Ann Lee MD").organization.name == "Lakeside Ortho"
    assert [(p["line"], p["field"]) for p in job.report["problems"]] == [(4, "Organization")]
