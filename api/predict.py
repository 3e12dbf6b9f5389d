"""``POST /ocr/predict``: the reference design's synchronous endpoint, on top of the job queue.

Answers ``{"success": true, "results": [{"text", "confidence", "box"}], "processing_time"}`` once the
job is done; after ``OCRQ_PREDICT_TIMEOUT`` seconds it answers 202 with the job id to poll instead.
"""

from __future__ import annotations

import time

from flask import Blueprint, jsonify, request, url_for

from ocrq.api import context, logcontext, metrics
from ocrq.api.conventions import request_id
from ocrq.api.openapi import Reply, operation
from ocrq.api.uploads import read_image, read_options
from ocrq.errors import status_for_code
from ocrq.schemas import ErrorResponse, PredictFailure, PredictOptions, PredictPending, PredictResult

blueprint = Blueprint("predict", __name__)


@blueprint.post("/ocr/predict")
@operation("Recognise an image and wait for the result (the reference design's synchronous call)",
           {200: Reply(PredictResult, "The lines"),
            202: Reply(PredictPending, "Not finished within `OCRQ_PREDICT_TIMEOUT` s: poll the link",
                       headers={"Location": "The job's URL"})},
           errors=(400, 408, 409, 413, 415, 422, 429, 502, 503, 504), upload=True, options=PredictOptions,
           failure=(ErrorResponse, PredictFailure), tags=("predict",),
           notes={502: "`worker_lost`: the job killed its worker process `OCRQ_MAX_ATTEMPTS` times",
                  503: "`service_unavailable`: Redis is unreachable (with `Retry-After`); or the job "
                       "failed with `upload_expired` (it waited longer than `OCRQ_UPLOAD_TTL_SECONDS`)",
                  504: "`timeout`: the worker took longer than `OCRQ_TASK_SOFT_TIME_LIMIT` on the image"},
           description="A job that fails in the worker answers with the status of its error code (422 "
                       "`undecodable_image`, 502 `worker_lost`, 503 `upload_expired`, 504 `timeout`) and "
                       "`PredictFailure`; a canceled one with 409. It takes `enhance` only: `priority`, "
                       "`tag` and "
                       "`callback_url` are options of `POST /v1/jobs` (400 `invalid_option` here).")
def predict():
    start = time.perf_counter()
    settings = context.settings()
    data, document = read_image(request, settings)
    job = context.queue().submit(data, read_options(request, settings, PredictOptions), context.owner(),
                                 document.to_dict() if document else None, request_id=request_id())
    metrics.job_submitted("predict")
    logcontext.job_created(job.job_id)
    done = context.store().wait(job.job_id, settings.predict_timeout, context.owner()) or job
    link = url_for("jobs.get_job", job_id=job.job_id)
    if done.status == "succeeded" and done.result is not None:
        return jsonify(PredictResult.model_validate({
            "success": True,
            "results": _results(done.result),
            "text": done.result["text"],
            "processing_time": round(time.perf_counter() - start, 3),
            "job_id": job.job_id,
        }).dump())
    if done.status in ("failed", "canceled"):
        error = done.error or {"code": "canceled", "message": "the job was canceled"}
        status = status_for_code(error["code"]) if done.status == "failed" else 409
        failure = PredictFailure.model_validate({"success": False, "error": error, "job_id": job.job_id})
        return jsonify(failure.dump()), status
    response = jsonify(PredictPending.model_validate({
        "success": False, "job_id": job.job_id, "status": done.status,
        "message": f"not finished within {settings.predict_timeout:g} s; poll the link",
        "links": {"self": link}}).dump())
    response.status_code = 202
    response.headers["Location"] = link
    return response


def _results(result: dict) -> list[dict]:
    """The reference design's line list; a document's lines in page order, each with its ``page``."""
    if "pages" not in result:
        return [{"text": x["text"], "confidence": x["confidence"], "box": x["box"]} for x in result["lines"]]
    return [{"page": page["page"], "text": x["text"], "confidence": x["confidence"], "box": x["box"]}
            for page in result["pages"] for x in page["lines"]]
