"""``POST /ocr/predict``: the reference design's synchronous endpoint, on top of the job queue.

Answers ``{"success": true, "results": [{"text", "confidence", "box"}], "processing_time"}`` once the
job is done; after ``OCRQ_PREDICT_TIMEOUT`` seconds it answers 202 with the job id to poll instead.
"""

from __future__ import annotations

import time

from flask import Blueprint, jsonify, request, url_for

from api import context
from api.uploads import read_image, read_options
from common.errors import status_for_code

blueprint = Blueprint("predict", __name__)


@blueprint.post("/ocr/predict")
def predict():
    start = time.perf_counter()
    settings = context.settings()
    data, _ = read_image(request, settings)
    job = context.queue().submit(data, read_options(request, settings), context.owner())
    done = context.store().wait(job.job_id, settings.predict_timeout, context.owner()) or job
    link = url_for("jobs.get_job", job_id=job.job_id)
    if done.status == "succeeded":
        lines = done.result["lines"]
        return jsonify({
            "success": True,
            "results": [{"text": x["text"], "confidence": x["confidence"], "box": x["box"]} for x in lines],
            "text": done.result["text"],
            "processing_time": round(time.perf_counter() - start, 3),
            "job_id": job.job_id,
        })
    if done.status in ("failed", "canceled"):
        error = done.error or {"code": "canceled", "message": "the job was canceled"}
        status = status_for_code(error["code"]) if done.status == "failed" else 409
        return jsonify({"success": False, "error": error, "job_id": job.job_id}), status
    response = jsonify({"success": False, "job_id": job.job_id, "status": done.status,
                        "message": f"not finished within {settings.predict_timeout:g} s; poll the link",
                        "links": {"self": link}})
    response.status_code = 202
    response.headers["Location"] = link
    return response
