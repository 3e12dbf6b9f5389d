"""``/openapi.json`` describes the whole API and ``/docs`` shows it from this server; schemathesis then
drives the running app (real Redis and worker, over HTTP) with requests made from the document and checks
every answer against it: no 5xx, every status, header and body as documented."""

from __future__ import annotations

import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from ocrq.api import create_app
from ocrq.api.openapi import build_spec
from ocrq.config import Settings
from ocrq.schemas import ErrorResponse, JobDocument, OcrResult

# Routes that are not part of the HTTP API: the web page, Swagger UI and their static files.
NOT_API = {"static", "web.index", "web.static", "docs.page", "docs.init", "docs.static"}


@pytest.fixture(scope="module")
def spec(app) -> dict:
    with app.app_context():
        return build_spec(app)


def test_every_route_and_method_is_documented(app, spec):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_API:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"].get(path, {}), f"{method} {path} is not in the spec"
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/batches", "/v1/batches/{batch_id}", "/ocr/predict",
            "/healthz", "/readyz", "/metrics", "/openapi.json"} <= set(spec["paths"])


def test_the_schemas_are_the_models_the_handlers_use(client, spec):
    served = client.get("/openapi.json").get_json()
    assert served == spec and served["openapi"].startswith("3.1")
    schemas = spec["components"]["schemas"]
    assert set(schemas["JobDocument"]["properties"]) == set(JobDocument.model_fields)
    assert set(schemas["OcrResult"]["required"]) == {
        name for name, field in OcrResult.model_fields.items() if field.is_required()}
    assert set(schemas["OcrResult"]["properties"]) == set(OcrResult.model_fields)
    assert schemas["ErrorResponse"]["properties"]["error"] == ErrorResponse.model_json_schema(
        ref_template="#/components/schemas/{model}")["properties"]["error"]
    get_job = spec["paths"]["/v1/jobs/{job_id}"]["get"]
    assert get_job["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobDocument"}
    assert {p["name"]: p["in"] for p in get_job["parameters"]} == {"job_id": "path", "wait": "query"}
    assert {"400", "404", "503"} <= set(get_job["responses"])


def test_the_upload_is_a_binary_image_field_or_the_raw_body(spec):
    body = spec["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]
    form = body["multipart/form-data"]
    assert form["schema"]["required"] == ["image"]
    assert form["schema"]["properties"]["image"]["format"] == "binary"
    assert form["schema"]["properties"]["enhance"]["enum"] == ["off", "seed", "auto"]
    assert "image/png" in form["encoding"]["image"]["contentType"]
    assert {"image/jpeg", "image/png", "image/tiff", "application/pdf", "application/octet-stream"} \
        <= set(body)
    predict = spec["paths"]["/ocr/predict"]["post"]["requestBody"]["content"]
    assert set(predict) == set(body)
    assert set(form["schema"]["properties"]) == {"image", "enhance", "priority", "tag", "callback_url",
                                                 "chars"}
    assert set(predict["multipart/form-data"]["schema"]["properties"]) == {"image", "enhance"}  # job-only


def test_submissions_take_an_idempotency_key_and_document_the_409(spec):
    for path in ("/v1/jobs", "/v1/batches"):
        submit = spec["paths"][path]["post"]
        [header] = [p for p in submit["parameters"] if p["in"] == "header"]
        assert header["name"] == "Idempotency-Key" and header["required"] is False
        assert "idempotency_conflict" in submit["responses"]["409"]["description"]
        assert submit["responses"]["202"]["headers"]["Idempotency-Replayed"]["required"] is False
    assert "canceled" in spec["paths"]["/ocr/predict"]["post"]["responses"]["409"]["description"]
    parameters = spec["paths"]["/v1/jobs"]["post"]["parameters"]
    query = {p["name"]: p["schema"] for p in parameters if p["in"] == "query"}
    assert query["priority"]["enum"] == ["high", "normal", "low"] and query["tag"]["maxLength"] == 128


def test_the_api_key_is_an_optional_security_scheme_unless_keys_are_set(settings, spec):
    submit = spec["paths"]["/v1/jobs"]["post"]
    assert submit["security"] == [{"bearerAuth": []}, {"apiKeyHeader": []}, {}]  # open: no key needed
    assert "security" not in spec["paths"]["/healthz"]["get"]
    assert set(spec["components"]["securitySchemes"]) == {"bearerAuth", "apiKeyHeader"}
    keyed = create_app(settings.model_copy(update={"api_keys": "k1"}))
    with keyed.app_context():
        locked = build_spec(keyed)["paths"]["/v1/jobs"]["post"]
    assert locked["security"] == [{"bearerAuth": []}, {"apiKeyHeader": []}]
    assert "WWW-Authenticate" in locked["responses"]["401"]["headers"]


def test_docs_page_loads_everything_from_this_server(live_server):
    page = requests.get(f"{live_server}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/docs/") for a in assets), assets
    for asset in assets:
        assert requests.get(f"{live_server}{asset}", timeout=10).status_code == 200, asset
    init = requests.get(f"{live_server}/docs/init.js", timeout=10).text
    assert 'url: "/openapi.json"' in init and "validatorUrl: null" in init


def offline_spec() -> dict:
    """The document the test app serves (no API keys), built without a server: schemathesis makes its
    tests at collection time, before the fixtures run (its lazy loader does not work with pytest 9)."""
    app = create_app(Settings(redis_url="redis://127.0.0.1:9/0"))  # connects to nothing until used
    with app.app_context():
        return build_spec(app)


def test_the_tested_document_is_the_served_one(client):
    assert client.get("/openapi.json").get_json() == offline_spec()


schema = schemathesis.openapi.from_dict(offline_spec())
# Raw bodies of the image types schemathesis has no serializer for: bytes, as for any binary body.
schemathesis.serializer.alias(["image/bmp", "image/tiff", "application/pdf"], "application/octet-stream")


@schema.parametrize()
@hypothesis_settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_running_api_keeps_its_contract(case, live_server):
    # Any bytes fit a binary body's schema, but not every byte string is an image: the upload endpoints
    # refuse those with their documented 400/415/422, which "positive data must be accepted" would flag.
    upload = case.operation.body is not None and len(case.operation.body) > 0
    # Likewise any string fits a listing's `cursor`, but only one the server gave is a position (400).
    made_up_cursor = "cursor" in (case.query or {})
    skipped = [schemathesis.checks.positive_data_acceptance] if upload or made_up_cursor else []
    case.call_and_validate(base_url=live_server, timeout=60, excluded_checks=skipped)
