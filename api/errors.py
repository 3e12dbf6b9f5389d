"""Every error is JSON: ``{"error": {"code", "message"}}`` with the right status, never a stack trace."""

from __future__ import annotations

import json
import logging

import redis
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ocrq.api.uploads import body_limit
from ocrq.errors import OcrqError
from ocrq.schemas import ErrorBody, ErrorResponse

log = logging.getLogger("ocrq.api")

# Werkzeug's HTTP errors, named for machines.
HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
    408: "request_timeout",
    411: "length_required", 413: "payload_too_large", 415: "unsupported_media_type",
    429: "too_many_requests", 431: "headers_too_large",
}


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    response = jsonify(ErrorResponse(error=ErrorBody(code=code, message=message)).dump())
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def too_large_message(limit: int) -> str:
    return f"the upload is larger than the {limit:,}-byte limit"


def too_large(limit: int):
    """The WSGI app UploadDeadline (ocrq/api/limits.py) answers with: 413 for a body declared over the
    limit, before any of it is read (outside Flask, so built here rather than by error_response)."""
    body = json.dumps(ErrorResponse(error=ErrorBody(code="payload_too_large",
                                                    message=too_large_message(limit))).dump())

    def answer(environ: dict, start_response):
        return Response(body, 413, {"Content-Type": "application/json", "Connection": "close",
                                    "X-Content-Type-Options": "nosniff"})(environ, start_response)

    return answer


def register(app: Flask) -> None:
    @app.errorhandler(OcrqError)
    def _ocrq_error(exc: OcrqError):
        retry_after = str(getattr(exc, "retry_after", 5))  # a QueueFull says how long its limit lasts
        headers = {"Retry-After": retry_after} if exc.http_status in (429, 503) else {}
        if exc.http_status in (408, 413):
            headers["Connection"] = "close"  # the rest of the body was not read: do not reuse the connection
        return error_response(exc.http_status, exc.code, exc.message, headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        message = exc.description or exc.name
        headers = {}
        allowed = getattr(exc, "valid_methods", None)
        if status == 405 and allowed:  # RFC 9110: a 405 names the methods the resource has
            headers["Allow"] = ", ".join(allowed)
        if status == 413:
            settings = app.extensions["ocrq.settings"]
            message = too_large_message(body_limit(settings, request.path, request.mimetype)[1])
            headers["Connection"] = "close"  # the rest is not read: the connection cannot be reused
        return error_response(status, HTTP_CODES.get(status, "http_error"), message, headers)

    @app.errorhandler(redis.RedisError)
    def _redis_down(exc: redis.RedisError):
        log.warning("redis unavailable: %s", type(exc).__name__)
        return error_response(503, "service_unavailable", "the job store is unavailable; retry later",
                              {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "the server failed; the error is logged")
