"""Reading an upload from a request: multipart field ``image``, a raw image body, or JSON with the image
in base64; plus the options, refused by name when the endpoint does not know them."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from flask import Request

from ocrq.api.params import refuse_unknown
from ocrq.callback_url import CallbackRefused, HostPolicy, allowed
from ocrq.config import Settings
from ocrq.documents import DocumentInfo, inspect
from ocrq.errors import BadRequest, InvalidOption, PayloadTooLarge
from ocrq.schemas import JobOptions, PredictOptions

FIELD = "image"
JSON = "application/json"
# "data:image/png;base64," before the content, as a browser's FileReader gives it: dropped.
_DATA_URL = re.compile(r"^data:[\w.+-]+/[\w.+-]+(;[\w.+-]+=[\w.+-]+)*;base64,", re.ASCII)
FRAMING_ALLOWANCE = 64 * 1024  # multipart headers and boundaries, or JSON's other members
BATCH_ALLOWANCE = 256 * 1024  # a batch's part headers and boundaries on top of the files themselves
BATCHES_PATH = "/v1/batches"


def json_body_limit(max_upload_bytes: int) -> int:
    """The largest JSON body that can hold an image of ``max_upload_bytes`` in base64 (4 characters for
    every 3 bytes), with room for the options."""
    return -(-max_upload_bytes // 3) * 4 + FRAMING_ALLOWANCE


def body_limit(settings: Settings, path: str, mimetype: str) -> tuple[int, int]:
    """The most bytes a request body to ``path`` with this content type may have, and the limit of the
    setting it comes from (named in the 413): a batch's files together, a JSON body's base64, or one
    upload with its multipart framing."""
    if path == BATCHES_PATH:
        return settings.max_batch_bytes + BATCH_ALLOWANCE, settings.max_batch_bytes
    if mimetype == JSON:
        return json_body_limit(settings.max_upload_bytes), settings.max_upload_bytes
    return settings.max_upload_bytes + FRAMING_ALLOWANCE, settings.max_upload_bytes


def read_image(request: Request, settings: Settings) -> tuple[bytes, DocumentInfo | None]:
    """The uploaded bytes, and the document they are if a PDF or a multi-page TIFF (None: one image);
    400/413/415/422 errors for what is wrong."""
    if request.mimetype == "multipart/form-data":
        data = _multipart_file(request, settings)
    elif request.mimetype == JSON:
        data = _json_image(request, settings)
    elif request.mimetype.startswith("image/") or request.mimetype in ("application/octet-stream",
                                                                        "application/pdf"):
        data = request.get_data(cache=False)
        declared = request.content_length
        if declared is not None and len(data) < declared:  # the client went away: gunicorn reads short
            raise BadRequest(f"the body ended after {len(data):,} of the {declared:,} bytes its "
                             "Content-Length declares; nothing was stored", code="incomplete_body")
    else:
        raise BadRequest(
            f"send multipart/form-data with a file field '{FIELD}', the image itself as the body with an "
            f"image/* content type, or {JSON} with the image in base64 in '{FIELD}' (got "
            f"{request.mimetype or 'no content type'})", code="missing_file")
    return data, check_upload(data, settings)


def _multipart_file(request: Request, settings: Settings) -> bytes:
    files = request.files.getlist(FIELD)
    if not files:
        others = ", ".join(sorted({str(k) for k in (*request.files, *request.form)})) or "none"
        if others == "none" and request.content_length:  # werkzeug drops a body it cannot parse
            raise BadRequest("the multipart body could not be parsed (malformed, or part headers that "
                             f"are not UTF-8); send the image in the field '{FIELD}'", code="missing_file")
        raise BadRequest(f"send the image in the multipart field '{FIELD}' (fields received: {others})",
                         code="missing_file")
    if len(files) > 1:
        raise BadRequest(f"send one file in '{FIELD}', not {len(files)}", code="too_many_files")
    return files[0].read(settings.max_upload_bytes + 1)


def json_body(request: Request, settings: Settings) -> dict[str, Any]:
    """The request's JSON object (parsed once, kept on the request); 400 ``invalid_json`` otherwise."""
    body = request.get_json(silent=True, cache=True)
    if not isinstance(body, dict):
        raise BadRequest(f"the body is not a JSON object; send {{\"{FIELD}\": \"<base64>\", ...options}}",
                         code="invalid_json")
    return body


