"""What integrators rely on besides the jobs themselves: unknown options refused by name, JSON bodies with
the image in base64, ``X-Request-Id``, ``ETag``/``If-None-Match``, CORS when configured, batch jobs in the
submitted metric, and a batch larger than one upload accepted."""

from __future__ import annotations

import base64
import io

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ocrq.api import create_app
from tests.support.render import render_png

PNG = render_png(["编码 Base64 Input 7"], size=32)


def multipart(**fields) -> dict:
    return {"data": {"image": (io.BytesIO(PNG), "a.png"), **fields}, "content_type": "multipart/form-data"}


def error(answer) -> tuple[int, str, str]:
    body = answer.get_json()["error"]
    return answer.status_code, body["code"], body["message"]


@pytest.mark.parametrize("path", ["/v1/jobs", "/ocr/predict"])
def test_unknown_fields_and_parameters_are_refused_by_name(client, path):
    for request in (multipart(lang="en"), {**multipart(), "query_string": {"language": "zh"}},
                    {"data": {"image": (io.BytesIO(PNG), "a.png"), "file": (io.BytesIO(PNG), "b.png")},
                     "content_type": "multipart/form-data"},
                    {"json": {"image": base64.b64encode(PNG).decode(), "foo": "bar"}}):
        status, code, message = error(client.post(path, **request))
        assert (status, code) == (400, "invalid_option"), message
        assert any(name in message for name in ("'lang'", "'language'", "'file'", "'foo'")), message
        assert "enhance" in message  # says what the endpoint does take
    assert error(client.get("/v1/jobs/00000000-0000-4000-8000-000000000000?wiat=5"))[:2] == \
        (400, "invalid_option")
    assert error(client.delete("/v1/jobs/00000000-0000-4000-8000-000000000000?force=1"))[:2] == \
        (400, "invalid_option")


def test_strict_options_can_be_turned_off(settings, worker):
    lenient = create_app(settings.model_copy(update={"strict_options": False})).test_client()
    answer = lenient.post("/v1/jobs", **multipart(lang="en"), query_string={"language": "zh"})
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert lenient.get(answer.headers["Location"] + "?wait=30&extra=1").get_json()["status"] == "succeeded"


def test_a_base64_json_job_reads_what_the_multipart_job_reads(client):
    posted = client.post("/v1/jobs", **multipart(enhance="off"))
    sent = client.post("/v1/jobs", json={"image": base64.b64encode(PNG).decode(), "enhance": "off",
                                         "tag": "json-1"})
    assert (posted.status_code, sent.status_code) == (202, 202), sent.get_data(as_text=True)
    by_form = client.get(posted.headers["Location"] + "?wait=30").get_json()
    by_json = client.get(sent.headers["Location"] + "?wait=30").get_json()
    assert by_json["status"] == by_form["status"] == "succeeded"
    assert by_json["result"]["text"] == by_form["result"]["text"] and "Base64" in by_json["result"]["text"]
    assert by_json["options"] == {"enhance": "off", "priority": "normal", "tag": "json-1"}
    # URL-safe letters, line breaks, a data: URL prefix: what browsers and other clients send
    data_url = "data:image/png;base64," + base64.urlsafe_b64encode(PNG).decode()
    predicted = client.post("/ocr/predict", json={"image": "\n".join([data_url[:60], data_url[60:]])})
    assert predicted.status_code == 200, predicted.get_data(as_text=True)
    assert predicted.get_json()["text"] == by_form["result"]["text"]


