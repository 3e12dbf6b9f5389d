"""``/v1/batches``: several files in one request, each an ordinary job; read or long-poll them together.

A file that cannot be a job (not an image, empty, too large, too many pages...) fails alone: its item
carries the error, the others run. What makes the whole request unusable is refused with a 4xx: no
files, more than OCRQ_MAX_BATCH_ITEMS, a body over OCRQ_MAX_BATCH_BYTES, a bad option, a full queue.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid

import redis
from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.datastructures import FileStorage

from ocrq.api import context, idempotency, metrics
from ocrq.api.conventions import ETAG_HEADERS, conditional, request_id
from ocrq.api.idempotency import idempotent
from ocrq.api.jobs import valid_id, wait_seconds
from ocrq.api.listing import listing
from ocrq.api.openapi import Reply, _fields, operation
from ocrq.api.params import no_query, read_query
from ocrq.api.uploads import check_upload, read_options
from ocrq.config import Settings
from ocrq.errors import BadRequest, NotFound, OcrqError
from ocrq.metrics import JOBS_FINISHED
from ocrq.schemas import (
    BatchAccepted,
    BatchDocument,
    BatchList,
    BatchListQuery,
    BatchRemoved,
    BatchSummary,
    JobOptions,
    JobQuery,
)
from ocrq.store.batches import BatchItem, BatchStore, display_name, overall_status

blueprint = Blueprint("batches", __name__, url_prefix="/v1/batches")
FIELD = "images"


def batches() -> BatchStore:
    return BatchStore(context.store())


def _files_body() -> dict:
    """The request body of ``POST /v1/batches`` for the OpenAPI document."""
    file = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
    images = {"type": "array", "items": file, "minItems": 1,
              "description": "The files, one field each: images (JPEG, PNG, BMP, TIFF, WebP, GIF) or "
                             "documents (PDF, multi-page TIFF)"}
    return {"required": True, "description": f"Multipart field `{FIELD}`, repeated once per file, and the "
                                             "options of a job as more fields.",
            "content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {FIELD: images, **_fields(JobOptions)},
                "required": [FIELD]}}}}


@blueprint.post("")
@operation("Submit several files at once: 202 and the batch to poll; each file is a job",
           {202: Reply(BatchAccepted, "Stored and queued (a file that cannot be a job fails alone); with a "
                                      "known `Idempotency-Key`, the first answer again",
                       headers={"Location": "The batch's URL"},
                       optional_headers=idempotency.REPLAYED_HEADER)},
           errors=(400, 408, 409, 413, 429, 503), body=_files_body(), tags=("batches",),
           parameters=(idempotency.PARAMETER,), notes={409: idempotency.CONFLICT})
def submit_batch():
    settings = context.settings()  # a body over OCRQ_MAX_BATCH_BYTES is refused before this (api/limits.py)
    if request.mimetype != "multipart/form-data":
        raise BadRequest(f"send multipart/form-data with one file field '{FIELD}' per file "
                         f"(got {request.mimetype or 'no content type'})", code="missing_file")
    files = request.files.getlist(FIELD)
    if not files:
        raise BadRequest(f"send the files in the multipart field '{FIELD}', repeated once per file",
                         code="missing_file")
    if len(files) > settings.max_batch_items:
        raise BadRequest(f"a batch holds at most {settings.max_batch_items} files, not {len(files)}",
                         code="too_many_files")
    options = read_options(request, settings, files=(FIELD,))
    # the files are hashed (read through once more) only when an Idempotency-Key asks for a fingerprint
    with idempotent("batches", options, lambda: [(f.filename or "", _digest(f)) for f in files]) as guard:
        if guard.replay is not None:
            return guard.replay
        response = _store_batch(files, options, settings)
        guard.complete(response)
        return response


def _digest(upload: FileStorage) -> bytes:
    """SHA-256 of an uploaded file (for the Idempotency-Key's fingerprint), read in chunks and rewound."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: upload.stream.read(1 << 20), b""):
        digest.update(chunk)
    upload.stream.seek(0)
    return digest.digest()


def _store_batch(files: list[FileStorage], options: dict[str, str], settings: Settings) -> Response:
    """Store and enqueue every file that can be a job, then the batch record: the 202 answer."""
    queue, owner = context.queue(), context.owner()
    queue.check_limits(owner, len(files))  # once, before anything is stored: accepted whole or not at all
    items: list[BatchItem] = []
    try:
        for index, upload in enumerate(files):
            name = display_name(upload.filename)
            data = upload.read(settings.max_upload_bytes + 1)
            try:
                document = check_upload(data, settings)
            except OcrqError as exc:
                if exc.http_status >= 500:
                    raise
                items.append(BatchItem(index, name, error=exc.to_dict()))
                continue
            job = queue.submit(data, options, owner, document.to_dict() if document else None,
                               check_depth=False, request_id=request_id())
            items.append(BatchItem(index, name, job_id=job.job_id))
            metrics.job_submitted("batches")
        batch = batches().create(str(uuid.uuid4()), items, owner)
    except (OcrqError, redis.RedisError):  # Redis or the broker failed half-way: no orphan items left running
        for item in items:
            if item.job_id:  # undone, not ended: no webhook for these
                with contextlib.suppress(redis.RedisError):
                    queue.cancel(item.job_id, owner, notify=False)
        raise
    link = url_for("batches.get_batch", batch_id=batch.batch_id)
    status = overall_status(["queued" if item.job_id else "failed" for item in items])
    response = jsonify(BatchAccepted.model_validate({"batch_id": batch.batch_id, "status": status,
                                                     "total": len(items), "links": {"self": link}}).dump())
    response.status_code = 202
    response.headers["Location"] = link
    return response


@blueprint.get("")
@operation("List your batches, newest first, a page at a time (`next` links to the following page)",
           {200: Reply(BatchList, "A page of batches (without their items: read a batch for those)")},
           errors=(400, 503), query=BatchListQuery, tags=("batches",))
def list_batches():
    query = read_query(BatchListQuery)
    store = batches()

    def shape(summary: dict) -> dict:
        return BatchSummary.model_validate({**summary, "links": {"self": url_for(
            "batches.get_batch", batch_id=summary["batch_id"])}}).dump()

    def keep(summary: dict) -> bool:
        return query.status is None or summary["status"] == query.status

    return listing("batches", store.index, query, store.summaries, keep, shape, BatchList)


@blueprint.get("/<batch_id>")
@operation("Read a batch, or long-poll it with `?wait=N` until every item has ended",
           {200: Reply(BatchDocument, "The batch", optional_headers=ETAG_HEADERS),
            304: Reply(None, "`If-None-Match` named the batch as it still is")},
           errors=(400, 404, 503), query=JobQuery, tags=("batches",))
def get_batch(batch_id: str):
    batch_id = valid_id(batch_id, "batch")
    wait = wait_seconds()
    document = batches().view(batch_id, context.owner(), wait)
    if document is None:
        raise NotFound(f"no batch {batch_id} (unknown, expired or deleted)")
    document["links"] = {"self": url_for("batches.get_batch", batch_id=batch_id)}
    for item in document["items"]:
        if item["job_id"]:
            item["links"] = {"self": url_for("jobs.get_job", job_id=item["job_id"])}
    return conditional(jsonify(BatchDocument.model_validate(document).dump()))


@blueprint.delete("/<batch_id>")
@operation("Delete a batch: its items' jobs that have not ended are canceled, the rest deleted",
           {200: Reply(BatchRemoved, "Deleted")}, errors=(400, 404, 503), tags=("batches",))
def delete_batch(batch_id: str):
    batch_id = valid_id(batch_id, "batch")
    no_query()
    owner, store = context.owner(), batches()
    batch = store.get(batch_id, owner)
    if batch is None:
        raise NotFound(f"no batch {batch_id} (unknown, expired or deleted)")
    outcomes = [context.queue().cancel(item.job_id, owner) for item in batch.items if item.job_id]
    canceled = outcomes.count("canceled")
    if canceled:
        JOBS_FINISHED.labels("canceled", "").inc(canceled)
    store.remove(batch)
    return jsonify(BatchRemoved.model_validate({"batch_id": batch_id, "status": "deleted",
                                                "canceled": canceled,
                                                "deleted": outcomes.count("deleted")}).dump())
