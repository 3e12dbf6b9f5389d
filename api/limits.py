"""How long a request body may take to arrive: a client that stalls or trickles its upload would hold one
of gunicorn's threads for as long as it likes, and gunicorn has no body timeout of its own.

The deadline is set on the client's socket (gunicorn passes it as ``gunicorn.socket``), read by read;
under another server (Flask's, in tests) there is no socket to bound and nothing changes.
"""

from __future__ import annotations

import time

from flask import request

from ocrq.errors import RequestTimeout


class DeadlineInput:
    """``wsgi.input`` whose reads fail with RequestTimeout once ``deadline`` (monotonic) has passed."""

    def __init__(self, stream, sock, deadline: float, seconds: float) -> None:
        self._stream = stream
        self._sock = sock
        self._deadline = deadline
        self._seconds = seconds

    def _bounded(self, read, *args):
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._timeout()
        try:
            self._sock.settimeout(remaining)
            return read(*args)
        except TimeoutError:
            raise self._timeout() from None

    def _timeout(self) -> RequestTimeout:
        return RequestTimeout(f"the request body did not arrive within {self._seconds:g} s")

    def read(self, size: int | None = -1) -> bytes:
        return self._bounded(self._stream.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._bounded(self._stream.readline, size)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return self._bounded(self._stream.readlines, hint)

    def __iter__(self):
        while line := self.readline():
            yield line

    def discard(self) -> None:
        """Read and drop the rest of the body (gunicorn's reader stops at its end), until the deadline."""
        try:
            while self.read(64 * 1024):
                pass
        except (RequestTimeout, OSError):
            pass


def discard_body(limit: int) -> None:
    """Drop the unread body of a request that is refused (401, 413) if it declares at most ``limit``
    bytes, so that a client still sending reads the answer instead of a connection reset. Only under
    gunicorn, whose input ends with the body; elsewhere reading on could wait for bytes that never come."""
    stream = request.environ.get("wsgi.input")
    if isinstance(stream, DeadlineInput) and (request.content_length or 0) <= limit:
        stream.discard()


class UploadDeadline:
    """WSGI middleware: the request body must arrive within ``seconds`` of the request's start."""

    def __init__(self, app, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        if sock is None or not hasattr(sock, "settimeout"):
            return self.app(environ, start_response)
        deadline = time.monotonic() + self.seconds
        environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], sock, deadline, self.seconds)
        try:
            return self.app(environ, start_response)
        finally:
            sock.settimeout(None)  # writing the answer is not bound by the upload's deadline
