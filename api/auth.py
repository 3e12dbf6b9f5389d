"""Optional API keys. With OCRQ_API_KEYS set, every ``/v1`` and ``/ocr`` request must present one of the
keys, as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; anything else gets 401.

Each key is its own tenant: jobs are filed under an identity derived from the key (a SHA-256 prefix, never
the key itself), so a job created with one key is not found (404) with another. ``/healthz``, ``/readyz``
and the web page stay open (the page asks for a key when the API answers 401).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, g, request

from ocrq.api.errors import error_response
from ocrq.api.limits import discard_body

PROTECTED = ("/v1", "/ocr")


def identity(key: bytes) -> str:
    """The owner a key's jobs are filed under: 128 bits of its SHA-256, so the key is never stored."""
    return "key:" + hashlib.sha256(key).hexdigest()[:32]


def presented_key() -> bytes | None:
    """The key the request carries, as the raw bytes the client sent, or None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        raw = value.strip()
    else:
        raw = request.headers.get("X-API-Key", "").strip()
    # WSGI hands header values over as latin-1 text; encoding back gives the bytes that were sent.
    return raw.encode("latin-1", errors="replace") if raw else None


def matching_identity(presented: bytes | None, keys: tuple[bytes, ...]) -> str | None:
    """The identity of the configured key equal to ``presented``, compared in constant time."""
    found = None
    for key in keys:  # no early exit: the time taken does not say which key, or how much, matched
        if hmac.compare_digest(presented or b"", key) and presented:
            found = key
    return identity(found) if found is not None else None


def is_protected(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PROTECTED)


def register(app: Flask, keys: tuple[bytes, ...], drain_limit: int = 0) -> None:
    """Require a key on the protected paths when ``keys`` is not empty; do nothing otherwise."""
    if not keys:
        return

    @app.before_request
    def _require_key():
        if not is_protected(request.path):
            return None
        owner = matching_identity(presented_key(), keys)
        if owner is None:
            response = error_response(
                401,
                "unauthorized",
                "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="ocrq"'
            discard_body(drain_limit)  # a browser still uploading then sees the 401, not a reset
            return response
        g.ocrq_owner = owner
        return None
