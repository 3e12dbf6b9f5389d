"""A job's result in other formats, and its pages as images: ``/v1/jobs/<id>/result.{txt,hocr,xml,pdf}``,
``/v1/jobs/<id>/result`` by ``Accept``, ``/v1/jobs/<id>/pages/<n>.{png,jpg}``. Owner-checked like the
job; the renderers are in common/outputs/ (no OCR engine here)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from pydantic import TypeAdapter

from ocrq.api import context
from ocrq.api.jobs import owned_job
from ocrq.api.openapi import Reply, operation
from ocrq.errors import NotAcceptable, ResultNotReady, UploadGone
from ocrq.outputs import OUTPUT_FORMATS, render_output
from ocrq.outputs.page_image import PREVIEW_SIDE, PREVIEW_TYPES, page_preview
from ocrq.schemas import DocumentResult, OcrResult
from ocrq.store.jobs import Job

blueprint = Blueprint("outputs", __name__, url_prefix="/v1/jobs")

JSON = "application/json"
# What `Accept` may ask of /result: the media type (without parameters) -> the format; JSON is the job's
# own `result`. text/html and application/xml too, the generic names of hOCR and ALTO.
ACCEPTED = {JSON: "json", "text/plain": "txt", "text/vnd.hocr+html": "hocr", "text/html": "hocr",
            "application/alto+xml": "xml", "application/xml": "xml", "application/pdf": "pdf"}
# The JSON answer is shaped like the job's `result` (common/schemas.py): only declared fields reach clients.
RESULT = TypeAdapter(OcrResult | DocumentResult)
NOT_READY = "`not_finished`: the job is queued or running (poll it); `no_result`: it failed or was canceled"
GONE = ("`upload_gone`: the upload is no longer stored (the server runs with `OCRQ_KEEP_UPLOADS=false`, "
        "or it expired)")
UNWRITABLE = "`undecodable_document`: a PDF upload PDFium read but QPDF cannot rewrite with a text layer"
FORMAT_NAMES = {"txt": "plain text (a document's pages separated by form feeds)",
                "hocr": "hOCR 1.2 (XHTML: ocr_page, ocr_carea, ocr_par, ocr_line, ocrx_word with bbox)",
                "xml": "ALTO XML v4.4 (positions in pixels)",
                "pdf": "a searchable PDF: the pages (a PDF's own, untouched) under an invisible text layer"}


def _finished_job(job_id: str) -> Job:
    job = owned_job(job_id)
    if job.status != "succeeded" or job.result is None:
        if job.finished:
            raise ResultNotReady(f"the job {job.status}: it has no result", code="no_result")
        raise ResultNotReady(f"the job is {job.status}; poll it until it has succeeded")
    return job


def _upload(job: Job) -> bytes:
    data = context.store().upload(job.job_id)
    if data is None:
        raise UploadGone(f"the upload of job {job.job_id} is no longer stored")
    return data


def _answer(job: Job, fmt: str) -> Response:
    spec = OUTPUT_FORMATS[fmt]
    assert job.result is not None
    upload = _upload(job) if spec.needs_upload else None
    body = render_output(fmt, job.result, upload, job.document, name=job.job_id)
    response = Response(body, 200, content_type=spec.media_type)
    response.headers["Content-Disposition"] = f'inline; filename="{job.job_id}.{spec.extension}"'
    response.headers["Vary"] = "Accept"
    return response


def _format_view(fmt: str):
    def view(job_id: str):
        return _answer(_finished_job(job_id), fmt)

    view.__name__ = f"result_{fmt}"
    media = OUTPUT_FORMATS[fmt].media_type.split(";")[0]
    errors = (404, 409, 410, 422, 503) if OUTPUT_FORMATS[fmt].needs_upload else (404, 409, 503)
    return operation(f"A succeeded job's result as {FORMAT_NAMES[fmt]}",
                     {200: Reply(None, FORMAT_NAMES[fmt], media=media,
                                 schema={"type": "string"} if media.startswith("text/") or
                                 media.endswith("xml") else {"type": "string", "format": "binary"})},
                     errors=errors, tags=("jobs",), notes={409: NOT_READY, 410: GONE, 422: UNWRITABLE})(view)


for _fmt in OUTPUT_FORMATS:
    blueprint.add_url_rule(f"/<job_id>/result.{_fmt}", view_func=_format_view(_fmt))


@blueprint.get("/<job_id>/result")
@operation("A succeeded job's result in the format `Accept` asks for",
           {200: Reply((OcrResult, DocumentResult), "JSON (the job's `result`) by default; by `Accept`: "
                       + ", ".join(f"`{m}`" for m in ACCEPTED if m != JSON),
                       alternatives=tuple(m for m in ACCEPTED if m != JSON))},
           errors=(404, 406, 409, 410, 422, 503), tags=("jobs",),
           notes={406: "`not_acceptable`: `Accept` names none of the formats offered",
                  409: NOT_READY, 410: GONE + " (`application/pdf` only)", 422: UNWRITABLE})
def result_by_accept(job_id: str):
    offered = list(ACCEPTED)
    accept = request.accept_mimetypes
    chosen = accept.best_match(offered) if accept else JSON
    if chosen is None:
        raise NotAcceptable("offered: " + ", ".join(offered))
    job = _finished_job(job_id)
    if ACCEPTED[chosen] == "json":
        response = jsonify(RESULT.dump_python(RESULT.validate_python(job.result), mode="json",
                                              exclude_unset=True))
        response.headers["Vary"] = "Accept"
        return response
    return _answer(job, ACCEPTED[chosen])


def _page_view(kind: str):
    def view(job_id: str, page: int):
        job = owned_job(job_id)
        data = _upload(job)
        body = page_preview(data, job.document, page, kind, context.settings().max_image_pixels)
        response = Response(body, 200, content_type=PREVIEW_TYPES[kind][1])
        response.headers["Cache-Control"] = "private, max-age=3600"
        return response

    view.__name__ = f"page_{kind}"
    return operation(
        f"Page `n` of the job's upload as a {kind.upper()} (longest side at most {PREVIEW_SIDE} px)",
        {200: Reply(None, "The page, upright as it was read (a PDF page rendered by PDFium); the result's "
                          "boxes scale to it by its width over the page's `width`",
                    media=PREVIEW_TYPES[kind][1], schema={"type": "string", "format": "binary"})},
        errors=(404, 410, 503), tags=("jobs",),
        notes={404: "`not_found`: unknown, expired or deleted job (or another key's), or no such page",
               410: GONE},
        description="While the job and its upload exist, whatever its status: an image is page 1.")(view)


for _kind in PREVIEW_TYPES:
    blueprint.add_url_rule(f"/<job_id>/pages/<int:page>.{_kind}", view_func=_page_view(_kind))
