"""The intake page's patient search: what it finds, in what order, and what it costs."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refnet.referrals.selectors import patients_find

URL = reverse("referrals:patient_search")


def names(patients) -> list[str]:
    return [f"{p.last_name}, {p.first_name}" for p in patients]


def test_one_word_finds_last_and_first_names_in_last_name_order(make_patient):
    make_patient("Zoe", "Jameson")
    make_patient("James", "Abbott")
    make_patient("Ada", "Jamal")
    make_patient("Jamie", "Young")
    make_patient("Ada", "Smith")  # neither name starts with "jam"
    assert names(patients_find("Jam")) == [
        "Abbott, James", "Jamal, Ada", "Jameson, Zoe", "Young, Jamie"]


def test_the_options_are_the_first_eight_of_both_sides_together(make_patient):
    for n in range(10):
        make_patient("Ann", f"Baker{n}")  # last names that start with "ba"
        make_patient("Bart", f"Adams{n}")  # first names that start with "ba"; sort first
    found = names(patients_find("ba"))
    assert found == [f"Adams{n}, Bart" for n in range(8)]


def test_two_words_match_last_and_first_name_in_either_order(make_patient):
    make_patient("Ada", "Lovelace")
    make_patient("Lovell", "Adams")
    make_patient("Ada", "Smith")
    assert names(patients_find("love ada")) == ["Adams, Lovell", "Lovelace, Ada"]
    assert names(patients_find("Ada Lovelace")) == ["Lovelace, Ada"]


def test_accents_and_case_do_not_matter(make_patient):
    make_patient("José", "Núñez")
    assert names(patients_find("NUNEZ jose")) == ["Núñez, José"]
    assert names(patients_find("núñ")) == ["Núñez, José"]


def test_a_name_ending_in_the_last_characters_of_a_range_is_searched_not_refused(
        make_patient):
    make_patient("Ada", "Zed\ud7ff")
    assert names(patients_find("zed\ud7ff")) == ["Zed\ud7ff, Ada"]
    assert names(patients_find("zed\U0010ffff")) == ["Zed\ud7ff, Ada"]
    assert names(patients_find("\U0010ffff\ud7ff")) == []


def test_a_search_is_a_fixed_handful_of_queries_however_many_match(login, make_patient):
    client = login("front_desk")
    client.get(URL, {"q": "warm"})  # the session and user are loaded, as on a busy desk
    for n in range(30):
        make_patient("Robert", f"Roberts{n}")
    with CaptureQueriesContext(connection) as few:
        response = client.get(URL, {"q": "rob"})
    assert response.content.decode().count('data-action="pick"') == 8
    for n in range(30, 300):
        make_patient("Robert", f"Roberts{n}")
    with CaptureQueriesContext(connection) as many:
        client.get(URL, {"q": "rob"})
    assert len(many) == len(few)
    # session, user, MRN, the name search (both sides and the eight patients in one
    # statement), and the audit rows' write (SQLite: BEGIN, head, INSERT, head UPDATE,
    # COMMIT; PostgreSQL: no BEGIN/COMMIT statements are logged there)
    assert len(few) <= 9


def test_the_name_search_reads_an_index_not_the_table(make_patient):
    for n in range(50):
        make_patient(f"First{n}", f"Last{n}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with CaptureQueriesContext(connection) as queries:
        patients_find("zzz")
    name_queries = [q["sql"] for q in queries if "_name_key\" >=" in q["sql"]]
    assert len(name_queries) == 1  # both sides, and the patients by id, in one statement
    for sql in name_queries:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plan = " ".join(str(row[-1]) for row in cursor.fetchall())
                assert "SCAN referrals_patient" not in plan, plan
                assert "INDEX patient_" in plan, plan
            else:
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("EXPLAIN " + sql)
                plan = " ".join(row[0] for row in cursor.fetchall())
                assert "Seq Scan" not in plan, plan
                assert "Index Cond" in plan and "_name_key" in plan, plan
