"""HTTP conventions every answer follows: an ``X-Request-Id`` (the client's, or a new one) in the answer
and in every log line of the request, CORS for the origins OCRQ_CORS_ORIGINS allows, and ETags on the
documents clients poll (``If-None-Match`` answers 304)."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

from ocrq.config import Settings

REQUEST_ID = "X-Request-Id"
# A client's id is kept if it is 1-128 visible ASCII characters (it goes into headers and log lines).
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
# What a browser app on another origin may send and read.
CORS_METHODS = "GET, POST, DELETE"
CORS_REQUEST_HEADERS = ("Authorization, X-API-Key, Content-Type, Idempotency-Key, X-Request-Id, "
                        "If-None-Match")
CORS_EXPOSED = "Location, Retry-After, ETag, X-Request-Id, Idempotency-Replayed, WWW-Authenticate"
CORS_MAX_AGE = "600"
ETAG_HEADERS = {"ETag": "The document's version: send it back as `If-None-Match` to get 304 while it is "
                        "unchanged"}


def request_id() -> str:
    """This request's id ("" outside a request the app is handling)."""
    return g.get("ocrq_request_id", "")


def cors_origins(setting: str) -> frozenset[str] | None:
    """OCRQ_CORS_ORIGINS as a set of origins (``*``: any); None when CORS is off."""
    origins = frozenset(o.strip().rstrip("/") for o in setting.split(",") if o.strip())
    return origins or None


def conditional(response: Response) -> Response:
    """The answer with a strong ``ETag`` of its body; 304 with no body when ``If-None-Match`` has it."""
    response.add_etag()
    response.make_conditional(request)  # turns ``response`` itself into the 304 when it matches
    return response


def register(app: Flask, settings: Settings) -> None:
    """Before every other hook: the request id, and the answer to a CORS preflight (which carries no
    credentials, so it must not reach the API-key check)."""
    origins = cors_origins(settings.cors_origins)

    def allowed_origin() -> str | None:
        origin = request.headers.get("Origin", "")
        if origins is None or not origin:
            return None
        return "*" if "*" in origins else origin if origin in origins else None

    @app.before_request
    def _request_id():
        sent = request.headers.get(REQUEST_ID, "")
        g.ocrq_request_id = sent if _CLIENT_ID.match(sent) else uuid.uuid4().hex
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method") \
                and allowed_origin():
            return Response(status=204, headers={"Access-Control-Allow-Methods": CORS_METHODS,
                                                 "Access-Control-Allow-Headers": CORS_REQUEST_HEADERS,
                                                 "Access-Control-Max-Age": CORS_MAX_AGE})
        return None

    @app.after_request
    def _answer_headers(response: Response) -> Response:
        response.headers[REQUEST_ID] = request_id()
        origin = allowed_origin()
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
            if origin != "*":
                response.vary.add("Origin")
        return response
