"""``/v1/jobs``: submit (202 + Location), read or long-poll, cancel or delete."""

from __future__ import annotations

import uuid

from flask import Blueprint, jsonify, request, url_for

from api import context
from api.uploads import read_image, read_options
from common.errors import InvalidOption, NotFound
from common.jobs import Job

blueprint = Blueprint("jobs", __name__, url_prefix="/v1/jobs")


def job_document(job: Job) -> dict:
    document = job.public()
    document["links"] = {"self": url_for("jobs.get_job", job_id=job.job_id)}
    return document


def _valid_id(job_id: str) -> str:
    try:
        return str(uuid.UUID(job_id))
    except ValueError:
        raise NotFound(f"no job {job_id[:64]!r}") from None


@blueprint.post("")
def submit_job():
    settings = context.settings()
    data, _ = read_image(request, settings)
    job = context.queue().submit(data, read_options(request, settings), context.owner())
    response = jsonify({"job_id": job.job_id, "status": job.status,
                        "links": {"self": url_for("jobs.get_job", job_id=job.job_id)}})
    response.status_code = 202
    response.headers["Location"] = url_for("jobs.get_job", job_id=job.job_id)
    return response


@blueprint.get("/<job_id>")
def get_job(job_id: str):
    job_id = _valid_id(job_id)
    wait = _wait_seconds(request.args.get("wait"))
    store = context.store()
    job = store.wait(job_id, wait, context.owner()) if wait > 0 else store.get(job_id, context.owner())
    if job is None:
        raise NotFound(f"no job {job_id} (unknown, expired or deleted)")
    return jsonify(job_document(job))


@blueprint.delete("/<job_id>")
def delete_job(job_id: str):
    job_id = _valid_id(job_id)
    outcome = context.store().cancel(job_id, context.owner())
    if outcome == "missing":
        raise NotFound(f"no job {job_id} (unknown, expired or deleted)")
    return jsonify({"job_id": job_id, "status": "canceled" if outcome == "canceled" else "deleted"})


def _wait_seconds(raw: str | None) -> float:
    """``?wait=N``: seconds to long-poll, capped by OCRQ_LONG_POLL_MAX."""
    if raw is None or raw == "":
        return 0.0
    try:
        wait = float(raw)
    except ValueError:
        raise InvalidOption(f"wait must be a number of seconds, not {raw[:20]!r}") from None
    if not 0 <= wait < float("inf"):
        raise InvalidOption("wait must be a non-negative number of seconds")
    return min(wait, context.settings().long_poll_max)
