"""A request's log context: its X-Request-Id and the job it is about (from the path, or once created),
cleared when it ends, so every line logged while handling it carries both (common/logs.py)."""

from __future__ import annotations

import logging

from flask import Flask, request

from ocrq import logs
from ocrq.api.conventions import request_id

log = logging.getLogger("ocrq.api")


def register(app: Flask) -> None:
    @app.before_request
    def _bind():
        job_id = (request.view_args or {}).get("job_id")
        logs.set_context(request_id=request_id() or None,
                         job_id=job_id[:64] if job_id else None)  # the path's, as sent: keep it short

    @app.teardown_request
    def _clear(_exc: BaseException | None = None):
        logs.clear_context()  # gunicorn's threads serve one request after another


def job_created(job_id: str) -> None:
    """Bind the new job to the rest of the request, and say so (one line per accepted job)."""
    logs.add_context(job_id=job_id)
    log.info("job %s submitted", job_id, extra={"endpoint": request.endpoint,
                                                "content_length": request.content_length})
