"""A real SMTP server on loopback (aiosmtpd) for the outbox tests, and helpers around it.

    def test_something(smtp_server, settings):   # settings already point Django at it
        ...
        smtp_server.fail_next(451, count=2)      # answer the next two DATA with 451
        smtp_server.block_nth(3)                 # hold the 3rd message from now in DATA
        smtp_server.blocked.wait(5); smtp_server.release()
        smtp_server.wait_for(10, timeout=10)     # until 10 messages were accepted

LoopbackSmtp is importable on its own (bench/outbox.py uses it).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    message_id: str
    mail_from: str
    rcpt_tos: list[str]
    peer: tuple  # the client's (host, port): one value per SMTP connection
    raw: bytes = b""

    @property
    def email(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


@dataclass
class _Plan:
    failures: list[tuple[int, str]] = field(default_factory=list)
    block_at: int | None = None  # block the DATA whose running number is this


class LoopbackSmtp:
    """An aiosmtpd server in a thread, recording what it accepted."""

    def __init__(self, *, keep_raw: bool = True) -> None:
        self.keep_raw = keep_raw
        self.port = free_port()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.data_count = 0  # DATA commands seen, accepted or not
        self.plan = _Plan()
        self.blocked = threading.Event()  # set while a message is held in DATA
        self._release = threading.Event()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    # -- what tests call -----------------------------------------------------------------
    def start(self) -> LoopbackSmtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.controller.stop()

    def fail_next(self, code: int, count: int = 1, text: str | None = None) -> None:
        text = text or ("4.3.0 Try again later" if code < 500 else "5.1.1 Mailbox unavailable")
        with self.lock:
            self.plan.failures.extend([(code, text)] * count)

    def block_nth(self, n: int) -> None:
        """Hold the n-th message from now (1 = the next one) in DATA until release()."""
        with self.lock:
            self.plan.block_at = self.data_count + n
            self._release.clear()
            self.blocked.clear()

    def release(self) -> None:
        self._release.set()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"the SMTP server got {len(self.received)} messages, "
                             f"not {count}, within {timeout}s")

    def message_ids(self) -> list[str]:
        with self.lock:
            return [r.message_id for r in self.received]

    def env(self) -> dict[str, str]:
        """Environment for a `refnet worker` subprocess that should send here."""
        return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port), "EMAIL_TIMEOUT": "10"}

    # -- the aiosmtpd handler -----------------------------------------------------------
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.data_count += 1
            number = self.data_count
            failure = self.plan.failures.pop(0) if self.plan.failures else None
            block = self.plan.block_at == number
        if failure:
            return f"{failure[0]} {failure[1]}"
        if block:
            self.blocked.set()
            # Polls a threading.Event; if the client goes away meanwhile, aiosmtpd cancels
            # this coroutine and the message is never recorded, like a real server's.
            while not self._release.is_set():
                await asyncio.sleep(0.02)
            if server.transport is None or server.transport.is_closing():
                return "421 4.4.2 Connection lost"
        content = envelope.original_content or envelope.content
        message_id = ""
        for line in content.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                message_id = line.split(b":", 1)[1].strip().decode()
                break
        with self.lock:
            self.received.append(Received(
                message_id=message_id, mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos), peer=tuple(session.peer),
                raw=content if self.keep_raw else b""))
        return "250 2.0.0 Message accepted"


@pytest.fixture
def smtp_server(settings):
    """A started LoopbackSmtp; Django's email settings point at it for this test."""
    server = LoopbackSmtp().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def outbox_data_dir(settings, tmp_path):
    """Letters, faxes and texts land in the test's own directory."""
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def enqueue(db, make_partner):
    """enqueue(channel="email", audience="general", **fields) -> a queued OutboxMessage,
    through outbox.services.message_enqueue, to a fresh partner unless one is given."""
    from refnet.outbox.services import message_enqueue

    addresses = {"email": "pat.partner@clinic.example", "sms": "(303) 555-0142",
                 "fax": "(303) 555-0199", "letter": "Pat Partner\n12 Elm St\nDenver, CO 80202"}
    counter = iter(range(1, 10_000))

    def make(channel: str = "email", audience: str = "general", **fields):
        partner = fields.pop("partner", None)
        if partner is None:
            partner = make_partner(name=f"Partner {next(counter)}", kind="local_business")
        values = {
            "purpose": "thank_you", "contact": None, "referral": None, "template": None,
            "to_name": "Pat Partner", "to_address": addresses.get(channel, ""),
            "subject": "Thank you", "body_text": "Thank you for sending people our way.",
            "body_html": "", "names_patient": False, "by": None, "dedupe_key": None,
        }
        values.update(fields)
        return message_enqueue(channel=channel, audience=audience, partner=partner, **values)

    return make
