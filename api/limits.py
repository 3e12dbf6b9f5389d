"""How long and how large a request body may be: a client that stalls or trickles its upload must not
hold the API, and one that declares too much is refused before anything is read.

Under gunicorn's gevent worker (ocrq/api/gunicorn_worker.py) every read of the body runs inside a
``gevent.Timeout`` for what is left of the request's deadline: a wall clock, however the bytes trickle.
Elsewhere (Flask's server in tests) the deadline is set on the client's socket read by read when there
is one (``gunicorn.socket``), which bounds a stall but not a trickle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import request

from ocrq.errors import RequestTimeout

try:  # gevent comes with the api extra; only its Timeout is used, and only when the socket is patched
    import gevent
    from gevent import monkey as _monkey
except ImportError:  # pragma: no cover - the worker extra alone has no gevent
    gevent = None
    _monkey = None


# The gunicorn request being served by this greenlet (ocrq/api/gunicorn_worker.py sets it; under gevent a
# threading.local is a greenlet's own).
_serving = threading.local()


def serving(req: object | None) -> None:
    _serving.req = req


def close_after_answer() -> None:
    """End the connection once this answer is sent, without reading the rest of the body: gunicorn drops
    an app's own ``Connection: close`` and would otherwise drain what the client still sends (up to its
    keep-alive) before the next request. Does nothing outside gunicorn."""
    req = getattr(_serving, "req", None)
    if req is not None:
        req.must_close = True


def cooperative() -> bool:
    """True inside a gevent-patched process (gunicorn's gevent worker)."""
    return _monkey is not None and _monkey.is_module_patched("socket")


class DeadlineInput:
    """``wsgi.input`` whose reads fail with RequestTimeout once ``deadline`` (monotonic) has passed."""

    def __init__(self, stream, sock, deadline: float, seconds: float) -> None:
        self._stream = stream
        self._sock = sock
        self._deadline = deadline
        self._seconds = seconds
        self._cooperative = cooperative()

    def _bounded(self, read: Callable[..., Any], *args: Any) -> Any:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._timeout()
        if self._cooperative:
            timeout = gevent.Timeout(remaining)
            timeout.start()
            try:
                return read(*args)
            except gevent.Timeout as exc:
                if exc is not timeout:
                    raise
                raise self._timeout() from None
            finally:
                timeout.close()
        try:
            if self._sock is not None:
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
    """Drop the unread body of a request that is refused (401) if it declares at most ``limit`` bytes,
    so that a client still sending reads the answer instead of a connection reset. Only under gunicorn,
    whose input ends with the body; elsewhere reading on could wait for bytes that never come."""
    stream = request.environ.get("wsgi.input")
    if isinstance(stream, DeadlineInput) and (request.content_length or 0) <= limit:
        stream.discard()


def declared_length(environ: dict) -> int | None:
    """The request's ``Content-Length`` as a number (gunicorn has refused a malformed one already)."""
    raw = environ.get("CONTENT_LENGTH") or ""
    return int(raw) if raw.isdigit() else None


class UploadDeadline:
    """WSGI middleware: a body declared over its limit is answered 413 before a byte of it is read, and
    the rest must arrive within ``seconds`` of the request reaching the app. ``limit(environ)`` is the
    most bytes this request's body may have and ``too_large(environ)`` the WSGI app that refuses it."""

    def __init__(self, app, seconds: float, limit: Callable[[dict], int],
                 too_large: Callable[[dict], Callable[..., Iterable[bytes]]]) -> None:
        self.app = app
        self.seconds = seconds
        self.limit = limit
        self.too_large = too_large  # ocrq/api/errors.py

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        length = declared_length(environ)
        if length is not None and length > self.limit(environ):
            close_after_answer()
            return self.too_large(environ)(environ, start_response)
        sock = environ.get("gunicorn.socket")
        if sock is None or not hasattr(sock, "settimeout"):
            return self.app(environ, start_response)
        deadline = time.monotonic() + self.seconds
        environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], sock, deadline, self.seconds)
        try:
            return self.app(environ, start_response)
        finally:
            if not cooperative():
                sock.settimeout(None)  # writing the answer is not bound by the upload's deadline
