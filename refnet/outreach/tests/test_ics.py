"""The .ics writer: it parses back, folds at 75 octets, escapes TEXT, writes UTC."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from refnet.outreach import ics

DENVER_WINTER = timezone(timedelta(hours=-7))


def _calendar(**over):
    values = dict(
        uid="event-7@clinic.example", sequence=0, stamp=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
        starts_at=datetime(2025, 3, 10, 18, 30, tzinfo=DENVER_WINTER),
        ends_at=datetime(2025, 3, 10, 20, 0, tzinfo=DENVER_WINTER),
        summary="Dinner, talk; Q&A", location="Luigi's, 12 Main St; back room",
        description="Line one\nLine two with a back\\slash",
        organizer=ics.Person("Otto (Front Range PT)", "refnet@clinic.example"),
        attendees=[ics.Person("Sam Trainer", "sam@gym.example")],
    )
    values.update(over)
    return ics.calendar(**values)


def test_it_parses_back_with_utc_times_and_the_values_given():
    text = _calendar()
    event = ics.parse_event(text)
    assert event["DTSTART"][0][1] == "20250311T013000Z"  # 18:30 at UTC-7, next day in UTC
    assert event["DTEND"][0][1] == "20250311T030000Z"
    assert event["DTSTAMP"][0][1] == "20250301T090000Z"
    assert event["SUMMARY"][0][1] == "Dinner, talk; Q&A"
    assert event["LOCATION"][0][1] == "Luigi's, 12 Main St; back room"
    assert event["DESCRIPTION"][0][1] == "Line one\nLine two with a back\\slash"
    assert event["UID"][0][1] == "event-7@clinic.example"
    organizer_params, organizer = event["ORGANIZER"][0]
    assert organizer == "mailto:refnet@clinic.example"
    assert organizer_params["CN"] == "Otto (Front Range PT)"
    attendee_params, attendee = event["ATTENDEE"][0]
    assert attendee == "mailto:sam@gym.example" and attendee_params["RSVP"] == "TRUE"
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "METHOD:REQUEST\r\n" in text and "VERSION:2.0\r\n" in text


def test_text_is_escaped_on_the_wire():
    text = _calendar()
    assert "SUMMARY:Dinner\\, talk\\; Q&A\r\n" in text
    assert "DESCRIPTION:Line one\\nLine two with a back\\\\slash\r\n" in text


def test_every_line_ends_with_crlf_and_no_bare_newline():
    text = _calendar(description="a\r\nb\rc\nd")
    assert "\n" not in text.replace("\r\n", "")
    assert "\r" not in text.replace("\r\n", "")
    assert ics.parse_event(text)["DESCRIPTION"][0][1] == "a\nb\nc\nd"


def test_long_lines_fold_at_75_octets_without_splitting_a_character():
    description = ("Physiothérapie — étirements " * 20).strip()  # multi-byte characters
    text = _calendar(description=description)
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    folded = [line for line in text.split("\r\n") if line.startswith(" ")]
    assert len(folded) >= 8
    for line in text.split("\r\n"):
        line.encode("utf-8").decode("utf-8")  # each physical line is whole characters
    assert ics.parse_event(text)["DESCRIPTION"][0][1] == description


def test_exactly_75_octets_is_not_folded_and_76_is():
    assert "\r\n" not in ics.fold("X" * 75)
    assert ics.fold("X" * 76) == "X" * 75 + "\r\n X"


def test_a_parameter_with_special_characters_is_quoted():
    text = _calendar(attendees=[ics.Person("Smith; Jones, Inc: gym", "a@b.example")])
    assert 'CN="Smith; Jones, Inc: gym"' in text.replace("\r\n ", "")
    params, value = ics.parse_event(text)["ATTENDEE"][0]
    assert params["CN"] == "Smith; Jones, Inc: gym" and value == "mailto:a@b.example"


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        _calendar(starts_at=datetime(2025, 3, 10, 18, 30))
