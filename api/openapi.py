"""`/openapi.json`: the whole HTTP API as one OpenAPI 3.1 document (``/docs`` shows it: api/docs.py).

Each view declares its operation with ``@operation(...)``: a summary, the models it answers with, the
errors it can answer. ``build_spec`` walks the app's routes and takes every schema from the pydantic models
of ``common/schemas.py``, the same models the views shape their answers with. A route without a
declaration fails ``tests/integration/test_openapi.py``, so an endpoint cannot go undocumented.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ocrq.api.auth import is_protected
from ocrq.images import CONTENT_TYPES
from ocrq.schemas import ErrorResponse, JobOptions

REF = "#/components/schemas/{model}"
# What an upload may be: an image, or a document (PDF, multi-page TIFF) whose pages become tasks.
UPLOAD_TYPES = [*sorted(set(CONTENT_TYPES.values())), "application/pdf"]
# When each error status is answered; the body is always ErrorResponse (README: "Errors").
ERRORS = {
    400: "`missing_file`, `empty_file`, `too_many_files`, `invalid_option`, `incomplete_body`, "
         "`invalid_json`, `invalid_base64`: no `image`, an empty file, several files, a bad or unknown "
         "option, a body shorter than its `Content-Length` (nothing is stored), a JSON body that is not "
         "an object, an `image` member that is not base64",
    401: "`unauthorized`: the server has API keys (`OCRQ_API_KEYS`) and the request carries none of them "
         "(with `WWW-Authenticate: Bearer`)",
    404: "`not_found`: unknown, expired or deleted job (or another key's)",
    406: "`not_acceptable`: `Accept` names none of the formats offered",
    408: "`request_timeout`: the body did not arrive within `OCRQ_UPLOAD_TIMEOUT` seconds",
    409: "the job was canceled before it finished",  # /ocr/predict; the job endpoints say what theirs is
    410: "`upload_gone`: the upload this answer is drawn from is no longer stored",
    413: "`payload_too_large`: over `OCRQ_MAX_UPLOAD_BYTES` (refused from `Content-Length` before reading "
         "a byte of the body)",
    415: "`unsupported_image`: not JPEG, PNG, BMP, TIFF, WebP, GIF or PDF",
    422: "`image_too_large` (more pixels than `OCRQ_MAX_IMAGE_PIXELS`, from the header), "
         "`undecodable_image`; for a document `too_many_pages`, `encrypted_document`, `undecodable_document`",
    429: "`key_queue_full` (this API key has `OCRQ_KEY_MAX_QUEUED` jobs waiting), `key_rate_limited` (it "
         "submitted `OCRQ_KEY_JOBS_PER_MINUTE` this minute), `queue_full` (`OCRQ_MAX_QUEUE_DEPTH` jobs "
         "waiting on the server, this key's among them); with `Retry-After`",
    503: "`service_unavailable`: Redis is unreachable (with `Retry-After`)",
}
REQUEST_ID_HEADER = {"description": "The request's `X-Request-Id` as sent (1-128 visible ASCII "
                                    "characters), or a new one; in every log line of the request, its jobs'",
                     "required": True, "schema": {"type": "string"}}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying",
                               "schema": {"type": "string"}}}
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "An API key from `OCRQ_API_KEYS`, as `Authorization: Bearer <key>`"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                     "description": "The same key as `X-API-Key: <key>`"},
}
DESCRIPTION = """\
OCR for Chinese and English text in poor images, on a message queue: **POST, then poll**.

`POST /v1/jobs` stores the image and answers `202` with the job's URL (`Location`); `GET` it until
`status` is `succeeded` (the `result`), `failed` (the `error`) or `canceled`. `?wait=N` long-polls: the
answer comes as soon as the job is done. `POST /ocr/predict` is the synchronous form.

