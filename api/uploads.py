"""Reading an upload from a request: multipart field ``image`` or a raw image body, plus options."""

from __future__ import annotations

from typing import Any

from flask import Request

from ocrq.callback_url import CallbackRefused, HostPolicy, allowed
from ocrq.config import Settings
from ocrq.documents import DocumentInfo, inspect
from ocrq.errors import BadRequest, InvalidOption, PayloadTooLarge
from ocrq.schemas import JobOptions, PredictOptions

FIELD = "image"


def read_image(request: Request, settings: Settings) -> tuple[bytes, DocumentInfo | None]:
    """The uploaded bytes, and the document they are if a PDF or a multi-page TIFF (None: one image);
    400/413/415/422 errors for what is wrong."""
    if request.mimetype == "multipart/form-data":
        files = request.files.getlist(FIELD)
        if not files:
            others = ", ".join(sorted({str(k) for k in (*request.files, *request.form)})) or "none"
            if others == "none" and request.content_length:  # werkzeug drops a body it cannot parse
                raise BadRequest("the multipart body could not be parsed (malformed, or part headers that "
                                 f"are not UTF-8); send the image in the field '{FIELD}'",
                                 code="missing_file")
            raise BadRequest(f"send the image in the multipart field '{FIELD}' (fields received: {others})",
                             code="missing_file")
        if len(files) > 1:
            raise BadRequest(f"send one file in '{FIELD}', not {len(files)}", code="too_many_files")
        data = files[0].read(settings.max_upload_bytes + 1)
    elif request.mimetype.startswith("image/") or request.mimetype in ("application/octet-stream",
                                                                        "application/pdf"):
        data = request.get_data(cache=False)
        declared = request.content_length
        if declared is not None and len(data) < declared:  # the client went away: gunicorn reads short
            raise BadRequest(f"the body ended after {len(data):,} of the {declared:,} bytes its "
                             "Content-Length declares; nothing was stored", code="incomplete_body")
    else:
        raise BadRequest(
            f"send multipart/form-data with a file field '{FIELD}', or the image itself as the body "
            f"with an image/* content type (got {request.mimetype or 'no content type'})",
            code="missing_file")
    return data, check_upload(data, settings)


def check_upload(data: bytes, settings: Settings) -> DocumentInfo | None:
    """Size, then format, pixels and pages from the headers (common/documents.py)."""
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the image is larger than the {settings.max_upload_bytes:,}-byte limit")
    if not data:
        raise BadRequest("the uploaded file is empty", code="empty_file")
    return inspect(data, settings.max_image_pixels, settings.max_pages, settings.pdf_dpi)


def read_options(request: Request, settings: Settings,
                 model: type[PredictOptions] = JobOptions) -> dict[str, Any]:
    """Job options from form fields or the query string, validated by ``model`` (common/schemas.py):
    ``JobOptions`` for a job or a batch, ``PredictOptions`` (enhance only) for ``/ocr/predict``."""
    # Both places are checked: a bad value is refused wherever it is, and a form field wins over the query.
    form, query = model.parse(request.form.to_dict()), model.parse(request.args.to_dict())
    options: dict[str, Any] = {"enhance": form.enhance or query.enhance or settings.enhance_default}
    if isinstance(form, JobOptions) and isinstance(query, JobOptions):
        options["priority"] = form.priority or query.priority or "normal"
        tag = form.tag or query.tag
        if tag:
            options["tag"] = tag
        callback = form.callback_url or query.callback_url
        if callback:
            options["callback_url"] = check_callback(callback, settings)
        chars = form.chars if form.chars is not None else query.chars
        if chars:  # absent unless asked for, as the result's characters are
            options["chars"] = True
    else:  # /ocr/predict answers in the request: a priority, tag or webhook would not mean anything
        sent = sorted((set(JobOptions.model_fields) - set(model.model_fields)) & set(request.values))
        if sent:
            raise InvalidOption(f"{sent[0]}: an option of POST /v1/jobs, not of this endpoint")
    fault = request.values.get("fault")
    if fault and settings.fault_injection:  # test-only; ignored unless the deployment enables it
        options["fault"] = fault[:40]
    return options


def check_callback(url: str, settings: Settings) -> str:
    """The callback URL if webhooks can go there (common/callback_url.py); 400 ``invalid_option`` if not."""
    if not settings.webhook_secret:
        raise InvalidOption("callback_url: this server sends no webhooks (OCRQ_WEBHOOK_SECRET is not set)")
    try:
        allowed(url, HostPolicy.parse(settings.webhook_allowed_hosts))
    except CallbackRefused as exc:
        raise InvalidOption(f"callback_url: {exc}"[:300]) from None
    return url
