"""A second process that reads and checks a file while this one writes: the child runs
`python -m <module>`, reads its options marshalled on stdin and writes its results as
framed marshalled messages on stdout; the parent yields them. Used by the NPPES import
(registry.nppes_parse) and the referral file import (imports.referral_reader).

marshal, not pickle: about three times cheaper for tuples and dicts of strings and numbers,
and both ends are the same Python. In the child a thread does the (blocking) writes so that
reading goes on meanwhile, at most a few messages ahead of the parent; in the parent a
thread takes them off the pipe so that the child never waits for a commit. A failure in the
child reaches the parent as ("error", text) and is raised there; Ctrl-C is the parent's to
handle (the child ignores SIGINT and is killed when the parent stops reading)."""

from __future__ import annotations

import marshal
import os
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

FRAME = struct.Struct("<Q")  # each marshalled message on the pipe is preceded by its size
AHEAD = 3  # messages the child may be ahead of the parent


def frames(source) -> Iterator[bytes]:
    """The marshalled messages read from a binary stream (framed by FRAME), until its end."""
    while True:
        head = source.read(FRAME.size)
        if len(head) < FRAME.size:
            return
        (size,) = FRAME.unpack(head)
        body = source.read(size)
        if len(body) < size:
            return
        yield body


def child_options() -> dict:
    """In the child: the options the parent sent."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return marshal.loads(sys.stdin.buffer.read())


def child_serve(produce: Callable[[], Iterable[Any]]) -> None:
    """In the child: write each message `produce()` yields, then None (the end)."""
    out = sys.stdout.buffer
    outbox: queue.Queue = queue.Queue(maxsize=AHEAD)
    gone = threading.Event()

    def send() -> None:
        while (body := outbox.get()) is not None:
            try:
                out.write(FRAME.pack(len(body)))
                out.write(body)
                out.flush()
            except OSError:  # the parent is gone
                gone.set()
                return

    sender = threading.Thread(target=send, daemon=True)
    sender.start()

    def put(message) -> None:
        body = marshal.dumps(message)
        while not gone.is_set():
            try:
                outbox.put(body, timeout=1)
                return
            except queue.Full:
                pass
        raise BrokenPipeError

    try:
        for message in produce():
            put(message)
        put(None)
    except BrokenPipeError:
        return
    except Exception as error:  # noqa: BLE001 - handed to the parent, which fails
        put(("error", f"{type(error).__name__}: {error}"))
    outbox.put(None)
    sender.join()


class Child:
    """In the parent: `python -m module` started at once with `options`; iterating yields
    each message (the child's failure is raised as RuntimeError) until the child's end;
    close() stops it. Several children can run side by side (the NPPES import's readers)."""

    def __init__(self, module: str, options: dict, *, name: str = "pipe") -> None:
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.process = subprocess.Popen([sys.executable, "-m", module],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.inbox: queue.Queue = queue.Queue(maxsize=AHEAD)
        try:
            self.process.stdin.write(marshal.dumps(options))
            self.process.stdin.close()
        except BaseException:
            self.close()
            raise
        threading.Thread(target=self._receive, name=f"{name}-receive", daemon=True).start()

    def _receive(self) -> None:
        for body in frames(self.process.stdout):
            self.inbox.put(body)
        self.inbox.put(b"")

    def __iter__(self) -> Iterator[Any]:
        while True:
            body = self.inbox.get()
            if not body:
                raise RuntimeError(f"the reader process stopped (exit code "
                                   f"{self.process.wait()}) before the end of the file")
            item = marshal.loads(body)
            if item is None:
                return
            if isinstance(item, tuple) and len(item) == 2 and item[0] == "error":
                raise RuntimeError(f"reading the file failed: {item[1]}")
            yield item

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        while not self.inbox.empty():  # lets the receiving thread finish
            self.inbox.get_nowait()


def run_child(module: str, options: dict, *, name: str = "pipe") -> Iterator[Any]:
    """In the parent: start `python -m module`, send `options`, yield each message (the
    child's failure is raised as RuntimeError). Closing the generator stops the child."""
    child = Child(module, options, name=name)
    try:
        yield from child
    finally:
        child.close()