Errors are always JSON, `{"error": {"code", "message"}}`. When the server sets `OCRQ_API_KEYS`, every
`/v1` and `/ocr` request needs one of the keys (`Authorization: Bearer <key>` or `X-API-Key`), and each key
sees only its own jobs.
"""


@dataclass(frozen=True)
class Reply:
    """One documented answer: its body's model(s) (or a bare schema), when it comes, and its headers."""

    model: type[BaseModel] | tuple[type[BaseModel], ...] | None
    description: str
    headers: dict[str, str] = field(default_factory=dict)  # name -> description (required headers)
    optional_headers: dict[str, str] = field(default_factory=dict)  # headers only some answers have
    media: str = "application/json"
    schema: dict[str, Any] | None = None  # for a body no model describes (text, the spec itself)
    alternatives: tuple[str, ...] = ()  # other media types the answer may come in (by `Accept`), as bytes


@dataclass(frozen=True)
class Operation:
    summary: str
    replies: dict[int, Reply]
    errors: tuple[int, ...] = ()
    description: str = ""
    upload: bool = False  # the body is an image: multipart field `image` (+ options), or the raw body
    options: type[BaseModel] = JobOptions  # the options an upload takes (form fields or query)
    query: type[BaseModel] | None = None  # the model that validates the query string
    failure: tuple[type[BaseModel], ...] = (ErrorResponse,)  # what the error bodies are
    tags: tuple[str, ...] = ()
    body: dict[str, Any] | None = None  # any other request body (batches: several files), as given
    parameters: tuple[dict[str, Any], ...] = ()  # more parameters, as given (a header)
    notes: dict[int, str] = field(default_factory=dict)  # what an error status means here, if not ERRORS'


def operation(summary: str, replies: dict[int, Reply], **details: Any) -> Callable:
    """Declare a view's operation for the spec (attached to the view function, read by ``build_spec``)."""

    def mark(view: Callable) -> Callable:
        view.openapi = Operation(summary, replies, **details)  # type: ignore[attr-defined]
        return view

    return mark


def _content(models: tuple[type[BaseModel], ...], media: str = "application/json") -> dict:
    refs = [{"$ref": REF.format(model=m.__name__)} for m in models]
    return {media: {"schema": refs[0] if len(refs) == 1 else {"anyOf": refs}}}


def _without_null(schema: dict) -> dict:
    """An optional field's schema minus its ``null`` branch: a form field or a query parameter is absent,
    never null."""
    branches = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
    if len(branches) == 1:
        schema = {**{k: v for k, v in schema.items() if k not in ("anyOf", "default")}, **branches[0]}
    schema.pop("title", None)
    return schema


def _fields(model: type[BaseModel]) -> dict[str, dict]:
    return {name: _without_null(dict(prop)) for name, prop in model.model_json_schema()["properties"].items()}


def _parameters(op: Operation, path_args: list[str]) -> list[dict]:
    params = [{"name": name, "in": "path", "required": True, "description": "The job's id",
               "schema": {"type": "string", "format": "uuid"}} if name != "page" else
              {"name": name, "in": "path", "required": True, "description": "The page, from 1",
               "schema": {"type": "integer", "minimum": 1}} for name in path_args]
    query = op.query or (op.options if op.upload else None)
    for name, schema in (_fields(query) if query else {}).items():
        description = schema.pop("description", "")
        params.append({"name": name, "in": "query", "required": False, "description": description,
                       "schema": schema})
    return [*params, *op.parameters]


def _upload_body(options_model: type[BaseModel]) -> dict:
    image = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream",
             "description": "The image (JPEG, PNG, BMP, TIFF, WebP, GIF: its first frame), or a document "
                            "(PDF, multi-page TIFF: every page)"}
    options = _fields(options_model)
    raw = {"type": "string", "format": "binary"}
    encoded = {"type": "string", "contentEncoding": "base64",
               "description": "The image or document in base64 (standard or URL-safe alphabet; a "
                              "`data:<type>;base64,` prefix is allowed), at most `OCRQ_MAX_UPLOAD_BYTES` "
                              "once decoded"}
    return {
        "required": True,
        "description": "The image, as the multipart field `image` (options as more fields or in the "
                       "query), as the whole body with its `image/*` (or `application/pdf`) content "
                       "type (options in the query), or as JSON with the image in base64 in `image` and "
                       "the options as more members. A field, member or parameter the endpoint does "
                       "not take is refused (`400 invalid_option`) unless `OCRQ_STRICT_OPTIONS=false`.",
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"image": image, **options},
                           "required": ["image"]},
                "encoding": {"image": {"contentType": ", ".join(UPLOAD_TYPES)}},
            },
            "application/json": {
                "schema": {"type": "object", "properties": {"image": encoded, **options},
                           "required": ["image"], "additionalProperties": False},
            },
            **{media: {"schema": raw} for media in UPLOAD_TYPES},
            "application/octet-stream": {"schema": raw},
        },
    }


