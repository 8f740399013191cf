"""Cross-process wake-ups of the dispatcher: one UDP datagram on 127.0.0.1 per submission.

With several HTTP processes (``salesplan serve --workers N``) the dispatcher lives in the supervisor
process; a submission in an HTTP process sends it a one-byte datagram so queued work starts at once
instead of at the next poll. Losing a datagram costs nothing but that delay (the dispatcher polls
every ``poll_s`` anyway), so a non-blocking send that ignores errors is enough.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable


class WakeListener:
    """A UDP socket on 127.0.0.1 whose datagrams call ``callback`` (from a daemon thread).

    Parameters
    ----------
    port
        Port to bind; 0 picks a free one (read it back from :attr:`port`).
    """

    def __init__(self, port: int = 0) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", port))
        self.port: int = self._sock.getsockname()[1]
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` for every datagram received, until :meth:`close`."""

        def run() -> None:
            while not self._closed:
                try:
                    self._sock.recv(64)
                except OSError:
                    return
                if not self._closed:
                    callback()

        self._thread = threading.Thread(target=run, name="salesplan-wake", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop listening."""
        self._closed = True
        with contextlib.suppress(OSError):  # unblock recv()
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", self.port))
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._sock.close()


def wake_sender(port: int) -> Callable[[], None]:
    """A function that wakes the listener on ``port`` (never blocks, never raises)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    addr = ("127.0.0.1", port)

    def wake() -> None:
        with contextlib.suppress(OSError):
            sock.sendto(b"w", addr)

    return wake


def noop() -> None:
    """Wake nobody (no dispatcher anywhere, e.g. ``start_dispatcher=False`` in tests)."""