def test_bad_json_bodies_are_clear_400s(settings, redis_server):
    client = create_app(settings.model_copy(update={"max_upload_bytes": 4096})).test_client()

    def code(**request) -> tuple[int, str]:
        return error(client.post("/v1/jobs", **request))[:2]

    assert code(data=b"{not json", content_type="application/json") == (400, "invalid_json")
    assert code(json=["a list"]) == (400, "invalid_json")
    assert code(json={"enhance": "off"}) == (400, "missing_file")
    assert code(json={"image": 42}) == (400, "missing_file")
    assert code(json={"image": "not base64!"}) == (400, "invalid_base64")
    assert code(json={"image": ""}) == (400, "missing_file")
    assert code(json={"image": base64.b64encode(b"hello").decode()}) == (415, "unsupported_image")
    small = render_png(["a"], size=12)
    assert len(small) < 4096
    assert code(json={"image": base64.b64encode(small).decode(), "enhance": "max"}) == (400, "invalid_option")
    big = base64.b64encode(bytes(5000)).decode()  # over 4096 bytes once decoded, under the body limit
    assert code(json={"image": big}) == (413, "payload_too_large")
    # a body over the most base64 the limit allows (and room for options) is refused before it is read
    assert code(json={"image": "A" * 80_000}) == (413, "payload_too_large")


def test_request_ids_are_echoed_or_made(client):
    mine = client.get("/v1/jobs/00000000-0000-4000-8000-000000000000", headers={"X-Request-Id": "trace-42"})
    assert mine.status_code == 404 and mine.headers["X-Request-Id"] == "trace-42"
    made = client.post("/v1/jobs", **multipart(), headers={"X-Request-Id": "has spaces"})
    assert made.status_code == 202 and len(made.headers["X-Request-Id"]) == 32
    assert made.headers["X-Request-Id"] != client.get("/healthz").headers["X-Request-Id"]


def test_job_and_batch_documents_answer_304_while_unchanged(client):
    link = client.post("/v1/jobs", **multipart()).headers["Location"]
    done = client.get(link + "?wait=30")
    assert done.get_json()["status"] == "succeeded" and done.headers["ETag"]
    same = client.get(link, headers={"If-None-Match": done.headers["ETag"]})
    assert same.status_code == 304 and same.get_data() == b"" and same.headers["ETag"] == done.headers["ETag"]
    assert client.get(link, headers={"If-None-Match": '"stale"'}).status_code == 200
    batch = client.post("/v1/batches", data={"images": [(io.BytesIO(PNG), "a.png")]},
                        content_type="multipart/form-data").headers["Location"]
    first = client.get(batch + "?wait=30")
    assert first.get_json()["status"] == "succeeded"
    assert client.get(batch, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_cors_is_off_unless_origins_are_configured(client, settings, worker):
    origin = {"Origin": "https://app.example.com"}
    assert "Access-Control-Allow-Origin" not in client.get("/healthz", headers=origin).headers
    keyed = create_app(settings.model_copy(update={
        "cors_origins": "https://app.example.com, https://other.example.com", "api_keys": "cors-key-1"}))
    browser = keyed.test_client()
    preflight = browser.options("/v1/jobs", headers={**origin, "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204  # without the key: a preflight carries no credentials
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    posted = browser.post("/v1/jobs", **multipart(), headers={**origin, "Authorization": "Bearer cors-key-1"})
    assert posted.status_code == 202
    assert posted.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Location" in posted.headers["Access-Control-Expose-Headers"]
    assert "Origin" in posted.headers["Vary"]
    refused = browser.get("/v1/jobs", headers={"Origin": "https://evil.example.net"})
    assert refused.status_code == 401 and "Access-Control-Allow-Origin" not in refused.headers


def submitted(client, endpoint: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "ocrq_jobs_submitted_total" and s.labels.get("endpoint") == endpoint)


def test_a_batch_counts_its_jobs_as_submitted_and_may_be_larger_than_one_upload(settings, worker):
    client = create_app(settings.model_copy(update={"max_upload_bytes": 24 * 1024})).test_client()
    files = [render_png([f"Batch item {i} 批次"], size=40) for i in range(3)]
    assert all(len(f) < 24 * 1024 for f in files) and sum(map(len, files)) + 3 * 8000 > 24 * 1024
    padded = [f + bytes(8000) for f in files]  # PNG readers stop at IEND: the padding is ignored
    before = submitted(client, "batches")
    answer = client.post("/v1/batches", data={"images": [(io.BytesIO(f), f"{i}.png") for i, f in
                                                         enumerate(padded)]},
                         content_type="multipart/form-data")
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert submitted(client, "batches") - before == 3
