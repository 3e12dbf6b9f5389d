"""The API worker's JSON answers for what gunicorn refuses before the app (the bytes it writes)."""

import json

from ocrq.api.gunicorn_worker import error_bytes


def test_gunicorn_refusals_are_the_api_error_document():
    raw = error_bytes(431, "Request Header Fields Too Large", "Error parsing headers: 'limit'")
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 431 Request Header Fields Too Large"
    assert "Content-Type: application/json" in lines and "Connection: close" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert json.loads(body) == {"error": {"code": "headers_too_large",
                                          "message": "Error parsing headers: 'limit'"}}
    plain = json.loads(error_bytes(400, "Bad Request", "").split(b"\r\n\r\n", 1)[1])
    assert plain == {"error": {"code": "bad_request", "message": "Bad Request"}}  # the reason, if no detail
