"""MLLP (HL7's minimal lower layer protocol): a message travels as <VT> message <FS><CR>.

- FrameReader turns whatever TCP delivers (half a frame, three frames in one read) into
  messages, and reports bytes outside any frame (discarded) and frames over the size limit.
- MllpServer is the asyncio listener behind `refnet mllp`: one ACK per message, in order,
  many messages per connection; each message is handled by hl7_receive in Django's sync
  thread (sync_to_async, thread_sensitive), with old database connections closed around it.
- mllp_send is the blocking client the worker uses to deliver RRI^I12 replies.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

START, END, CR = b"\x0b", b"\x1c", b"\r"
MAX_FRAME_BYTES = 1024 * 1024
MAX_JUNK_BYTES = 64 * 1024  # bytes outside frames tolerated per connection before closing

log = logging.getLogger("refnet.hl7")


def frame(text: str) -> bytes:
    return START + text.encode("utf-8") + END + CR


class FrameReader:
    """Incremental MLLP decoder. feed(data) returns a list of (kind, payload):
    ("message", bytes) for each complete frame, ("too_large", first bytes) for a frame over
    the limit (the rest of it is skipped), ("junk", bytes) for data outside a frame."""

    def __init__(self, max_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.in_frame = False
        self.skipping = False  # inside a frame that was too large
        self.junk_bytes = 0

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        self.buffer += data
        out: list[tuple[str, bytes]] = []
        while self.buffer:
            if not self.in_frame:
                start = self.buffer.find(START)
                junk = bytes(self.buffer if start < 0 else self.buffer[:start])
                if junk.strip(b"\r\n \t"):
                    self.junk_bytes += len(junk)
                    out.append(("junk", junk[:200]))
                if start < 0:
                    self.buffer.clear()
                    break
                del self.buffer[:start + 1]
                self.in_frame = True
                continue
            end = self.buffer.find(END)
            if end < 0:
                if len(self.buffer) > self.max_bytes:
                    if not self.skipping:
                        out.append(("too_large", bytes(self.buffer[:4096])))
                        self.skipping = True
                    self.buffer.clear()
                break
            if end + 1 >= len(self.buffer):
                break  # <FS> seen; wait for the <CR> that should follow
            payload = bytes(self.buffer[:end])
            del self.buffer[:end + (2 if self.buffer[end + 1:end + 2] == CR else 1)]
            self.in_frame = False
            if self.skipping:
                self.skipping = False
            elif len(payload) > self.max_bytes:
                out.append(("too_large", payload[:4096]))
            else:
                out.append(("message", payload))
        return out


def handle_message(payload: bytes, *, truncated: bool, actor: str, address: str | None) -> str:
    """One message through the shared path, in the sync thread, with fresh connections."""
    from .services import hl7_receive

    close_old_connections()
    try:
        return hl7_receive(payload, channel="mllp", actor=actor, address=address,
                           path="mllp", truncated=truncated).ack
    finally:
        close_old_connections()


class MllpServer:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 2575, actor: str = "mllp",
                 idle_timeout: float = 600.0, max_bytes: int = MAX_FRAME_BYTES,
                 handler: Callable[..., str] = handle_message) -> None:
        self.host, self.port, self.actor = host, port, actor
        self.idle_timeout, self.max_bytes, self.handler = idle_timeout, max_bytes, handler
        self.server: asyncio.base_events.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self.ready = threading.Event()
        self.connections: set[asyncio.Task] = set()

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) else None
        frames = FrameReader(self.max_bytes)
        handle = sync_to_async(self.handler, thread_sensitive=True)
        task = asyncio.current_task()
        if task is not None:
            self.connections.add(task)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(65536), self.idle_timeout)
                except TimeoutError:
                    log.info("mllp: closing idle connection from %s", address)
                    break
                if not data:
                    break
                for kind, payload in frames.feed(data):
                    if kind == "junk":
                        log.warning("mllp: discarded %d bytes outside a frame from %s",
                                    len(payload), address)
                        continue
                    ack = await handle(payload, truncated=kind == "too_large",
                                       actor=f"mllp:{self.actor}", address=address)
                    writer.write(frame(ack))
                    await writer.drain()
                if frames.junk_bytes > MAX_JUNK_BYTES:
                    log.warning("mllp: closing %s: too much data outside frames", address)
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            if task is not None:
                self.connections.discard(task)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, asyncio.CancelledError):
                pass

    async def run(self, *, install_signals: bool = False) -> None:
        """Serve until stop() (or SIGTERM/SIGINT with install_signals): stop accepting, let
        each connection finish the message in hand, close."""
        import signal

        self.loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        self.server = await asyncio.start_server(self._connection, self.host, self.port,
                                                 limit=self.max_bytes + 4096)
        self.port = self.server.sockets[0].getsockname()[1]
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.loop.add_signal_handler(sig, self.stopping.set)
        log.info("mllp: listening on %s:%d", self.host, self.port)
        self.ready.set()
        try:
            await self.stopping.wait()
        finally:
            self.server.close()
            await self.server.wait_closed()
            for task in list(self.connections):
                task.cancel()
            if self.connections:
                await asyncio.wait(list(self.connections), timeout=5)
            # The handler thread's database connection goes with the server.
            await sync_to_async(connections.close_all, thread_sensitive=True)()
            log.info("mllp: stopped")

    def stop(self) -> None:
        if self.loop is not None and self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)

    def start_in_thread(self) -> threading.Thread:
        """For tests: serve in a daemon thread; returns once listening (self.port set)."""
        thread = threading.Thread(target=lambda: asyncio.run(self.run()), daemon=True,
                                  name="mllp-server")
        thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the MLLP server did not start")
        return thread


def read_frame(sock: socket.socket, *, max_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """Read one framed reply from a blocking socket (its timeout applies to each read)."""
    reader = FrameReader(max_bytes)
    while True:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the peer closed the connection before replying")
        for kind, payload in reader.feed(data):
            if kind == "message":
                return payload
            if kind == "too_large":
                raise ConnectionError("the peer's reply is too large")


def mllp_send(host: str, port: int, text: str, *, timeout: float = 10.0) -> str:
    """Send one message and return the peer's reply (its ACK). Raises OSError on network
    trouble or a timeout."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(frame(text))
        reply = read_frame(sock)
    return reply.decode("utf-8", errors="replace")
