"""``/v1/jobs``: submit (202 + Location), list the caller's, read or long-poll, cancel or delete."""

from __future__ import annotations

import uuid

from flask import Blueprint, jsonify, request, url_for

from ocrq.api import context, idempotency, logcontext, metrics
from ocrq.api.conventions import ETAG_HEADERS, conditional, request_id
from ocrq.api.idempotency import idempotent
from ocrq.api.listing import listing
from ocrq.api.openapi import Reply, operation
from ocrq.api.params import no_query, read_query
from ocrq.api.uploads import read_image, read_options
from ocrq.errors import NotFound
from ocrq.metrics import JOBS_FINISHED
from ocrq.schemas import JobAccepted, JobDocument, JobList, JobListQuery, JobQuery, JobRemoved, JobSummary
from ocrq.store.jobs import Job

blueprint = Blueprint("jobs", __name__, url_prefix="/v1/jobs")


def job_document(job: Job, model: type[JobSummary] = JobDocument) -> dict:
    """The job as clients see it, shaped by ``JobDocument`` (or ``JobSummary``: no result)."""
    document = job.public()
    document["links"] = {"self": url_for("jobs.get_job", job_id=job.job_id)}
    return model.model_validate(document).dump()


def valid_id(value: str, kind: str = "job") -> str:
    """A job's (or batch's) id in canonical form; NotFound for anything that is not a UUID."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(f"no {kind} {value[:64]!r}") from None


@blueprint.post("")
@operation("Submit an image or a document (PDF, multi-page TIFF): 202 and the job to poll",
           {202: Reply(JobAccepted, "Stored and queued (or, with a known `Idempotency-Key`, the first answer "
                                    "again)", headers={"Location": "The job's URL"},
                       optional_headers=idempotency.REPLAYED_HEADER)},
           errors=(400, 408, 409, 413, 415, 422, 429, 503), upload=True, tags=("jobs",),
           parameters=(idempotency.PARAMETER,), notes={409: idempotency.CONFLICT})
def submit_job():
    settings = context.settings()
    data, document = read_image(request, settings)
    options = read_options(request, settings)
    with idempotent("jobs", options, [("", data)]) as guard:
        if guard.replay is not None:
            return guard.replay
        job = context.queue().submit(data, options, context.owner(),
                                     document.to_dict() if document else None, request_id=request_id())
        body: dict[str, object] = {"job_id": job.job_id, "status": job.status}
        if document:  # a multi-page document: its pages run as tasks of their own
            body["progress"] = {"done": 0, "total": document.pages}
        body["links"] = {"self": url_for("jobs.get_job", job_id=job.job_id)}
        metrics.job_submitted("jobs")
        logcontext.job_created(job.job_id)
        response = jsonify(JobAccepted.model_validate(body).dump())
        response.status_code = 202
        response.headers["Location"] = url_for("jobs.get_job", job_id=job.job_id)
        guard.complete(response)
        return response


@blueprint.get("")
@operation("List your jobs, newest first, a page at a time (`next` links to the following page)",
           {200: Reply(JobList, "A page of jobs (without results: read a job for its result)")},
           errors=(400, 503), query=JobListQuery, tags=("jobs",))
def list_jobs():
    query = read_query(JobListQuery)
    status, tag = query.status, query.tag

    def keep(job: Job) -> bool:
        return (status is None or job.status == status) and (tag is None or job.options.get("tag") == tag)

    store = context.store()
    return listing("jobs", store.index, query, store.summaries, keep,
                   lambda job: job_document(job, JobSummary), JobList)


@blueprint.get("/<job_id>")
@operation("Read a job, or long-poll it with `?wait=N`",
           {200: Reply(JobDocument, "The job", optional_headers=ETAG_HEADERS),
            304: Reply(None, "`If-None-Match` named the job as it still is")},
           errors=(400, 404, 503), query=JobQuery, tags=("jobs",))
def get_job(job_id: str):
    return conditional(jsonify(job_document(owned_job(job_id, wait_seconds()))))


def owned_job(job_id: str, wait: float = 0) -> Job:
    """The caller's job ``job_id`` (long-polled up to ``wait`` s); NotFound if unknown, gone or another
    key's."""
    job_id, store = valid_id(job_id), context.store()
    job = store.wait(job_id, wait, context.owner()) if wait > 0 else store.get(job_id, context.owner())
    if job is None:
        raise NotFound(f"no job {job_id} (unknown, expired or deleted)")
    return job


@blueprint.delete("/<job_id>")
@operation("Cancel a queued or running job, or delete a finished one",
           {200: Reply(JobRemoved, "Canceled or deleted")}, errors=(404, 503), tags=("jobs",))
def delete_job(job_id: str):
    job_id = valid_id(job_id)
    no_query()
    outcome = context.queue().cancel(job_id, context.owner())
    if outcome == "missing":
        raise NotFound(f"no job {job_id} (unknown, expired or deleted)")
    if outcome == "canceled":
        JOBS_FINISHED.labels("canceled", "").inc()
    removed = JobRemoved.model_validate({"job_id": job_id,
                                         "status": "canceled" if outcome == "canceled" else "deleted"})
    return jsonify(removed.dump())


def wait_seconds() -> float:
    """``?wait=N``: seconds to long-poll (validated by ``JobQuery``), capped by OCRQ_LONG_POLL_MAX."""
    return min(read_query(JobQuery).wait, context.settings().long_poll_max)
