"""Hypothesis throws malformed input at each entry point (the shared receive path that MLLP
uses, the HTTP endpoint, framed bytes to the MLLP frame reader): always an ACK, never an
internal error or a 500, and nothing half-written."""

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refnet.hl7.mllp import FrameReader, MllpServer, frame, read_frame
from refnet.hl7.services import hl7_receive
from refnet.partners.models import Partner
from refnet.referrals.models import Patient, PatientIdentifier, Referral, ReferralIdentifier

from .conftest import VERSIONS, sample

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SPECIAL = st.sampled_from(["|", "^", "~", "\\", "&", "\r", "\n", "MSH|", "\x0b", "\x1c",
                           "\\F\\", "\\X0D\\", "99999999999999", "2.5.1", "REF^I12", "PID|",
                           "PRD|RT", "é", "\x00", ""])
FRAGMENT = st.text(max_size=12) | SPECIAL


def counts():
    return (Referral.objects.count(), Patient.objects.count(), Partner.objects.count(),
            ReferralIdentifier.objects.count(), PatientIdentifier.objects.count())


def check(ack: str, before: tuple, code: str) -> None:
    lines = ack.split("\r")
    assert lines[0].startswith("MSH|^~\\&|") and lines[1].startswith(f"MSA|{code}|")
    assert "because of an internal error" not in ack, ack
    grew = counts()[0] - before[0]
    if code == "AA":
        assert grew in (0, 1)
    else:
        assert counts() == before, ack


def receive_and_check(text) -> str:
    before = counts()
    handled = hl7_receive(text, channel="mllp", actor="fuzz")
    check(handled.ack, before, handled.code)
    return handled.code


@pytest.mark.django_db
@FUZZ
@given(body=st.binary(max_size=200))
def test_random_bytes_get_an_ar(practice, body):
    code = receive_and_check(body)
    assert code in ("AR", "AE")


@pytest.mark.django_db
@FUZZ
@given(version=st.sampled_from(VERSIONS), data=st.data())
def test_a_valid_message_with_one_field_broken(practice, version, data):
    segments = [line.split("|") for line in sample(version).split("\r")]
    row = data.draw(st.integers(0, len(segments) - 1))
    col = data.draw(st.integers(1 if row else 2, len(segments[row]) + 2))
    fields = segments[row] + [""] * (col + 1 - len(segments[row]))
    action = data.draw(st.sampled_from(["replace", "append", "delete"]))
    if action == "replace":
        fields[col] = data.draw(FRAGMENT)
    elif action == "append":
        fields[col] += data.draw(FRAGMENT)
    else:
        del fields[col]
    segments[row] = fields
    receive_and_check("\r".join("|".join(f) for f in segments))


@pytest.mark.django_db
@FUZZ
@given(version=st.sampled_from(VERSIONS), cut=st.integers(0, 2000),
       extra=st.lists(FRAGMENT, max_size=4))
def test_truncated_or_padded_messages(practice, version, cut, extra):
    text = sample(version)
    receive_and_check(text[:cut] + "".join(extra))


@pytest.mark.django_db
@FUZZ
@given(body=st.binary(max_size=120) | st.text(max_size=120).map(str.encode))
def test_http_endpoint_never_fails(client, practice, keys, body):
    before = counts()
    response = client.post("/hl7/", body, content_type="x-application/hl7-v2+er7",
                           HTTP_AUTHORIZATION=f"Bearer {keys['engine'][1]}")
    assert response.status_code == 200 or (not body and response.status_code == 415)
    ack = response.content.decode()
    check(ack, before, ack.split("\r")[1].split("|")[1])


@FUZZ
@given(chunks=st.lists(st.binary(max_size=40) | st.sampled_from(
    [b"\x0b", b"\x1c", b"\r", b"\x1c\r", b"\x0bMSH|^~\\&|"]), max_size=20))
def test_frame_reader_never_fails_and_stays_bounded(chunks):
    reader = FrameReader(max_bytes=64)
    for chunk in chunks:
        for kind, payload in reader.feed(chunk):
            assert kind in ("message", "too_large", "junk")
            if kind == "message":
                assert len(payload) <= 64 and b"\x1c" not in payload
        assert len(reader.buffer) <= 64 + 40


@pytest.mark.django_db(transaction=True)
def test_mllp_server_answers_every_random_frame(practice):
    """One connection, 40 random framed payloads: 40 ACKs, none an internal error."""
    import random

    rng = random.Random(7)
    server = MllpServer(host="127.0.0.1", port=0)
    thread = server.start_in_thread()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            for _ in range(40):
                base = sample(rng.choice(VERSIONS))
                i = rng.randrange(len(base))
                payload = base[:i] + "".join(rng.choice("|^~\\&\rX9") for _ in range(3)) \
                    + base[i + rng.randrange(0, 20):]
                sock.sendall(frame(payload))
                ack = read_frame(sock).decode()
                assert ack.split("\r")[1].split("|")[1] in ("AA", "AE", "AR")
                assert "because of an internal error" not in ack, ack
    finally:
        server.stop()
        thread.join(10)
