"""The search boxes' option lists are written in Python (views/intake_options.py) and must
be exactly what their templates render, for awkward values too."""

import datetime

from django.template.loader import render_to_string

from refnet.partners.models import Partner
from refnet.partners.search import Match
from refnet.referrals.models import Patient
from refnet.referrals.views.intake_options import patient_options_html, source_options_html

AWKWARD = ["", "Smith", "O'Brien & <Sons> \"Ltd\"", "José Núñez", "a < b"]


def test_the_patient_options_are_the_templates_html():
    patients = [
        Patient(pk=1, first_name="Ada", last_name="Lovelace", birth_date=datetime.date(985, 2, 3),
                phone="(303) 555-0100", mrn="S0001"),
        Patient(pk=22, first_name="O'Neil", last_name="<b>Smith</b> & \"Co\"", birth_date=None,
                phone="", mrn=""),
        Patient(pk=333, first_name="José", last_name="Núñez",
                birth_date=datetime.date(2001, 12, 31), phone="", mrn="M'1"),
        Patient(pk=4, first_name="Bo", last_name="Li", birth_date=None, phone="555", mrn=""),
    ]
    for query in AWKWARD:
        for shown in (patients, []):
            expected = render_to_string("referrals/_intake_patient_options.html",
                                        {"patients": shown, "query": query})
            assert patient_options_html(shown, query) == expected


def test_the_source_options_are_the_templates_html():
    clinic = Partner(pk=7, name="Smith & Sons <Physio>", kind="clinician", city="Denver")
    gym = Partner(pk=8, name="Gold's Gym", kind="local_business", city="")
    rows = [
        (Match(7, None, "Smith & Sons <Physio>", "partner", 95.0, 3), clinic),
        (Match(7, 12, "Dr. \"Jo\" O'Hara", "contact", 90.0, 0), clinic),
        (Match(8, None, "Golds <alias>", "alias", 80.0, 41), gym),
        (Match(8, None, "Gold's Gym", "partner", 70.0, 0), gym),
    ]
    for query in AWKWARD:
        for shown in (rows, []):
            expected = render_to_string("referrals/_intake_source_options.html",
                                        {"rows": shown, "query": query})
            assert source_options_html(shown, query) == expected
