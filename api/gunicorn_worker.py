"""The API's gunicorn worker: gevent's, with the errors gunicorn answers by itself written as JSON.

gevent: each connection is a greenlet, so long-polls and slow clients cost memory, not one of a fixed
number of threads; a request's line and headers must arrive within ``--keep-alive`` seconds (gunicorn
wraps the parse in a ``gevent.Timeout``), and its body within OCRQ_UPLOAD_TIMEOUT (ocrq/api/limits.py).

What gunicorn refuses before the app sees the request (a malformed or duplicate ``Content-Length``,
``Content-Length`` with ``Transfer-Encoding``, a request line over ``--limit-request-line`` (414), too
many or too large headers (431), a bad chunk) it answers with ``gunicorn.util.write_error``, an HTML
page. This worker replaces that one function, in its own process only, by one that writes the API's
error document, ``{"error": {"code", "message"}}``, with the same status and ``Connection: close``.
"""

from __future__ import annotations

import json

from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

from ocrq.api.limits import serving

# gunicorn's statuses, named as the app names them (ocrq/api/errors.py HTTP_CODES).
CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long", 417: "expectation_failed",
         431: "headers_too_large", 500: "internal_error", 501: "not_implemented"}


def error_bytes(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP/1.1 response: the JSON error document for ``status``, then the connection closes."""
    body = json.dumps({"error": {"code": CODES.get(status, "bad_request"),
                                 "message": message or reason}}, ensure_ascii=False).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\n\r\n")
    return head.encode("latin-1") + body


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """``gunicorn.util.write_error``'s signature, a JSON body."""
    util.write_nonblock(sock, error_bytes(status_int, reason, mesg))


class ApiWorker(GeventWorker):
    """``--worker-class ocrq.api.gunicorn_worker.ApiWorker``."""

    def handle_request(self, listener_name, req, sock, addr):
        serving(req)  # so the app can end the connection after its answer (ocrq.api.limits)
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            serving(None)

    def init_process(self) -> None:
        util.write_error = write_json_error  # this worker process only; the master never answers requests
        super().init_process()