def _responses(op: Operation, protected: bool, models: set) -> dict:
    responses: dict[str, dict] = {}
    for status, reply in op.replies.items():
        answer: dict[str, Any] = {"description": reply.description}
        if reply.model is not None:
            chosen = reply.model if isinstance(reply.model, tuple) else (reply.model,)
            models.update(chosen)
            answer["content"] = _content(chosen, reply.media)
        elif reply.schema is not None:
            answer["content"] = {reply.media: {"schema": reply.schema}}
        for media in reply.alternatives:
            answer.setdefault("content", {})[media] = {"schema": {"type": "string", "format": "binary"}}
        headers = {name: {"description": text, "required": True, "schema": {"type": "string"}}
                   for name, text in reply.headers.items()}
        headers.update({name: {"description": text, "required": False, "schema": {"type": "string"}}
                        for name, text in reply.optional_headers.items()})
        headers["X-Request-Id"] = REQUEST_ID_HEADER
        if headers:
            answer["headers"] = headers
        responses[str(status)] = answer
    models.update(op.failure)
    for status in sorted({*op.errors, *((401,) if protected else ())}):
        answer = {"description": op.notes.get(status) or ERRORS[status], "content": _content(op.failure)}
        if status in (429, 503):
            answer["headers"] = RETRY_AFTER
        if status == 401:
            answer["headers"] = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}
        responses[str(status)] = answer
    responses["default"] = {"description": "Any other error: `internal_error` (500, logged server-side), "
                                           "`method_not_allowed` (405), …",
                            "content": _content(op.failure)}
    return responses


def build_spec(app: Flask) -> dict:
    """The OpenAPI 3.1 document of ``app``: every declared route, schemas from the pydantic models."""
    keys_required = bool(app.extensions["ocrq.settings"].api_key_set)
    models: set[type[BaseModel]] = set()
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op: Operation | None = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if op is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        protected = is_protected(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            entry: dict[str, Any] = {
                "operationId": rule.endpoint.replace(".", "_"),
                "summary": op.summary,
                "tags": list(op.tags),
                "parameters": _parameters(op, sorted(rule.arguments)),
                "responses": _responses(op, protected, models),
            }
            if op.description:
                entry["description"] = op.description
            if op.upload:
                entry["requestBody"] = _upload_body(op.options)
            elif op.body is not None:
                entry["requestBody"] = op.body
            if protected:
                # Without OCRQ_API_KEYS the API is open: "{}" says no credential is needed.
                optional: list[dict] = [] if keys_required else [{}]
                entry["security"] = [{"bearerAuth": []}, {"apiKeyHeader": []}, *optional]
            paths.setdefault(path, {})[method.lower()] = entry
    _, schemas = models_json_schema([(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
                                    ref_template=REF)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {"title": "ocrq", "version": version("ocrq"), "description": DESCRIPTION,
                 "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}},
        "tags": [{"name": "jobs", "description": "POST, then poll"},
                 {"name": "predict", "description": "The reference design's synchronous call"},
                 {"name": "batches", "description": "Several files in one request, each an ordinary job"},
                 {"name": "service", "description": "Health, readiness, metrics, this document"}],
        "paths": paths,
        "components": {"schemas": schemas.get("$defs", {}), "securitySchemes": SECURITY_SCHEMES},
    }


blueprint = Blueprint("openapi", __name__)


@blueprint.get("/openapi.json")
@operation("This OpenAPI 3.1 document", {200: Reply(None, "The document", schema={"type": "object"})},
           tags=("service",))
def openapi_json():
    spec = current_app.extensions.get("ocrq.openapi")
    if spec is None:
        spec = current_app.extensions["ocrq.openapi"] = build_spec(current_app)
    return jsonify(spec)


def register(app: Flask) -> None:
    from ocrq.api import docs

    app.register_blueprint(blueprint)
    app.register_blueprint(docs.blueprint)