def _json_image(request: Request, settings: Settings) -> bytes:
    """``image`` of a JSON body: base64 (standard or URL-safe alphabet, a data: URL prefix allowed)."""
    encoded = json_body(request, settings).get(FIELD)
    if not isinstance(encoded, str) or not encoded:
        raise BadRequest(f"send the image in base64 as the string member '{FIELD}' of the JSON body",
                         code="missing_file")
    encoded = _DATA_URL.sub("", encoded, count=1)
    try:
        return base64.b64decode(encoded.translate(_URL_SAFE), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"'{FIELD}' is not base64 (RFC 4648: A-Z a-z 0-9 + / or - _, '=' padding)",
                         code="invalid_base64") from None


_URL_SAFE = str.maketrans("-_", "+/", " \n\r\t")  # URL-safe letters to standard ones; whitespace dropped


def check_upload(data: bytes, settings: Settings) -> DocumentInfo | None:
    """Size, then format, pixels and pages from the headers (common/documents.py)."""
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the image is larger than the {settings.max_upload_bytes:,}-byte limit")
    if not data:
        raise BadRequest("the uploaded file is empty", code="empty_file")
    return inspect(data, settings.max_image_pixels, settings.max_pages, settings.pdf_dpi)


def body_options(request: Request, settings: Settings) -> dict[str, Any]:
    """The options sent in the body: form fields, or a JSON body's members other than the image."""
    if request.mimetype == JSON:
        return {k: v for k, v in json_body(request, settings).items() if k != FIELD}
    return request.form.to_dict()


def read_options(request: Request, settings: Settings, model: type[PredictOptions] = JobOptions,
                 files: tuple[str, ...] = (FIELD,)) -> dict[str, Any]:
    """Job options from the body (form fields, JSON members) or the query string, validated by ``model``
    (common/schemas.py): ``JobOptions`` for a job or a batch, ``PredictOptions`` (enhance only) for
    ``/ocr/predict``. ``files``: the file fields the endpoint takes. With OCRQ_STRICT_OPTIONS (the
    default) a field or parameter the endpoint does not know is refused by name."""
    body, query = body_options(request, settings), request.args.to_dict()
    if model is not JobOptions:  # /ocr/predict answers in the request: a priority or webhook means nothing
        sent = sorted((set(JobOptions.model_fields) - set(model.model_fields)) & {*body, *query})
        if sent:
            raise InvalidOption(f"{sent[0]}: an option of POST /v1/jobs, not of this endpoint")
    known = {*model.model_fields, *(("fault",) if settings.fault_injection else ())}
    if settings.strict_options:
        refuse_unknown([*body, *request.files], {*known, *files}, "field")
        refuse_unknown(query, known, "query parameter")
    # Both places are checked: a bad value is refused wherever it is, and the body wins over the query.
    given, asked = model.parse(_options_only(body, known)), model.parse(_options_only(query, known))
    options: dict[str, Any] = {"enhance": given.enhance or asked.enhance or settings.enhance_default}
    if isinstance(given, JobOptions) and isinstance(asked, JobOptions):
        options["priority"] = given.priority or asked.priority or "normal"
        tag = given.tag or asked.tag
        if tag:
            options["tag"] = tag
        callback = given.callback_url or asked.callback_url
        if callback:
            options["callback_url"] = check_callback(callback, settings)
        chars = given.chars if given.chars is not None else asked.chars
        if chars:  # absent unless asked for, as the result's characters are
            options["chars"] = True
    fault = body.get("fault") or query.get("fault")
    if isinstance(fault, str) and fault and settings.fault_injection:  # test-only (README)
        options["fault"] = fault[:40]
    return options


def _options_only(values: dict[str, Any], known: set[str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in known and k != "fault"}


def check_callback(url: str, settings: Settings) -> str:
    """The callback URL if webhooks can go there (common/callback_url.py); 400 ``invalid_option`` if not."""
    if not settings.webhook_secret:
        raise InvalidOption("callback_url: this server sends no webhooks (OCRQ_WEBHOOK_SECRET is not set)")
    try:
        allowed(url, HostPolicy.parse(settings.webhook_allowed_hosts))
    except CallbackRefused as exc:
        raise InvalidOption(f"callback_url: {exc}"[:300]) from None
    return url
