"""A real MLLP client over loopback: the server runs in a thread on an ephemeral port; frames
arrive two in one write, one split across writes, with junk between them, too large."""

import socket
import time

import pytest

from refnet.hl7.mllp import FrameReader, MllpServer, frame, read_frame
from refnet.hl7.models import HL7Message
from refnet.referrals.models import Referral

from .conftest import sample, with_field


@pytest.fixture
def server(transactional_db, practice):
    running = MllpServer(host="127.0.0.1", port=0, actor="test-listener", idle_timeout=20)
    thread = running.start_in_thread()
    yield running
    running.stop()
    thread.join(10)
    assert not thread.is_alive()


def connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    return sock


def msa(ack: bytes) -> list[str]:
    return ack.decode().split("\r")[1].split("|")


def test_two_messages_in_one_write_get_two_acks_in_order(server):
    with connect(server) as sock:
        sock.sendall(frame(sample("2.3")) + frame(sample("2.4")))
        first, second = read_frame(sock), read_frame(sock)
    assert msa(first)[:3] == ["MSA", "AA", "OAK20260302-0001"]
    assert msa(second)[:3] == ["MSA", "AA", "LK-77812"]
    assert Referral.objects.count() == 2
    logged = HL7Message.objects.order_by("id").first()
    assert (logged.channel, logged.actor, logged.address) == (
        "mllp", "mllp:test-listener", "127.0.0.1")


def test_a_message_split_across_writes_and_junk_between_frames(server):
    data = frame(sample("2.5"))
    with connect(server) as sock:
        sock.sendall(b"garbage before any frame\r\n")
        for cut in (data[:7], data[7:300], data[300:-1]):
            sock.sendall(cut)
            time.sleep(0.05)
        sock.sendall(data[-1:] + b"\x00\x01junk")
        ack = read_frame(sock)
        # The connection still works after the junk: the same message again is a duplicate.
        sock.sendall(frame(sample("2.5")))
        again = read_frame(sock)
    assert msa(ack)[:3] == ["MSA", "AA", "NV-000451"]
    assert msa(again)[:2] == ["MSA", "AA"]
    assert Referral.objects.count() == 1


def test_bad_messages_in_frames_get_ae_and_ar(server):
    with connect(server) as sock:
        sock.sendall(frame(with_field(sample("2.5.1"), "PID", 7, "19801340"))
                     + frame("this is not HL7") + frame(sample("2.5.1")))
        acks = [read_frame(sock) for _ in range(3)]
    assert [msa(a)[1] for a in acks] == ["AE", "AR", "AA"]
    assert "PID-7: '19801340' is not a valid date" in acks[0].decode()
    assert Referral.objects.count() == 1


def test_a_frame_over_the_limit_is_refused_and_the_next_one_read(transactional_db, practice):
    server = MllpServer(host="127.0.0.1", port=0, max_bytes=4000)
    thread = server.start_in_thread()
    try:
        with connect(server) as sock:
            big = sample("2.5") + "\rNTE|1||" + "x" * 10000
            sock.sendall(frame(big) + frame(sample("2.4")))
            refused, accepted = read_frame(sock), read_frame(sock)
    finally:
        server.stop()
        thread.join(10)
    assert msa(refused)[:3] == ["MSA", "AR", "NV-000451"]
    assert "larger than" in refused.decode()
    assert msa(accepted)[:3] == ["MSA", "AA", "LK-77812"]
    assert Referral.objects.count() == 1


def test_frame_reader_handles_partial_and_several_frames():
    reader = FrameReader(max_bytes=100)
    assert reader.feed(b"\x0bMSH|one") == []
    assert reader.feed(b"\x1c") == []  # waits for the CR after FS
    assert reader.feed(b"\r\x0bMSH|two\x1c\r\x0bMSH") == [("message", b"MSH|one"),
                                                           ("message", b"MSH|two")]
    assert reader.feed(b"|three\x1c\rxx") == [("message", b"MSH|three"), ("junk", b"xx")]
    assert reader.feed(b"\x0b" + b"y" * 150) == [("too_large", b"y" * 150)]
    assert reader.feed(b"y" * 50 + b"\x1c\r\x0bok\x1c\r") == [("message", b"ok")]
