"""The HTTP front end: validate, store, enqueue, answer. It never loads a model."""

from __future__ import annotations

from flask import Flask, request

from ocrq.config import Settings, get_settings
from ocrq.queue import JobQueue
from ocrq.store.connection import connect


def create_app(settings: Settings | None = None, queue: JobQueue | None = None) -> Flask:
    """The Flask app with one blueprint per resource; ``queue`` may be injected by tests."""
    from ocrq.api import (
        auth,
        batches,
        conventions,
        errors,
        health,
        jobs,
        logcontext,
        metrics,
        openapi,
        outputs,
        predict,
    )
    from ocrq.api.limits import UploadDeadline, close_after_answer
    from ocrq.api.uploads import body_limit

    settings = settings or get_settings()
    app = Flask(__name__)
    # Multipart framing adds a little to the file itself; the image limit is enforced on the file below.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 64 * 1024
    # Werkzeug's multipart decoder checks this against its read buffer too, file parts included (64 KiB
    # reads plus the few bytes it keeps back): at 64 KiB, uploads over ~100 kB failed at random with 413.
    app.config["MAX_FORM_MEMORY_SIZE"] = 256 * 1024
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Flask's DefaultJSONProvider
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["ocrq.settings"] = settings
    # A long-poll holds one Redis connection (its pub/sub subscription) while it waits: the pool has room
    # for every connection this process may serve, not redis-py's default 100.
    app.extensions["ocrq.queue"] = queue or JobQueue(
        settings, connect(settings, max_connections=settings.api_connections + 64))
    errors.register(app)
    conventions.register(app, settings)  # first: the request id is in every later hook's log lines
    metrics.register(app)  # before auth: it counts the requests auth refuses too
    logcontext.register(app)
    # OCRQ_API_KEYS: /v1 and /ocr need a key (SECURITY.md)
    auth.register(app, settings.api_key_set, drain_limit=app.config["MAX_CONTENT_LENGTH"])
    for module in (health, jobs, outputs, predict, batches):
        app.register_blueprint(module.blueprint)
    from ocrq.api.web import blueprint as web_page  # the page at /, built only on the public job API
    app.register_blueprint(web_page)
    openapi.register(app)  # /openapi.json and /docs

    @app.before_request
    def _body_limit():  # a batch's files together, a JSON body's base64: more than one upload's bytes
        request.max_content_length = body_limit(settings, request.path, request.mimetype)[0]

    @app.after_request
    def _security_headers(response):
        response.headers["X-Content-Type-Options"] = "nosniff"
        if response.headers.get("Connection", "").lower() == "close":
            close_after_answer()  # the body was not read (408, 413): gunicorn must not drain it
        return response

    def limit(environ: dict) -> tuple[int, int]:  # this request's body limit, and its setting's value
        mimetype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        return body_limit(settings, environ.get("PATH_INFO", ""), mimetype)

    refusals = {setting: errors.too_large(setting) for setting in
                {settings.max_upload_bytes, settings.max_batch_bytes}}
    app.wsgi_app = UploadDeadline(  # type: ignore[method-assign]
        app.wsgi_app, settings.upload_timeout, lambda environ: limit(environ)[0],
        lambda environ: refusals[limit(environ)[1]])
    return app
