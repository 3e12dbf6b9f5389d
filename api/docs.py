"""``/docs``: Swagger UI reading ``/openapi.json``, entirely from this server (it works offline).

Swagger UI 5.34 (it reads OpenAPI 3.1) comes as the static files inside the pinned ``flask-swagger-ui``
wheel; only those files are used, with a page of our own: its script is a file, not inline, so the page
runs under a Content-Security-Policy that allows nothing from elsewhere, and the validator badge (which
would send the spec to a public service) is off.
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response

DIST = Path(flask_swagger_ui.__file__).parent / "dist"
blueprint = Blueprint("docs", __name__, static_folder=str(DIST), static_url_path="/docs/static")

# Swagger UI styles itself inline and shows the schema's SVG icons from data: URLs.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "img-src 'self' data:", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
    "frame-ancestors 'none'",
])

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>ocrq API</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <link rel="stylesheet" href="/docs/static/index.css">
  <link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""


@blueprint.get("/docs")
def page() -> Response:
    response = Response(PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@blueprint.get("/docs/init.js")
def init() -> Response:
    return Response(INIT, mimetype="text/javascript")
