"""``/``: the web page, plain HTML/CSS/JS modules built only on the public job API (no build step, no CDN)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("web", __name__, static_folder="static", static_url_path="/web/static")

# Everything the page loads comes from this server; uploads are previewed from blob: URLs.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "img-src 'self' blob: data:", "script-src 'self'", "style-src 'self'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
    "frame-ancestors 'none'",
])


@blueprint.get("/")
def index():
    response = blueprint.send_static_file("index.html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-cache"
    return response
